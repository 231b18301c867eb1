package planning_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/planning"
	"inspectonce/store"
)

func newWitnessService(t *testing.T, st *store.Store, mode string) *planning.Service {
	t.Helper()
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_PLANNING_RANDOMNESS=" + mode})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// Under witness randomness a plan commits its frames first and draws only
// after a witness enters a value; the draws use the committed frames and
// the shift the value gives, and verification checks it all.
func TestWitnessRandomness(t *testing.T) {
	st := seeded(t)
	svc := newWitnessService(t, st, planning.RandomnessWitness)
	ctx := context.Background()
	from := svc.NextWorkingDay()
	to := from.AddDate(0, 0, 27)

	res, err := svc.Run(ctx, "coordinator", planning.Request{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Awaiting || res.Plan.Status != store.PlanRunning || res.Plan.ProgressNote != store.ProgressNoteAwaiting {
		t.Fatalf("a witness plan after its first stage: awaiting %v, %s (%s)", res.Awaiting, res.Plan.Status, res.Plan.ProgressNote)
	}
	id := res.PlanID
	c, err := st.PlanCommitment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Draws) == 0 || c.Value != nil || planner.Commitment(c.Body) != c.Commitment || c.Rotation != res.Plan.Shift {
		t.Fatalf("commitment: %d draws, value %v, rotation %v (plan shift %v)", len(c.Draws), c.Value, c.Rotation, res.Plan.Shift)
	}
	// Running it again before the value changes nothing.
	again, err := svc.Execute(ctx, id)
	if err != nil || !again.Awaiting {
		t.Fatalf("execute while awaiting: %+v %v", again, err)
	}
	// The frames are fixed: a registry change after the commitment does
	// not reach the draw.
	if err := st.ExecForTest(ctx, `UPDATE businesses SET risk_code = 'red' WHERE uscc IN (SELECT uscc FROM businesses ORDER BY uscc LIMIT 50)`); err != nil {
		t.Fatal(err)
	}

	witness := domain.Principal{TokenID: 99, Name: "司法局 李四", Role: domain.RoleWitness}
	admin := domain.Principal{TokenID: 1, Name: "admin", Role: domain.RoleAdmin}
	in := planning.RandomnessInput{Value: "8d1f 2026-03-06 司法局", Source: "司法局 李四"}
	if _, err := svc.EnterRandomness(ctx, admin, id, in); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("the operator entered a witness value: %v", err)
	}
	if _, err := svc.EnterRandomness(ctx, witness, id, planning.RandomnessInput{Value: "1", Source: "x"}); fieldOf(err) != "value" {
		t.Fatalf("a one-character value: %v", err)
	}
	c, err = svc.EnterRandomness(ctx, witness, id, in)
	if err != nil {
		t.Fatal(err)
	}
	r := planner.WitnessFraction(c.Commitment, in.Value)
	if c.Value == nil || *c.Value != in.Value || c.Shift == nil || *c.Shift != planner.WitnessShift(c.Rotation, c.Jitter, r) {
		t.Fatalf("entered: %+v", c)
	}
	if _, err := svc.EnterRandomness(ctx, witness, id, planning.RandomnessInput{Value: "another value", Source: "x y"}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a second value: %v", err)
	}
	if _, err := svc.EnterRandomness(ctx, witness, id, in); err != nil {
		t.Fatalf("the same value again (a retry): %v", err)
	}

	res, err = svc.Execute(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Awaiting || res.Plan.Status != store.PlanDraft || res.Plan.Shift != *c.Shift {
		t.Fatalf("after the value: awaiting %v, %s, shift %v (value gives %v)", res.Awaiting, res.Plan.Status, res.Plan.Shift, *c.Shift)
	}
	frozen, err := st.FrozenFrames(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	targets := 0
	for _, d := range res.Result.Draws {
		if d.Kind != planner.DrawTargets {
			continue
		}
		targets++
		f, ok := frozen[d.DemandID]
		if !ok || planner.FrameHash(f.Frame) != d.FrameHash || d.Shift != *c.Shift {
			t.Errorf("demand %d drawn from another frame or shift than committed", d.DemandID)
		}
	}
	if targets != len(c.Draws) {
		t.Errorf("%d target draws, %d committed", targets, len(c.Draws))
	}
	if _, err := svc.Publish(ctx, "admin", id); err != nil {
		t.Fatal(err)
	}
	v, err := svc.Verify(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.FrameCommitment == nil {
		t.Fatalf("verification: ok %v, commitment %+v, mismatches %d", v.OK(), v.FrameCommitment, v.Mismatches)
	}

	// A published commitment does not change; a changed shift is caught.
	if err := st.ExecForTest(ctx, `UPDATE plan_commitments SET source = 'x' WHERE plan_id = `+itoa(id)); err == nil {
		t.Fatal("a commitment accepted an UPDATE")
	}
	for _, q := range []string{"ALTER TABLE plan_commitments DISABLE TRIGGER plan_commitments_guard",
		`UPDATE plan_commitments SET value = 'chosen after seeing the draw' WHERE plan_id = ` + itoa(id)} {
		if err := st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	v, err = svc.Verify(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || v.FrameCommitment == nil || len(v.FrameCommitment.Problems) == 0 {
		t.Fatalf("a changed value passed verification: %+v", v.FrameCommitment)
	}
	t.Logf("changed value: %v", v.FrameCommitment.Problems)
}

// A plan with no target draw needs no randomness: it is planned at once.
func TestWitnessNotNeededWithoutTargetDraws(t *testing.T) {
	st := seeded(t)
	ctx := context.Background()
	if err := st.ExecForTest(ctx, `UPDATE demands SET status = 'cancelled', cancel_reason = 'test', cancelled_at = now() WHERE target_kind = 'sample' AND status = 'open'`); err != nil {
		t.Fatal(err)
	}
	svc := newWitnessService(t, st, planning.RandomnessWitness)
	from := svc.NextWorkingDay()
	res, err := svc.Run(ctx, "coordinator", planning.Request{From: from, To: from.AddDate(0, 0, 27)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Awaiting || res.Plan.Status != store.PlanDraft {
		t.Fatalf("a plan with list demands only: awaiting %v, %s", res.Awaiting, res.Plan.Status)
	}
	if _, err := st.PlanCommitment(ctx, res.PlanID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("commitment of a plan without target draws: %v", err)
	}
}

func itoa(n int64) string { return fmt.Sprint(n) }
