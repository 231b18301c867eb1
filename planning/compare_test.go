package planning_test

import (
	"context"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/planner"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestCoordinatedPlanKeepsItsIndependentCounterpart: a coordinated run keeps
// the figures of the same cycle planned with independent draws in its stats;
// an independent run keeps none. The log line gives the cost of the extra
// build (a dry independent run is one build, a dry coordinated run two).
func TestCoordinatedPlanKeepsItsIndependentCounterpart(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	ctx := context.Background()
	from := svc.NextWorkingDay()
	to := from.AddDate(0, 0, 27)

	// The fastest of a few runs each, so a busy machine does not skew it.
	fastest := func(independent bool) (*planning.Result, time.Duration) {
		var best time.Duration
		var res *planning.Result
		for range 5 {
			t0 := time.Now()
			r, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, DryRun: true, Independent: independent})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); res == nil || d < best {
				best = d
			}
			res = r
		}
		return res, best
	}
	dryInd, one := fastest(true)
	dryCoord, two := fastest(false)
	t.Logf("dry run (load + plan), independent only: %v; coordinated with its counterpart: %v; the extra build: %v",
		one, two, two-one)
	if dryInd.Stats.Independent != nil {
		t.Errorf("an independent dry run has a counterpart: %+v", dryInd.Stats.Independent)
	}
	if dryCoord.Stats.Independent == nil {
		t.Fatal("a coordinated dry run has no counterpart")
	}

	res, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Get(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	c := got.Stats.Independent
	if c == nil || res.Stats.Independent == nil || *res.Stats.Independent != *c {
		t.Fatalf("stored counterpart %+v, result's %+v", c, res.Stats.Independent)
	}
	// The counterpart resolves the same demands with other draws: figures
	// that do not depend on the seed match the independent dry run's.
	di := dryInd.Stats
	if c.Tasks != di.Tasks || c.NaiveVisits != di.NaiveVisits || c.LowerBound != di.LowerBound {
		t.Errorf("counterpart %+v, independent dry run %+v", c, di)
	}
	if c.Visits == 0 || c.VisitRatio != float64(got.Stats.Visits)/float64(c.Visits) ||
		c.LowerBoundRatio != float64(got.Stats.LowerBound)/float64(c.LowerBound) {
		t.Errorf("ratios of %+v against visits %d, lower bound %d", c, got.Stats.Visits, got.Stats.LowerBound)
	}
	// Sharing the permanent random numbers needs no more visits than drawing
	// independently.
	if got.Stats.LowerBound > c.LowerBound {
		t.Errorf("coordinated lower bound %d above the independent %d", got.Stats.LowerBound, c.LowerBound)
	}
	t.Logf("coordinated: %d visits (lower bound %d); independent: %d (lower bound %d); ratio %.2f",
		got.Stats.Visits, got.Stats.LowerBound, c.Visits, c.LowerBound, c.VisitRatio)

	if _, err := svc.Discard(ctx, "admin", res.PlanID); err != nil {
		t.Fatal(err)
	}
	ind, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	if ind.Plan.Mode != store.ModeIndependent || ind.Stats.Independent != nil {
		t.Errorf("independent plan: mode %s, counterpart %+v", ind.Plan.Mode, ind.Stats.Independent)
	}
}

// TestComparisonCanBeSwitchedOff: with planning.compare_independent off, a
// coordinated run builds once and keeps no counterpart.
func TestComparisonCanBeSwitchedOff(t *testing.T) {
	st := seeded(t)
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_COMPARE_INDEPENDENT=false", "INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	from := svc.NextWorkingDay()
	res, err := svc.Run(context.Background(), "tester", planning.Request{From: from, To: from.AddDate(0, 0, 27), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Visits == 0 || res.Stats.Independent != nil {
		t.Fatalf("visits %d, counterpart %+v: want a plan and no counterpart", res.Stats.Visits, res.Stats.Independent)
	}
}

// BenchmarkBuildCounterpart measures the cost of the independent
// counterpart on the demo county: Execute builds "coordinated" (the plan)
// and then "independent" (the counterpart) on the same loaded input, so the
// second is the extra cost.
func BenchmarkBuildCounterpart(b *testing.B) {
	st, _ := storetest.New(b)
	ctx := context.Background()
	if _, err := seed.LoadAt(ctx, st, now); err != nil {
		b.Fatal(err)
	}
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		b.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		b.Fatal(err)
	}
	key, err := st.YearKey(ctx, "bench", now.Year())
	if err != nil {
		b.Fatal(err)
	}
	from := date("2026-03-09")
	in, err := st.PlannerInput(ctx, from, from.AddDate(0, 0, 27), nil)
	if err != nil {
		b.Fatal(err)
	}
	in.Calendar, in.Policy, in.YearKey = cal, planner.DefaultPolicy(), key.Key
	for _, independent := range []bool{false, true} {
		name := "coordinated"
		if independent {
			name = "independent"
		}
		b.Run(name, func(b *testing.B) {
			x := *in
			x.Policy.Independent = independent
			for b.Loop() {
				if _, err := planner.Build(&x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
