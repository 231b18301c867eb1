package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"inspectonce/domain"
)

// Page results carry the cursor of the next page, empty at the end.
type Paged[T any] struct {
	Items []T
	Next  string
}

func idCursor(after string) (int64, error) {
	if after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(after, 10, 64)
	if err != nil || n < 0 {
		return 0, domain.Invalid("after", "not a cursor returned by this list")
	}
	return n, nil
}

// pageByID runs q ordered by id after the cursor and fills the next cursor.
func pageByID[T any](q *gorm.DB, p Page, id func(T) int64) (Paged[T], error) {
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[T]{}, err
	}
	lim := p.limit()
	var items []T
	if err := q.Where("id > ?", after).Order("id").Limit(lim + 1).Find(&items).Error; err != nil {
		return Paged[T]{}, err
	}
	out := Paged[T]{Items: items}
	if len(items) > lim {
		out.Items = items[:lim]
		out.Next = strconv.FormatInt(id(items[lim-1]), 10)
	}
	return out, nil
}

func mapPaged[A, B any](p Paged[A], f func(A) B) Paged[B] {
	out := Paged[B]{Items: make([]B, len(p.Items)), Next: p.Next}
	for i, a := range p.Items {
		out.Items[i] = f(a)
	}
	return out
}

func objectID(kind string, id int64) string { return kind + "/" + strconv.FormatInt(id, 10) }

// lockExisting fails with ErrNotFound unless the row exists, and locks it.
func lockExisting(tx *gorm.DB, table, key string, id any, what string) error {
	var n int64
	if err := tx.Table(table).Clauses(clause.Locking{Strength: "UPDATE"}).Select("1").Where(key+" = ?", id).Scan(&n).Error; err != nil {
		return translate(err, what)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, domain.ErrNotFound)
	}
	return nil
}

// ---- departments

// CreateDepartment adds a department.
func (s *Store) CreateDepartment(ctx context.Context, actor string, d *domain.Department) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Table("departments").Omit("ID").Create(d).Error; err != nil {
			return translate(err, "department "+d.Code)
		}
		return appendAudit(tx, actor, "department.create", objectID("department", d.ID), OutcomeOK, d)
	})
}

// UpdateDepartment replaces a department's code and name.
func (s *Store) UpdateDepartment(ctx context.Context, actor string, d *domain.Department) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockExisting(tx, "departments", "id", d.ID, "department"); err != nil {
			return err
		}
		if err := tx.Table("departments").Where("id = ?", d.ID).
			Updates(map[string]any{"code": d.Code, "name": d.Name, "updated_at": time.Now().UTC()}).Error; err != nil {
			return translate(err, "department "+d.Code)
		}
		if err := tx.Table("departments").Where("id = ?", d.ID).Take(d).Error; err != nil {
			return translate(err, "department")
		}
		return appendAudit(tx, actor, "department.update", objectID("department", d.ID), OutcomeOK, d)
	})
}

// GetDepartment returns a department by id.
func (s *Store) GetDepartment(ctx context.Context, id int64) (domain.Department, error) {
	var d domain.Department
	err := s.db.WithContext(ctx).Table("departments").Where("id = ?", id).Take(&d).Error
	return d, translate(err, "department "+strconv.FormatInt(id, 10))
}

// ListDepartments pages through departments.
func (s *Store) ListDepartments(ctx context.Context, p Page) (Paged[domain.Department], error) {
	out, err := pageByID(s.db.WithContext(ctx).Table("departments"), p, func(d domain.Department) int64 { return d.ID })
	return out, translate(err, "departments")
}

// ---- items

// ItemFilter narrows a list of items.
type ItemFilter struct {
	DepartmentID int64
	Domain       string
}

// CreateItem adds an inspection item.
func (s *Store) CreateItem(ctx context.Context, actor string, it *domain.Item) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Table("items").Omit("ID").Create(it).Error; err != nil {
			return translate(err, "item "+it.Code)
		}
		return appendAudit(tx, actor, "item.create", objectID("item", it.ID), OutcomeOK, it)
	})
}

// UpdateItem replaces an item's fields.
func (s *Store) UpdateItem(ctx context.Context, actor string, it *domain.Item) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockExisting(tx, "items", "id", it.ID, "item"); err != nil {
			return err
		}
		if err := tx.Table("items").Where("id = ?", it.ID).Updates(map[string]any{
			"code": it.Code, "department_id": it.DepartmentID, "name": it.Name, "domain": it.Domain,
			"minutes": it.Minutes, "legal_basis": it.LegalBasis, "updated_at": time.Now().UTC(),
		}).Error; err != nil {
			return translate(err, "item "+it.Code)
		}
		if err := tx.Table("items").Where("id = ?", it.ID).Take(it).Error; err != nil {
			return translate(err, "item")
		}
		return appendAudit(tx, actor, "item.update", objectID("item", it.ID), OutcomeOK, it)
	})
}

// GetItem returns an item by id.
func (s *Store) GetItem(ctx context.Context, id int64) (domain.Item, error) {
	var it domain.Item
	err := s.db.WithContext(ctx).Table("items").Where("id = ?", id).Take(&it).Error
	return it, translate(err, "item "+strconv.FormatInt(id, 10))
}

