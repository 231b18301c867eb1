package planning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// Urgent placement ("place now", DESIGN §4a: urgent work is placed into the
// calendar at once). One open demand is planned on its own, through the same
// path as any plan — the seed committed first (plan.create), the draws
// recorded (plan.draft), the published visits still to come read as booked so
// that capacity already held is respected, and, once joins are on, existing
// visits joined — and the plan is published at once, its outbox rows in the
// same transaction, so the relay dispatches it within seconds.
//
// The rule: a demand may be placed now when it is urgent — its source is
// complaint, or its priority is 1 — open, a list demand (a sample demand
// placed now would draw outside the yearly rotation of the sampling shift),
// and its window has not ended. The horizon runs from today (in the county's
// zone) to the window's end, at most planning.max_horizon_days long. Every
// visit goes on the earliest feasible team-day (Policy.Earliest), as
// complaints always do, so a priority-1 demand is not spread like routine
// work. A plan that places nothing is discarded (its rows stay for the
// record) and refused with the reasons (*UnplacedError).

// Placement is a published urgent placement: the plan, its new visits, the
// visits already on the calendar it joined (an urgent task at a business
// with a visit in its window joins it rather than knocking again) and the
// tasks it could not place (some businesses of a list demand may fail).
type Placement struct {
	Plan     store.Plan        `json:"plan"`
	Visits   []store.PlanVisit `json:"visits"`
	Joins    []store.PlanJoin  `json:"joins"`
	Unplaced []store.PlanTask  `json:"unplaced"`
}

// UnplacedError refuses an urgent placement that placed nothing. The plan
// made for it was discarded and is kept for the record. It is a conflict and
// an *store.EmptyPlanError (errors.As) carrying why.
type UnplacedError struct {
	DemandID int64
	PlanID   int64
	Empty    store.EmptyPlan
}

func (e *UnplacedError) Error() string {
	msg := fmt.Sprintf("demand %d could not be placed now: %s", e.DemandID, strings.TrimSuffix(e.Empty.Message, "."))
	if len(e.Empty.UnplacedByReason) > 0 {
		var rs []string
		for r, n := range e.Empty.UnplacedByReason {
			rs = append(rs, fmt.Sprintf("%s %d", r, n))
		}
		slices.Sort(rs)
		msg += " (unplaced: " + strings.Join(rs, ", ") + ")"
	}
	return msg + fmt.Sprintf("; plan %d was discarded and is kept for the record", e.PlanID)
}

// Unwrap makes the refusal a conflict that says why the plan is empty.
func (e *UnplacedError) Unwrap() error { return &store.EmptyPlanError{EmptyPlan: e.Empty} }

// urgentOf is the demand a stored plan is restricted to (0 = none).
func urgentOf(p store.Plan) int64 {
	if p.UrgentDemandID == nil {
		return 0
	}
	return *p.UrgentDemandID
}

// IsUrgent says whether a demand may be placed now, and if not why.
func IsUrgent(d domain.Demand) (bool, string) {
	if d.Source == domain.SourceComplaint || d.Priority == 1 {
		return true, ""
	}
	return false, fmt.Sprintf("demand %d is not urgent (source %s, priority %d): only a complaint or a priority-1 demand is placed now; "+
		"the weekly plan places the others", d.ID, d.Source, d.Priority)
}

