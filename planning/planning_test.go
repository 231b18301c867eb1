package planning_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// now is a Friday afternoon in Shengsi; the demo demands are loaded relative
// to it and the service's clock reads it.
var now = time.Date(2026, 3, 6, 15, 0, 0, 0, time.FixedZone("CST", 8*3600))

func newService(t *testing.T, st *store.Store) *planning.Service {
	t.Helper()
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// seeded returns a store on a database holding the demo county with its
// demands as of now. Tests that change plans get their own database.
func seeded(t *testing.T) *store.Store {
	t.Helper()
	st, _ := storetest.New(t)
	if _, err := seed.LoadAt(context.Background(), st, now); err != nil {
		t.Fatal(err)
	}
	return st
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func fieldOf(err error) string {
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) == 0 {
		return ""
	}
	return v.Fields[0].Field
}

func TestRunPublishVerifyOnTheDemoCounty(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	ctx := context.Background()
	from := svc.NextWorkingDay()
	if from.Format(time.DateOnly) != "2026-03-09" {
		t.Fatalf("next working day after %s is %s", now, from.Format(time.DateOnly))
	}
	to := from.AddDate(0, 0, 27)

	// A dry run stores nothing (the seed's past plan is there before it).
	before, _ := svc.List(ctx, store.PlanFilter{}, store.Page{})
	dry, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.PlanID != 0 || dry.Result == nil || dry.Stats.Visits == 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	if list, _ := svc.List(ctx, store.PlanFilter{}, store.Page{}); len(list.Items) != len(before.Items) {
		t.Fatalf("a dry run stored %d plans", len(list.Items))
	}

	start := time.Now()
	res, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	st0 := res.Stats
	t.Logf("demo county, %s..%s, in %v: %d tasks, naive %d, lower bound %d, visits %d, joint rate %.2f, reduction %.2f, unplaced %d %v, %.1f km, %d+%d draws",
		from.Format(time.DateOnly), to.Format(time.DateOnly), time.Since(start), st0.Tasks, st0.NaiveVisits, st0.LowerBound,
		st0.Visits, st0.JointVisitRate, st0.VisitReduction, st0.Unplaced, st0.UnplacedByReason, st0.TravelKm, st0.TargetDraws, st0.InspectorDraws)
	if res.PlanID == 0 || res.Plan.Status != store.PlanDraft || res.Plan.Progress != 100 || res.Plan.Seed != nil {
		t.Fatalf("run: %+v", res.Plan)
	}
	if st0.Visits == 0 || st0.Visits >= st0.NaiveVisits || float64(st0.Visits) > 0.8*float64(st0.NaiveVisits) {
		t.Errorf("visits %d are not well below the naive %d", st0.Visits, st0.NaiveVisits)
	}
	if st0.TargetDraws == 0 || st0.InspectorDraws == 0 {
		t.Errorf("draws: %d target, %d inspector", st0.TargetDraws, st0.InspectorDraws)
	}
	// Same year, same shift, same demands: the dry run drew the same targets.
	if dry.Shift != res.Shift || dry.Stats.Tasks != st0.Tasks || dry.Stats.NaiveVisits != st0.NaiveVisits {
		t.Errorf("dry run and run differ: %+v vs %+v", dry.Stats, st0)
	}

	// A planner sees only the visits with their department's tasks.
	all, err := svc.Visits(ctx, res.PlanID, 0, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if all.Next == "" && len(all.Items) != st0.Visits {
		t.Errorf("%d visits listed, stats say %d", len(all.Items), st0.Visits)
	}
	deptOf := map[int64]int{}
	for _, v := range all.Items {
		for _, d := range v.DepartmentIDs {
			deptOf[d]++
		}
	}
	for dept, n := range deptOf {
		vs, err := svc.Visits(ctx, res.PlanID, dept, store.Page{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if vs.Next == "" && all.Next == "" && len(vs.Items) != n {
			t.Errorf("department %d: %d visits listed, %d carry its tasks", dept, len(vs.Items), n)
		}
	}

	pub, err := svc.Publish(ctx, "admin", res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(pub.Seed); !bytes.Equal(h[:], pub.SeedHash) {
		t.Fatal("revealed seed does not match its commitment")
	}
	if _, err := svc.Publish(ctx, "admin", res.PlanID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("publish twice: %v", err)
	}
	if _, err := svc.Discard(ctx, "admin", res.PlanID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("discard a published plan: %v", err)
	}

	v, err := svc.Verify(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.KeyRevealed || len(v.Draws) != st0.TargetDraws+st0.InspectorDraws {
		for _, c := range v.Draws {
			if !c.Match {
				t.Logf("draw %d (%s): %s", c.Seq, c.Kind, c.Reason)
			}
		}
		t.Fatalf("verification of an untouched plan: ok %v, %d mismatches, commitments %v/%v, pinned %v, %d draws",
			v.OK(), v.Mismatches, v.KeyCommitment, v.SeedCommitment, v.RecordsPinned, len(v.Draws))
	}

	// Key-list businesses are recorded apart from the frames, and verified.
	var withKeyList, keyListed int
	if err := st.SQL().QueryRowContext(ctx, `SELECT count(*), coalesce(sum(jsonb_array_length(certain)), 0) FROM plan_draws
		WHERE plan_id = $1 AND jsonb_array_length(certain) > 0`, res.PlanID).Scan(&withKeyList, &keyListed); err != nil {
		t.Fatal(err)
	}
	if withKeyList == 0 {
		t.Errorf("no target draw of the demo county recorded a key list")
	}
	t.Logf("%d target draws took %d key-list businesses apart, all verified", withKeyList, keyListed)

	// The next plan rotates the shift.
	if next, err := st.NextShift(ctx, 2026); err != nil || next != *pub.NextShift || (next == pub.Shift && st0.TargetDraws > 0) {
		t.Errorf("next shift %v (%v), plan shift %v next %v", next, err, pub.Shift, *pub.NextShift)
	}

	// Tamper with one target draw's result and one inspector draw's: the
	// frozen rows refuse it until the trigger is turned off.
	var target, inspector int
	for _, c := range v.Draws {
		switch {
		case c.Kind == planner.DrawTargets && target == 0 && len(c.Result) >= 2:
			target = c.Seq
		case c.Kind == planner.DrawInspectors && inspector == 0 && len(c.Result) >= 2:
			inspector = c.Seq
		}
	}
	if target == 0 || inspector == 0 {
		t.Fatalf("no draws with two results to tamper with (target %d, inspector %d)", target, inspector)
	}
	swap := func(seq int) string {
		return fmt.Sprintf(`UPDATE plan_draws SET result = jsonb_build_array(result->1, result->0) || (result - 0 - 0)
			WHERE plan_id = %d AND seq = %d`, res.PlanID, seq)
	}
	if err := st.ExecForTest(ctx, swap(target)); err == nil {
		t.Fatal("a published draw accepted an UPDATE")
	}
	for _, q := range []string{"ALTER TABLE plan_draws DISABLE TRIGGER plan_draws_frozen", swap(target), swap(inspector)} {
		if err := st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	v, err = svc.Verify(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || v.Mismatches != 2 || v.RecordsPinned {
		t.Fatalf("tampered plan: ok %v, %d mismatches, pinned %v", v.OK(), v.Mismatches, v.RecordsPinned)
	}
	for _, c := range v.Draws {
		if c.Match == (c.Seq == target || c.Seq == inspector) {
			t.Errorf("draw %d (%s): match %v, reason %q", c.Seq, c.Kind, c.Match, c.Reason)
		}
	}

	// A draft can be discarded; its seed is revealed then.
	res2, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Plan.Mode != store.ModeIndependent || res2.Shift != *pub.NextShift {
		t.Errorf("second plan: mode %s, shift %v", res2.Plan.Mode, res2.Shift)
	}
	if _, err := svc.Verify(ctx, res2.PlanID); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("verify a draft: %v", err)
	}
	d, err := svc.Discard(ctx, "admin", res2.PlanID)
	if err != nil || d.Status != store.PlanDiscarded || d.Seed == nil {
		t.Fatalf("discard: %+v %v", d, err)
	}

	// Closing a year that is still running needs force.
	if _, err := svc.CloseYear(ctx, "admin", 2026, false); fieldOf(err) != "year" {
		t.Errorf("closing the current year: %v", err)
	}
	if _, err := svc.CloseYear(ctx, "admin", 2026, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Run(ctx, "tester", planning.Request{From: from, To: to, DryRun: true}); fieldOf(err) != "horizon" {
		t.Errorf("planning in a closed year: %v", err)
	}
	if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil {
		t.Errorf("audit chain of %d: %v %v", n, brk, err)
	}
}

func TestBadRequests(t *testing.T) {
	st, _ := storetest.New(t)
	svc := newService(t, st)
	ctx := context.Background()
	mon := date("2026-03-09")
	for _, tc := range []struct {
		name  string
		req   planning.Request
		field string
	}{
		{"no horizon", planning.Request{}, "horizon"},
		{"empty horizon", planning.Request{From: mon, To: mon.AddDate(0, 0, -1)}, "horizon"},
		{"too long", planning.Request{From: mon, To: mon.AddDate(0, 0, 92)}, "horizon"},
		{"in the past", planning.Request{From: date("2026-03-02"), To: mon}, "horizon"},
		{"weekend only", planning.Request{From: date("2026-03-14"), To: date("2026-03-15")}, "horizon"},
		{"unknown region", planning.Request{From: mon, To: mon.AddDate(0, 0, 27), RegionIDs: []int64{424242}}, "region_ids"},
		{"bad region id", planning.Request{From: mon, To: mon.AddDate(0, 0, 27), RegionIDs: []int64{-1}}, "region_ids[0]"},
	} {
		for _, dry := range []bool{false, true} {
			tc.req.DryRun = dry
			_, err := svc.Run(ctx, "tester", tc.req)
			if got := fieldOf(err); got != tc.field {
				t.Errorf("%s (dry run %v): %v, want a validation error on %q", tc.name, dry, err, tc.field)
			}
		}
	}
	// 92 days is allowed (an empty register plans nothing).
	res, err := svc.Run(ctx, "tester", planning.Request{From: mon, To: mon.AddDate(0, 0, 91)})
	if err != nil || res.Plan.Status != store.PlanDraft || res.Stats.Visits != 0 {
		t.Fatalf("92-day horizon on an empty register: %+v %v", res, err)
	}
	if list, _ := svc.List(ctx, store.PlanFilter{}, store.Page{}); len(list.Items) != 1 {
		t.Fatalf("bad requests stored plans: %d", len(list.Items))
	}
}

// A region-scoped plan plans only that township's businesses.
func TestRegionScopedPlan(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	ctx := context.Background()
	towns, err := st.ListRegions(ctx, store.RegionFilter{Level: domain.LevelTownship}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var gq domain.Region
	for _, r := range towns.Items {
		if r.Code == "SS-GQ" {
			gq = r
		}
	}
	from := svc.NextWorkingDay()
	res, err := svc.Run(ctx, "tester", planning.Request{From: from, To: from.AddDate(0, 0, 27), RegionIDs: []int64{gq.ID}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	in, err := st.PlannerInput(ctx, from, from.AddDate(0, 0, 27), []int64{gq.ID})
	if err != nil {
		t.Fatal(err)
	}
	inTown := map[string]bool{}
	for _, b := range in.Businesses {
		inTown[b.USCC] = true
	}
	for _, v := range res.Result.Visits {
		if !inTown[v.USCC] {
			t.Fatalf("visit at %s outside 枸杞乡", v.USCC)
		}
	}
	if res.Stats.Visits == 0 || len(in.Businesses) == 0 || len(in.Businesses) > 1000 {
		t.Errorf("枸杞乡: %d businesses, %d visits", len(in.Businesses), res.Stats.Visits)
	}
}
