package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// TestRepairsAPI: a leave recorded through the API opens a repair; once it
// has run, coordinators read it, the inspector it replaced, its verified
// draw and — for a closure whose visit cannot move — the problem listed.
func TestRepairsAPI(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var others []int64
	for i := range 2 {
		in := domain.Inspector{Code: fmt.Sprintf("ZJ-010%d", i), Name: fmt.Sprintf("替补%d", i), TeamID: v.team.ID, Domains: []string{"food_safety"}}
		must(v.st.CreateInspector(ctx, "test", &in))
		others = append(others, in.ID)
	}
	list := &domain.Demand{DepartmentID: v.deptA.ID, ItemIDs: []int64{v.itemA.ID}, TargetKind: domain.TargetList,
		Businesses: []string{v.bizA.USCC, v.bizB.USCC}, WindowFrom: testToday, WindowTo: testToday.AddDate(0, 1, 0),
		Priority: 3, Source: domain.SourceRoutine}
	_, err := v.st.CreateDemand(ctx, "test", nil, list)
	must(err)
	var days []time.Time
	for d := v.plans.Today().AddDate(0, 0, 3); len(days) < 3; d = d.AddDate(0, 0, 1) {
		if v.plans.Calendar().IsWorkingDay(d) {
			days = append(days, d)
		}
	}
	_, err = v.st.YearKey(ctx, "test", testToday.Year())
	must(err)
	seed := make([]byte, 32)
	p, err := v.st.CreatePlan(ctx, "test", store.NewPlan{From: days[0], To: days[2], Mode: store.ModeCoordinated, Year: testToday.Year(), Seed: seed})
	must(err)
	task := func(b string, from, to time.Time) planner.Task {
		return planner.Task{DemandID: list.ID, DepartmentID: v.deptA.ID, USCC: b, ItemID: v.itemA.ID,
			From: planner.DayOf(from), To: planner.DayOf(to), Priority: 3}
	}
	d0, d1 := planner.DayOf(days[0]), planner.DayOf(days[1])
	plan := &planner.Plan{
		Visits: []planner.Visit{
			{USCC: v.bizA.USCC, Date: d0, TeamID: v.team.ID, InspectorIDs: []int64{v.inspector.ID, others[0]},
				Tasks: []planner.Task{task(v.bizA.USCC, days[0], days[2])}, DepartmentIDs: []int64{v.deptA.ID}, DurationMinutes: 45, RouteOrder: 1},
			// Its window is its own day: a closure of that day leaves it nowhere to go.
			{USCC: v.bizB.USCC, Date: d1, TeamID: v.team.ID, InspectorIDs: []int64{others[0], others[1]},
				Tasks: []planner.Task{task(v.bizB.USCC, days[1], days[1])}, DepartmentIDs: []int64{v.deptA.ID}, DurationMinutes: 45, RouteOrder: 1},
		},
		Stats: planner.Stats{Tasks: 2, NaiveVisits: 2, LowerBound: 2, Visits: 2},
	}
	must(v.st.SavePlanResult(ctx, p.ID, plan))
	_, err = v.st.PublishPlan(ctx, "test", p.ID)
	must(err)

	r := v.do("team_leader", "POST", fmt.Sprintf("/api/v1/inspectors/%d/unavailability", v.inspector.ID),
		map[string]any{"from": days[0].Format(time.DateOnly), "to": days[0].Format(time.DateOnly), "reason": "病假"})
	expect(t, r, 201, "leave")
	var u store.Unavailability
	r.json(t, &u)
	if u.RepairID == nil {
		t.Fatalf("no repair: %s", r.Body)
	}
	// Before it runs the repair is pending; the worker's task runs it.
	var rep store.CalendarRepair
	getRepair := v.do("admin", "GET", fmt.Sprintf("/api/v1/repairs/%d", *u.RepairID), nil)
	expect(t, getRepair, 200, "pending repair")
	getRepair.json(t, &rep)
	if rep.Status != store.RepairPending || rep.Cause != store.RepairCauseUnavailability || rep.Reason != "病假" {
		t.Fatalf("pending repair %+v", rep)
	}
	if _, err := v.plans.RunRepair(ctx, *u.RepairID); err != nil {
		t.Fatal(err)
	}
	var detail repairDetail
	r = v.do("team_leader", "GET", fmt.Sprintf("/api/v1/repairs/%d", *u.RepairID), nil)
	expect(t, r, 200, "repair")
	r.json(t, &detail)
	if detail.Status != store.RepairDone || detail.Restaffed != 1 || detail.Moved != 0 || len(detail.Substitutions) != 1 ||
		detail.Substitutions[0].OutID != v.inspector.ID || detail.Substitutions[0].InID != others[1] ||
		detail.Substitutions[0].InName != "替补1" || detail.Substitutions[0].Reason != "病假" {
		t.Fatalf("repair detail %s", r.Body)
	}
	var ver struct {
		Draws      []map[string]any `json:"draws"`
		Mismatches int              `json:"mismatches"`
	}
	r = v.do("admin", "GET", fmt.Sprintf("/api/v1/repairs/%d/verify", *u.RepairID), nil)
	expect(t, r, 200, "verify")
	r.json(t, &ver)
	if len(ver.Draws) != 1 || ver.Mismatches != 0 {
		t.Fatalf("verify %s", r.Body)
	}
	expect(t, v.do("team_leader", "GET", fmt.Sprintf("/api/v1/repairs/%d/verify", *u.RepairID), nil), 403, "leader verifies")
	expect(t, v.do("inspector", "GET", "/api/v1/repairs", nil), 403, "inspector lists repairs")
	expect(t, v.do("business", "GET", "/api/v1/repair-problems", nil), 403, "business lists problems")
	expect(t, v.do("admin", "GET", "/api/v1/repairs/999999", nil), 404, "unknown repair")
	expect(t, v.do("admin", "GET", "/api/v1/repairs/999999/problems", nil), 404, "unknown repair's problems")
	expect(t, v.do("admin", "GET", "/api/v1/repairs?status=broken", nil), 422, "bad status")

	// A closure of day 1: visit 2's window is that day alone.
	r = v.do("admin", "POST", "/api/v1/closures", map[string]any{"region_id": v.town.ID,
		"from": days[1].Format(time.DateOnly), "to": days[1].Format(time.DateOnly), "reason": "台风停航"})
	expect(t, r, 201, "closure")
	var cl store.Closure
	r.json(t, &cl)
	if _, err := v.plans.RunRepair(ctx, *cl.RepairID); err != nil {
		t.Fatal(err)
	}
	var probs struct {
		Items []store.RepairProblem `json:"items"`
	}
	r = v.do("planner", "GET", fmt.Sprintf("/api/v1/repairs/%d/problems", *cl.RepairID), nil)
	expect(t, r, 200, "problems")
	r.json(t, &probs)
	if len(probs.Items) != 1 || probs.Items[0].VisitSeq != 2 || probs.Items[0].Reason != planner.RepairNoDay ||
		probs.Items[0].BusinessName != v.bizB.Name || probs.Items[0].CurrentDate != days[1].Format(time.DateOnly) {
		t.Fatalf("problems %s", r.Body)
	}
	r = v.do("admin", "GET", "/api/v1/repairs?with_problems=true", nil)
	expect(t, r, 200, "repairs with problems")
	var reps struct {
		Items []store.CalendarRepair `json:"items"`
	}
	r.json(t, &reps)
	if len(reps.Items) != 1 || reps.Items[0].ID != *cl.RepairID || reps.Items[0].Unrepaired != 1 {
		t.Fatalf("repairs with problems %s", r.Body)
	}
	r = v.do("admin", "GET", "/api/v1/repair-problems", nil)
	expect(t, r, 200, "all problems")
	r.json(t, &probs)
	if len(probs.Items) != 1 {
		t.Fatalf("all problems %s", r.Body)
	}

	// Undoing a repair: only once its cause is lifted, only by an admin, once.
	restore := fmt.Sprintf("/api/v1/repairs/%d/restore", *cl.RepairID)
	expect(t, v.do("admin", "POST", restore, nil), 409, "restore while the closure stands")
	expect(t, v.do("planner", "POST", restore, nil), 403, "planner restores")
	expect(t, v.do("admin", "POST", "/api/v1/repairs/999999/restore", nil), 404, "unknown repair")
	expect(t, v.do("admin", "DELETE", fmt.Sprintf("/api/v1/closures/%d", cl.ID), nil), 204, "lift the closure")
	r = v.do("admin", "GET", fmt.Sprintf("/api/v1/repairs/%d", *cl.RepairID), nil)
	expect(t, r, 200, "lifted repair")
	r.json(t, &rep)
	if !rep.CauseLifted || rep.RestoreID != nil {
		t.Fatalf("lifted repair %s", r.Body)
	}
	r = v.do("admin", "POST", restore, nil)
	expect(t, r, 202, "restore")
	var back store.CalendarRepair
	r.json(t, &back)
	if back.Cause != store.RepairCauseRestore || back.CauseID != *cl.RepairID || back.Status != store.RepairPending {
		t.Fatalf("restore %s", r.Body)
	}
	expect(t, v.do("admin", "POST", restore, nil), 409, "a second restore")
	if done, err := v.plans.RunRepair(ctx, back.ID); err != nil || done.Status != store.RepairDone || done.Moved != 0 {
		t.Fatalf("restore run %+v %v", done, err)
	}
}
