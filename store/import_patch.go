package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/risk"
)

// What an import did, or in a dry run would do, with a row it applied.
const (
	RowNew       = "new"
	RowChanged   = "changed"
	RowUnchanged = "unchanged"
)

// FieldChange is one column an import row changes: the column's canonical
// name and the stored and the new value as text (Old is "" for a new row).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// RowOutcome is one applied import row: its line, its key (USCC or
// certificate code), RowNew, RowChanged or RowUnchanged, and the columns it
// changes.
type RowOutcome struct {
	Line    int           `json:"line"`
	Key     string        `json:"key"`
	Status  string        `json:"status"`
	Changes []FieldChange `json:"changes"`
}

// PatchResult is what a batch of import rows did. Errors are the rows refused
// on grounds only the database could judge (RowApplied false) and the cells
// refused in rows otherwise applied (RowApplied true); their Field is the
// column's canonical name.
type PatchResult struct {
	Rows   []RowOutcome
	Errors []ImportRowError
}

// BusinessPatch is one import row for a business: its USCC and the fields the
// row sets. A nil field leaves the stored value; a new business takes the
// default of a nil optional field and is refused for a nil required one (name,
// region, industry code, lat, lng).
type BusinessPatch struct {
	Line         int
	USCC         string
	Name         *string
	Address      *string
	RegionID     *int64
	RegionCode   string // RegionID's code, for reports
	IndustryCode *string
	Lat, Lng     *float64
	RiskCode     *string
	// RiskReason is the reason recorded with a risk code the row changes.
	RiskReason   string
	ListKind     *string
	ContactName  *string
	ContactPhone *string
}

// InspectorPatch is one import row for an inspector, as BusinessPatch: name
// and team are required for a new inspector.
type InspectorPatch struct {
	Line      int
	Code      string
	Name      *string
	TeamID    *int64
	TeamCode  string // TeamID's code, for reports
	Domains   *[]string
	Phone     *string
	IsLeader  *bool
	Conflicts *[]string
}

// storedBusiness is a business as an import finds it.
type storedBusiness struct {
	domain.Business
	RegionCode string
	// RiskResultID is the result that set the current code, if one did.
	RiskResultID *int64
}

// riskOverride is one result-set code an import lowers with the override.
type riskOverride struct {
	uscc, from, to string
	resultID       int64
	line           int
	rowReason      string
}

type riskHistoryRow struct {
	uscc, code, reason string
	// reasonCode and reasonParams (JSON) are set for the import's own
	// reason (defaultRiskReason); nil in the database otherwise.
	reasonCode, reasonParams string
}

