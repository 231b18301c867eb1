package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"inspectonce/domain"
	"inspectonce/planner"
)

// Unavailability is an inspector's days away (leave, training, secondment),
// From and To civil dates, both included.
type Unavailability struct {
	ID          int64     `json:"id"`
	InspectorID int64     `json:"inspector_id"`
	TeamID      int64     `json:"team_id"` // the inspector's team, as read
	From        string    `json:"from"`
	To          string    `json:"to"`
	Reason      string    `json:"reason"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	// RepairID is the repair of the published visits it hits (GET
	// /api/v1/repairs/{id}).
	RepairID *int64 `json:"repair_id"`
}

// Closure closes the days From to To (civil dates, both included) of a region
// and every region below it, or of a team: exactly one of RegionID and
// TeamID is set.
type Closure struct {
	ID        int64     `json:"id"`
	RegionID  *int64    `json:"region_id"`
	TeamID    *int64    `json:"team_id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// RepairID is the repair of the published visits it hits.
	RepairID *int64 `json:"repair_id"`
}

// UnavailabilityFilter narrows a list of unavailabilities: by inspector, by
// the inspector's team, and to those overlapping [From, To] (zero = open).
type UnavailabilityFilter struct {
	InspectorID, TeamID int64
	From, To            time.Time
}

// ClosureFilter narrows a list of closures: by region (exactly that region),
// by team, and to those overlapping [From, To] (zero = open).
type ClosureFilter struct {
	RegionID, TeamID int64
	From, To         time.Time
}

type unavailabilityRow struct {
	ID          int64
	InspectorID int64
	TeamID      int64
	FromDate    time.Time
	ToDate      time.Time
	Reason      string
	CreatedBy   string
	CreatedAt   time.Time
	RepairID    *int64
}

func (r unavailabilityRow) value() Unavailability {
	return Unavailability{ID: r.ID, InspectorID: r.InspectorID, TeamID: r.TeamID, From: civilDate(r.FromDate),
		To: civilDate(r.ToDate), Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), RepairID: r.RepairID}
}

type closureRow struct {
	ID        int64
	RegionID  *int64
	TeamID    *int64
	FromDate  time.Time
	ToDate    time.Time
	Reason    string
	CreatedBy string
	CreatedAt time.Time
	RepairID  *int64
}

func (r closureRow) value() Closure {
	return Closure{ID: r.ID, RegionID: r.RegionID, TeamID: r.TeamID, From: civilDate(r.FromDate), To: civilDate(r.ToDate),
		Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), RepairID: r.RepairID}
}

const unavailabilitySelect = "u.id, u.inspector_id, i.team_id, u.from_date, u.to_date, u.reason, u.created_by, u.created_at, " +
	"(SELECT r.id FROM calendar_repairs r WHERE r.cause = 'unavailability' AND r.cause_id = u.id) AS repair_id"

// CreateUnavailability records an inspector's days away, audited with the
// reason in the same transaction, and opens the repair of the published
// visits it hits (repairs.go). The inspector must exist (ErrNotFound).
func (s *Store) CreateUnavailability(ctx context.Context, actor string, inspectorID int64, from, to time.Time, reason string) (Unavailability, error) {
	var out Unavailability
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockExisting(tx, "inspectors", "id", inspectorID, "inspector "+strconv.FormatInt(inspectorID, 10)); err != nil {
			return err
		}
		var err error
		out, err = insertUnavailability(tx, actor, inspectorID, from, to, reason)
		return err
	})
	return out, err
}

func unavailabilityObject(u Unavailability) string {
	return objectID("inspector", u.InspectorID) + "/" + objectID("unavailability", u.ID)
}

// GetUnavailability reads one unavailability of an inspector; another
// inspector's is ErrNotFound.
func (s *Store) GetUnavailability(ctx context.Context, inspectorID, id int64) (Unavailability, error) {
	var row unavailabilityRow
	err := s.db.WithContext(ctx).Raw(`SELECT `+unavailabilitySelect+` FROM inspector_unavailability u
		JOIN inspectors i ON i.id = u.inspector_id WHERE u.id = ? AND u.inspector_id = ?`, id, inspectorID).Take(&row).Error
	return row.value(), translate(err, fmt.Sprintf("unavailability %d of inspector %d", id, inspectorID))
}

