package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// Import kinds: what a bulk import loads.
const (
	ImportBusinesses = "businesses"
	ImportInspectors = "inspectors"
	// ImportUnavailability and ImportClosures add inspectors' days away and
	// closures (store.LoadUnavailability, store.LoadClosures).
	ImportUnavailability = "unavailability"
	ImportClosures       = "closures"
)

// Import job states.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportRowError is one refused row of an import: its 1-based physical line in
// the file, the column (empty when the whole row is at fault) and why. When
// RowApplied is set only that cell was refused (a risk code the import may
// not lower) and the row's other columns were applied.
//
// Reason is English and stays as it is; Code (the catalog key the reason
// was made from, package messages) and Message (the reason in the reader's
// language) are filled by whoever answers a reader, not stored.
type ImportRowError struct {
	Line       int    `json:"line"`
	Field      string `json:"field"`
	Reason     string `json:"reason"`
	RowApplied bool   `json:"row_applied"`
	Code       string `json:"code,omitempty" gorm:"-"`
	Message    string `json:"message,omitempty" gorm:"-"`
}

// How an import treats an empty cell in a column the file carries.
const (
	EmptyKeep  = "keep"  // the stored value stays (the default)
	EmptyClear = "clear" // an optional column is cleared
)

// ImportOptions are the choices an import runs with.
type ImportOptions struct {
	// EmptyCells is EmptyKeep (also when "") or EmptyClear.
	EmptyCells string
	// RiskOverride lets the file lower a risk code that a visit result set;
	// Reason is then required, and every such change is audited with it.
	RiskOverride bool
	Reason       string
	// DryRun reads what the import would do and writes nothing.
	DryRun bool
}

// MaxOverrideReason bounds ImportOptions.Reason, as risk reasons are bounded.
const MaxOverrideReason = 500

// Clear reports whether empty cells clear optional columns.
func (o ImportOptions) Clear() bool { return o.EmptyCells == EmptyClear }

// Validate names the option that is wrong, with the names the API and the
// command line give them (empty, risk_override, reason).
func (o ImportOptions) Validate() error {
	var v domain.ValidationError
	if o.EmptyCells != "" && o.EmptyCells != EmptyKeep && o.EmptyCells != EmptyClear {
		v.Add("empty", "must be %s or %s, got %q", EmptyKeep, EmptyClear, o.EmptyCells)
	}
	reason := strings.TrimSpace(o.Reason)
	switch {
	case o.RiskOverride && reason == "":
		v.Add("reason", "required with risk_override: say why the import may lower risk codes set by visit results")
	case !o.RiskOverride && reason != "":
		v.Add("reason", "only goes with risk_override=true")
	case !utf8.ValidString(reason) || strings.IndexByte(reason, 0) >= 0:
		v.Add("reason", "must be UTF-8 text without NUL characters")
	case utf8.RuneCountInString(reason) > MaxOverrideReason:
		v.Add("reason", "longer than %d characters", MaxOverrideReason)
	}
	return v.Err()
}

func (o ImportOptions) emptyCells() string {
	if o.EmptyCells == "" {
		return EmptyKeep
	}
	return o.EmptyCells
}

// ImportJob is one bulk import with its counters and every refused row.
type ImportJob struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	StartedBy    string `json:"started_by"`
	RowsRead     int    `json:"rows_read"`
	RowsLoaded   int    `json:"rows_loaded"`
	RowsRejected int    `json:"rows_rejected"`
	EmptyCells   string `json:"empty_cells"`
	RiskOverride bool   `json:"risk_override"`
	// OverrideReason is the reason given with RiskOverride.
	OverrideReason string           `json:"override_reason"`
	Failure        string           `json:"failure"`
	StartedAt      time.Time        `json:"started_at"`
	FinishedAt     *time.Time       `json:"finished_at"`
	Errors         []ImportRowError `json:"errors" gorm:"-"`
}

