package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestDoorThroughAPI: the joint visit's two inspectors check in, record its
// two results (each upload sent twice, as a phone on a bad connection would)
// and confirm; the second confirmation reports the visit, turns the business
// red and makes a re-inspection demand. Every answer is checked against the
// OpenAPI document.
func TestDoorThroughAPI(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	ctx := context.Background()
	base := fmt.Sprintf("/api/v1/plans/%d/visits/%d", f.plan.ID, f.joint.Seq)
	if len(f.joint.Inspectors) < 2 {
		t.Fatalf("joint visit has inspectors %+v", f.joint.Inspectors)
	}
	var assigned []int64
	for i, a := range f.joint.Inspectors[:2] {
		tok, _, err := v.st.CreateToken(ctx, "test", "door", domain.RoleInspector, fmt.Sprint(a.InspectorID))
		if err != nil {
			t.Fatal(err)
		}
		v.tokens[fmt.Sprintf("door%d", i)] = tok
		assigned = append(assigned, a.InspectorID)
	}
	// An inspector of the team not on this visit.
	outsider := ""
	if !slices.Contains(assigned, v.inspector.ID) {
		outsider = "inspector"
	}

	// Not yet due: a check-in the day before is refused.
	f.clock.set(midnight(f.joint.Date, -1).Add(9 * time.Hour))
	r := f.do("door0", "POST", base+"/check-ins", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000001"})
	expect(t, r, 409, "check-in the day before")
	f.clock.set(midnight(f.joint.Date, 0).Add(9 * time.Hour))

	r = f.do("door0", "GET", base+"/door", nil)
	expect(t, r, 200, "door view")
	var door store.DoorVisit
	r.json(t, &door)
	if len(door.Tasks) != 2 || door.Report != nil || door.Inspectors[0].Code == "" || door.Tasks[0].Result != nil {
		t.Fatalf("door view %+v", door)
	}
	for _, c := range []struct {
		who    string
		status int
	}{{"door1", 200}, {"admin", 200}, {"business", 403}, {"planner", 403}, {"team_leader", 403}, {"", 401}} {
		expect(t, f.do(c.who, "GET", base+"/door", nil), c.status, "door view as "+c.who)
	}
	if outsider != "" {
		expect(t, f.do(outsider, "GET", base+"/door", nil), 404, "door view by an inspector not on the visit")
		expect(t, f.do(outsider, "POST", base+"/check-ins", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-0000000000aa"}), 404,
			"check-in by an inspector not on the visit")
	}

	checkIn := map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000002", "lat": 30.72, "lng": 122.45, "accuracy_m": 8}
	first := f.do("door0", "POST", base+"/check-ins", checkIn)
	expect(t, first, 201, "check-in")
	again := f.do("door0", "POST", base+"/check-ins", checkIn)
	expect(t, again, 200, "retried check-in")
	if string(first.Body) != string(again.Body) {
		t.Fatalf("retried check-in answered %s, first %s", again.Body, first.Body)
	}
	expect(t, f.do("admin", "POST", base+"/check-ins", checkIn), 403, "check-in by an admin")

	task := func(i int) string { return fmt.Sprintf("%s/tasks/%d/result", base, door.Tasks[i].TaskSeq) }
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"minor without a rule", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000010", "outcome": "minor"}, "rule_cited"},
		{"violation without a deadline", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000011", "outcome": "violation", "rule_cited": "第一条"}, "rectify_by"},
		{"deadline on the visit's day", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000012", "outcome": "violation",
			"rule_cited": "第一条", "rectify_by": f.joint.Date}, "rectify_by"},
		{"deadline past results.max_rectify_days", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000015", "outcome": "violation",
			"rule_cited": "第一条", "rectify_by": midnight(f.joint.Date, 400).Format("2006-01-02")}, "rectify_by"},
		{"transfer to its own department", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000013", "outcome": "transferred",
			"transferred_to": door.Tasks[0].DepartmentID}, "transferred_to"},
		{"not done without reason", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000014", "outcome": "not_done"}, "not_done_reason"},
		{"no client id", map[string]any{"outcome": "compliant"}, "client_id"},
		{"an unknown field", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000015", "outcome": "compliant", "penalty": 500}, "penalty"},
	} {
		r := f.do("door0", "PUT", task(0), c.body)
		expect(t, r, 422, c.name)
		if got := fieldsOf(t, r); !slices.Equal(got, []string{c.field}) {
			t.Errorf("%s: fields %v, want [%s]", c.name, got, c.field)
		}
	}
	expect(t, f.do("door0", "PUT", base+"/tasks/999999/result",
		map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000016", "outcome": "compliant"}), 404, "a task of no visit")

	compliant := map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000020", "outcome": "compliant", "note": "证照齐全"}
	r1 := f.do("door0", "PUT", task(0), compliant)
	expect(t, r1, 201, "result")
	r2 := f.do("door0", "PUT", task(0), compliant)
	expect(t, r2, 200, "retried result")
	if string(r1.Body) != string(r2.Body) {
		t.Fatalf("retried result answered %s, first %s", r2.Body, r1.Body)
	}
	compliant["note"] = "改了内容"
	expect(t, f.do("door0", "PUT", task(0), compliant), 409, "same client id, other content")
	var rows int
	if err := v.st.SQL().QueryRow(`SELECT count(*) FROM task_results`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d results stored after a retry and a conflict (%v), want 1", rows, err)
	}

	violation := map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000021", "outcome": "violation",
		"rule_cited": "《消防法》第十六条", "rectify_by": midnight(f.joint.Date, 10).Format("2006-01-02")}
	expect(t, f.do("door1", "PUT", task(1), violation), 201, "violation")

	c1 := f.do("door0", "POST", base+"/confirm", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000030"})
	expect(t, c1, 201, "first confirmation")
	var o1 store.ConfirmOutcome
	c1.json(t, &o1)
	if o1.Report != nil || len(o1.ConfirmedBy) != 1 {
		t.Fatalf("first confirmation %+v", o1)
	}
	c2 := f.do("door1", "POST", base+"/confirm", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000031"})
	expect(t, c2, 201, "second confirmation")
	var o2 store.ConfirmOutcome
	c2.json(t, &o2)
	if o2.Report == nil || o2.Report.VisitDate != f.joint.Date || o2.Risk == nil || o2.Risk.To != domain.RiskRed ||
		len(o2.FollowUps) != 1 || o2.FollowUps[0].Kind != store.OriginReinspection {
		t.Fatalf("second confirmation %s", c2.Body)
	}
	expect(t, f.do("door0", "PUT", task(0), map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000040", "outcome": "minor",
		"rule_cited": "第二条"}), 409, "a result after the report")
	expect(t, f.do("door1", "POST", base+"/confirm", map[string]any{"client_id": "6b1d1f1e-0000-4000-8000-000000000031"}), 200,
		"retried confirmation")

	r = f.do("door0", "GET", fmt.Sprintf("/api/v1/inspectors/%d/visits?date=%s", assigned[0], f.joint.Date), nil)
	expect(t, r, 200, "inspector's visits")
	var day struct {
		Date  string
		Items []store.DoorVisit
	}
	r.json(t, &day)
	found := false
	for _, dv := range day.Items {
		if dv.PlanID == f.plan.ID && dv.VisitSeq == f.joint.Seq {
			found = dv.Report != nil && len(dv.CheckIns) == 1 && dv.Tasks[0].Result != nil
		}
	}
	if !found {
		t.Fatalf("the day's visits %s do not show the reported visit", r.Body)
	}
	expect(t, f.do("door0", "GET", fmt.Sprintf("/api/v1/inspectors/%d/visits", assigned[1]), nil), 404, "another inspector's visits")
	r = f.do("door0", "GET", fmt.Sprintf("/api/v1/inspectors/%d/visits?date=tomorrow", assigned[0]), nil)
	expect(t, r, 422, "a bad date")
	bz, err := v.st.GetBusiness(ctx, v.bizA.USCC)
	if err != nil || bz.RiskCode != domain.RiskRed {
		t.Fatalf("business after the report: %+v %v", bz, err)
	}
	r = v.do("admin", "GET", "/api/v1/businesses/"+v.bizA.USCC+"/risk-history", nil)
	expect(t, r, 200, "risk history")
	var hist struct{ History []domain.RiskChange }
	r.json(t, &hist)
	last := hist.History[len(hist.History)-1]
	if last.RiskCode != domain.RiskRed || last.ResultID == nil {
		t.Fatalf("last risk change %+v, want red with the result that caused it", last)
	}
	// Why: a machine code beside words in the configured language (zh).
	if last.ReasonCode != "violation" || !strings.Contains(last.Reason, "发现违法行为") || !strings.Contains(last.Reason, "《消防法》第十六条") ||
		strings.Contains(last.Reason, "violation") || o2.Risk.ReasonCode != "violation" || o2.Risk.Reason != last.Reason {
		t.Fatalf("risk reason %+v (confirmation: %+v)", last, o2.Risk)
	}
	var outcome string
	if err := v.st.SQL().QueryRow(`SELECT outcome FROM task_results WHERE id = $1`, *last.ResultID).Scan(&outcome); err != nil || outcome != "violation" {
		t.Fatalf("risk change points at result %d: %q %v, want the violation", *last.ResultID, outcome, err)
	}

	// 一公开: the confirmed visit is public once the publication job has run,
	// with its outcomes, and not before.
	openData := func() []store.PublishedResult {
		t.Helper()
		r := v.do("", "GET", "/api/v1/open-data/results.json", nil)
		expect(t, r, 200, "open data")
		var page struct{ Items []store.PublishedResult }
		r.json(t, &page)
		var out []store.PublishedResult
		for _, pr := range page.Items {
			if pr.PlanID == f.plan.ID && pr.VisitSeq == f.joint.Seq {
				out = append(out, pr)
			}
		}
		return out
	}
	if got := openData(); len(got) != 0 {
		t.Fatalf("the visit is public before the publication job ran: %+v", got)
	}
	if n, err := v.st.PublishReports(ctx, "test", 100); err != nil || n != 1 {
		t.Fatalf("published %d reports: %v, want 1", n, err)
	}
	pub := openData()
	if len(pub) != 1 || pub[0].USCC != v.bizA.USCC || pub[0].VisitDate != f.joint.Date || pub[0].PublishDue <= f.joint.Date ||
		len(pub[0].Items) != 2 || len(pub[0].Inspectors) == 0 {
		t.Fatalf("open data of the visit: %+v", pub)
	}
	outcomes := []string{pub[0].Items[0].Outcome, pub[0].Items[1].Outcome}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []string{"compliant", "violation"}) {
		t.Fatalf("published outcomes %v, want compliant and violation", outcomes)
	}
}
