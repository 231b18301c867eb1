package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"inspectonce/domain"
	"inspectonce/planner"
)

// ComparisonStats are the figures of a coordinated plan's independent
// counterpart: the same registries, demands, secrets and policy, but every
// sampling rule drawing on its own (planner Policy.Independent), so the plan
// shows what coordinated sampling saves (DESIGN.md §9: coordinated visits ≤
// 40 % of what independent sampling needs). Only the figures are kept; the
// counterpart's visits and draws are thrown away.
type ComparisonStats struct {
	Tasks       int `json:"tasks"`
	NaiveVisits int `json:"naive_visits"`
	LowerBound  int `json:"lower_bound"`
	Visits      int `json:"visits"`
	// VisitRatio is the coordinated plan's visits / the independent plan's
	// visits; LowerBoundRatio likewise for the lower bounds (free of capacity
	// effects). Both are 0 when the independent figure is 0.
	VisitRatio      float64 `json:"visit_ratio"`
	LowerBoundRatio float64 `json:"lower_bound_ratio"`
}

// ComparisonOf compares a coordinated plan's figures with its independent
// counterpart's.
func ComparisonOf(coordinated, independent planner.Stats) ComparisonStats {
	c := ComparisonStats{Tasks: independent.Tasks, NaiveVisits: independent.NaiveVisits,
		LowerBound: independent.LowerBound, Visits: independent.Visits}
	if independent.Visits > 0 {
		c.VisitRatio = float64(coordinated.Visits) / float64(independent.Visits)
	}
	if independent.LowerBound > 0 {
		c.LowerBoundRatio = float64(coordinated.LowerBound) / float64(independent.LowerBound)
	}
	return c
}

// SetPlanComparison records the figures of a plan's independent counterpart
// and marks its comparison done. Only a draft takes it: a published plan's
// figures are frozen with it. A draft published or discarded while its
// counterpart was built gets its comparison marked skipped, and the answer
// is a conflict, as it is for a running or failed plan.
func (s *Store) SetPlanComparison(ctx context.Context, planID int64, c ComparisonStats) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("plan comparison: %w", err)
	}
	err = s.setComparison(ctx, planID, `comparison = ?::jsonb, comparison_status = 'done', comparison_error = ''`,
		`status = 'draft' AND stats IS NOT NULL`, string(b))
	if errors.Is(err, domain.ErrConflict) {
		return errors.Join(err, s.skipComparison(ctx, planID))
	}
	return err
}

// StartPlanComparison claims a plan's comparison job: it marks the
// comparison running and returns what the counterpart is built from (the
// plan and its seed, secret while it is a draft). Only a draft whose
// comparison is queued, running (a job redelivered after a crash) or failed
// (run again) is claimed; the comparison of a plan discarded or published
// before its job started is marked skipped; anything else is a conflict.
func (s *Store) StartPlanComparison(ctx context.Context, planID int64) (PlanRun, error) {
	err := s.setComparison(ctx, planID, `comparison_status = 'running', comparison_error = ''`,
		`status = 'draft' AND comparison_status IN ('queued', 'running', 'failed')`)
	if errors.Is(err, domain.ErrConflict) {
		return PlanRun{}, errors.Join(err, s.skipComparison(ctx, planID))
	}
	if err != nil {
		return PlanRun{}, err
	}
	p, err := s.GetPlan(ctx, planID)
	if err != nil {
		return PlanRun{}, err
	}
	var seed []byte
	if err := s.db.WithContext(ctx).Raw(`SELECT seed FROM plans WHERE id = ?`, planID).Row().Scan(&seed); err != nil {
		return PlanRun{}, translate(err, planObject(planID))
	}
	if len(seed) != 32 {
		return PlanRun{}, fmt.Errorf("%s: stored seed has %d bytes", planObject(planID), len(seed))
	}
	run := PlanRun{Plan: p}
	copy(run.RunSeed[:], seed)
	return run, nil
}

// skipComparison marks skipped the comparison still waiting or running of a
// plan that is no longer a draft: a published plan's figures are frozen, and
// its own visits, now on the calendar, would skew a counterpart built later.
func (s *Store) skipComparison(ctx context.Context, planID int64) error {
	res := s.db.WithContext(ctx).Exec(`UPDATE plans SET comparison_status = 'skipped'
		WHERE id = ? AND status IN ('discarded', 'published') AND comparison_status IN ('queued', 'running')`, planID)
	if res.Error != nil {
		return translate(res.Error, planObject(planID))
	}
	return nil
}

// FailPlanComparison marks a plan's comparison failed with the reason; the
// plan itself is untouched. A plan whose comparison is not queued or running
// is a conflict.
func (s *Store) FailPlanComparison(ctx context.Context, planID int64, reason string) error {
	return s.setComparison(ctx, planID, `comparison_status = 'failed', comparison_error = ?`,
		`comparison_status IN ('queued', 'running')`, reason)
}

// setComparison runs UPDATE plans SET set WHERE id = planID AND cond; no row
// is ErrNotFound (no such plan) or ErrConflict.
func (s *Store) setComparison(ctx context.Context, planID int64, set, cond string, args ...any) error {
	res := s.db.WithContext(ctx).Exec(`UPDATE plans SET `+set+` WHERE id = ? AND `+cond, append(args, planID)...)
	if res.Error != nil {
		return translate(res.Error, planObject(planID))
	}
	if res.RowsAffected == 0 {
		if err := s.planExists(ctx, planID); err != nil {
			return err
		}
		return fmt.Errorf("the comparison of %s cannot be changed now (not a draft, or not waiting for it): %w", planObject(planID), domain.ErrConflict)
	}
	return nil
}

