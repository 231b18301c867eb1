package planning_test

import (
	"context"
	"fmt"
	"testing"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/planning"
)

// TestSecondPlanRespectsThePublishedCalendar: on the demo county with team
// capacities shrunk so they bind, plan 1 is published, new demands arrive,
// and plan 2 over an overlapping horizon is made. Counting both plans' visits,
// no team-day goes over its capacity and no inspector-day over the
// inspector's day, and plan 2's input holds plan 1's visits as booked.
func TestSecondPlanRespectsThePublishedCalendar(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	ctx := context.Background()
	const teamCapacity = 360 // minutes a team-day: two or three visits
	if err := st.ExecForTest(ctx, fmt.Sprintf("UPDATE teams SET daily_capacity_minutes = %d", teamCapacity)); err != nil {
		t.Fatal(err)
	}
	from := svc.NextWorkingDay()
	to := from.AddDate(0, 0, 27)
	first, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, "tester", first.PlanID); err != nil {
		t.Fatal(err)
	}
	if first.Stats.UnplacedByReason[planner.ReasonCapacity] == 0 {
		t.Fatalf("capacity does not bind plan 1: %+v", first.Stats)
	}

	// New demands over the second horizon: a sample of 30 businesses for one
	// item of each department.
	from2, to2 := from.AddDate(0, 0, 7), to.AddDate(0, 0, 7)
	in, err := st.PlannerInput(ctx, from2, to2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Booked) == 0 {
		t.Fatal("plan 2's input holds none of plan 1's visits")
	}
	seen := map[int64]bool{}
	count := 30
	for _, it := range in.Items {
		if seen[it.DepartmentID] {
			continue
		}
		seen[it.DepartmentID] = true
		d := domain.Demand{DepartmentID: it.DepartmentID, Title: "second wave", ItemIDs: []int64{it.ID},
			TargetKind: domain.TargetSample, Sample: &domain.SampleRule{Count: &count},
			WindowFrom: from2, WindowTo: to2, Priority: 3, Source: domain.SourceRoutine}
		if _, err := st.CreateDemand(ctx, "tester", nil, &d); err != nil {
			t.Fatal(err)
		}
	}
	second, err := svc.Run(ctx, "tester", planning.Request{From: from2, To: to2, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan 1: %d visits, unplaced %v; plan 2: %d visits, unplaced %v; %d booked in plan 2's horizon",
		first.Stats.Visits, first.Stats.UnplacedByReason, second.Stats.Visits, second.Stats.UnplacedByReason, len(in.Booked))
	if second.Stats.Visits == 0 || second.Stats.UnplacedByReason[planner.ReasonCapacity] == 0 {
		t.Fatalf("plan 2 should place visits and find capacity binding: %+v", second.Stats)
	}

	type key struct {
		id  int64
		day planner.Day
	}
	team, insp := map[key]int{}, map[key]int{}
	overlap := 0
	for _, p := range []*planner.Plan{first.Result, second.Result} {
		for _, v := range p.Visits {
			m := v.DurationMinutes + v.TravelMinutes
			team[key{v.TeamID, v.Date}] += m * len(v.InspectorIDs)
			for _, id := range v.InspectorIDs {
				insp[key{id, v.Date}] += m
			}
		}
		if p == first.Result {
			continue
		}
		for _, v := range p.Visits {
			if planner.DayOf(v.Date.Time()) <= planner.DayOf(to) {
				overlap++
			}
		}
	}
	if overlap == 0 {
		t.Fatal("plan 2 placed nothing on the days plan 1 holds: the test shows nothing")
	}
	for k, used := range team {
		if used > teamCapacity {
			t.Errorf("team %d on %s holds %d of %d minutes over both plans", k.id, k.day, used, teamCapacity)
		}
	}
	for k, used := range insp {
		if used > planner.DefaultPolicy().InspectorDayMinutes {
			t.Errorf("inspector %d on %s works %d minutes over both plans", k.id, k.day, used)
		}
	}
}
