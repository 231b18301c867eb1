package store

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"inspectonce/domain"
)

type demandRow struct {
	ID               int64
	DepartmentID     int64
	Title            string
	TargetKind       string
	SampleRegionIDs  pq.Int64Array  `gorm:"column:sample_region_ids;type:bigint[]"`
	SampleIndustries pq.StringArray `gorm:"type:text[]"`
	SampleScenarioID *int64
	SampleRiskCodes  pq.StringArray `gorm:"type:text[]"`
	SampleCount      *int
	SampleRatio      *float64
	WindowFrom       time.Time
	WindowTo         time.Time
	Priority         int
	Source           string
	ScenarioID       *int64
	AnnounceDays     int
	Status           string
	CancelReason     string
	CreatedBy        string
	CreatedAt        time.Time
	CancelledAt      *time.Time
	ItemIDs          pq.Int64Array  `gorm:"->;type:bigint[]"`
	Businesses       pq.StringArray `gorm:"->;type:text[]"`
}

func (demandRow) TableName() string { return "demands" }

const demandSelect = `demands.*,
	ARRAY(SELECT item_id FROM demand_items x WHERE x.demand_id = demands.id ORDER BY item_id) AS item_ids,
	ARRAY(SELECT uscc::text FROM demand_businesses x WHERE x.demand_id = demands.id ORDER BY uscc) AS businesses`

func (r demandRow) domain() domain.Demand {
	d := domain.Demand{
		ID: r.ID, DepartmentID: r.DepartmentID, Title: r.Title, ItemIDs: nonNil([]int64(r.ItemIDs)),
		TargetKind: r.TargetKind, WindowFrom: r.WindowFrom, WindowTo: r.WindowTo, Priority: r.Priority,
		Source: r.Source, ScenarioID: r.ScenarioID, AnnounceDays: r.AnnounceDays, Status: r.Status,
		CancelReason: r.CancelReason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, CancelledAt: r.CancelledAt,
	}
	if r.TargetKind == domain.TargetList {
		d.Businesses = nonNil([]string(r.Businesses))
	} else {
		d.Sample = &domain.SampleRule{
			RegionIDs: nonNil([]int64(r.SampleRegionIDs)), IndustryCodes: nonNil([]string(r.SampleIndustries)),
			ScenarioID: r.SampleScenarioID, RiskCodes: nonNil([]string(r.SampleRiskCodes)),
			Count: r.SampleCount, Ratio: r.SampleRatio,
		}
	}
	return d
}

func demandToRow(d *domain.Demand) demandRow {
	r := demandRow{
		DepartmentID: d.DepartmentID, Title: d.Title, TargetKind: d.TargetKind,
		WindowFrom: d.WindowFrom, WindowTo: d.WindowTo, Priority: d.Priority, Source: d.Source,
		ScenarioID: d.ScenarioID, AnnounceDays: d.AnnounceDays, Status: domain.DemandOpen, CreatedBy: d.CreatedBy,
		SampleRegionIDs: pq.Int64Array{}, SampleIndustries: pq.StringArray{}, SampleRiskCodes: pq.StringArray{},
	}
	if s := d.Sample; s != nil {
		r.SampleRegionIDs = nonNil(s.RegionIDs)
		r.SampleIndustries = nonNil(s.IndustryCodes)
		r.SampleScenarioID = s.ScenarioID
		r.SampleRiskCodes = nonNil(s.RiskCodes)
		r.SampleCount, r.SampleRatio = s.Count, s.Ratio
	}
	return r
}

// Idempotency identifies a submission that may be retried: the caller's token,
// the Idempotency-Key header and a hash of the request body.
type Idempotency struct {
	TokenID     int64
	Key         string
	RequestHash []byte
}

// CreateDemand stores a validated demand. With an idempotency key it returns the
// demand first created under that key instead of creating another (replayed =
// true); the same key with a different request is a validation error.
func (s *Store) CreateDemand(ctx context.Context, actor string, idem *Idempotency, d *domain.Demand) (replayed bool, err error) {
	// A new demand (or key) is stored in one round trip; a key seen before
	// is answered by the transaction below.
	if stored, err := s.createDemandFast(ctx, actor, idem, d, false); err != nil || stored {
		return false, err
	}
	return s.createDemandTx(ctx, actor, idem, d)
}

