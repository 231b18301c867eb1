package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/store"
)

// Issue 17: unavailability and closures from CSV, with the API's roles (a
// leader only its own members, closures admins only), a dry run that writes
// nothing, line- and column-named errors, no partial row, an audit row per
// added record, and a second load of the same file adding nothing.
func TestImportAvailabilityAPI(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	other := domain.Team{Code: "ZY", Name: "专业执法队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480, RegionIDs: []int64{v.town.ID}}
	if err := v.st.CreateTeam(ctx, "test", &other); err != nil {
		t.Fatal(err)
	}
	outsider := domain.Inspector{Code: "ZY-0001", Name: "李强", TeamID: other.ID, Domains: []string{"food_safety"}}
	if err := v.st.CreateInspector(ctx, "test", &outsider); err != nil {
		t.Fatal(err)
	}
	csvHdr := []string{"Content-Type", "text/csv"}
	const upath = "/api/v1/imports/unavailability"
	const cpath = "/api/v1/imports/closures"

	// A Chinese header with a BOM; line 3 names another team's inspector,
	// line 4 has its dates backwards, line 5 a formula for a reason, line 6
	// repeats line 2, line 7 a date spreadsheets write.
	leave := "\uFEFF执法证号,开始日期,结束日期,原因\n" +
		"ZJ-0001,2026-12-01,2026-12-03,年休假\n" +
		"ZY-0001,2026-12-01,2026-12-01,培训\n" +
		"ZJ-0001,2026-12-09,2026-12-08,培训\n" +
		"ZJ-0001,2026-12-10,2026-12-10,=1+1\n" +
		"ZJ-0001,2026-12-01,2026-12-03,年休假\n" +
		"ZJ-0001,2026/12/15,2026/12/16,借调\n"

	// A dry run as the leader: what would be new, what is refused, nothing written.
	r := v.do("team_leader", "POST", upath+"?dry_run=true", []byte(leave), csvHdr...)
	expect(t, r, 200, "leader's dry run")
	var rep csvimport.Report
	r.json(t, &rep)
	if rep.RowsRead != 6 || rep.RowsNew != 2 || rep.RowsRejected != 4 || rep.RowsUnchanged != 0 {
		t.Fatalf("dry run %+v", rep)
	}
	wantErr := map[int]string{3: "执法证号", 4: "结束日期", 5: "原因", 6: "执法证号"}
	for _, e := range rep.Errors {
		if wantErr[e.Line] != e.Field {
			t.Errorf("dry-run error %+v, want field %q on line %d", e, wantErr[e.Line], e.Line)
		}
		delete(wantErr, e.Line)
	}
	if len(wantErr) != 0 {
		t.Errorf("dry run does not name lines %v", wantErr)
	}
	if us, err := v.st.ListUnavailability(ctx, store.UnavailabilityFilter{}, store.Page{Limit: 100}); err != nil || len(us.Items) != 0 {
		t.Fatalf("dry run wrote %+v (%v)", us.Items, err)
	}

	// Roles: a planner, an inspector or a business may not import; closures
	// are admins' only.
	for _, who := range []string{"planner", "inspector", "business"} {
		expect(t, v.do(who, "POST", upath, []byte(leave), csvHdr...), 403, who+" imports leave")
	}
	expect(t, v.do("team_leader", "POST", cpath, []byte("team,from,to,reason\nZH,2026-12-01,2026-12-01,x\n"), csvHdr...),
		403, "leader imports closures")

	// The real import as the leader: the good rows of its own member only.
	r = v.do("team_leader", "POST", upath, []byte(leave), csvHdr...)
	expect(t, r, 200, "leader imports")
	var job store.ImportJob
	r.json(t, &job)
	if job.Kind != "unavailability" || job.Status != "done" || job.RowsRead != 6 || job.RowsLoaded != 2 || job.RowsRejected != 4 ||
		len(job.Errors) != 4 {
		t.Fatalf("job %+v", job)
	}
	us, err := v.st.ListUnavailability(ctx, store.UnavailabilityFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(us.Items) != 2 || us.Items[0].InspectorID != v.inspector.ID || us.Items[0].From != "2026-12-01" ||
		us.Items[0].Reason != "年休假" || us.Items[1].From != "2026-12-15" || us.Items[1].To != "2026-12-16" {
		t.Fatalf("stored %+v", us.Items)
	}
	// The leader reads its job back; another leader's or a planner's read is refused.
	expect(t, v.do("team_leader", "GET", fmt.Sprintf("/api/v1/imports/%d", job.ID), nil), 200, "leader reads its job")
	expect(t, v.do("planner", "GET", fmt.Sprintf("/api/v1/imports/%d", job.ID), nil), 403, "planner reads the job")

	// The same file again, as the admin (who may name the other team's
	// inspector): the two rows already stored are unchanged, the outsider's
	// is added, nothing is doubled.
	r = v.do("admin", "POST", upath, []byte(leave), csvHdr...)
	expect(t, r, 200, "admin re-imports")
	r.json(t, &job)
	if job.RowsLoaded != 3 || job.RowsRejected != 3 {
		t.Fatalf("second job %+v", job)
	}
	r = v.do("admin", "POST", upath+"?dry_run=true", []byte(leave), csvHdr...)
	expect(t, r, 200, "dry run after")
	r.json(t, &rep)
	if rep.RowsNew != 0 || rep.RowsUnchanged != 3 {
		t.Fatalf("third pass would add: %+v", rep)
	}
	us, _ = v.st.ListUnavailability(ctx, store.UnavailabilityFilter{}, store.Page{Limit: 100})
	if len(us.Items) != 3 {
		t.Fatalf("after the re-import: %+v", us.Items)
	}

	// Closures: by region or team code, English header, one bad row.
	closures := "region,team,from,to,reason\n" +
		"SS-CY,,2026-12-07,2026-12-08,台风停航\n" +
		",ZY,2026-12-09,2026-12-09,节日值班\n" +
		"SS-XX,,2026-12-07,2026-12-08,台风停航\n" +
		"SS-CY,ZY,2026-12-07,2026-12-08,台风停航\n" +
		",,2026-12-07,2026-12-08,台风停航\n" +
		"SS-CY,,2026-12-07,,台风停航\n"
	r = v.do("admin", "POST", cpath, []byte(closures), csvHdr...)
	expect(t, r, 200, "closures import")
	r.json(t, &job)
	if job.Kind != "closures" || job.RowsLoaded != 2 || job.RowsRejected != 4 {
		t.Fatalf("closures job %+v", job)
	}
	wantErr = map[int]string{4: "region", 5: "team", 6: "region", 7: "to"}
	for _, e := range job.Errors {
		if wantErr[e.Line] != e.Field {
			t.Errorf("closure error %+v, want field %q on line %d", e, wantErr[e.Line], e.Line)
		}
	}
	cs, err := v.st.ListClosures(ctx, store.ClosureFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Items) != 2 || cs.Items[0].RegionID == nil || *cs.Items[0].RegionID != v.town.ID || cs.Items[0].Reason != "台风停航" ||
		cs.Items[1].TeamID == nil || *cs.Items[1].TeamID != other.ID {
		t.Fatalf("closures %+v", cs.Items)
	}
	r = v.do("admin", "POST", cpath, []byte(closures), csvHdr...)
	expect(t, r, 200, "closures again")
	if cs, _ = v.st.ListClosures(ctx, store.ClosureFilter{}, store.Page{Limit: 100}); len(cs.Items) != 2 {
		t.Fatalf("closures doubled: %+v", cs.Items)
	}

	// A file the import cannot use at all, and options only registers take.
	r = v.do("admin", "POST", cpath, []byte("from,to,reason\n2026-12-01,2026-12-02,x\n"), csvHdr...)
	if got := availFields(t, r); len(got) != 1 || got[0] != "region" {
		t.Fatalf("closures without a region or team column: %v", got)
	}
	r = v.do("admin", "POST", upath, []byte("inspector,from,reason\nZJ-0001,2026-12-01,x\n"), csvHdr...)
	if got := availFields(t, r); len(got) != 1 || got[0] != "to" {
		t.Fatalf("unavailability without a to column: %v", got)
	}
	if got := availFields(t, v.do("admin", "POST", upath+"?empty=clear", []byte(leave), csvHdr...)); len(got) != 1 || got[0] != "empty" {
		t.Fatalf("empty=clear: %v", got)
	}

	// One audit row per record added, with its reason; every import job too
	// (two loads of each file, and the file refused as a whole).
	entries, err := v.st.ListAudit(ctx, 0, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range entries {
		count[e.Action]++
		if e.Action == "unavailability.create" && !strings.Contains(e.Detail, "reason") {
			t.Errorf("audit without the reason: %s", e.Detail)
		}
	}
	if count["unavailability.create"] != 3 || count["closure.create"] != 2 || count["import.unavailability"] != 3 ||
		count["import.closures"] != 3 {
		t.Fatalf("audit counts %v", count)
	}
}