// ListUnavailability pages through unavailabilities by id.
func (s *Store) ListUnavailability(ctx context.Context, f UnavailabilityFilter, p Page) (Paged[Unavailability], error) {
	q := s.db.WithContext(ctx).Table("inspector_unavailability u").Joins("JOIN inspectors i ON i.id = u.inspector_id").
		Select(unavailabilitySelect)
	if f.InspectorID != 0 {
		q = q.Where("u.inspector_id = ?", f.InspectorID)
	}
	if f.TeamID != 0 {
		q = q.Where("i.team_id = ?", f.TeamID)
	}
	if !f.From.IsZero() {
		q = q.Where("u.to_date >= ?::date", civilDate(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where("u.from_date <= ?::date", civilDate(f.To))
	}
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[Unavailability]{}, err
	}
	lim := p.limit()
	var rows []unavailabilityRow
	if err := q.Where("u.id > ?", after).Order("u.id").Limit(lim + 1).Find(&rows).Error; err != nil {
		return Paged[Unavailability]{}, translate(err, "unavailability")
	}
	out := Paged[unavailabilityRow]{Items: rows}
	if len(rows) > lim {
		out.Items = rows[:lim]
		out.Next = strconv.FormatInt(rows[lim-1].ID, 10)
	}
	return mapPaged(out, unavailabilityRow.value), nil
}

// DeleteUnavailability removes an inspector's unavailability, audited with
// what was removed (its dates and reason). Another inspector's id is
// ErrNotFound.
func (s *Store) DeleteUnavailability(ctx context.Context, actor string, inspectorID, id int64) (Unavailability, error) {
	var out Unavailability
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row unavailabilityRow
		err := tx.Raw(`WITH d AS (DELETE FROM inspector_unavailability WHERE id = ? AND inspector_id = ? RETURNING *)
			SELECT `+unavailabilitySelect+` FROM d u JOIN inspectors i ON i.id = u.inspector_id`, id, inspectorID).Scan(&row).Error
		if err != nil {
			return translate(err, "unavailability")
		}
		if row.ID == 0 {
			return fmt.Errorf("unavailability %d of inspector %d: %w", id, inspectorID, domain.ErrNotFound)
		}
		out = row.value()
		return appendAudit(tx, actor, "unavailability.delete", unavailabilityObject(out), OutcomeOK, out)
	})
	return out, err
}

const closureSelect = "id, region_id, team_id, from_date, to_date, reason, created_by, created_at, " +
	"(SELECT r.id FROM calendar_repairs r WHERE r.cause = 'closure' AND r.cause_id = closures.id) AS repair_id"

// CreateClosure records a closure of a region or a team, audited with the
// reason in the same transaction, and opens the repair of the published
// visits it hits. Exactly one of regionID and teamID is non-zero, and it
// must exist (ErrNotFound).
func (s *Store) CreateClosure(ctx context.Context, actor string, regionID, teamID int64, from, to time.Time, reason string) (Closure, error) {
	var out Closure
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var region, team *int64
		switch {
		case regionID != 0 && teamID == 0:
			if err := lockExisting(tx, "regions", "id", regionID, "region "+strconv.FormatInt(regionID, 10)); err != nil {
				return err
			}
			region = &regionID
		case teamID != 0 && regionID == 0:
			if err := lockExisting(tx, "teams", "id", teamID, "team "+strconv.FormatInt(teamID, 10)); err != nil {
				return err
			}
			team = &teamID
		default:
			return domain.Invalid("region_id", "give exactly one of region_id and team_id")
		}
		var err error
		out, err = insertClosure(tx, actor, region, team, from, to, reason)
		return err
	})
	return out, err
}

// GetClosure reads one closure.
func (s *Store) GetClosure(ctx context.Context, id int64) (Closure, error) {
	var row closureRow
	err := s.db.WithContext(ctx).Table("closures").Select(closureSelect).Where("id = ?", id).Take(&row).Error
	return row.value(), translate(err, "closure "+strconv.FormatInt(id, 10))
}

// ListClosures pages through closures by id.
func (s *Store) ListClosures(ctx context.Context, f ClosureFilter, p Page) (Paged[Closure], error) {
	q := s.db.WithContext(ctx).Table("closures").Select(closureSelect)
	if f.RegionID != 0 {
		q = q.Where("region_id = ?", f.RegionID)
	}
	if f.TeamID != 0 {
		q = q.Where("team_id = ?", f.TeamID)
	}
	if !f.From.IsZero() {
		q = q.Where("to_date >= ?::date", civilDate(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where("from_date <= ?::date", civilDate(f.To))
	}
	out, err := pageByID(q, p, func(r closureRow) int64 { return r.ID })
	return mapPaged(out, closureRow.value), translate(err, "closures")
}

// DeleteClosure lifts a closure, audited with what was lifted (its dates and
// reason).
func (s *Store) DeleteClosure(ctx context.Context, actor string, id int64) (Closure, error) {
	var out Closure
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row closureRow
		err := tx.Raw(`DELETE FROM closures WHERE id = ? RETURNING `+closureSelect, id).Scan(&row).Error
		if err != nil {
			return translate(err, "closure")
		}
		if row.ID == 0 {
			return fmt.Errorf("closure %d: %w", id, domain.ErrNotFound)
		}
		out = row.value()
		return appendAudit(tx, actor, "closure.delete", objectID("closure", out.ID), OutcomeOK, out)
	})
	return out, err
}