// ItemsByID returns the items with the given ids, in no particular order.
func (s *Store) ItemsByID(ctx context.Context, ids []int64) ([]domain.Item, error) {
	var out []domain.Item
	// One array parameter, not one per id: no list length reaches
	// PostgreSQL's 65,535-parameter limit.
	err := s.db.WithContext(ctx).Table("items").Where("id = ANY(?::bigint[])", pq.Int64Array(ids)).Order("id").Find(&out).Error
	return out, translate(err, "items")
}

// ListItems pages through items.
func (s *Store) ListItems(ctx context.Context, f ItemFilter, p Page) (Paged[domain.Item], error) {
	q := s.db.WithContext(ctx).Table("items")
	if f.DepartmentID != 0 {
		q = q.Where("department_id = ?", f.DepartmentID)
	}
	if f.Domain != "" {
		q = q.Where("domain = ?", f.Domain)
	}
	out, err := pageByID(q, p, func(it domain.Item) int64 { return it.ID })
	return out, translate(err, "items")
}

// ---- scenarios

type scenarioRow struct {
	ID            int64
	Code          string
	Name          string
	IndustryCodes pq.StringArray `gorm:"type:text[]"`
	ItemIDs       pq.Int64Array  `gorm:"->;type:bigint[]"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (r scenarioRow) domain() domain.Scenario {
	return domain.Scenario{ID: r.ID, Code: r.Code, Name: r.Name, IndustryCodes: nonNil([]string(r.IndustryCodes)),
		ItemIDs: nonNil([]int64(r.ItemIDs)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

const scenarioSelect = `scenarios.*, ARRAY(SELECT item_id FROM scenario_items si WHERE si.scenario_id = scenarios.id ORDER BY item_id) AS item_ids`

func replaceScenarioItems(tx *gorm.DB, id int64, items []int64) error {
	if err := tx.Exec("DELETE FROM scenario_items WHERE scenario_id = ?", id).Error; err != nil {
		return translate(err, "scenario items")
	}
	if len(items) == 0 {
		return nil
	}
	err := tx.Exec("INSERT INTO scenario_items (scenario_id, item_id) SELECT ?, unnest(?::bigint[]) ON CONFLICT DO NOTHING", id, pq.Int64Array(items)).Error
	return translate(err, "scenario items")
}

func (s *Store) saveScenario(ctx context.Context, actor string, sc *domain.Scenario, create bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		action := "scenario.update"
		if create {
			action = "scenario.create"
			row := scenarioRow{Code: sc.Code, Name: sc.Name, IndustryCodes: nonNil(sc.IndustryCodes)}
			if err := tx.Table("scenarios").Omit("ID", "ItemIDs").Create(&row).Error; err != nil {
				return translate(err, "scenario "+sc.Code)
			}
			sc.ID = row.ID
		} else {
			if err := lockExisting(tx, "scenarios", "id", sc.ID, "scenario"); err != nil {
				return err
			}
			if err := tx.Table("scenarios").Where("id = ?", sc.ID).Updates(map[string]any{
				"code": sc.Code, "name": sc.Name, "industry_codes": pq.StringArray(nonNil(sc.IndustryCodes)), "updated_at": time.Now().UTC(),
			}).Error; err != nil {
				return translate(err, "scenario "+sc.Code)
			}
		}
		if err := replaceScenarioItems(tx, sc.ID, sc.ItemIDs); err != nil {
			return err
		}
		var row scenarioRow
		if err := tx.Table("scenarios").Select(scenarioSelect).Where("id = ?", sc.ID).Take(&row).Error; err != nil {
			return translate(err, "scenario")
		}
		*sc = row.domain()
		return appendAudit(tx, actor, action, objectID("scenario", sc.ID), OutcomeOK, sc)
	})
}

// CreateScenario adds a scenario with its items.
func (s *Store) CreateScenario(ctx context.Context, actor string, sc *domain.Scenario) error {
	return s.saveScenario(ctx, actor, sc, true)
}

// UpdateScenario replaces a scenario and its items.
func (s *Store) UpdateScenario(ctx context.Context, actor string, sc *domain.Scenario) error {
	return s.saveScenario(ctx, actor, sc, false)
}

// GetScenario returns a scenario with its items.
func (s *Store) GetScenario(ctx context.Context, id int64) (domain.Scenario, error) {
	var row scenarioRow
	err := s.db.WithContext(ctx).Table("scenarios").Select(scenarioSelect).Where("id = ?", id).Take(&row).Error
	return row.domain(), translate(err, "scenario "+strconv.FormatInt(id, 10))
}

// ListScenarios pages through scenarios.
func (s *Store) ListScenarios(ctx context.Context, p Page) (Paged[domain.Scenario], error) {
	out, err := pageByID(s.db.WithContext(ctx).Table("scenarios").Select(scenarioSelect), p, func(r scenarioRow) int64 { return r.ID })
	return mapPaged(out, scenarioRow.domain), translate(err, "scenarios")
}

// ---- regions

// RegionFilter narrows a list of regions.
type RegionFilter struct {
	ParentID int64
	Level    string
}

// CreateRegion adds a region to the tree.
func (s *Store) CreateRegion(ctx context.Context, actor string, r *domain.Region) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkRegionParent(tx, r); err != nil {
			return err
		}
		if err := tx.Table("regions").Omit("ID").Create(r).Error; err != nil {
			return translate(err, "region "+r.Code)
		}
		return appendAudit(tx, actor, "region.create", objectID("region", r.ID), OutcomeOK, r)
	})
}

// checkRegionParent keeps the tree's shape: a township's parent is a county, a
// grid's a township, and a region is never its own ancestor.
func checkRegionParent(tx *gorm.DB, r *domain.Region) error {
	if r.ParentID == nil {
		if r.Level != domain.LevelCounty {
			return domain.Invalid("parent_id", "a %s needs a parent region", r.Level)
		}
		return nil
	}
	if r.Level == domain.LevelCounty {
		return domain.Invalid("parent_id", "a county has no parent region")
	}
	var parent domain.Region
	if err := tx.Table("regions").Where("id = ?", *r.ParentID).Take(&parent).Error; err != nil {
		return domain.Invalid("parent_id", "region %d does not exist", *r.ParentID)
	}
	want := map[string]string{domain.LevelTownship: domain.LevelCounty, domain.LevelGrid: domain.LevelTownship}[r.Level]
	if parent.Level != want {
		return domain.Invalid("parent_id", "a %s's parent must be a %s, region %d is a %s", r.Level, want, parent.ID, parent.Level)
	}
	return nil
}

// UpdateRegion replaces a region's fields.
func (s *Store) UpdateRegion(ctx context.Context, actor string, r *domain.Region) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockExisting(tx, "regions", "id", r.ID, "region"); err != nil {
			return err
		}
		if err := checkRegionParent(tx, r); err != nil {
			return err
		}
		var children int64
		tx.Table("regions").Where("parent_id = ?", r.ID).Count(&children)
		var old domain.Region
		if err := tx.Table("regions").Where("id = ?", r.ID).Take(&old).Error; err != nil {
			return translate(err, "region")
		}
		if children > 0 && old.Level != r.Level {
			return domain.Invalid("level", "region %d has sub-regions, so its level cannot change", r.ID)
		}
		if err := tx.Table("regions").Where("id = ?", r.ID).Updates(map[string]any{
			"code": r.Code, "name": r.Name, "level": r.Level, "parent_id": r.ParentID, "updated_at": time.Now().UTC(),
		}).Error; err != nil {
			return translate(err, "region "+r.Code)
		}
		if err := tx.Table("regions").Where("id = ?", r.ID).Take(r).Error; err != nil {
			return translate(err, "region")
		}
		return appendAudit(tx, actor, "region.update", objectID("region", r.ID), OutcomeOK, r)
	})
}

// GetRegion returns a region by id.
func (s *Store) GetRegion(ctx context.Context, id int64) (domain.Region, error) {
	var r domain.Region
	err := s.db.WithContext(ctx).Table("regions").Where("id = ?", id).Take(&r).Error
	return r, translate(err, "region "+strconv.FormatInt(id, 10))
}

// ListRegions pages through regions.
func (s *Store) ListRegions(ctx context.Context, f RegionFilter, p Page) (Paged[domain.Region], error) {
	q := s.db.WithContext(ctx).Table("regions")
	if f.ParentID != 0 {
		q = q.Where("parent_id = ?", f.ParentID)
	}
	if f.Level != "" {
		q = q.Where("level = ?", f.Level)
	}
	out, err := pageByID(q, p, func(r domain.Region) int64 { return r.ID })
	return out, translate(err, "regions")
}

// MissingIDs returns which of ids have no row in table, for field-level errors.
func (s *Store) MissingIDs(ctx context.Context, table string, ids []int64) ([]int64, error) {
	switch table {
	case "departments", "items", "scenarios", "regions", "teams", "inspectors":
	default:
		return nil, fmt.Errorf("MissingIDs: unknown table %q", table)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var missing []int64
	err := s.db.WithContext(ctx).Raw(`SELECT x FROM unnest(?::bigint[]) AS x WHERE NOT EXISTS (SELECT 1 FROM `+table+` t WHERE t.id = x) ORDER BY x`,
		pq.Int64Array(ids)).Scan(&missing).Error
	return missing, translate(err, table)
}

// MissingBusinesses returns which of the codes are not registered.
func (s *Store) MissingBusinesses(ctx context.Context, codes []string) ([]string, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	var missing []string
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		rows, _ := c.Query(ctx, missingBusinessesSQL, codes)
		var err error
		missing, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if len(missing) == 0 {
		missing = nil
	}
	return missing, translate(err, "businesses")
}

// regionSubtree is a subquery of the ids of the given regions and all below them.
const regionSubtree = `(WITH RECURSIVE sub(id) AS (
	SELECT id FROM regions WHERE id = ANY(?::bigint[])
	UNION SELECT r.id FROM regions r JOIN sub ON r.parent_id = sub.id) SELECT id FROM sub)`