// CreateImportJob records the start of an import of kind (ImportBusinesses or
// ImportInspectors) run with opt and returns its id.
func (s *Store) CreateImportJob(ctx context.Context, actor, kind string, opt ImportOptions) (int64, error) {
	switch kind {
	case ImportBusinesses, ImportInspectors, ImportUnavailability, ImportClosures:
	default:
		return 0, domain.Invalid("kind", "must be %q, %q, %q or %q, got %q", ImportBusinesses, ImportInspectors,
			ImportUnavailability, ImportClosures, kind)
	}
	if err := opt.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := s.db.WithContext(ctx).Raw(`INSERT INTO import_jobs (kind, started_by, empty_cells, risk_override, override_reason)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, kind, actor, opt.emptyCells(), opt.RiskOverride, strings.TrimSpace(opt.Reason)).
		Scan(&id).Error
	if err != nil {
		return 0, translate(err, "import job")
	}
	return id, nil
}

// UpdateImportProgress sets a running job's counters to the given totals and
// adds errs, the rows refused since the last update.
func (s *Store) UpdateImportProgress(ctx context.Context, id int64, read, loaded, rejected int, errs []ImportRowError) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE import_jobs SET rows_read = ?, rows_loaded = ?, rows_rejected = ? WHERE id = ? AND status = 'running'`,
			read, loaded, rejected, id)
		if res.Error != nil {
			return translate(res.Error, importObject(id))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s is not running: %w", importObject(id), domain.ErrNotFound)
		}
		return insertImportErrors(tx, id, errs)
	})
}

func insertImportErrors(tx *gorm.DB, id int64, errs []ImportRowError) error {
	if len(errs) == 0 {
		return nil
	}
	lines := make(pq.Int64Array, len(errs))
	fields := make(pq.StringArray, len(errs))
	reasons := make(pq.StringArray, len(errs))
	applied := make(pq.BoolArray, len(errs))
	for i, e := range errs {
		lines[i], fields[i], reasons[i], applied[i] = int64(e.Line), e.Field, e.Reason, e.RowApplied
	}
	// One statement for the lot; a second error for the same line and field
	// adds nothing a user could act on, so it is dropped rather than failing.
	err := tx.Exec(`INSERT INTO import_errors (job_id, line, field, reason, row_applied)
		SELECT ?, l, f, r, a FROM unnest(?::int[], ?::text[], ?::text[], ?::boolean[]) AS e(l, f, r, a)
		ON CONFLICT DO NOTHING`, id, lines, fields, reasons, applied).Error
	return translate(err, "import errors")
}

// FinishImportJob ends a running job as ImportDone or ImportFailed (with the
// failure that stopped it) and records the outcome in the audit log, which
// stands in for per-row entries of everything the job loaded.
func (s *Store) FinishImportJob(ctx context.Context, actor string, id int64, status, failure string) error {
	if status != ImportDone && status != ImportFailed {
		return domain.Invalid("status", "must be %q or %q, got %q", ImportDone, ImportFailed, status)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var job ImportJob
		res := tx.Raw(`UPDATE import_jobs SET status = ?, failure = ?, finished_at = now()
			WHERE id = ? AND status = 'running'
			RETURNING id, kind, status, started_by, rows_read, rows_loaded, rows_rejected, empty_cells, risk_override,
				override_reason, failure`,
			status, failure, id).Scan(&job)
		if res.Error != nil {
			return translate(res.Error, importObject(id))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s is not running: %w", importObject(id), domain.ErrNotFound)
		}
		outcome := OutcomeOK
		if status == ImportFailed {
			outcome = OutcomeRejected
		}
		return appendAudit(tx, actor, "import."+job.Kind, importObject(id), outcome, map[string]any{
			"status": job.Status, "rows_read": job.RowsRead, "rows_loaded": job.RowsLoaded,
			"rows_rejected": job.RowsRejected, "failure": job.Failure, "empty_cells": job.EmptyCells,
			"risk_override": job.RiskOverride, "override_reason": job.OverrideReason,
		})
	})
}

// GetImportJob returns a job with all its refused rows in line order.
func (s *Store) GetImportJob(ctx context.Context, id int64) (ImportJob, error) {
	var job ImportJob
	db := s.db.WithContext(ctx)
	err := db.Table("import_jobs").Where("id = ?", id).Take(&job).Error
	if err != nil {
		return ImportJob{}, translate(err, importObject(id))
	}
	job.Errors = []ImportRowError{}
	err = db.Table("import_errors").Select("line, field, reason, row_applied").Where("job_id = ?", id).
		Order("line, field").Find(&job.Errors).Error
	return job, translate(err, "import errors")
}

func importObject(id int64) string { return "import/" + strconv.FormatInt(id, 10) }

// RegionIDsByCode maps every region code to its id, so an importer can resolve
// a file's region codes without a query per row.
func (s *Store) RegionIDsByCode(ctx context.Context) (map[string]int64, error) {
	return s.idsByCode(ctx, "regions")
}

