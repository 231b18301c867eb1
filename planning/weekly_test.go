package planning_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/planning"
)

// TestEightWeeklyPlans: the county plans every week for eight weeks, each
// plan a 28-day draft published the day it is made, so every plan lands on
// three weeks the earlier plans already hold. New demands arrive each week
// and team capacities are cut so that they bind (the seed's long joint visits
// do not fit). Counting every published
// plan's visits together, no team-day goes over its capacity and no
// inspector-day over the inspector's day: the calendar is one, not eight.
func TestEightWeeklyPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("eight planning cycles")
	}
	t.Run("capacity binds", func(t *testing.T) { eightWeeks(t, 360) })
	// With room enough, every task that can share a door-knock shares one:
	// each week's new visits equal the calendar's lower bound.
	t.Run("capacity allows", func(t *testing.T) { eightWeeks(t, 0) })
}

// eightWeeks runs the eight weekly cycles with every team's day cut to
// teamCapacity minutes (0: as seeded, and then the lower bound must be met).
func eightWeeks(t *testing.T, teamCapacity int) {
	st := seeded(t)
	ctx := context.Background()
	if teamCapacity > 0 {
		if err := st.ExecForTest(ctx, fmt.Sprintf("UPDATE teams SET daily_capacity_minutes = %d", teamCapacity)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		id  int64
		day planner.Day
	}
	team, insp := map[key]int{}, map[key]int{}
	var visits, capacityBound, booked, joined int
	for week := range 8 {
		from := svc.NextWorkingDay()
		to := from.AddDate(0, 0, 27)
		in, err := st.PlannerInput(ctx, from, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		if week > 0 && len(in.Booked) == 0 {
			t.Fatalf("week %d: the input holds none of the published visits to come", week)
		}
		booked += len(in.Booked)
		// This week's new demands: 30 businesses for one item of each of
		// three departments (a different three each week), due within the
		// four weeks. Few items a visit, so visits fit a team-day and the
		// weeks compete for days rather than for length.
		var depts []int64
		seen := map[int64]bool{}
		for _, it := range in.Items {
			if !seen[it.DepartmentID] {
				seen[it.DepartmentID] = true
				depts = append(depts, it.DepartmentID)
			}
		}
		mine := map[int64]bool{}
		for i := range 3 {
			mine[depts[(3*week+i)%len(depts)]] = true
		}
		count := 30
		for _, it := range in.Items {
			if !mine[it.DepartmentID] {
				continue
			}
			delete(mine, it.DepartmentID)
			d := domain.Demand{DepartmentID: it.DepartmentID, Title: fmt.Sprintf("week %d", week), ItemIDs: []int64{it.ID},
				TargetKind: domain.TargetSample, Sample: &domain.SampleRule{Count: &count},
				WindowFrom: from, WindowTo: to, Priority: 3, Source: domain.SourceRoutine}
			if _, err := st.CreateDemand(ctx, "tester", nil, &d); err != nil {
				t.Fatal(err)
			}
		}
		res, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		if week > 0 && res.Stats.Visits+res.Stats.TasksJoined == 0 {
			t.Fatalf("week %d placed nothing: %+v", week, res.Stats)
		}
		// One door-knock per business for what can share it: no more new
		// visits than the calendar's lower bound (the visits already there
		// count as stabs). Where capacity binds, a join the booked day has
		// no room for knocks again, and the bound cannot hold.
		if teamCapacity == 0 && res.Stats.Visits > res.Stats.LowerBound {
			t.Errorf("week %d: %d new visits, over the calendar lower bound %d", week, res.Stats.Visits, res.Stats.LowerBound)
		}
		joined += res.Stats.TasksJoined
		if _, err := svc.PublishWith(ctx, "tester", res.PlanID, true); err != nil {
			t.Fatalf("week %d: publish: %v", week, err)
		}
		capacityBound += res.Stats.UnplacedByReason[planner.ReasonCapacity]
		for _, v := range res.Result.Visits {
			visits++
			m := v.DurationMinutes + v.TravelMinutes
			team[key{v.TeamID, v.Date}] += m * len(v.InspectorIDs)
			for _, id := range v.InspectorIDs {
				insp[key{id, v.Date}] += m
			}
		}
		t.Logf("week %d (%s): %d visits (lower bound %d), %d tasks joined to %d booked visits, %d booked in the horizon, unplaced %v, busiest day %.1f %%",
			week, from.Format(time.DateOnly), res.Stats.Visits, res.Stats.LowerBound, res.Stats.TasksJoined, res.Stats.VisitsAmended,
			len(in.Booked), res.Stats.UnplacedByReason, 100*res.Stats.BusiestDayShare)
		clock = clock.AddDate(0, 0, 7)
	}
	t.Logf("%d tasks joined visits already on the calendar over the eight weeks", joined)
	if visits == 0 || (teamCapacity > 0 && capacityBound == 0) || booked == 0 || joined == 0 {
		t.Fatalf("the test shows nothing: %d visits, %d tasks unplaced for capacity, %d booked visits read, %d tasks joined",
			visits, capacityBound, booked, joined)
	}
	caps := map[int64]int{}
	in, err := st.PlannerInput(ctx, now, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range in.Teams {
		caps[tm.ID] = tm.DailyCapacityMinutes
	}
	for k, used := range team {
		if used > caps[k.id] {
			t.Errorf("team %d on %s holds %d of %d minutes over the eight plans", k.id, k.day, used, caps[k.id])
		}
	}
	for k, used := range insp {
		if used > planner.DefaultPolicy().InspectorDayMinutes {
			t.Errorf("inspector %d on %s works %d minutes over the eight plans", k.id, k.day, used)
		}
	}
}