// MapFilter narrows the visits of a plan's dashboard. Zero fields do not
// restrict.
type MapFilter struct {
	// Scope is the department the viewer is limited to (a planner): only
	// visits that carry its tasks, and Tasks counts only its tasks.
	Scope int64
	// DepartmentID keeps visits that carry that department's tasks.
	DepartmentID int64
	// TeamID keeps visits led by that team.
	TeamID int64
	// RegionID keeps visits to businesses in that region or below it.
	RegionID int64
	// Date keeps the visits of that day (the plan's date; zero: every day).
	Date time.Time
}

// MapVisit is a visit with what the dashboard's map and table show: the
// business's place and region, the lead team and the route position.
type MapVisit struct {
	Seq          int       `json:"seq"`
	USCC         string    `json:"uscc"`
	BusinessName string    `json:"business_name"`
	RegionID     int64     `json:"region_id"`
	Lat          float64   `json:"lat"`
	Lng          float64   `json:"lng"`
	Date         time.Time `json:"date"`
	TeamID       int64     `json:"team_id"`
	RouteOrder   int       `json:"route_order"`
	// DurationMinutes is the time on site.
	DurationMinutes int     `json:"duration_minutes"`
	DepartmentIDs   []int64 `json:"department_ids"`
	// Tasks is how many tasks the visit carries (of the scope's department
	// only, when scoped).
	Tasks int `json:"tasks"`
}

type mapVisitRow struct {
	Seq             int
	USCC            string `gorm:"column:uscc"`
	BusinessName    string
	RegionID        int64
	Lat, Lng        float64
	Date            time.Time
	TeamID          int64
	RouteOrder      int
	DurationMinutes int
	DepartmentIDs   pq.Int64Array `gorm:"column:department_ids;type:bigint[]"`
	Tasks           int
	Total           int
}

// PlanMapVisits returns up to limit visits of a plan that pass f, ordered by
// date, lead team and route order (so a team-day's route reads in order), and
// how many pass f in all.
func (s *Store) PlanMapVisits(ctx context.Context, planID int64, f MapFilter, limit int) ([]MapVisit, int, error) {
	if err := s.planExists(ctx, planID); err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	const carries = `EXISTS (SELECT 1 FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq AND t.department_id = ?)`
	where := "v.plan_id = ?"
	args := []any{planID}
	if f.Scope != 0 {
		where += " AND " + carries
		args = append(args, f.Scope)
	}
	if f.DepartmentID != 0 {
		where += " AND " + carries
		args = append(args, f.DepartmentID)
	}
	if f.TeamID != 0 {
		where += " AND v.team_id = ?"
		args = append(args, f.TeamID)
	}
	if f.RegionID != 0 {
		where += " AND b.region_id IN " + regionSubtree
		args = append(args, pq.Int64Array{f.RegionID})
	}
	if !f.Date.IsZero() {
		where += " AND v.date = ?::date"
		args = append(args, civilDate(f.Date))
	}
	// The inner query counts every visit that passes (the window runs before
	// the limit) and keeps the first limit; only those get their tasks
	// counted, so a district plan's 100,000 visits cost one index scan, not
	// 100,000 task counts.
	var rows []mapVisitRow
	err := s.db.WithContext(ctx).Raw(`SELECT w.*,
			(SELECT count(*) FROM plan_tasks t WHERE t.plan_id = ? AND t.visit_seq = w.seq
				AND (?::bigint = 0 OR t.department_id = ?::bigint)) AS tasks
		FROM (SELECT v.seq, v.uscc, coalesce(b.name, '') AS business_name,
				coalesce(b.region_id, 0) AS region_id, coalesce(b.lat, 0) AS lat, coalesce(b.lng, 0) AS lng,
				v.date, v.team_id, v.route_order, v.duration_minutes, v.department_ids, count(*) OVER () AS total
			FROM plan_visits v LEFT JOIN businesses b ON b.uscc = v.uscc
			WHERE `+where+`
			ORDER BY v.date, v.team_id, v.route_order, v.seq
			LIMIT ?) w
		ORDER BY w.date, w.team_id, w.route_order, w.seq`, append(append([]any{planID, f.Scope, f.Scope}, args...), limit)...).Scan(&rows).Error
	if err != nil {
		return nil, 0, translate(err, "plan visits")
	}
	out := make([]MapVisit, len(rows))
	total := 0
	for i, r := range rows {
		out[i] = MapVisit{Seq: r.Seq, USCC: r.USCC, BusinessName: r.BusinessName, RegionID: r.RegionID, Lat: r.Lat,
			Lng: r.Lng, Date: r.Date, TeamID: r.TeamID, RouteOrder: r.RouteOrder, DurationMinutes: r.DurationMinutes,
			DepartmentIDs: nonNil([]int64(r.DepartmentIDs)), Tasks: r.Tasks}
		total = r.Total
	}
	return out, total, nil
}

// PlanLeadTeams lists the teams leading at least one visit of a plan, by id.
// The dashboard colours teams by their place in it, so that the colours stay
// put whatever the filters and few teams share one.
func (s *Store) PlanLeadTeams(ctx context.Context, planID int64) ([]int64, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT team_id FROM plan_visits WHERE plan_id = ? ORDER BY team_id`, planID).
		Scan(&ids).Error; err != nil {
		return nil, translate(err, "plan teams")
	}
	return ids, nil
}