// createDemandTx is CreateDemand statement by statement, in a transaction:
// what answers a key seen before.
func (s *Store) createDemandTx(ctx context.Context, actor string, idem *Idempotency, d *domain.Demand) (replayed bool, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if idem != nil {
			res := tx.Exec(`INSERT INTO idempotency_keys (token_id, key, request_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				idem.TokenID, idem.Key, idem.RequestHash)
			if res.Error != nil {
				return translate(res.Error, "idempotency key")
			}
			if res.RowsAffected == 0 {
				// Another submission with this key committed first (the insert
				// waited for it): answer with its result.
				var prior struct {
					RequestHash []byte
					Response    []byte
				}
				if err := tx.Raw(`SELECT request_hash, response FROM idempotency_keys WHERE token_id = ? AND key = ?`,
					idem.TokenID, idem.Key).Scan(&prior).Error; err != nil {
					return translate(err, "idempotency key")
				}
				if !bytes.Equal(prior.RequestHash, idem.RequestHash) {
					return domain.Invalid("Idempotency-Key", "this key was already used for a different request")
				}
				id, perr := strconv.ParseInt(string(prior.Response), 10, 64)
				if perr != nil {
					return fmt.Errorf("idempotency key %q has no recorded demand: %w", idem.Key, domain.ErrConflict)
				}
				var row demandRow
				if err := tx.Select(demandSelect).Where("id = ?", id).Take(&row).Error; err != nil {
					return translate(err, "demand")
				}
				*d = row.domain()
				replayed = true
				return nil
			}
		}
		row := demandToRow(d)
		if err := tx.Omit("ID", "Status", "CancelReason", "CreatedAt", "CancelledAt", "ItemIDs", "Businesses").Create(&row).Error; err != nil {
			return translate(err, "demand")
		}
		if err := tx.Exec(`INSERT INTO demand_items (demand_id, item_id) SELECT ?, unnest(?::bigint[]) ON CONFLICT DO NOTHING`,
			row.ID, pq.Int64Array(d.ItemIDs)).Error; err != nil {
			return translate(err, "demand items")
		}
		if len(d.Businesses) > 0 {
			if err := tx.Exec(`INSERT INTO demand_businesses (demand_id, uscc) SELECT ?, unnest(?::text[]) ON CONFLICT DO NOTHING`,
				row.ID, pq.StringArray(d.Businesses)).Error; err != nil {
				return translate(err, "demand businesses")
			}
		}
		if idem != nil {
			if err := tx.Exec(`UPDATE idempotency_keys SET status = 201, response = ? WHERE token_id = ? AND key = ?`,
				[]byte(strconv.FormatInt(row.ID, 10)), idem.TokenID, idem.Key).Error; err != nil {
				return translate(err, "idempotency key")
			}
		}
		var full demandRow
		if err := tx.Select(demandSelect).Where("id = ?", row.ID).Take(&full).Error; err != nil {
			return translate(err, "demand")
		}
		*d = full.domain()
		return appendAudit(tx, actor, "demand.submit", objectID("demand", d.ID), OutcomeOK, map[string]any{
			"department_id": d.DepartmentID, "source": d.Source, "target_kind": d.TargetKind, "items": d.ItemIDs,
		})
	})
	return replayed, err
}

// DemandFilter narrows a list of demands. DepartmentID 0 means every department.
type DemandFilter struct {
	DepartmentID int64
	Status       string
	Source       string
}

// GetDemand returns a demand; with departmentID != 0 a demand of another
// department is reported as not found.
func (s *Store) GetDemand(ctx context.Context, id, departmentID int64) (domain.Demand, error) {
	q := s.db.WithContext(ctx).Select(demandSelect).Where("id = ?", id)
	if departmentID != 0 {
		q = q.Where("department_id = ?", departmentID)
	}
	var row demandRow
	err := q.Take(&row).Error
	return row.domain(), translate(err, "demand "+strconv.FormatInt(id, 10))
}

// ListDemands pages through demands.
func (s *Store) ListDemands(ctx context.Context, f DemandFilter, p Page) (Paged[domain.Demand], error) {
	q := s.db.WithContext(ctx).Model(&demandRow{}).Select(demandSelect)
	if f.DepartmentID != 0 {
		q = q.Where("department_id = ?", f.DepartmentID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Source != "" {
		q = q.Where("source = ?", f.Source)
	}
	out, err := pageByID(q, p, func(r demandRow) int64 { return r.ID })
	return mapPaged(out, demandRow.domain), translate(err, "demands")
}

// CancelDemand cancels an open demand; departmentID != 0 limits it to that
// department's demands. Cancelling twice is a conflict.
func (s *Store) CancelDemand(ctx context.Context, actor string, id, departmentID int64, reason string) (domain.Demand, error) {
	var d domain.Demand
	err := s.tx(ctx, func(tx *gorm.DB) error {
		q := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id)
		if departmentID != 0 {
			q = q.Where("department_id = ?", departmentID)
		}
		var row demandRow
		if err := q.Take(&row).Error; err != nil {
			return translate(err, "demand "+strconv.FormatInt(id, 10))
		}
		if row.Status != domain.DemandOpen {
			return fmt.Errorf("demand %d is %s, only open demands can be cancelled: %w", id, row.Status, domain.ErrConflict)
		}
		if err := tx.Model(&demandRow{}).Where("id = ?", id).Updates(map[string]any{
			"status": domain.DemandCancelled, "cancel_reason": reason, "cancelled_at": time.Now().UTC(),
		}).Error; err != nil {
			return translate(err, "demand")
		}
		if err := tx.Select(demandSelect).Where("id = ?", id).Take(&row).Error; err != nil {
			return translate(err, "demand")
		}
		d = row.domain()
		return appendAudit(tx, actor, "demand.cancel", objectID("demand", id), OutcomeOK, map[string]string{"reason": reason})
	})
	return d, err
}
