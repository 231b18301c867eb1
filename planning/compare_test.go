package planning_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
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

// TestDraftDoesNotWaitForItsCounterpart: with a comparison job wired in, a
// coordinated run stores its draft with the comparison queued and hands the
// plan to the job instead of building the counterpart; Compare then records
// the same figures the inline build gives (those that do not depend on the
// seed), only once. A discarded draft's comparison is skipped; a failed
// enqueue leaves the draft standing with its comparison failed.
func TestDraftDoesNotWaitForItsCounterpart(t *testing.T) {
	st := seeded(t)
	ctx := context.Background()
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	var queued []int64
	var enqueueErr error
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now },
		EnqueueComparison: func(_ context.Context, id int64) error { queued = append(queued, id); return enqueueErr }})
	if err != nil {
		t.Fatal(err)
	}
	from := svc.NextWorkingDay()
	to := from.AddDate(0, 0, 27)
	dry, err := newService(t, st).Run(ctx, "tester", planning.Request{From: from, To: to, DryRun: true})
	if err != nil || dry.Stats.Independent == nil {
		t.Fatalf("inline dry run: %v, counterpart %+v", err, dry)
	}

	res, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Status != store.PlanDraft || res.Plan.ComparisonStatus != store.ComparisonQueued || res.Stats.Independent != nil {
		t.Fatalf("draft %s, comparison %q, counterpart %+v: want a draft whose comparison is queued", res.Plan.Status,
			res.Plan.ComparisonStatus, res.Stats.Independent)
	}
	if len(queued) != 1 || queued[0] != res.PlanID {
		t.Fatalf("comparison jobs queued %v, want [%d]", queued, res.PlanID)
	}
	if err := svc.Compare(ctx, res.PlanID); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Get(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	c, di := got.Stats.Independent, dry.Stats.Independent
	if got.ComparisonStatus != store.ComparisonDone || c == nil {
		t.Fatalf("after the job: comparison %q, counterpart %+v", got.ComparisonStatus, c)
	}
	if c.Tasks != di.Tasks || c.NaiveVisits != di.NaiveVisits || c.LowerBound != di.LowerBound ||
		c.VisitRatio != float64(got.Stats.Visits)/float64(c.Visits) {
		t.Errorf("job's counterpart %+v, inline %+v (plan visits %d)", c, di, got.Stats.Visits)
	}
	if err := svc.Compare(ctx, res.PlanID); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("a second comparison: %v, want a conflict", err)
	}
	// Published later, the plan keeps it.
	if _, err := svc.Publish(ctx, "admin", res.PlanID); err != nil {
		t.Fatal(err)
	}
	if pub, err := svc.Get(ctx, res.PlanID); err != nil || pub.Stats.Independent == nil || *pub.Stats.Independent != *c {
		t.Fatalf("published: %v, counterpart %+v", err, pub.Stats)
	}

	// Discarded before its job ran: skipped.
	from2 := to.AddDate(0, 0, 1)
	for !svc.Calendar().IsWorkingDay(from2) {
		from2 = from2.AddDate(0, 0, 1)
	}
	second, err := svc.Run(ctx, "tester", planning.Request{From: from2, To: from2.AddDate(0, 0, 13)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Discard(ctx, "admin", second.PlanID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Compare(ctx, second.PlanID); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("comparison of a discarded plan: %v, want a conflict", err)
	}
	if p, _ := svc.Get(ctx, second.PlanID); p.ComparisonStatus != store.ComparisonSkipped {
		t.Errorf("discarded plan's comparison %q, want skipped", p.ComparisonStatus)
	}

	// The queue is away: the draft stands, its comparison says why not.
	enqueueErr = errors.New("redis: connection refused")
	third, err := svc.Run(ctx, "tester", planning.Request{From: from2, To: from2.AddDate(0, 0, 13)})
	if err != nil {
		t.Fatal(err)
	}
	if third.Plan.Status != store.PlanDraft || third.Plan.ComparisonStatus != store.ComparisonFailed ||
		!strings.Contains(third.Plan.ComparisonError, "connection refused") {
		t.Errorf("draft %s, comparison %q (%q)", third.Plan.Status, third.Plan.ComparisonStatus, third.Plan.ComparisonError)
	}
	// Run again (by hand, or a retried job), it is built.
	if err := svc.Compare(ctx, third.PlanID); err != nil {
		t.Fatal(err)
	}
	if p, _ := svc.Get(ctx, third.PlanID); p.ComparisonStatus != store.ComparisonDone || p.Stats.Independent == nil {
		t.Errorf("after running it again: %q, %+v", p.ComparisonStatus, p.Stats.Independent)
	}

	// Published before its job started: its own visits are now on the
	// calendar, so the counterpart is skipped rather than skewed.
	enqueueErr = nil
	if _, err := svc.Discard(ctx, "admin", third.PlanID); err != nil {
		t.Fatal(err)
	}
	fourth, err := svc.Run(ctx, "tester", planning.Request{From: from2, To: from2.AddDate(0, 0, 13)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishWith(ctx, "admin", fourth.PlanID, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.Compare(ctx, fourth.PlanID); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("comparison of a plan published first: %v, want a conflict", err)
	}
	if p, _ := svc.Get(ctx, fourth.PlanID); p.ComparisonStatus != store.ComparisonSkipped || p.Stats.Independent != nil {
		t.Errorf("plan published first: comparison %q, %+v; want skipped", p.ComparisonStatus, p.Stats.Independent)
	}
	// Published while its counterpart is being built: the figures do not
	// land on the frozen plan, and the comparison says skipped.
	from3 := from2.AddDate(0, 0, 14)
	for !svc.Calendar().IsWorkingDay(from3) {
		from3 = from3.AddDate(0, 0, 1)
	}
	fifth, err := svc.Run(ctx, "tester", planning.Request{From: from3, To: from3.AddDate(0, 0, 6)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.StartPlanComparison(ctx, fifth.PlanID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishWith(ctx, "admin", fifth.PlanID, true); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlanComparison(ctx, fifth.PlanID, *c); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("comparison landing on a published plan: %v, want a conflict", err)
	}
	if p, _ := svc.Get(ctx, fifth.PlanID); p.ComparisonStatus != store.ComparisonSkipped || p.Stats.Independent != nil {
		t.Errorf("plan published while comparing: comparison %q, %+v; want skipped", p.ComparisonStatus, p.Stats.Independent)
	}
}
