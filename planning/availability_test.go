package planning_test

import (
	"context"
	"testing"

	"inspectonce/planner"
	"inspectonce/planning"
)

// TestPlanAfterClosureAndLeave (issue 17 (c)): on the demo county, a plan is
// made; then the busiest township is closed for two of the days it had work
// on and the busiest inspector is put on leave over the days they worked.
// A plan made afterwards puts no visit in that township on the closed days
// and nothing on the inspector's leave, and still places work.
func TestPlanAfterClosureAndLeave(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	ctx := context.Background()
	from := svc.NextWorkingDay()
	to := from.AddDate(0, 0, 27)
	before, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	in, err := st.PlannerInput(ctx, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int64]int64{}
	for _, r := range in.Regions {
		parent[r.ID] = r.ParentID
	}
	township := func(r int64) int64 {
		for parent[r] != 0 && parent[parent[r]] != 0 {
			r = parent[r]
		}
		return r
	}
	townOf := map[string]int64{}
	for _, b := range in.Businesses {
		townOf[b.USCC] = township(b.RegionID)
	}

	// The township-day and the inspector with the most visits before.
	type key struct {
		id  int64
		day planner.Day
	}
	townDays, inspDays := map[key]int{}, map[int64][]planner.Day{}
	for _, v := range before.Result.Visits {
		townDays[key{townOf[v.USCC], v.Date}]++
		for _, id := range v.InspectorIDs {
			inspDays[id] = append(inspDays[id], v.Date)
		}
	}
	var town key
	for k, n := range townDays {
		if n > townDays[town] || (n == townDays[town] && (k.id < town.id || (k.id == town.id && k.day < town.day))) {
			town = k
		}
	}
	var insp int64
	for id, ds := range inspDays {
		if len(ds) > len(inspDays[insp]) || (len(ds) == len(inspDays[insp]) && id < insp) {
			insp = id
		}
	}
	if town.id == 0 || insp == 0 {
		t.Fatalf("the first plan placed nothing: %+v", before.Stats)
	}
	// Close the township on that day and the next; the leave covers the
	// inspector's first working day through its last.
	closeFrom, closeTo := town.day, town.day+1
	leaveFrom, leaveTo := slicesMin(inspDays[insp]), slicesMax(inspDays[insp])
	if _, err := st.CreateClosure(ctx, "tester", town.id, 0, closeFrom.Time(), closeTo.Time(), "台风停航"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUnavailability(ctx, "tester", insp, leaveFrom.Time(), leaveTo.Time(), "年休假"); err != nil {
		t.Fatal(err)
	}
	in2, err := st.PlannerInput(ctx, from, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(in2.Closures) != 1 || len(in2.Unavailable) != 1 {
		t.Fatalf("planner input: closures %+v, unavailable %+v", in2.Closures, in2.Unavailable)
	}

	after, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.Visits == 0 {
		t.Fatalf("the plan after the closure placed nothing: %+v", after.Stats)
	}
	for _, v := range after.Result.Visits {
		if townOf[v.USCC] == town.id && v.Date >= closeFrom && v.Date <= closeTo {
			t.Errorf("visit to %s on %s, in township %d closed %s..%s", v.USCC, v.Date, town.id, closeFrom, closeTo)
		}
		for _, id := range v.InspectorIDs {
			if id == insp && v.Date >= leaveFrom && v.Date <= leaveTo {
				t.Errorf("visit to %s on %s has inspector %d on leave %s..%s", v.USCC, v.Date, id, leaveFrom, leaveTo)
			}
		}
	}
	t.Logf("before: %d visits (%d in township %d on %s, inspector %d on %d); after: %d visits, unplaced %v",
		before.Stats.Visits, townDays[town], town.id, town.day, insp, len(inspDays[insp]), after.Stats.Visits, after.Stats.UnplacedByReason)
}

func slicesMin(ds []planner.Day) planner.Day {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func slicesMax(ds []planner.Day) planner.Day {
	m := ds[0]
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