// PlaceNow places demand id into the calendar at once (see above). A planner
// passes its department (departmentID != 0): another department's demand is
// not found. Refusals are conflicts saying why, audited as
// "demand.place_now" with outcome rejected; a placement is audited with the
// plan it published.
func (s *Service) PlaceNow(ctx context.Context, actor string, id, departmentID int64) (*Placement, error) {
	d, err := s.st.GetDemand(ctx, id, departmentID)
	if err != nil {
		return nil, err
	}
	object := fmt.Sprintf("demand/%d", id)
	refuse := func(planID int64, err error) (*Placement, error) {
		detail := map[string]any{"reason": err.Error()}
		if planID != 0 {
			detail["plan_id"] = planID
		}
		if aerr := s.st.Audit(context.WithoutCancel(ctx), actor, "demand.place_now", object, store.OutcomeRejected, detail); aerr != nil {
			return nil, errors.Join(err, aerr)
		}
		return nil, err
	}
	conflict := func(format string, args ...any) (*Placement, error) {
		return refuse(0, fmt.Errorf(format+": %w", append(args, domain.ErrConflict)...))
	}
	today := s.Today()
	switch ok, why := IsUrgent(d); {
	case d.Status != domain.DemandOpen:
		return conflict("demand %d is %s; only an open demand can be placed", id, d.Status)
	case !ok:
		return conflict("%s", why)
	case d.TargetKind == domain.TargetSample:
		return conflict("demand %d is a sample demand: placing it now would draw outside the yearly rotation of the sampling shift; "+
			"the weekly plan draws it", id)
	case civil(d.WindowTo).Before(today):
		return conflict("demand %d's window ended on %s", id, d.WindowTo.Format(time.DateOnly))
	}
	to := civil(d.WindowTo)
	if last := today.AddDate(0, 0, s.maxHorizon-1); to.After(last) {
		to = last
	}
	if civil(d.WindowFrom).After(to) {
		return conflict("demand %d's window starts on %s, after the %d days a plan may cover (planning.max_horizon_days); "+
			"the weekly plan places it", id, d.WindowFrom.Format(time.DateOnly), s.maxHorizon)
	}
	if s.cal.WorkingDays(today, to) == 0 {
		return conflict("no working day is left in demand %d's window (%s to %s)", id, today.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if busy, err := s.st.UrgentPlanInProgress(ctx, id); err != nil {
		return nil, err
	} else if busy != 0 {
		return conflict("demand %d is being placed by plan %d already", id, busy)
	}

	p, err := s.Start(ctx, actor, Request{From: today, To: to, UrgentDemandID: id})
	if err != nil {
		return nil, err
	}
	res, err := s.Execute(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("urgent plan %d for demand %d: %w", p.ID, id, err)
	}
	bg := context.WithoutCancel(ctx)
	if res.Stats.Visits == 0 && res.Stats.TasksJoined == 0 {
		draft, err := s.st.GetPlan(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		var why store.EmptyPlan
		if draft.Empty != nil {
			why = *draft.Empty
		}
		if _, err := s.Discard(bg, actor, p.ID); err != nil {
			return nil, err
		}
		return refuse(p.ID, &UnplacedError{DemandID: id, PlanID: p.ID, Empty: why})
	}
	// An urgent placement (a complaint, a priority-1 list) is published at
	// once, outside the approval steps of the weekly drafts: waiting for a
	// review would defeat it. Its audit entry says who placed it.
	pub, err := s.st.PublishPlanWith(ctx, actor, p.ID, store.PublishOptions{Today: s.Today()})
	if err != nil {
		if _, derr := s.Discard(bg, actor, p.ID); derr != nil && !errors.Is(derr, domain.ErrConflict) {
			err = errors.Join(err, derr)
		}
		if errors.Is(err, domain.ErrConflict) {
			return refuse(p.ID, fmt.Errorf("demand %d: plan %d could not be published (discarded): %w", id, p.ID, err))
		}
		return nil, err
	}
	out := &Placement{Plan: pub}
	visits, err := s.st.ListPlanVisits(bg, p.ID, 0, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, err
	}
	unplaced, err := s.st.ListPlanUnplaced(bg, p.ID, 0, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, err
	}
	joins, err := s.st.ListPlanJoins(bg, p.ID, 0, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, err
	}
	out.Visits, out.Joins, out.Unplaced = nonNilSlice(visits.Items), nonNilSlice(joins.Items), nonNilSlice(unplaced.Items)
	placed := make([]map[string]any, len(out.Visits))
	for i, v := range out.Visits {
		placed[i] = map[string]any{"seq": v.Seq, "date": v.Date, "team_id": v.TeamID, "uscc": v.USCC}
	}
	joined := make([]map[string]any, len(out.Joins))
	for i, j := range out.Joins {
		joined[i] = map[string]any{"plan_id": j.TargetPlanID, "seq": j.TargetVisitSeq, "date": j.Date, "uscc": j.USCC}
	}
	if err := s.st.Audit(bg, actor, "demand.place_now", object, store.OutcomeOK, map[string]any{
		"plan_id": p.ID, "from": pub.From, "to": pub.To, "visits": placed, "joined": joined, "unplaced": len(out.Unplaced),
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