// availabilityInput fills in.Unavailable and in.Closures with those
// overlapping [from, to] (civil dates), in id order.
func (s *Store) availabilityInput(ctx context.Context, in *planner.Input, from, to string) error {
	var us []unavailabilityRow
	db := s.db.WithContext(ctx)
	if err := db.Raw(`SELECT `+unavailabilitySelect+` FROM inspector_unavailability u JOIN inspectors i ON i.id = u.inspector_id
		WHERE u.to_date >= ?::date AND u.from_date <= ?::date ORDER BY u.id`, from, to).Scan(&us).Error; err != nil {
		return translate(err, "unavailability")
	}
	for _, u := range us {
		in.Unavailable = append(in.Unavailable, planner.Unavailability{InspectorID: u.InspectorID,
			From: planner.DayOf(u.FromDate), To: planner.DayOf(u.ToDate)})
	}
	var cs []closureRow
	if err := db.Raw(`SELECT `+closureSelect+` FROM closures WHERE to_date >= ?::date AND from_date <= ?::date ORDER BY id`,
		from, to).Scan(&cs).Error; err != nil {
		return translate(err, "closures")
	}
	for _, c := range cs {
		pc := planner.Closure{From: planner.DayOf(c.FromDate), To: planner.DayOf(c.ToDate)}
		if c.RegionID != nil {
			pc.RegionID = *c.RegionID
		}
		if c.TeamID != nil {
			pc.TeamID = *c.TeamID
		}
		in.Closures = append(in.Closures, pc)
	}
	return nil
}

// insertUnavailability records an inspector's days away in tx, opens the
// repair of the published visits it hits and audits it: what the API, the
// CLI and a CSV import all do for a new unavailability.
func insertUnavailability(tx *gorm.DB, actor string, inspectorID int64, from, to time.Time, reason string) (Unavailability, error) {
	var row unavailabilityRow
	err := tx.Raw(`WITH n AS (
		INSERT INTO inspector_unavailability (inspector_id, from_date, to_date, reason, created_by)
		VALUES (?, ?::date, ?::date, ?, ?) RETURNING *)
		SELECT `+unavailabilitySelect+` FROM n u JOIN inspectors i ON i.id = u.inspector_id`,
		inspectorID, civilDate(from), civilDate(to), reason, actor).Scan(&row).Error
	if err != nil {
		return Unavailability{}, translate(err, "unavailability")
	}
	out := row.value()
	// The published visits the leave hits are repaired by a task the outbox
	// hands to the queue once this commits.
	rid, err := openRepair(tx, actor, RepairCauseUnavailability, out.ID, reason, out.From, out.To)
	if err != nil {
		return Unavailability{}, err
	}
	out.RepairID = &rid
	return out, appendAudit(tx, actor, "unavailability.create", unavailabilityObject(out), OutcomeOK, out)
}

// insertClosure records a closure of a region or a team in tx, opens the
// repair of the published visits it hits and audits it.
func insertClosure(tx *gorm.DB, actor string, region, team *int64, from, to time.Time, reason string) (Closure, error) {
	var row closureRow
	err := tx.Raw(`INSERT INTO closures (region_id, team_id, from_date, to_date, reason, created_by)
		VALUES (?, ?, ?::date, ?::date, ?, ?) RETURNING `+closureSelect,
		region, team, civilDate(from), civilDate(to), reason, actor).Scan(&row).Error
	if err != nil {
		return Closure{}, translate(err, "closure")
	}
	out := row.value()
	rid, err := openRepair(tx, actor, RepairCauseClosure, out.ID, reason, out.From, out.To)
	if err != nil {
		return Closure{}, err
	}
	out.RepairID = &rid
	return out, appendAudit(tx, actor, "closure.create", objectID("closure", out.ID), OutcomeOK, out)
}