// ApplyBusinessPatches applies a batch of import rows in one transaction (or,
// with opt.DryRun, reads what they would change in a read-only one). A row
// changes only the fields it sets. A risk code the current code's history
// entry ties to a visit result is not lowered unless opt.RiskOverride: the
// row's other fields still apply and the risk cell comes back as an error
// with RowApplied set. Each lowering by override adds a
// "business.risk_override" audit entry naming the business, both codes and
// opt.Reason. Every effective code change adds a risk_code_history row set by
// actor, whose reason is the row's RiskReason, else opt.Reason for an
// override, else "import <importID>". USCCs must be distinct within a batch.
func (s *Store) ApplyBusinessPatches(ctx context.Context, actor string, importID int64, rows []BusinessPatch, opt ImportOptions) (PatchResult, error) {
	var res PatchResult
	if len(rows) == 0 {
		return res, nil
	}
	if err := opt.Validate(); err != nil {
		return res, err
	}
	err := s.bulkTx(ctx, "import businesses", opt.DryRun, func(tx pgx.Tx) error {
		res = PatchResult{}
		keys := make([]string, len(rows))
		for i, r := range rows {
			keys[i] = r.USCC
		}
		stored, err := readBusinesses(ctx, tx, keys, !opt.DryRun)
		if err != nil {
			return err
		}
		var now time.Time
		if err := tx.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
			return err
		}
		var (
			writes    []domain.Business
			history   []riskHistoryRow
			overrides []riskOverride
		)
		for i := range rows {
			p := &rows[i]
			old := stored[p.USCC]
			var b domain.Business
			var out RowOutcome
			var ok bool
			if old == nil {
				b, out, ok = newBusiness(p, &res)
				if !ok {
					continue
				}
				if b.RiskReason == "" {
					b.RiskReason = defaultRiskReason(importID)
				}
				b.RiskSetAt, b.CreatedAt = now, now
				history = append(history, historyRow(&b, importID))
			} else {
				var ov *riskOverride
				b, out, ov = patchBusiness(old, p, importID, opt, &res)
				if ov != nil {
					overrides = append(overrides, *ov)
				}
				if b.RiskCode != old.RiskCode {
					b.RiskSetAt = now
					history = append(history, historyRow(&b, importID))
				}
			}
			res.Rows = append(res.Rows, out)
			if out.Status != RowUnchanged {
				b.UpdatedAt = now
				writes = append(writes, b)
			}
		}
		if opt.DryRun {
			return nil
		}
		if err := writeBusinesses(ctx, tx, writes); err != nil {
			return err
		}
		if len(history) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"risk_code_history"},
				[]string{"uscc", "risk_code", "set_at", "reason", "set_by", "reason_code", "reason_params"},
				pgx.CopyFromSlice(len(history), func(i int) ([]any, error) {
					h := history[i]
					var code, params any
					if h.reasonCode != "" {
						code, params = h.reasonCode, h.reasonParams
					}
					return []any{h.uscc, h.code, now, h.reason, actor, code, params}, nil
				})); err != nil {
				return err
			}
		}
		for _, o := range overrides {
			if err := appendAuditPgx(ctx, tx, actor, "business.risk_override", "business/"+o.uscc, OutcomeOK, map[string]any{
				"from": o.from, "to": o.to, "reason": strings.TrimSpace(opt.Reason), "row_reason": o.rowReason,
				"overrode_result_id": o.resultID, "import": importObject(importID), "line": o.line,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return PatchResult{}, err
	}
	return res, nil
}

// defaultRiskReason is the reason of a code an import set without one, in
// words (the catalog's default language); its history row also gets the
// code risk.ReasonImport, so it reads in any language.
func defaultRiskReason(importID int64) string {
	return risk.Reason{Code: risk.ReasonImport, Params: risk.ReasonParams{ImportID: importID}}.Text(messages.Default)
}

// historyRow is the risk_code_history row of b's new code: with the import's
// reason code when b's reason is the default one.
func historyRow(b *domain.Business, importID int64) riskHistoryRow {
	h := riskHistoryRow{uscc: b.USCC, code: b.RiskCode, reason: b.RiskReason}
	if b.RiskReason == defaultRiskReason(importID) {
		h.reasonCode, h.reasonParams = risk.ReasonImport, fmt.Sprintf(`{"import_id": %d}`, importID)
	}
	return h
}

func readBusinesses(ctx context.Context, tx pgx.Tx, keys []string, lock bool) (map[string]*storedBusiness, error) {
	q := `SELECT b.uscc, b.name, b.address, b.region_id, r.code, b.industry_code, b.lat, b.lng, b.risk_code,
		b.risk_set_at, b.risk_reason, b.list_kind, b.contact_name, b.contact_phone, b.created_at,
		(SELECT h.result_id FROM risk_code_history h WHERE h.uscc = b.uscc ORDER BY h.set_at DESC, h.id DESC LIMIT 1)
	FROM businesses b JOIN regions r ON r.id = b.region_id
	WHERE b.uscc = ANY($1::char(18)[])`
	if lock {
		// In key order, so two imports touching the same rows queue rather
		// than deadlock.
		q += ` ORDER BY b.uscc FOR UPDATE OF b`
	}
	rs, err := tx.Query(ctx, q, keys)
	if err != nil {
		return nil, fmt.Errorf("read businesses: %w", err)
	}
	defer rs.Close()
	out := make(map[string]*storedBusiness, len(keys))
	for rs.Next() {
		b := &storedBusiness{}
		if err := rs.Scan(&b.USCC, &b.Name, &b.Address, &b.RegionID, &b.RegionCode, &b.IndustryCode, &b.Lat, &b.Lng,
			&b.RiskCode, &b.RiskSetAt, &b.RiskReason, &b.ListKind, &b.ContactName, &b.ContactPhone, &b.CreatedAt,
			&b.RiskResultID); err != nil {
			return nil, fmt.Errorf("read businesses: %w", err)
		}
		out[b.USCC] = b
	}
	return out, rs.Err()
}

// newBusiness builds a new business from p, or records why it cannot.
func newBusiness(p *BusinessPatch, res *PatchResult) (domain.Business, RowOutcome, bool) {
	missing := false
	need := func(set bool, field string) {
		if !set {
			missing = true
			res.Errors = append(res.Errors, ImportRowError{Line: p.Line, Field: field,
				Reason: messages.ImportText("imp.reject.new_business", p.USCC)})
		}
	}
	need(p.Name != nil, "name")
	need(p.RegionID != nil, "region")
	need(p.IndustryCode != nil, "industry_code")
	need(p.Lat != nil, "lat")
	need(p.Lng != nil, "lng")
	if missing {
		return domain.Business{}, RowOutcome{}, false
	}
	b := domain.Business{USCC: p.USCC, Name: *p.Name, RegionID: *p.RegionID, IndustryCode: *p.IndustryCode,
		Lat: *p.Lat, Lng: *p.Lng, Address: deref(p.Address), RiskCode: domain.RiskGreen, ListKind: domain.ListRandom,
		ContactName: deref(p.ContactName), ContactPhone: deref(p.ContactPhone), RiskReason: p.RiskReason}
	if p.RiskCode != nil {
		b.RiskCode = *p.RiskCode
	}
	if p.ListKind != nil {
		b.ListKind = *p.ListKind
	}
	out := RowOutcome{Line: p.Line, Key: p.USCC, Status: RowNew}
	add := func(field, v string) { out.Changes = append(out.Changes, FieldChange{Field: field, New: v}) }
	add("name", b.Name)
	add("address", b.Address)
	add("region", p.RegionCode)
	add("industry_code", b.IndustryCode)
	add("lat", formatFloat(b.Lat))
	add("lng", formatFloat(b.Lng))
	add("risk_code", b.RiskCode)
	add("list_kind", b.ListKind)
	add("contact_name", b.ContactName)
	add("contact_phone", b.ContactPhone)
	return b, out, true
}

// patchBusiness applies p to old. A refused risk cell goes to res.Errors; an
// override comes back for the audit log.
func patchBusiness(old *storedBusiness, p *BusinessPatch, importID int64, opt ImportOptions, res *PatchResult) (domain.Business, RowOutcome, *riskOverride) {
	b := old.Business
	out := RowOutcome{Line: p.Line, Key: p.USCC, Status: RowUnchanged, Changes: []FieldChange{}}
	text := func(field string, dst *string, v *string) {
		if v != nil && *v != *dst {
			out.Changes = append(out.Changes, FieldChange{Field: field, Old: *dst, New: *v})
			*dst = *v
		}
	}
	num := func(field string, dst *float64, v *float64) {
		if v != nil && *v != *dst {
			out.Changes = append(out.Changes, FieldChange{Field: field, Old: formatFloat(*dst), New: formatFloat(*v)})
			*dst = *v
		}
	}
	text("name", &b.Name, p.Name)
	text("address", &b.Address, p.Address)
	if p.RegionID != nil && *p.RegionID != b.RegionID {
		out.Changes = append(out.Changes, FieldChange{Field: "region", Old: old.RegionCode, New: p.RegionCode})
		b.RegionID = *p.RegionID
	}
	text("industry_code", &b.IndustryCode, p.IndustryCode)
	num("lat", &b.Lat, p.Lat)
	num("lng", &b.Lng, p.Lng)
	var ov *riskOverride
	if p.RiskCode != nil && *p.RiskCode != b.RiskCode {
		to, lowers := *p.RiskCode, risk.Lowers(b.RiskCode, *p.RiskCode)
		reason := p.RiskReason
		switch {
		case lowers && old.RiskResultID != nil && !opt.RiskOverride:
			res.Errors = append(res.Errors, ImportRowError{Line: p.Line, Field: "risk_code", RowApplied: true,
				Reason: messages.ImportText("imp.reject.risk_kept", b.RiskCode, *old.RiskResultID, clip(old.RiskReason, 80))})
			to = b.RiskCode
		case lowers && old.RiskResultID != nil:
			ov = &riskOverride{uscc: b.USCC, from: b.RiskCode, to: to, resultID: *old.RiskResultID, line: p.Line, rowReason: p.RiskReason}
			if reason == "" {
				reason = strings.TrimSpace(opt.Reason)
			}
		}
		if to != b.RiskCode {
			if reason == "" {
				reason = defaultRiskReason(importID)
			}
			out.Changes = append(out.Changes, FieldChange{Field: "risk_code", Old: b.RiskCode, New: to})
			if reason != b.RiskReason {
				out.Changes = append(out.Changes, FieldChange{Field: "risk_reason", Old: b.RiskReason, New: reason})
			}
			b.RiskCode, b.RiskReason = to, reason
		}
	}
	text("list_kind", &b.ListKind, p.ListKind)
	text("contact_name", &b.ContactName, p.ContactName)
	text("contact_phone", &b.ContactPhone, p.ContactPhone)
	if len(out.Changes) > 0 {
		out.Status = RowChanged
	}
	return b, out, ov
}

// writeBusinesses upserts the new and changed businesses, final values all.
func writeBusinesses(ctx context.Context, tx pgx.Tx, rows []domain.Business) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_business_rows (
		uscc char(18) PRIMARY KEY, name text, address text, region_id bigint, industry_code text,
		lat double precision, lng double precision, risk_code text, risk_set_at timestamptz, risk_reason text,
		list_kind text, contact_name text, contact_phone text, created_at timestamptz, updated_at timestamptz) ON COMMIT DROP`); err != nil {
		return err
	}
	cols := []string{"uscc", "name", "address", "region_id", "industry_code", "lat", "lng", "risk_code", "risk_set_at",
		"risk_reason", "list_kind", "contact_name", "contact_phone", "created_at", "updated_at"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_business_rows"}, cols,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			b := &rows[i]
			return []any{b.USCC, b.Name, b.Address, b.RegionID, b.IndustryCode, b.Lat, b.Lng, b.RiskCode, b.RiskSetAt,
				b.RiskReason, b.ListKind, b.ContactName, b.ContactPhone, b.CreatedAt, b.UpdatedAt}, nil
		})); err != nil {
		return err
	}
	list := strings.Join(cols, ", ")
	_, err := tx.Exec(ctx, `INSERT INTO businesses AS t (`+list+`) SELECT `+list+` FROM stage_business_rows
	ON CONFLICT (uscc) DO UPDATE SET
		name = EXCLUDED.name, address = EXCLUDED.address, region_id = EXCLUDED.region_id,
		industry_code = EXCLUDED.industry_code, lat = EXCLUDED.lat, lng = EXCLUDED.lng,
		risk_code = EXCLUDED.risk_code, risk_set_at = EXCLUDED.risk_set_at, risk_reason = EXCLUDED.risk_reason,
		list_kind = EXCLUDED.list_kind, contact_name = EXCLUDED.contact_name,
		contact_phone = EXCLUDED.contact_phone, updated_at = EXCLUDED.updated_at`)
	return err
}

// ApplyInspectorPatches is ApplyBusinessPatches for inspectors: a row changes
// only the fields it sets, a new inspector needs a name and a team, and every
// conflict must name a registered business. Codes must be distinct within a
// batch.
func (s *Store) ApplyInspectorPatches(ctx context.Context, rows []InspectorPatch, opt ImportOptions) (PatchResult, error) {
	var res PatchResult
	if len(rows) == 0 {
		return res, nil
	}
	if err := opt.Validate(); err != nil {
		return res, err
	}
	err := s.bulkTx(ctx, "import inspectors", opt.DryRun, func(tx pgx.Tx) error {
		res = PatchResult{}
		keys := make([]string, len(rows))
		for i, r := range rows {
			keys[i] = r.Code
		}
		stored, err := readInspectors(ctx, tx, keys, !opt.DryRun)
		if err != nil {
			return err
		}
		var writes []domain.Inspector
		for i := range rows {
			p := &rows[i]
			old := stored[p.Code]
			var in domain.Inspector
			var out RowOutcome
			if old == nil {
				var ok bool
				if in, out, ok = newInspector(p, &res); !ok {
					continue
				}
			} else {
				in, out = patchInspector(old, p)
			}
			res.Rows = append(res.Rows, out)
			if out.Status != RowUnchanged {
				writes = append(writes, in)
			}
		}
		if opt.DryRun {
			return nil
		}
		return upsertInspectors(ctx, tx, writes)
	})
	if err != nil {
		return PatchResult{}, err
	}
	return res, nil
}

// storedInspector is an inspector as an import finds it.
type storedInspector struct {
	domain.Inspector
	TeamCode string
}

func readInspectors(ctx context.Context, tx pgx.Tx, keys []string, lock bool) (map[string]*storedInspector, error) {
	q := `SELECT i.code, i.name, i.team_id, t.code, i.domains, i.phone, i.is_leader,
		ARRAY(SELECT c.uscc::text FROM inspector_conflicts c WHERE c.inspector_id = i.id ORDER BY c.uscc)
	FROM inspectors i JOIN teams t ON t.id = i.team_id WHERE i.code = ANY($1::text[])`
	if lock {
		q += ` ORDER BY i.code FOR UPDATE OF i`
	}
	rs, err := tx.Query(ctx, q, keys)
	if err != nil {
		return nil, fmt.Errorf("read inspectors: %w", err)
	}
	defer rs.Close()
	out := make(map[string]*storedInspector, len(keys))
	for rs.Next() {
		in := &storedInspector{}
		if err := rs.Scan(&in.Code, &in.Name, &in.TeamID, &in.TeamCode, &in.Domains, &in.Phone, &in.IsLeader, &in.Conflicts); err != nil {
			return nil, fmt.Errorf("read inspectors: %w", err)
		}
		out[in.Code] = in
	}
	return out, rs.Err()
}

func newInspector(p *InspectorPatch, res *PatchResult) (domain.Inspector, RowOutcome, bool) {
	missing := false
	need := func(set bool, field string) {
		if !set {
			missing = true
			res.Errors = append(res.Errors, ImportRowError{Line: p.Line, Field: field,
				Reason: messages.ImportText("imp.reject.new_inspector", p.Code)})
		}
	}
	need(p.Name != nil, "name")
	need(p.TeamID != nil, "team")
	if missing {
		return domain.Inspector{}, RowOutcome{}, false
	}
	in := domain.Inspector{Code: p.Code, Name: *p.Name, TeamID: *p.TeamID, Domains: []string{}, Phone: deref(p.Phone)}
	if p.Domains != nil {
		in.Domains = *p.Domains
	}
	if p.IsLeader != nil {
		in.IsLeader = *p.IsLeader
	}
	if p.Conflicts != nil {
		in.Conflicts = *p.Conflicts
	}
	out := RowOutcome{Line: p.Line, Key: p.Code, Status: RowNew}
	add := func(field, v string) { out.Changes = append(out.Changes, FieldChange{Field: field, New: v}) }
	add("name", in.Name)
	add("team", p.TeamCode)
	add("domains", strings.Join(in.Domains, ";"))
	add("phone", in.Phone)
	add("is_leader", strconv.FormatBool(in.IsLeader))
	add("conflicts", strings.Join(in.Conflicts, ";"))
	return in, out, true
}

// patchInspector applies p to old. Conflicts stay nil in the result unless
// the row changes them, so the write leaves the stored set alone.
func patchInspector(old *storedInspector, p *InspectorPatch) (domain.Inspector, RowOutcome) {
	in := old.Inspector
	in.Conflicts = nil
	out := RowOutcome{Line: p.Line, Key: p.Code, Status: RowUnchanged, Changes: []FieldChange{}}
	change := func(field, o, n string) { out.Changes = append(out.Changes, FieldChange{Field: field, Old: o, New: n}) }
	if p.Name != nil && *p.Name != in.Name {
		change("name", in.Name, *p.Name)
		in.Name = *p.Name
	}
	if p.TeamID != nil && *p.TeamID != in.TeamID {
		change("team", old.TeamCode, p.TeamCode)
		in.TeamID = *p.TeamID
	}
	if p.Domains != nil && !slices.Equal(*p.Domains, in.Domains) {
		change("domains", strings.Join(in.Domains, ";"), strings.Join(*p.Domains, ";"))
		in.Domains = *p.Domains
	}
	if p.Phone != nil && *p.Phone != in.Phone {
		change("phone", in.Phone, *p.Phone)
		in.Phone = *p.Phone
	}
	if p.IsLeader != nil && *p.IsLeader != in.IsLeader {
		change("is_leader", strconv.FormatBool(in.IsLeader), strconv.FormatBool(*p.IsLeader))
		in.IsLeader = *p.IsLeader
	}
	if p.Conflicts != nil {
		want := slices.Clone(*p.Conflicts)
		slices.Sort(want)
		if !slices.Equal(want, old.Conflicts) {
			change("conflicts", strings.Join(old.Conflicts, ";"), strings.Join(want, ";"))
			in.Conflicts = want
		}
	}
	if len(out.Changes) > 0 {
		out.Status = RowChanged
	}
	return in, out
}

// bulkTx is bulk, read-only when dry: PostgreSQL then refuses any write, so a
// dry run cannot change the database whatever the code path.
func (s *Store) bulkTx(ctx context.Context, what string, readOnly bool, fn func(pgx.Tx) error) error {
	if !readOnly {
		return s.bulk(ctx, what, fn)
	}
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("bulk load needs the pgx driver, the pool uses %T", dc)
		}
		return pgx.BeginTxFunc(ctx, c.Conn(), pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
	})
	return translatePg(err, what)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// clip shortens a stored text for a message.
func clip(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
