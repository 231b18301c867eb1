package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"inspectonce/domain"
)

// ---- teams

type teamRow struct {
	ID                   int64
	Code                 string
	Name                 string
	Kind                 string
	DepartmentID         *int64
	BaseLat              float64
	BaseLng              float64
	DailyCapacityMinutes int
	ContactPhone         string
	RegionIDs            pq.Int64Array `gorm:"->;type:bigint[]"`
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (r teamRow) domain() domain.Team {
	return domain.Team{ID: r.ID, Code: r.Code, Name: r.Name, Kind: r.Kind, DepartmentID: r.DepartmentID,
		BaseLat: r.BaseLat, BaseLng: r.BaseLng, DailyCapacityMinutes: r.DailyCapacityMinutes,
		ContactPhone: r.ContactPhone, RegionIDs: nonNil([]int64(r.RegionIDs)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

const teamSelect = `teams.*, ARRAY(SELECT region_id FROM team_regions tr WHERE tr.team_id = teams.id ORDER BY region_id) AS region_ids`

// TeamFilter narrows a list of teams.
type TeamFilter struct {
	Kind         string
	DepartmentID int64
	RegionID     int64
}

func (s *Store) saveTeam(ctx context.Context, actor string, t *domain.Team, create bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		fields := map[string]any{
			"code": t.Code, "name": t.Name, "kind": t.Kind, "department_id": t.DepartmentID,
			"base_lat": t.BaseLat, "base_lng": t.BaseLng, "daily_capacity_minutes": t.DailyCapacityMinutes,
			"contact_phone": t.ContactPhone,
		}
		action := "team.update"
		if create {
			action = "team.create"
			var id int64
			if err := tx.Raw(`INSERT INTO teams (code, name, kind, department_id, base_lat, base_lng, daily_capacity_minutes, contact_phone)
				VALUES (@code, @name, @kind, @department_id, @base_lat, @base_lng, @daily_capacity_minutes, @contact_phone) RETURNING id`, fields).
				Scan(&id).Error; err != nil {
				return translate(err, "team "+t.Code)
			}
			t.ID = id
		} else {
			if err := lockExisting(tx, "teams", "id", t.ID, "team"); err != nil {
				return err
			}
			fields["updated_at"] = time.Now().UTC()
			if err := tx.Table("teams").Where("id = ?", t.ID).Updates(fields).Error; err != nil {
				return translate(err, "team "+t.Code)
			}
			if err := tx.Exec("DELETE FROM team_regions WHERE team_id = ?", t.ID).Error; err != nil {
				return translate(err, "team regions")
			}
		}
		if len(t.RegionIDs) > 0 {
			if err := tx.Exec("INSERT INTO team_regions (team_id, region_id) SELECT ?, unnest(?::bigint[]) ON CONFLICT DO NOTHING",
				t.ID, pq.Int64Array(t.RegionIDs)).Error; err != nil {
				return translate(err, "team regions")
			}
		}
		var row teamRow
		if err := tx.Table("teams").Select(teamSelect).Where("id = ?", t.ID).Take(&row).Error; err != nil {
			return translate(err, "team")
		}
		*t = row.domain()
		return appendAudit(tx, actor, action, objectID("team", t.ID), OutcomeOK, t)
	})
}

// CreateTeam adds a team with the regions it covers.
func (s *Store) CreateTeam(ctx context.Context, actor string, t *domain.Team) error {
	return s.saveTeam(ctx, actor, t, true)
}

// UpdateTeam replaces a team and its covered regions.
func (s *Store) UpdateTeam(ctx context.Context, actor string, t *domain.Team) error {
	return s.saveTeam(ctx, actor, t, false)
}

// GetTeam returns a team by id.
func (s *Store) GetTeam(ctx context.Context, id int64) (domain.Team, error) {
	var row teamRow
	err := s.db.WithContext(ctx).Table("teams").Select(teamSelect).Where("id = ?", id).Take(&row).Error
	return row.domain(), translate(err, "team "+strconv.FormatInt(id, 10))
}

// ListTeams pages through teams.
func (s *Store) ListTeams(ctx context.Context, f TeamFilter, p Page) (Paged[domain.Team], error) {
	q := s.db.WithContext(ctx).Table("teams").Select(teamSelect)
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.DepartmentID != 0 {
		q = q.Where("department_id = ?", f.DepartmentID)
	}
	if f.RegionID != 0 {
		q = q.Where("EXISTS (SELECT 1 FROM team_regions tr WHERE tr.team_id = teams.id AND tr.region_id = ?)", f.RegionID)
	}
	out, err := pageByID(q, p, func(r teamRow) int64 { return r.ID })
	return mapPaged(out, teamRow.domain), translate(err, "teams")
}

// ---- inspectors

type inspectorRow struct {
	ID        int64
	Code      string
	Name      string
	TeamID    int64
	Domains   pq.StringArray `gorm:"type:text[]"`
	Phone     string
	IsLeader  bool
	Conflicts pq.StringArray `gorm:"->;type:text[]"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r inspectorRow) domain() domain.Inspector {
	return domain.Inspector{ID: r.ID, Code: r.Code, Name: r.Name, TeamID: r.TeamID, Domains: nonNil([]string(r.Domains)),
		Phone: r.Phone, IsLeader: r.IsLeader, Conflicts: nonNil([]string(r.Conflicts)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

const inspectorSelect = `inspectors.*, ARRAY(SELECT uscc::text FROM inspector_conflicts ic WHERE ic.inspector_id = inspectors.id ORDER BY uscc) AS conflicts`

// InspectorFilter narrows a list of inspectors.
type InspectorFilter struct {
	TeamID int64
	Domain string
}

func (s *Store) saveInspector(ctx context.Context, actor string, in *domain.Inspector, create bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		fields := map[string]any{
			"code": in.Code, "name": in.Name, "team_id": in.TeamID, "domains": pq.StringArray(nonNil(in.Domains)),
			"phone": in.Phone, "is_leader": in.IsLeader,
		}
		action := "inspector.update"
		if create {
			action = "inspector.create"
			var id int64
			if err := tx.Raw(`INSERT INTO inspectors (code, name, team_id, domains, phone, is_leader)
				VALUES (@code, @name, @team_id, @domains, @phone, @is_leader) RETURNING id`, fields).Scan(&id).Error; err != nil {
				return translate(err, "inspector "+in.Code)
			}
			in.ID = id
		} else {
			if err := lockExisting(tx, "inspectors", "id", in.ID, "inspector"); err != nil {
				return err
			}
			fields["updated_at"] = time.Now().UTC()
			if err := tx.Table("inspectors").Where("id = ?", in.ID).Updates(fields).Error; err != nil {
				return translate(err, "inspector "+in.Code)
			}
			if err := tx.Exec("DELETE FROM inspector_conflicts WHERE inspector_id = ?", in.ID).Error; err != nil {
				return translate(err, "inspector conflicts")
			}
		}
		if len(in.Conflicts) > 0 {
			if err := tx.Exec("INSERT INTO inspector_conflicts (inspector_id, uscc) SELECT ?, unnest(?::text[]) ON CONFLICT DO NOTHING",
				in.ID, pq.StringArray(in.Conflicts)).Error; err != nil {
				return translate(err, "inspector conflicts")
			}
		}
		var row inspectorRow
		if err := tx.Table("inspectors").Select(inspectorSelect).Where("id = ?", in.ID).Take(&row).Error; err != nil {
			return translate(err, "inspector")
		}
		*in = row.domain()
		return appendAudit(tx, actor, action, objectID("inspector", in.ID), OutcomeOK, in)
	})
}

// CreateInspector adds an inspector with declared conflicts.
func (s *Store) CreateInspector(ctx context.Context, actor string, in *domain.Inspector) error {
	return s.saveInspector(ctx, actor, in, true)
}

// UpdateInspector replaces an inspector and their declared conflicts.
func (s *Store) UpdateInspector(ctx context.Context, actor string, in *domain.Inspector) error {
	return s.saveInspector(ctx, actor, in, false)
}

// GetInspector returns an inspector by id.
func (s *Store) GetInspector(ctx context.Context, id int64) (domain.Inspector, error) {
	var row inspectorRow
	err := s.db.WithContext(ctx).Table("inspectors").Select(inspectorSelect).Where("id = ?", id).Take(&row).Error
	return row.domain(), translate(err, "inspector "+strconv.FormatInt(id, 10))
}

// ListInspectors pages through inspectors.
func (s *Store) ListInspectors(ctx context.Context, f InspectorFilter, p Page) (Paged[domain.Inspector], error) {
	q := s.db.WithContext(ctx).Table("inspectors").Select(inspectorSelect)
	if f.TeamID != 0 {
		q = q.Where("team_id = ?", f.TeamID)
	}
	if f.Domain != "" {
		q = q.Where("? = ANY(domains)", f.Domain)
	}
	out, err := pageByID(q, p, func(r inspectorRow) int64 { return r.ID })
	return mapPaged(out, inspectorRow.domain), translate(err, "inspectors")
}

// ---- businesses

// BusinessFilter narrows a list of businesses. RegionID includes its sub-regions;
// ScenarioID keeps businesses whose industry the scenario applies to.
type BusinessFilter struct {
	RegionID     int64
	IndustryCode string
	RiskCode     string
	ScenarioID   int64
	ListKind     string
	// Search keeps businesses whose name contains it (any case) or whose
	// USCC starts with it (businessSearch); blank keeps all.
	Search string
	// Viewer, when set, is the reader: contact details of businesses outside
	// its work are withheld (contactScope). Nil reads them all, for the
	// service's own use (seed, import); the API always sets it.
	Viewer *domain.Principal
}

const businessColumns = "uscc, name, address, region_id, industry_code, lat, lng, risk_code, risk_set_at, risk_reason, list_kind, contact_name, contact_phone, created_at, updated_at"

// CreateBusiness registers a business and starts its risk-code history.
func (s *Store) CreateBusiness(ctx context.Context, actor string, b *domain.Business) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		now := time.Now().UTC().Truncate(time.Microsecond)
		b.RiskSetAt, b.CreatedAt, b.UpdatedAt = now, now, now
		if err := tx.Table("businesses").Create(b).Error; err != nil {
			return translate(err, "business "+b.USCC)
		}
		if err := tx.Exec("INSERT INTO risk_code_history (uscc, risk_code, set_at, reason, set_by) VALUES (?, ?, ?, ?, ?)",
			b.USCC, b.RiskCode, now, b.RiskReason, actor).Error; err != nil {
			return translate(err, "risk code history")
		}
		return appendAudit(tx, actor, "business.create", "business/"+b.USCC, OutcomeOK, b)
	})
}

// UpdateBusiness replaces a business's fields; a changed risk code is recorded in
// its history and in the audit log.
func (s *Store) UpdateBusiness(ctx context.Context, actor string, b *domain.Business) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var old domain.Business
		if err := tx.Table("businesses").Clauses(clause.Locking{Strength: "UPDATE"}).Where("uscc = ?", b.USCC).Take(&old).Error; err != nil {
			return translate(err, "business "+b.USCC)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		fields := map[string]any{
			"name": b.Name, "address": b.Address, "region_id": b.RegionID, "industry_code": b.IndustryCode,
			"lat": b.Lat, "lng": b.Lng, "list_kind": b.ListKind, "contact_name": b.ContactName,
			"contact_phone": b.ContactPhone, "updated_at": now,
		}
		riskChanged := old.RiskCode != b.RiskCode
		if riskChanged {
			fields["risk_code"], fields["risk_set_at"], fields["risk_reason"] = b.RiskCode, now, b.RiskReason
		}
		if err := tx.Table("businesses").Where("uscc = ?", b.USCC).Updates(fields).Error; err != nil {
			return translate(err, "business "+b.USCC)
		}
		if riskChanged {
			if err := tx.Exec("INSERT INTO risk_code_history (uscc, risk_code, set_at, reason, set_by) VALUES (?, ?, ?, ?, ?)",
				b.USCC, b.RiskCode, now, b.RiskReason, actor).Error; err != nil {
				return translate(err, "risk code history")
			}
			if err := appendAudit(tx, actor, "business.risk_change", "business/"+b.USCC, OutcomeOK,
				map[string]string{"from": old.RiskCode, "to": b.RiskCode, "reason": b.RiskReason}); err != nil {
				return err
			}
		}
		if err := tx.Table("businesses").Select(businessColumns).Where("uscc = ?", b.USCC).Take(b).Error; err != nil {
			return translate(err, "business")
		}
		return appendAudit(tx, actor, "business.update", "business/"+b.USCC, OutcomeOK, b)
	})
}

// GetBusiness returns a business by USCC, contact details included: for the
// service's own use. A reader's request goes through GetBusinessAs.
func (s *Store) GetBusiness(ctx context.Context, code string) (domain.Business, error) {
	var b domain.Business
	err := s.db.WithContext(ctx).Table("businesses").Select(businessColumns).Where("uscc = ?", code).Take(&b).Error
	return b, translate(err, "business "+code)
}

// GetBusinessAs returns a business by USCC as viewer may see it: contact
// details outside viewer's work withheld (contactScope).
func (s *Store) GetBusinessAs(ctx context.Context, viewer domain.Principal, code string) (domain.Business, error) {
	var b domain.Business
	err := s.businesses(ctx, &viewer).Where("b.uscc = ?", code).Take(&b).Error
	return b, translate(err, "business "+code)
}

// scopedBusinessColumns are businessColumns over businesses b, the contact
// details as contactColumns give them.
const scopedBusinessColumns = `b.uscc, b.name, b.address, b.region_id, b.industry_code, b.lat, b.lng, b.risk_code,
	b.risk_set_at, b.risk_reason, b.list_kind, ` + contactColumns + `, b.created_at, b.updated_at`

// businesses is the query of businesses b as viewer sees them; every
// business with a nil viewer.
func (s *Store) businesses(ctx context.Context, viewer *domain.Principal) *gorm.DB {
	q := s.db.WithContext(ctx).Table("businesses b")
	if viewer == nil {
		return q.Select(businessColumns)
	}
	join, args := contactLateral(*viewer)
	return q.Select(scopedBusinessColumns).Joins(join, args...)
}

// RiskHistory returns a business's risk codes, oldest first.
func (s *Store) RiskHistory(ctx context.Context, code string) ([]domain.RiskChange, error) {
	var rows []struct {
		RiskCode     string
		SetAt        time.Time
		Reason       string
		SetBy        string
		ResultID     *int64
		ReasonCode   *string
		ReasonParams *string
	}
	err := s.db.WithContext(ctx).Table("risk_code_history").
		Select("risk_code, set_at, reason, set_by, result_id, reason_code, reason_params::text AS reason_params").
		Where("uscc = ?", code).Order("set_at, id").Find(&rows).Error
	out := make([]domain.RiskChange, 0, len(rows))
	for _, r := range rows {
		c := domain.RiskChange{RiskCode: r.RiskCode, SetAt: r.SetAt, Reason: r.Reason, SetBy: r.SetBy, ResultID: r.ResultID}
		if r.ReasonCode != nil {
			c.ReasonCode = *r.ReasonCode
		}
		if r.ReasonParams != nil {
			c.ReasonParams = json.RawMessage(*r.ReasonParams)
		}
		out = append(out, c)
	}
	return out, translate(err, "risk history")
}

// ListBusinesses pages through businesses ordered by USCC, in one prepared
// query through pgx, rows scanned by hand (issue 20); with f.Viewer, contact
// details outside its work are withheld.
func (s *Store) ListBusinesses(ctx context.Context, f BusinessFilter, p Page) (Paged[domain.Business], error) {
	lp, cached, err := s.listBusinesses(ctx, f, p)
	if err != nil {
		return Paged[domain.Business]{}, err
	}
	if cached {
		return cloneList(lp.page), nil
	}
	return lp.page, nil
}

// ListBusinessesJSON is ListBusinesses as encode writes it. A page served
// from the read cache keeps the bytes encode made for it and answers later
// calls with them, so encode must be one and the same function on every
// call (the API's compact JSON) and must not change the page; callers must
// not change the bytes.
func (s *Store) ListBusinessesJSON(ctx context.Context, f BusinessFilter, p Page,
	encode func(Paged[domain.Business]) ([]byte, error)) ([]byte, error) {
	lp, _, err := s.listBusinesses(ctx, f, p)
	if err != nil {
		return nil, err
	}
	if lp.encoded != nil {
		if b := lp.encoded.Load(); b != nil {
			return *b, nil
		}
	}
	b, err := encode(lp.page)
	if err != nil {
		return nil, err
	}
	if lp.encoded != nil {
		lp.encoded.Store(&b)
	}
	return b, nil
}

// listBusinesses is a page of the list, from the read cache (cached) or
// read afresh and cached.
func (s *Store) listBusinesses(ctx context.Context, f BusinessFilter, p Page) (lp listPage, cached bool, err error) {
	lim := p.limit()
	key := listKey{contacts: "*", regionID: f.RegionID, scenarioID: f.ScenarioID, industryCode: f.IndustryCode,
		riskCode: f.RiskCode, listKind: f.ListKind, search: f.Search, after: p.After, limit: lim}
	named := false
	if f.Viewer != nil {
		key.contacts, named = contactKey(*f.Viewer)
	}
	hit, ok, base := s.reads.list(ctx, s, key, named)
	if ok {
		return hit, true, nil
	}
	var q strings.Builder
	var args []any
	if f.Viewer == nil {
		q.WriteString(`SELECT b.uscc, b.name, b.address, b.region_id, b.industry_code, b.lat, b.lng, b.risk_code,
	b.risk_set_at, b.risk_reason, b.list_kind, b.contact_name, b.contact_phone, FALSE, b.created_at, b.updated_at
	FROM businesses b WHERE TRUE`)
	} else {
		join, cargs := contactLateral(*f.Viewer)
		q.WriteString(`SELECT ` + scopedBusinessColumns + ` FROM businesses b ` + join + ` WHERE TRUE`)
		args = append(args, cargs...)
	}
	where := func(cond string, a ...any) {
		q.WriteString(" AND " + cond)
		args = append(args, a...)
	}
	if f.RegionID != 0 {
		where("b.region_id IN "+regionSubtree, []int64{f.RegionID})
	}
	if f.IndustryCode != "" {
		where("b.industry_code = ?", f.IndustryCode)
	}
	if f.RiskCode != "" {
		where("b.risk_code = ?", f.RiskCode)
	}
	if f.ListKind != "" {
		where("b.list_kind = ?", f.ListKind)
	}
	if f.ScenarioID != 0 {
		where("b.industry_code = ANY(SELECT unnest(industry_codes) FROM scenarios WHERE id = ?)", f.ScenarioID)
	}
	if cond, cargs := businessSearch(f.Search); cond != "" {
		where(cond, cargs...)
	}
	if p.After != "" {
		where("b.uscc > ?", p.After)
	}
	// The limit is written into the statement, not bound: with LIMIT $n
	// PostgreSQL's generic plan guesses a tenth of the table, costs more
	// than a plan for 51 rows, and so the statement is planned afresh at
	// every call (0.14 ms). Each page size is its own prepared statement.
	q.WriteString(" ORDER BY b.uscc LIMIT " + strconv.Itoa(lim+1))
	items := make([]domain.Business, 0, min(lim+1, DefaultLimit+1))
	var snap string
	err = s.withPgx(ctx, func(c *pgx.Conn) error {
		var b domain.Business
		scan := []any{&b.USCC, &b.Name, &b.Address, &b.RegionID, &b.IndustryCode, &b.Lat, &b.Lng,
			&b.RiskCode, &b.RiskSetAt, &b.RiskReason, &b.ListKind, &b.ContactName, &b.ContactPhone, &b.ContactWithheld,
			&b.CreatedAt, &b.UpdatedAt}
		each := func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, scan, func() error {
				items = append(items, b)
				return nil
			})
			return err
		}
		if base == 0 {
			rows, err := c.Query(ctx, dollarParams(q.String()), args...)
			if err != nil {
				return err
			}
			return each(rows)
		}
		// With the snapshot for the read cache, in the same round trip.
		batch := &pgx.Batch{}
		batch.Queue(snapshotSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&snap) })
		batch.Queue(dollarParams(q.String()), args...).Query(each)
		return c.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return listPage{}, false, translate(err, "businesses")
	}
	out := Paged[domain.Business]{Items: items}
	if len(items) > lim {
		out.Items = items[:lim]
		out.Next = items[lim-1].USCC
	}
	lp = listPage{page: out, encoded: new(atomic.Pointer[[]byte])}
	s.reads.putList(key, base, snap, lp)
	return lp, false, nil
}
