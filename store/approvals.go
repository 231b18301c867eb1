package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"inspectonce/domain"
)

// The decisions of an approval step.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// The states of an approval step on a draft.
const (
	StepApproved = "approved"
	StepRejected = "rejected"
	StepPending  = "pending"
)

// MaxOpinionLen bounds an approval's opinion, in characters.
const MaxOpinionLen = 2000

// PlanApproval is one recorded decision on a draft (法制审核 and the other
// configured steps): who decided, when, and why.
type PlanApproval struct {
	ID        int64     `json:"id"`
	PlanID    int64     `json:"plan_id"`
	Step      string    `json:"step"`
	Decision  string    `json:"decision"`
	Opinion   string    `json:"opinion"`
	Reviewer  string    `json:"reviewer"`
	DecidedAt time.Time `json:"decided_at"`
}

// ApprovalStep is one configured step with its state on a plan.
type ApprovalStep struct {
	Step  string `json:"step"`
	State string `json:"state"`
	// Decision is the recorded decision that set the state; nil while pending.
	Decision *PlanApproval `json:"decision"`
}

// ApprovalState is a plan's road to publication through the configured steps.
type ApprovalState struct {
	Steps []ApprovalStep `json:"steps"`
	// Next is the step to decide now; "" when every step is approved or the
	// plan was rejected.
	Next string `json:"next"`
	// Approved: every configured step is approved (true when none is
	// configured), so publication is not held back by approval.
	Approved bool `json:"approved"`
	// Rejected: a step was rejected; the draft cannot be published and a new
	// run is needed.
	Rejected bool `json:"rejected"`
	// Records are every decision recorded on the plan, oldest first,
	// including any on steps no longer configured.
	Records []PlanApproval `json:"records"`
}

// Missing are the configured steps not yet approved, in order.
func (a ApprovalState) Missing() []string {
	var out []string
	for _, s := range a.Steps {
		if s.State != StepApproved {
			out = append(out, s.Step)
		}
	}
	return out
}

// approvalStateOf is the state of steps given the plan's records: steps are
// decided in order, the first decision on a step counts, and a rejection
// anywhere stops the road.
func approvalStateOf(steps []string, records []PlanApproval) ApprovalState {
	st := ApprovalState{Records: records, Steps: make([]ApprovalStep, len(steps))}
	if st.Records == nil {
		st.Records = []PlanApproval{}
	}
	for i, s := range steps {
		st.Steps[i] = ApprovalStep{Step: s, State: StepPending}
		for j := range records {
			if records[j].Step == s {
				r := records[j]
				st.Steps[i].Decision = &r
				if r.Decision == DecisionReject {
					st.Steps[i].State = StepRejected
				} else {
					st.Steps[i].State = StepApproved
				}
				break
			}
		}
	}
	st.Rejected = slices.ContainsFunc(records, func(r PlanApproval) bool { return r.Decision == DecisionReject })
	st.Approved = !st.Rejected
	for _, s := range st.Steps {
		if s.State != StepApproved {
			st.Approved = false
			if !st.Rejected && st.Next == "" {
				st.Next = s.Step
			}
		}
	}
	return st
}

func planApprovalsTx(tx *gorm.DB, planID int64) ([]PlanApproval, error) {
	var out []PlanApproval
	if err := tx.Raw(`SELECT id, plan_id, step, decision, opinion, reviewer, decided_at FROM plan_approvals
WHERE plan_id = ? ORDER BY id`, planID).Scan(&out).Error; err != nil {
		return nil, translate(err, planObject(planID))
	}
	return out, nil
}

// PlanApprovals is the approval state of plan id against the configured
// steps (none configured: approved, with whatever was recorded).
func (s *Store) PlanApprovals(ctx context.Context, id int64, steps []string) (ApprovalState, error) {
	var n int64
	db := s.db.WithContext(ctx)
	if err := db.Raw(`SELECT count(*) FROM plans WHERE id = ?`, id).Scan(&n).Error; err != nil {
		return ApprovalState{}, translate(err, planObject(id))
	}
	if n == 0 {
		return ApprovalState{}, fmt.Errorf("%s: %w", planObject(id), domain.ErrNotFound)
	}
	recs, err := planApprovalsTx(db, id)
	if err != nil {
		return ApprovalState{}, err
	}
	return approvalStateOf(steps, recs), nil
}

// ApprovalInput is one decision on a step.
type ApprovalInput struct {
	Step     string
	Decision string
	Opinion  string
}

