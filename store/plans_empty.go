package store

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// Why a plan has no visits (EmptyPlan.Reason).
const (
	// EmptyAllUnplaced: the plan placed nothing of what it resolved: every
	// task (or business excluded before the draw) is unplaced.
	EmptyAllUnplaced = "all_unplaced"
	// EmptyNothingOpen: no open demand's window overlaps the horizon.
	EmptyNothingOpen = "nothing_open"
	// EmptyAllServed: every open demand in the horizon is already served by
	// a published plan (a sample drawn, every listed business placed).
	EmptyAllServed = "all_served"
	// EmptyNoTasks: open demands remain, but none gave a task in this plan:
	// their businesses lie outside the plan's regions, or their sample
	// population is empty (or they are partly served and the rest is out
	// of reach).
	EmptyNoTasks = "no_tasks"
)

// EmptyPlan says why a plan has no visits, as read when it is published.
type EmptyPlan struct {
	PlanID int64  `json:"plan_id"`
	Reason string `json:"reason"`
	// Message is Reason in a sentence, with the figures below.
	Message string `json:"message"`
	// OpenDemands counts the open demands whose window overlaps the
	// horizon; OpenOutside those whose window does not.
	OpenDemands int `json:"open_demands"`
	OpenOutside int `json:"open_outside_horizon"`
	// Served lists the open demands in the horizon already served by
	// published plans, with those plans.
	Served []ServedDemand `json:"served"`
	// Tasks, Unplaced and UnplacedByReason are the plan's own figures: tasks
	// resolved, and what was not placed (tasks, and businesses excluded
	// before a draw such as the leave-alone list), by reason.
	Tasks            int            `json:"tasks"`
	Unplaced         int            `json:"unplaced"`
	UnplacedByReason map[string]int `json:"unplaced_by_reason"`
}

// ServedDemand is an open demand that published plans already serve.
type ServedDemand struct {
	DemandID int64   `json:"demand_id"`
	PlanIDs  []int64 `json:"plan_ids"`
}

// EmptyPlanError refuses to publish a plan with no visits unless forced.
// It is a conflict (errors.Is(err, domain.ErrConflict)).
type EmptyPlanError struct {
	EmptyPlan
}

func (e *EmptyPlanError) Error() string {
	return e.Message + "; publish it anyway with force (?force=true, --force)"
}

// Unwrap makes the refusal a conflict.
func (e *EmptyPlanError) Unwrap() error { return domain.ErrConflict }

// emptyPlan explains why plan row has no visits. Served is read as
// PlannerInput reads it: a sample demand once a published plan drew it, a
// list demand once published plans placed every business it names.
func emptyPlan(tx *gorm.DB, row planRow) (EmptyPlan, error) {
	out := EmptyPlan{PlanID: row.ID, Served: []ServedDemand{}, UnplacedByReason: map[string]int{}}
	p, err := row.plan()
	if err != nil {
		return out, err
	}
	if p.Stats != nil {
		out.Tasks, out.Unplaced = p.Stats.Tasks, p.Stats.Unplaced
		maps.Copy(out.UnplacedByReason, p.Stats.UnplacedByReason)
	}
	from, to := civilDate(row.HorizonFrom), civilDate(row.HorizonTo)
	var demands []struct {
		ID        int64
		Kind      string
		DrawnBy   pq.Int64Array `gorm:"type:bigint[]"`
		PlacedBy  pq.Int64Array `gorm:"type:bigint[]"`
		AllPlaced bool
	}
	if err := tx.Raw(`
SELECT d.id, d.target_kind AS kind,
	ARRAY(SELECT DISTINCT pd.plan_id FROM plan_draws pd JOIN plans p ON p.id = pd.plan_id
		WHERE pd.demand_id = d.id AND p.status = 'published' ORDER BY 1) AS drawn_by,
	ARRAY(SELECT DISTINCT t.plan_id FROM plan_tasks t JOIN plans p ON p.id = t.plan_id
		WHERE t.demand_id = d.id AND t.visit_seq IS NOT NULL AND p.status = 'published' ORDER BY 1) AS placed_by,
	EXISTS (SELECT 1 FROM demand_businesses x WHERE x.demand_id = d.id) AND NOT EXISTS (
		SELECT 1 FROM demand_businesses x WHERE x.demand_id = d.id AND NOT EXISTS (
			SELECT 1 FROM plan_tasks t JOIN plans p ON p.id = t.plan_id
			WHERE t.demand_id = d.id AND t.uscc = x.uscc::text AND t.visit_seq IS NOT NULL AND p.status = 'published'))
		AS all_placed
FROM demands d
WHERE d.status = 'open' AND d.window_from <= ?::date AND d.window_to >= ?::date
ORDER BY d.id`, to, from).Scan(&demands).Error; err != nil {
		return out, translate(err, "demands")
	}
	out.OpenDemands = len(demands)
	for _, d := range demands {
		switch {
		case d.Kind == domain.TargetSample && len(d.DrawnBy) > 0:
			out.Served = append(out.Served, ServedDemand{DemandID: d.ID, PlanIDs: d.DrawnBy})
		case d.Kind == domain.TargetList && d.AllPlaced:
			out.Served = append(out.Served, ServedDemand{DemandID: d.ID, PlanIDs: d.PlacedBy})
		}
	}
	if err := tx.Raw(`SELECT count(*) FROM demands WHERE status = 'open' AND NOT (window_from <= ?::date AND window_to >= ?::date)`,
		to, from).Scan(&out.OpenOutside).Error; err != nil {
		return out, translate(err, "demands")
	}

	head := fmt.Sprintf("%s has no visits: ", planObject(row.ID))
	switch {
	case out.Unplaced > 0:
		out.Reason = EmptyAllUnplaced
		out.Message = head + fmt.Sprintf("everything it resolved is unplaced: %d (%s)", out.Unplaced, reasonCounts(out.UnplacedByReason))
	case out.OpenDemands == 0:
		out.Reason = EmptyNothingOpen
		out.Message = head + fmt.Sprintf("no open demand has a window overlapping %s to %s (%d open demand(s) lie outside it)",
			from, to, out.OpenOutside)
	case len(out.Served) == out.OpenDemands:
		out.Reason = EmptyAllServed
		out.Message = head + fmt.Sprintf("every open demand in %s to %s is already served by a published plan (%s)",
			from, to, servedList(out.Served))
	default:
		out.Reason = EmptyNoTasks
		out.Message = head + fmt.Sprintf("%d open demand(s) in %s to %s, %d already served by published plans; the rest gave no task "+
			"(their businesses lie outside the plan's regions, or their sample population is empty)",
			out.OpenDemands, from, to, len(out.Served))
	}
	return out, nil
}

// reasonCounts is "capacity 3, leave_alone 1", reasons in order.
func reasonCounts(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, r := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", r, m[r]))
	}
	return strings.Join(parts, ", ")
}

// servedList is "demand 3 by plan 1; demand 4 by plans 1, 2".
func servedList(ds []ServedDemand) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		ids := make([]string, len(d.PlanIDs))
		for i, id := range d.PlanIDs {
			ids[i] = fmt.Sprint(id)
		}
		word := "plan"
		if len(ids) > 1 {
			word = "plans"
		}
		parts = append(parts, fmt.Sprintf("demand %d by %s %s", d.DemandID, word, strings.Join(ids, ", ")))
	}
	return strings.Join(parts, "; ")
}
