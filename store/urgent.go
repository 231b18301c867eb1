package store

import "context"

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
