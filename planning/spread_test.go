package planning_test

import (
	"context"
	"testing"

	"inspectonce/planner"
	"inspectonce/planning"
)

// busiest counts the plan's visits per day and returns the busiest day's
// share, from the visits themselves (not from the stats under test).
func busiest(visits []planner.Visit) (planner.Day, float64, int) {
	per := map[planner.Day]int{}
	var day planner.Day
	for _, v := range visits {
		per[v.Date]++
		if per[v.Date] > per[day] || (per[v.Date] == per[day] && v.Date < day) {
			day = v.Date
		}
	}
	if len(visits) == 0 {
		return 0, 0, 0
	}
	return day, float64(per[day]) / float64(len(visits)), len(per)
}

// TestEvenDaysOnTheDemoCounty: a 28-day plan of the demo county spreads its
// visits so the busiest day holds at most 12 % of them (DESIGN.md §9), with
// the visits still at the lower bound.
func TestEvenDaysOnTheDemoCounty(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	from := svc.NextWorkingDay()
	res, err := svc.Run(context.Background(), "tester", planning.Request{From: from, To: from.AddDate(0, 0, 27), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Result
	day, share, days := busiest(p.Visits)
	t.Logf("demo county: %d visits (lower bound %d, unplaced %d) on %d days; busiest %s holds %d = %.1f %%",
		len(p.Visits), p.Stats.LowerBound, p.Stats.Unplaced, days, day, int(share*float64(len(p.Visits))+0.5), 100*share)
	for id, tl := range p.Stats.TeamLoad {
		t.Logf("team %d: peak %d min on %s, mean %.0f min", id, tl.PeakMinutes, tl.PeakDay, tl.MeanMinutes)
	}
	if len(p.Visits) == 0 {
		t.Fatal("no visits")
	}
	if len(p.Visits) != p.Stats.LowerBound {
		t.Errorf("%d visits, lower bound %d", len(p.Visits), p.Stats.LowerBound)
	}
	if share > 0.12 {
		t.Errorf("busiest day %s holds %.1f %% of the visits, want at most 12 %%", day, 100*share)
	}
	if p.Stats.BusiestDay != day || p.Stats.BusiestDayShare != share {
		t.Errorf("stats say busiest %s at %.3f, visits say %s at %.3f", p.Stats.BusiestDay, p.Stats.BusiestDayShare, day, share)
	}
	if res.Stats.BusiestDay != day.String() || res.Stats.BusiestDayShare != share || len(res.Stats.TeamLoad) == 0 {
		t.Errorf("stored stats: busiest %q at %.3f, %d team loads", res.Stats.BusiestDay, res.Stats.BusiestDayShare, len(res.Stats.TeamLoad))
	}
	for id, tl := range p.Stats.TeamLoad {
		if tl.PeakMinutes <= 0 || tl.MeanMinutes <= 0 || float64(tl.PeakMinutes) < tl.MeanMinutes {
			t.Errorf("team %d load %+v", id, tl)
		}
	}
}
