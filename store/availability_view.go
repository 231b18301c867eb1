package store

import (
	"context"
	"time"
)

// Away is an inspector's days away as the pages and the roster show them:
// the unavailability with the inspector's name and code.
type Away struct {
	Unavailability
	InspectorCode string `json:"inspector_code"`
	InspectorName string `json:"inspector_name"`
}

// ClosureNote is a closure as the pages and the roster show it: with the
// code and name of the region or team closed.
type ClosureNote struct {
	Closure
	Code string `json:"code"`
	Name string `json:"name"`
}

// awayRow and closureNoteRow spell their fields out: gorm does not fill the
// fields of an unexported embedded struct.
type awayRow struct {
	ID            int64
	InspectorID   int64
	TeamID        int64
	FromDate      time.Time
	ToDate        time.Time
	Reason        string
	CreatedBy     string
	CreatedAt     time.Time
	RepairID      *int64
	InspectorCode string
	InspectorName string
}

type closureNoteRow struct {
	ID        int64
	RegionID  *int64
	TeamID    *int64
	FromDate  time.Time
	ToDate    time.Time
	Reason    string
	CreatedBy string
	CreatedAt time.Time
	RepairID  *int64
	Code      string
	Name      string
}

const awaySelect = unavailabilitySelect + ", i.code AS inspector_code, i.name AS inspector_name"

// AwayFilter selects days away overlapping [From, To] (civil dates): of one
// inspector, of one team's members, or (both zero) of everyone.
type AwayFilter struct {
	InspectorID, TeamID int64
	From, To            time.Time
}

// ListAway returns the days away overlapping f's dates, by first day then
// inspector, with the inspectors' names. At most MaxLimit are returned: a
// page shows them, it does not page through them.
func (s *Store) ListAway(ctx context.Context, f AwayFilter) ([]Away, error) {
	q := s.db.WithContext(ctx).Table("inspector_unavailability u").Joins("JOIN inspectors i ON i.id = u.inspector_id").
		Select(awaySelect).Where("u.to_date >= ?::date AND u.from_date <= ?::date", civilDate(f.From), civilDate(f.To))
	if f.InspectorID != 0 {
		q = q.Where("u.inspector_id = ?", f.InspectorID)
	}
	if f.TeamID != 0 {
		q = q.Where("i.team_id = ?", f.TeamID)
	}
	var rows []awayRow
	if err := q.Order("u.from_date, i.name, u.id").Limit(MaxLimit).Find(&rows).Error; err != nil {
		return nil, translate(err, "unavailability")
	}
	out := make([]Away, len(rows))
	for i, r := range rows {
		u := unavailabilityRow{ID: r.ID, InspectorID: r.InspectorID, TeamID: r.TeamID, FromDate: r.FromDate, ToDate: r.ToDate,
			Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, RepairID: r.RepairID}
		out[i] = Away{Unavailability: u.value(), InspectorCode: r.InspectorCode, InspectorName: r.InspectorName}
	}
	return out, nil
}

// ClosuresAffecting returns the closures overlapping [from, to] (civil
// dates) that touch team teamID's work, by first day: those of the team
// itself, and those of a region the team covers, of a region above one
// (closing the county closes its townships) or of a region below one (a
// grid of its township). With teamID zero, every closure overlapping the
// dates. At most MaxLimit are returned.
func (s *Store) ClosuresAffecting(ctx context.Context, teamID int64, from, to time.Time) ([]ClosureNote, error) {
	var rows []closureNoteRow
	err := s.db.WithContext(ctx).Raw(`
WITH RECURSIVE own AS (
	SELECT region_id AS id FROM team_regions WHERE team_id = @team
), up AS (
	SELECT r.id, r.parent_id FROM regions r JOIN own ON own.id = r.id
	UNION
	SELECT r.id, r.parent_id FROM regions r JOIN up ON r.id = up.parent_id
), down AS (
	SELECT id FROM own
	UNION
	SELECT r.id FROM regions r JOIN down ON r.parent_id = down.id
)
SELECT c.id, c.region_id, c.team_id, c.from_date, c.to_date, c.reason, c.created_by, c.created_at,
	(SELECT cr.id FROM calendar_repairs cr WHERE cr.cause = 'closure' AND cr.cause_id = c.id) AS repair_id,
	COALESCE(r.code, t.code) AS code, COALESCE(r.name, t.name) AS name
FROM closures c
LEFT JOIN regions r ON r.id = c.region_id
LEFT JOIN teams t ON t.id = c.team_id
WHERE c.to_date >= CAST(@first AS date) AND c.from_date <= CAST(@last AS date)
	AND (@team = 0 OR c.team_id = @team OR c.region_id IN (SELECT id FROM up) OR c.region_id IN (SELECT id FROM down))
ORDER BY c.from_date, c.id
LIMIT @lim`, map[string]any{"team": teamID, "first": civilDate(from), "last": civilDate(to), "lim": MaxLimit}).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "closures")
	}
	out := make([]ClosureNote, len(rows))
	for i, r := range rows {
		c := closureRow{ID: r.ID, RegionID: r.RegionID, TeamID: r.TeamID, FromDate: r.FromDate, ToDate: r.ToDate,
			Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, RepairID: r.RepairID}
		out[i] = ClosureNote{Closure: c.value(), Code: r.Code, Name: r.Name}
	}
	return out, nil
}