// TeamIDsByCode maps every team code to its id.
func (s *Store) TeamIDsByCode(ctx context.Context) (map[string]int64, error) {
	return s.idsByCode(ctx, "teams")
}

func (s *Store) idsByCode(ctx context.Context, table string) (map[string]int64, error) {
	var rows []struct {
		ID   int64
		Code string
	}
	if err := s.db.WithContext(ctx).Table(table).Select("id, code").Find(&rows).Error; err != nil {
		return nil, translate(err, table)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Code] = r.ID
	}
	return out, nil
}

// UpsertBusinesses inserts or updates businesses by USCC in one transaction,
// without an audit entry per row: the import job's entry covers the batch. An
// empty RiskCode or ListKind keeps the stored value (green and random for a
// new business), because register exchange files rarely carry what the bureau
// itself decides. A new business, or an effective change of risk code, adds a
// risk_code_history row set by actor. A USCC given twice counts once, the last
// occurrence winning.
func (s *Store) UpsertBusinesses(ctx context.Context, actor string, rows []domain.Business) error {
	rows = lastByKey(rows, func(b domain.Business) string { return b.USCC })
	if len(rows) == 0 {
		return nil
	}
	return s.bulk(ctx, "upsert businesses", func(tx pgx.Tx) error {
		// uscc has the type of businesses.uscc, or the join below could not use
		// its primary key and every batch would scan the whole register.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_businesses (
			uscc char(18) PRIMARY KEY, name text, address text, region_id bigint, industry_code text,
			lat double precision, lng double precision, risk_code text, risk_reason text, list_kind text,
			contact_name text, contact_phone text) ON COMMIT DROP`); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_businesses"},
			[]string{"uscc", "name", "address", "region_id", "industry_code", "lat", "lng",
				"risk_code", "risk_reason", "list_kind", "contact_name", "contact_phone"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				b := &rows[i]
				return []any{b.USCC, b.Name, b.Address, b.RegionID, b.IndustryCode, b.Lat, b.Lng,
					nullIfEmpty(b.RiskCode), b.RiskReason, nullIfEmpty(b.ListKind), b.ContactName, b.ContactPhone}, nil
			}))
		if err != nil {
			return err
		}
		// One statement: src reads the stored risk code before the upsert (all
		// parts of a statement share one snapshot), so the history insert sees
		// exactly which rows are new or change colour. The history rows of new
		// businesses pass their foreign key because it is checked at the end of
		// the statement. Unchanged rows are not rewritten, so a re-import of the
		// same file leaves no dead tuples and keeps updated_at meaningful.
		_, err = tx.Exec(ctx, `
WITH src AS (
	SELECT s.*, COALESCE(s.risk_code, b.risk_code, 'green') AS new_risk,
		b.risk_code AS old_risk, b.risk_set_at AS old_set_at, b.risk_reason AS old_reason, b.list_kind AS old_list
	FROM stage_businesses s LEFT JOIN businesses b ON b.uscc = s.uscc
), up AS (
	INSERT INTO businesses AS t (uscc, name, address, region_id, industry_code, lat, lng,
		risk_code, risk_set_at, risk_reason, list_kind, contact_name, contact_phone, created_at, updated_at)
	SELECT uscc, name, address, region_id, industry_code, lat, lng,
		new_risk,
		CASE WHEN new_risk IS DISTINCT FROM old_risk THEN now() ELSE old_set_at END,
		CASE WHEN new_risk IS DISTINCT FROM old_risk THEN risk_reason ELSE old_reason END,
		COALESCE(list_kind, old_list, 'random'), contact_name, contact_phone, now(), now()
	FROM src
	ON CONFLICT (uscc) DO UPDATE SET
		name = EXCLUDED.name, address = EXCLUDED.address, region_id = EXCLUDED.region_id,
		industry_code = EXCLUDED.industry_code, lat = EXCLUDED.lat, lng = EXCLUDED.lng,
		risk_code = EXCLUDED.risk_code, risk_set_at = EXCLUDED.risk_set_at, risk_reason = EXCLUDED.risk_reason,
		list_kind = EXCLUDED.list_kind, contact_name = EXCLUDED.contact_name,
		contact_phone = EXCLUDED.contact_phone, updated_at = EXCLUDED.updated_at
	WHERE (t.name, t.address, t.region_id, t.industry_code, t.lat, t.lng, t.risk_code, t.risk_reason,
			t.list_kind, t.contact_name, t.contact_phone)
		IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.address, EXCLUDED.region_id, EXCLUDED.industry_code,
			EXCLUDED.lat, EXCLUDED.lng, EXCLUDED.risk_code, EXCLUDED.risk_reason, EXCLUDED.list_kind,
			EXCLUDED.contact_name, EXCLUDED.contact_phone)
)
INSERT INTO risk_code_history (uscc, risk_code, set_at, reason, set_by)
SELECT uscc, new_risk, now(), risk_reason, $1 FROM src WHERE new_risk IS DISTINCT FROM old_risk`, actor)
		return err
	})
}

// UpsertInspectors inserts or updates inspectors by code in one transaction.
// Conflicts (回避) are replaced by the given set; a nil Conflicts keeps the
// stored set, since rosters often come without declarations, while an empty
// non-nil one clears it. Every conflict must name a registered business.
func (s *Store) UpsertInspectors(ctx context.Context, rows []domain.Inspector) error {
	rows = lastByKey(rows, func(in domain.Inspector) string { return in.Code })
	if len(rows) == 0 {
		return nil
	}
	return s.bulk(ctx, "upsert inspectors", func(tx pgx.Tx) error { return upsertInspectors(ctx, tx, rows) })
}

// upsertInspectors is UpsertInspectors inside tx, for rows with distinct codes.
func upsertInspectors(ctx context.Context, tx pgx.Tx, rows []domain.Inspector) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_inspectors (
		code text PRIMARY KEY, name text, team_id bigint, domains text[], phone text, is_leader boolean,
		conflicts text[]) ON COMMIT DROP`); err != nil {
		return err
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_inspectors"},
		[]string{"code", "name", "team_id", "domains", "phone", "is_leader", "conflicts"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			in := &rows[i]
			var conflicts any
			if in.Conflicts != nil {
				conflicts = in.Conflicts
			}
			return []any{in.Code, in.Name, in.TeamID, nonNil(in.Domains), in.Phone, in.IsLeader, conflicts}, nil
		}))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO inspectors AS t (code, name, team_id, domains, phone, is_leader)
