package planning

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// Who fixes the randomness of a plan's target draws (planning.randomness).
const (
	RandomnessOperator = "operator"
	RandomnessWitness  = "witness"
	RandomnessPublic   = "public"
)

// Randomness is the configured mode and the source each commitment declares.
func (s *Service) Randomness() (mode, source string, jitter float64) {
	return s.randomness, s.randomnessSource, s.jitter
}

// witnessStage is the first part of a run under witness or public
// randomness. A plan with no commitment yet resolves its target frames and
// commits to them (res is the awaiting result); a plan whose value is still
// awaited returns the same; a plan whose value is in returns the input
// options and frozen frames its run draws from. A plan with no target draw
// needs no randomness: all nil, and it is planned as under "operator".
func (s *Service) witnessStage(ctx context.Context, run store.PlanRun, rp runParams) (
	res *Result, opts []store.InputOption, frozen map[int64]planner.FrozenDraw, err error) {
	c, err := s.st.PlanCommitment(ctx, run.ID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return nil, nil, nil, err
	case c.Value == nil:
		return &Result{PlanID: run.ID, Plan: run.Plan, Year: run.Year, Shift: run.Shift, SeedHash: run.SeedHash, Awaiting: true}, nil, nil, nil
	default:
		frozen, err := s.st.FrozenFrames(ctx, run.ID)
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, []store.InputOption{store.InputDemands(c.DemandIDs...)}, frozen, nil
	}

	in, err := s.input(ctx, rp)
	if err != nil {
		return nil, nil, nil, err
	}
	_, draws, _ := planner.Resolve(in)
	if len(draws) == 0 {
		return nil, nil, nil, nil
	}
	nc := store.NewCommitment{Source: s.randomnessSource, Kind: RandomnessWitness, Rotation: run.Shift, Jitter: s.jitter,
		Frames: make(map[int64]planner.FrozenDraw, len(draws))}
	if s.randomness == RandomnessPublic {
		nc.Kind = store.CommitPublic
	}
	lines := make([]planner.CommittedDraw, 0, len(draws))
	for _, d := range draws {
		nc.Frames[d.DemandID] = planner.FrozenDraw{Frame: d.Frame, Certain: d.Certain, Excluded: d.Excluded, N: d.N, Salt: d.Salt}
		lines = append(lines, planner.CommittedDraw{DemandID: d.DemandID, FrameHash: d.FrameHash, N: d.N,
			CertainHash: planner.CertainHash(d.Certain)})
	}
	for _, d := range in.Demands {
		nc.DemandIDs = append(nc.DemandIDs, d.ID)
	}
	nc.Body = planner.CommitmentText(run.ID, run.Year, run.Shift, s.jitter, s.randomnessSource, lines)
	nc.Commitment = planner.Commitment(nc.Body)
	if err := s.st.CommitFrames(ctx, run.CreatedBy, run.ID, nc); err != nil {
		return nil, nil, nil, err
	}
	p, err := s.st.GetPlan(ctx, run.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	return &Result{PlanID: run.ID, Plan: p, Year: p.Year, Shift: p.Shift, SeedHash: p.SeedHash, Awaiting: true}, nil, nil, nil
}

// RandomnessInput is a value entered for a committed plan.
type RandomnessInput struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

// EnterRandomness records the value that fixes a committed plan's draws, by
// p: a witness for a "witness" commitment, an admin for a "public" one (a
// number anyone can look up in its named source). The plan's run then goes
// on (the caller queues it). Bad values are domain.ValidationError naming
// "value" or "source".
func (s *Service) EnterRandomness(ctx context.Context, p domain.Principal, planID int64, in RandomnessInput) (store.PlanCommitment, error) {
	in.Value, in.Source = strings.TrimSpace(in.Value), strings.TrimSpace(in.Source)
	var errs domain.ValidationError
	switch {
	case in.Value == "":
		errs.Add("value", "is required")
	case utf8.RuneCountInString(in.Value) < 6 || len(in.Value) > 200:
		errs.Add("value", "must be 6 to 200 characters: a value too short to be guessed is no randomness")
	}
	if in.Source == "" || len(in.Source) > 200 {
		errs.Add("source", "is required (who entered it, or which public draw it is), at most 200 bytes")
	}
	if err := errs.Err(); err != nil {
		return store.PlanCommitment{}, err
	}
	c, err := s.st.PlanCommitment(ctx, planID)
	if err != nil {
		return c, err
	}
	switch {
	case c.Kind == store.CommitWitness && p.Role != domain.RoleWitness:
		return c, fmt.Errorf("plan %d's value is entered by a witness token: %w", planID, domain.ErrForbidden)
	case c.Kind == store.CommitPublic && p.Role != domain.RoleAdmin:
		return c, fmt.Errorf("plan %d's public number is entered by an admin: %w", planID, domain.ErrForbidden)
	}
	return s.st.EnterRandomness(ctx, p.Actor(), planID, in.Value, in.Source, func(c store.PlanCommitment) (float64, float64) {
		r := planner.WitnessFraction(c.Commitment, in.Value)
		return r, planner.WitnessShift(c.Rotation, c.Jitter, r)
	})
}

// AwaitingRandomness lists the plans whose frames are committed and whose
// value is not in yet, oldest first.
func (s *Service) AwaitingRandomness(ctx context.Context) ([]store.PlanCommitment, error) {
	return s.st.AwaitingCommitments(ctx)
}
