package store

import (
	"context"
	"time"

	"inspectonce/domain"
)

// UrgentPlanInProgress returns the id of a running or draft plan that places
// demandID now (an urgent placement not yet published or discarded), or 0.
// Placing the same demand twice at once would book it twice.
func (s *Store) UrgentPlanInProgress(ctx context.Context, demandID int64) (int64, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT id FROM plans WHERE urgent_demand_id = ? AND status IN ('running', 'draft')
		ORDER BY id LIMIT 1`, demandID).Scan(&ids).Error
	if err != nil {
		return 0, translate(err, "plans")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

// UrgentDemandsToPlace lists the open list demands a coordinator could place
// now (a complaint or priority 1, window not ended on today) that no
// published plan has placed yet, soonest deadline first, at most limit;
// departmentID != 0 keeps that department's. The plans page shows them with
// a "place now" button.
func (s *Store) UrgentDemandsToPlace(ctx context.Context, departmentID int64, today time.Time, limit int) ([]domain.Demand, error) {
	q := s.db.WithContext(ctx).Model(&demandRow{}).Select(demandSelect).
		Where("status = ? AND target_kind = ? AND (source = ? OR priority = 1) AND window_to >= ?::date",
			domain.DemandOpen, domain.TargetList, domain.SourceComplaint, civilDate(today)).
		Where(`NOT EXISTS (SELECT 1 FROM plan_tasks t JOIN plans p ON p.id = t.plan_id
			WHERE t.demand_id = demands.id AND p.status = 'published' AND (t.visit_seq IS NOT NULL OR t.join_plan_id IS NOT NULL))`)
	if departmentID != 0 {
		q = q.Where("department_id = ?", departmentID)
	}
	var rows []demandRow
	if err := q.Order("window_to, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, translate(err, "demands")
	}
	out := make([]domain.Demand, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}
