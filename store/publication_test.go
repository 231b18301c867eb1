package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"inspectonce/calendar"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// seedReport writes the results of visit seq of plan planID the way a
// confirmed visit leaves them: one task_results row per task (outcome by
// department id; missing departments are compliant), then the visit_reports
// row with the visit date given and publish_due 20 weekdays later. Plain SQL:
// the results API is tested with its own package.
func seedReport(t *testing.T, st *store.Store, planID int64, seq int, visitDate string, outcome map[int64]string) {
	t.Helper()
	ctx := context.Background()
	db := st.SQL()
	rows, err := db.QueryContext(ctx, `SELECT t.seq, t.uscc, t.demand_id, t.department_id, t.item_id,
		(SELECT a.inspector_id FROM plan_assignments a WHERE a.plan_id = t.plan_id AND a.visit_seq = t.visit_seq ORDER BY a.ord LIMIT 1)
		FROM plan_tasks t WHERE t.plan_id = $1 AND t.visit_seq = $2 ORDER BY t.seq`, planID, seq)
	if err != nil {
		t.Fatal(err)
	}
	type task struct {
		seq                int
		uscc               string
		demand, dept, item int64
		inspector          int64
	}
	var tasks []task
	for rows.Next() {
		var k task
		if err := rows.Scan(&k.seq, &k.uscc, &k.demand, &k.dept, &k.item, &k.inspector); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, k)
	}
	rows.Close()
	if len(tasks) == 0 {
		t.Fatalf("plan %d visit %d has no tasks", planID, seq)
	}
	performed, notDone := 0, 0
	var depts []int64
	for _, k := range tasks {
		o := outcome[k.dept]
		if o == "" {
			o = "compliant"
		}
		var rule, reason any = "", nil
		var rectify, transferred any
		switch o {
		case "minor":
			rule = "《食品安全法》第一百三十六条"
		case "violation":
			rule, rectify = "《食品安全法》第一百二十六条", day(visitDate).AddDate(0, 0, 30).Format(time.DateOnly)
		case "transferred":
			transferred = k.dept
		case "not_done":
			reason = "closed"
		}
		if o == "not_done" {
			notDone++
		} else {
			performed++
			if len(depts) == 0 || depts[len(depts)-1] != k.dept {
				depts = append(depts, k.dept)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO task_results (plan_id, task_seq, visit_seq, uscc, demand_id, department_id,
			item_id, outcome, rule_cited, rectify_by, transferred_to, not_done_reason, recorded_by, client_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::date, $11, $12, $13, $14)`,
			planID, k.seq, seq, k.uscc, k.demand, k.dept, k.item, o, rule, rectify, transferred, reason, k.inspector,
			uuid.NewString()); err != nil {
			t.Fatal(err)
		}
	}
	due := calendar.New
	cal, _ := due(nil, nil)
	if _, err := db.ExecContext(ctx, `INSERT INTO visit_reports (plan_id, visit_seq, uscc, visit_date, team_id, department_ids,
		performed_tasks, not_done_tasks, publish_due)
		SELECT v.plan_id, v.seq, v.uscc, $3::date, v.team_id, $4, $5, $6, $7::date FROM plan_visits v WHERE v.plan_id = $1 AND v.seq = $2`,
		planID, seq, visitDate, int64Array(depts), performed, notDone,
		cal.AddWorkingDays(day(visitDate), store.PublicationWorkingDays).Format(time.DateOnly)); err != nil {
		t.Fatal(err)
	}
}

func int64Array(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return "{" + strings.Join(s, ",") + "}"
}

func TestOverdueCutoff(t *testing.T) {
	cal, err := calendar.New([]string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"}, []string{"2026-10-10"})
	if err != nil {
		t.Fatal(err)
	}
	for _, today := range []string{"2026-03-02", "2026-03-31", "2026-10-12", "2026-10-30", "2026-12-07"} {
		c := store.OverdueCutoff(day(today), cal.AddWorkingDays, 20)
		// c's deadline passed; the next day's has not.
		if !cal.AddWorkingDays(c, 20).Before(day(today)) || cal.AddWorkingDays(c.AddDate(0, 0, 1), 20).Before(day(today)) {
			t.Errorf("today %s: cutoff %s (deadline %s), next day's deadline %s", today, civil(c),
				civil(cal.AddWorkingDays(c, 20)), civil(cal.AddWorkingDays(c.AddDate(0, 0, 1), 20)))
		}
	}
}

func civil(t time.Time) string { return t.Format(time.DateOnly) }

func TestParseResultCursor(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true}, {"2026-03-03.1.2", true}, {"2026-03-03.01.2", false}, {"2026-03-03.1", false},
		{"2026-13-03.1.2", false}, {"2026-03-03.0.2", false}, {"2026-03-03.1.-2", false}, {"x.y.z", false},
		{"2026-03-03.1.2.3", false}, {"2026-03-03.+1.2", false},
	} {
		c, err := store.ParseResultCursor(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v", tc.in, err)
		}
		if err == nil && tc.in != "" && c.String() != tc.in {
			t.Errorf("%q reads back as %q", tc.in, c.String())
		}
	}
}

func FuzzParseResultCursor(f *testing.F) {
	for _, s := range []string{"", "2026-03-03.1.2", "2026-03-03.01.2", "..", "2026-02-30.1.1", "9999-12-31.9223372036854775807.2147483647"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := store.ParseResultCursor(s)
		if err != nil || s == "" {
			return
		}
		if c.String() != s || c.PlanID <= 0 || c.VisitSeq <= 0 {
			t.Fatalf("%q parsed to %+v (%q)", s, c, c.String())
		}
	})
}

// TestPublicationOfResults: confirmed reports are published by
// PublishReports (twice at once: each once), appear in the public list with
// their items, inspectors' names and the draw that selected the business, and
// the dashboard tells due, published and overdue apart, including a visit
// with no report at all.
func TestPublicationOfResults(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	// Visit 1 (biz 0, both departments, drawn for the sample demand): a
	// violation for A, compliant for B. Visit 2: confirmed, but its deadline
	// is passed by the day the dashboard is read. Visit 3: no report.
	seedReport(t, st, p.ID, 1, "2026-03-03", map[int64]string{f.deptA: "violation"})
	seedReport(t, st, p.ID, 2, "2026-03-03", map[int64]string{f.deptA: "minor"})

	cal, _ := calendar.New(nil, nil)
	q := store.PublicationQuery{Today: day("2026-03-20"), AddWorkingDays: cal.AddWorkingDays, Location: time.UTC}
	dash, err := st.PublicationStatus(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if dash.Due != 2 || dash.OverdueUnpublished != 0 || dash.OverdueUnreported != 0 || dash.PublishedOnTime != 0 || len(dash.DueVisits) != 2 {
		t.Fatalf("before publication, 03-20: %+v", dash)
	}
	// Well past every deadline (03-31 for visits of 03-03 and 03-04) and
	// before publication: both reports unpublished-overdue, visit 3 unreported.
	late := q
	late.Today = day("2026-04-10")
	dash, err = st.PublicationStatus(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if dash.Due != 0 || dash.OverdueUnpublished != 2 || dash.OverdueUnreported != 1 || len(dash.OverdueVisits) != 3 {
		t.Fatalf("04-10, nothing published: %+v", dash)
	}
	last := dash.OverdueVisits[2]
	if last.State != "unreported" || last.VisitSeq != 3 || last.VisitDate != "2026-03-04" || last.PublishDue != "2026-04-01" {
		t.Fatalf("unreported visit %+v", last)
	}

	// Two publishers at once publish each report exactly once.
	counts := make(chan int, 2)
	for range 2 {
		go func() {
			n, err := st.PublishReports(ctx, "publisher", 1)
			if err != nil {
				t.Error(err)
			}
			counts <- n
		}()
	}
	total := <-counts + <-counts
	for {
		n, err := st.PublishReports(ctx, "publisher", 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 2 {
		t.Fatalf("published %d reports, want 2", total)
	}
	if n, err := st.UnpublishedReports(ctx); err != nil || n != 0 {
		t.Fatalf("unpublished after the runs: %d %v", n, err)
	}

	page, err := st.PublishedResults(ctx, store.ResultFilter{}, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("first page %+v", page)
	}
	r := page.Items[0]
	if r.USCC != f.biz[0] || r.BusinessName != "店0" || r.VisitDate != "2026-03-03" || len(r.Departments) != 2 ||
		!reflect.DeepEqual(r.Inspectors, []string{"人1", "人0"}) || len(r.Items) != 2 {
		t.Fatalf("result %+v", r)
	}
	var viol *store.PublishedItem
	for i := range r.Items {
		if r.Items[i].Outcome == "violation" {
			viol = &r.Items[i]
		}
	}
	if viol == nil || viol.DepartmentCode != "SCJG" || viol.RuleCited == "" || viol.RectifyBy != "2026-04-02" {
		t.Fatalf("violation item %+v in %+v", viol, r.Items)
	}
	if len(r.Draws) != 1 || r.Draws[0].DemandID != f.sampleD || r.Draws[0].FrameSize != 3 || r.Draws[0].FrameHash != "abc" ||
		r.Draws[0].DepartmentCode != "XFJY" || len(r.Draws[0].Seed) != 32 || len(r.Draws[0].SeedHash) != 32 || r.Draws[0].YearKey != nil {
		t.Fatalf("draws %+v", r.Draws)
	}
	b, _ := json.Marshal(r)
	for _, secret := range []string{"I0", "I1", `"inspector_id"`, "phone"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("published result carries %q: %s", secret, b)
		}
	}
	next, err := st.PublishedResults(ctx, store.ResultFilter{}, page.Next, 1)
	if err != nil || len(next.Items) != 1 || next.Items[0].VisitSeq != 2 || next.Next != "" || len(next.Items[0].Draws) != 0 {
		t.Fatalf("second page %+v %v", next, err)
	}
	// The date filter.
	none, err := st.PublishedResults(ctx, store.ResultFilter{From: day("2026-03-04")}, "", 10)
	if err != nil || len(none.Items) != 0 {
		t.Fatalf("from 03-04: %+v %v", none, err)
	}
	var all []store.PublishedResult
	if err := st.EachPublishedResult(ctx, store.ResultFilter{From: day("2026-03-01"), To: day("2026-03-31")}, func(r store.PublishedResult) error {
		all = append(all, r)
		return nil
	}); err != nil || len(all) != 2 {
		t.Fatalf("each: %d %v", len(all), err)
	}

	// Published today (the clock's date): on time if today is on or before
	// 03-31, late otherwise. The real clock is past 2026-03, so both are
	// late; the dashboard read "on" 03-20 still counts them by their stamp.
	dash, err = st.PublicationStatus(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if dash.Due != 0 || dash.OverdueUnpublished != 0 || dash.PublishedOnTime+dash.PublishedLate != 2 {
		t.Fatalf("after publication: %+v", dash)
	}
	if err := st.ExecForTest(ctx, `UPDATE visit_reports SET published_at = '2026-03-10T10:00:00+08:00' WHERE visit_seq = 1`); err != nil {
		t.Fatal(err)
	}
	if err := st.ExecForTest(ctx, `UPDATE visit_reports SET published_at = '2026-04-01T01:00:00+08:00' WHERE visit_seq = 2`); err != nil {
		t.Fatal(err)
	}
	// 04-01 01:00 in Shanghai is 03-31 17:00 UTC: on time in UTC, late in Shanghai.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, tc := range []struct {
		loc             *time.Location
		onTime, tooLate int
	}{{time.UTC, 2, 0}, {sh, 1, 1}} {
		q.Location = tc.loc
		dash, err = st.PublicationStatus(ctx, q)
		if err != nil || dash.PublishedOnTime != tc.onTime || dash.PublishedLate != tc.tooLate {
			t.Fatalf("%s: %+v %v", tc.loc, dash, err)
		}
	}
	// Scoped to department B: only visit 1 carries its tasks.
	q.DepartmentID = f.deptB
	if dash, err = st.PublicationStatus(ctx, q); err != nil || dash.PublishedOnTime+dash.PublishedLate != 1 {
		t.Fatalf("scoped to B: %+v %v", dash, err)
	}
}

// TestHistoryReadsPerformedVisits: the planner's history holds performed
// visits (only their performed items) and published visits still to come; a
// visit whose every task was not done, or a past visit with no report, no
// longer blocks a cool-down.
func TestHistoryReadsPerformedVisits(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	// Visit 1 (biz 0, 03-03): A not done, B compliant. Visit 2 (biz 1,
	// 03-03, A only): not done at all. Visit 3 (biz 2, 03-04): no report.
	seedReport(t, st, p.ID, 1, "2026-03-03", map[int64]string{f.deptA: "not_done"})
	seedReport(t, st, p.ID, 2, "2026-03-03", map[int64]string{f.deptA: "not_done"})

	hist := func(today string) []planner.PastVisit {
		t.Helper()
		in, err := st.PlannerInput(ctx, day("2026-03-10"), day("2026-04-06"), nil, store.InputToday(day(today)))
		if err != nil {
			t.Fatal(err)
		}
		return in.History
	}
	h := hist("2026-03-10")
	if len(h) != 1 || h[0].USCC != f.biz[0] || !reflect.DeepEqual(h[0].DepartmentIDs, []int64{f.deptB}) ||
		!reflect.DeepEqual(h[0].ItemIDs, []int64{f.itemB}) || len(h[0].InspectorIDs) != 2 {
		t.Fatalf("history after the reports (today 03-10): %+v", h)
	}
	// Seen from 03-04, visit 3 is still to come and counts.
	if h := hist("2026-03-04"); len(h) != 2 || h[1].USCC != f.biz[2] {
		t.Fatalf("history seen from 03-04: %+v", h)
	}

	// The planner: a cool-down of item A at biz 0 and biz 1 — both visits
	// left A not done — no longer excludes them; biz 0 is still cooled down
	// for item B (done on 03-03).
	in, err := st.PlannerInput(ctx, day("2026-03-10"), day("2026-04-06"), nil, store.InputToday(day("2026-03-10")))
	if err != nil {
		t.Fatal(err)
	}
	in.Policy.CooldownDays, in.Policy.YearlyCap = 30, 0
	in.Demands = []planner.Demand{
		{ID: 900, DepartmentID: f.deptA, ItemIDs: []int64{f.itemA}, Businesses: f.biz, From: in.From, To: in.To, Priority: 3, Source: "routine"},
		{ID: 901, DepartmentID: f.deptB, ItemIDs: []int64{f.itemB}, Businesses: f.biz, From: in.From, To: in.To, Priority: 3, Source: "routine"},
	}
	_, _, unplaced := planner.Resolve(in)
	cooled := map[string]bool{}
	for _, u := range unplaced {
		if u.Reason == planner.ReasonCooldown {
			cooled[fmt.Sprintf("%s/%d", u.USCC, u.ItemID)] = true
		}
	}
	want := map[string]bool{fmt.Sprintf("%s/%d", f.biz[0], f.itemB): true}
	if !reflect.DeepEqual(cooled, want) {
		t.Fatalf("cooled down %v, want only biz 0 for item B (%v); unplaced %+v", cooled, want, unplaced)
	}

	// Routine frequency: biz 0 (performed) is not due, biz 1 (nothing done)
	// and biz 2 (no report, past) are.
	if err := st.ExecForTest(ctx, `UPDATE businesses SET risk_code = 'red'`); err != nil {
		t.Fatal(err)
	}
	if err := st.ExecForTest(ctx, `INSERT INTO scenarios (code, name, industry_codes) VALUES ('SC1', '餐饮', '{H6210}')`); err != nil {
		t.Fatal(err)
	}
	groups, _, err := st.RoutineDue(ctx, store.RoutineQuery{RiskCode: "red", VisitedSince: day("2026-02-20"),
		Today: day("2026-03-10"), WindowFrom: day("2026-03-11"), Actor: "scheduler"})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || !reflect.DeepEqual(groups[0].Businesses, []string{f.biz[1], f.biz[2]}) {
		t.Fatalf("routine due: %+v", groups)
	}
	// Seen from 03-04, visit 3 is still to come: biz 2 is not due.
	groups, _, err = st.RoutineDue(ctx, store.RoutineQuery{RiskCode: "red", VisitedSince: day("2026-02-20"),
		Today: day("2026-03-04"), WindowFrom: day("2026-03-05"), Actor: "scheduler"})
	if err != nil || len(groups) != 1 || !reflect.DeepEqual(groups[0].Businesses, []string{f.biz[1]}) {
		t.Fatalf("routine due seen from 03-04: %+v %v", groups, err)
	}
}