SELECT code, name, team_id, domains, phone, is_leader FROM stage_inspectors
ON CONFLICT (code) DO UPDATE SET
	name = EXCLUDED.name, team_id = EXCLUDED.team_id, domains = EXCLUDED.domains,
	phone = EXCLUDED.phone, is_leader = EXCLUDED.is_leader, updated_at = now()
WHERE (t.name, t.team_id, t.domains, t.phone, t.is_leader)
	IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.team_id, EXCLUDED.domains, EXCLUDED.phone, EXCLUDED.is_leader)`); err != nil {
		return err
	}
	// Delete only what left the set and insert only what joined it, so an
	// unchanged declaration is not churned on every re-import.
	if _, err := tx.Exec(ctx, `
DELETE FROM inspector_conflicts c
USING stage_inspectors s JOIN inspectors i ON i.code = s.code
WHERE c.inspector_id = i.id AND s.conflicts IS NOT NULL AND NOT (c.uscc::text = ANY (s.conflicts))`); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
INSERT INTO inspector_conflicts (inspector_id, uscc)
SELECT i.id, u.uscc FROM stage_inspectors s JOIN inspectors i ON i.code = s.code
CROSS JOIN LATERAL unnest(s.conflicts) AS u(uscc)
ON CONFLICT DO NOTHING`)
	return err
}

// bulk runs fn in a transaction on a pgx connection taken from the pool: COPY
// is not reachable through database/sql, and it is what makes a batch cheap.
func (s *Store) bulk(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bulk load needs the pgx driver, the pool uses %T", dc)
		}
		return pgx.BeginFunc(ctx, c.Conn(), fn)
	})
	return translatePg(err, what)
}

// translatePg maps constraint violations reported by pgx to domain errors, as
// translate does for gorm.
func translatePg(err error, what string) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%s: %s: %w", what, pe.Message, domain.ErrConflict)
		case "23503", "23514", "23502":
			return fmt.Errorf("%s: %s (%s): %w", what, pe.Message, pe.Detail, domain.ErrConflict)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// lastByKey drops every row whose key appears again later: one statement may
// not touch a row twice, and the later row is the newer word.
func lastByKey[T any](rows []T, key func(T) string) []T {
	last := make(map[string]int, len(rows))
	for i, r := range rows {
		last[key(r)] = i
	}
	if len(last) == len(rows) {
		return rows
	}
	out := make([]T, 0, len(last))
	for i, r := range rows {
		if last[key(r)] == i {
			out = append(out, r)
		}
	}
	return out
}