// RecordApproval records actor's decision on the next step of draft id, with
// audit "plan.approve" or "plan.reject". Steps are decided in the configured
// order, each once; a rejected draft takes no further decision (a new run is
// needed). One person may decide several steps: each decision is recorded
// under its reviewer.
func (s *Store) RecordApproval(ctx context.Context, actor string, id int64, steps []string, in ApprovalInput) (PlanApproval, ApprovalState, error) {
	in.Opinion = strings.TrimSpace(in.Opinion)
	v := &domain.ValidationError{}
	switch {
	case len(steps) == 0:
		v.Add("step", "no approval step is configured (planning.approval_steps): a draft is published without approval")
	case in.Step == "":
		v.Add("step", "is required: one of %s", strings.Join(steps, ", "))
	case !slices.Contains(steps, in.Step):
		v.Add("step", "must be one of the configured steps: %s", strings.Join(steps, ", "))
	}
	if in.Decision != DecisionApprove && in.Decision != DecisionReject {
		v.Add("decision", "must be approve or reject")
	}
	switch {
	case in.Opinion == "":
		v.Add("opinion", "is required: the reviewer's opinion")
	case utf8.RuneCountInString(in.Opinion) > MaxOpinionLen:
		v.Add("opinion", "is longer than %d characters", MaxOpinionLen)
	}
	if len(v.Fields) > 0 {
		return PlanApproval{}, ApprovalState{}, v
	}
	var rec PlanApproval
	var state ApprovalState
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockPlan(tx, id)
		if err != nil {
			return err
		}
		if row.Status != PlanDraft {
			return fmt.Errorf("%s is %s; only a draft is approved: %w", planObject(id), row.Status, domain.ErrConflict)
		}
		recs, err := planApprovalsTx(tx, id)
		if err != nil {
			return err
		}
		cur := approvalStateOf(steps, recs)
		if cur.Rejected {
			r := recs[slices.IndexFunc(recs, func(r PlanApproval) bool { return r.Decision == DecisionReject })]
			return fmt.Errorf("%s was rejected at step %s by %s; it cannot be approved or published: run a new plan: %w",
				planObject(id), r.Step, r.Reviewer, domain.ErrConflict)
		}
		if in.Step != cur.Next {
			for _, st := range cur.Steps {
				if st.Step == in.Step && st.State == StepApproved {
					return fmt.Errorf("step %s of %s is already approved by %s: %w", in.Step, planObject(id), st.Decision.Reviewer, domain.ErrConflict)
				}
			}
			return fmt.Errorf("step %s of %s comes after step %s, which is not approved yet: %w", in.Step, planObject(id), cur.Next, domain.ErrConflict)
		}
		if err := tx.Raw(`INSERT INTO plan_approvals (plan_id, step, decision, opinion, reviewer) VALUES (?, ?, ?, ?, ?)
RETURNING id, plan_id, step, decision, opinion, reviewer, decided_at`, id, in.Step, in.Decision, in.Opinion, actor).Scan(&rec).Error; err != nil {
			return translate(err, planObject(id))
		}
		action := "plan.approve"
		if in.Decision == DecisionReject {
			action = "plan.reject"
		}
		if err := appendAudit(tx, actor, action, planObject(id), OutcomeOK,
			map[string]any{"step": in.Step, "decision": in.Decision, "opinion": in.Opinion, "approval_id": rec.ID}); err != nil {
			return err
		}
		state = approvalStateOf(steps, append(recs, rec))
		return nil
	})
	if err != nil {
		return PlanApproval{}, ApprovalState{}, err
	}
	return rec, state, nil
}

// checkApprovedTx refuses (a conflict naming the missing steps) to publish
// draft id before every one of steps is approved, or after a rejection.
func checkApprovedTx(tx *gorm.DB, id int64, steps []string) error {
	if len(steps) == 0 {
		return nil
	}
	recs, err := planApprovalsTx(tx, id)
	if err != nil {
		return err
	}
	st := approvalStateOf(steps, recs)
	if st.Rejected {
		for _, s := range st.Steps {
			if s.State == StepRejected {
				return fmt.Errorf("%s was rejected at approval step %s by %s (%s); it cannot be published: run a new plan: %w",
					planObject(id), s.Step, s.Decision.Reviewer, s.Decision.Opinion, domain.ErrConflict)
			}
		}
		return fmt.Errorf("%s was rejected at an approval step; it cannot be published: run a new plan: %w", planObject(id), domain.ErrConflict)
	}
	if !st.Approved {
		return fmt.Errorf("%s cannot be published before its approval: step(s) not approved: %s (POST /api/v1/plans/%d/approvals): %w",
			planObject(id), strings.Join(st.Missing(), ", "), id, domain.ErrConflict)
	}
	return nil
}
