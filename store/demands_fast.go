package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"inspectonce/domain"
)

// A demand's submission is the busiest write (issue 20: 1,000 req/s). It
// makes two round trips to PostgreSQL, both through pgx with statements
// prepared once per connection and rows scanned by hand: DemandRefs reads
// what the checks need in one batch, and createDemandFast stores the demand,
// its items and businesses, its idempotency key and its audit row in one
// statement, committed before it answers. Everything rarer (a replayed or
// reused key) goes the way it always went (CreateDemand's transaction).

// DemandRefs is what a demand's checks read from the registries.
type DemandRefs struct {
	// ItemDepartments maps each of the asked items that exists to its
	// department.
	ItemDepartments map[int64]int64
	// MissingBusinesses are the asked codes not registered, in the order
	// MissingBusinesses gives them; nil when no codes were asked.
	MissingBusinesses []string
}

// The checks' statements take their arrays through a scalar sub-select,
// which the planner does not fold into a constant: a custom plan then
// estimates the array as a generic one does, the plan cache keeps the
// generic plan, and the statements are not planned again on every call
// (they were: planning each call cost more than running it). Each element
// is looked up in its table's primary key.
const (
	demandRefsItems = `SELECT x.id, (SELECT i.department_id FROM items i WHERE i.id = x.id)
	FROM unnest((SELECT $1::bigint[])) AS x (id)`
	// missingBusinessesSQL answers which codes ($1) are not registered. A
	// code is compared as the column's type (bpchar): compared as text,
	// the column would be cast instead and the primary key could not be
	// used, so every check would read the whole registry.
	missingBusinessesSQL = `SELECT x FROM unnest((SELECT $1::text[])) AS x
	WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.uscc = x::bpchar) ORDER BY x`
)

// DemandRefs reads, in one round trip, the departments of the items and
// (when codes is not empty) which businesses are not registered: what
// ItemsByID and MissingBusinesses would answer.
func (s *Store) DemandRefs(ctx context.Context, itemIDs []int64, codes []string) (DemandRefs, error) {
	refs := DemandRefs{ItemDepartments: make(map[int64]int64, len(itemIDs))}
	if itemIDs == nil {
		itemIDs = []int64{}
	}
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		var b pgx.Batch
		b.Queue(demandRefsItems, itemIDs)
		if len(codes) > 0 {
			b.Queue(missingBusinessesSQL, codes)
		}
		br := c.SendBatch(ctx, &b)
		rows, _ := br.Query()
		var id int64
		var dept *int64
		_, err := pgx.ForEachRow(rows, []any{&id, &dept}, func() error {
			if dept != nil { // nil: no such item
				refs.ItemDepartments[id] = *dept
			}
			return nil
		})
		if err != nil {
			_ = br.Close()
			return fmt.Errorf("items: %w", err)
		}
		if len(codes) > 0 {
			rows, _ := br.Query()
			var code string
			refs.MissingBusinesses = []string{}
			if _, err := pgx.ForEachRow(rows, []any{&code}, func() error {
				refs.MissingBusinesses = append(refs.MissingBusinesses, code)
				return nil
			}); err != nil {
				_ = br.Close()
				return fmt.Errorf("businesses: %w", err)
			}
		}
		return br.Close()
	})
	return refs, translate(err, "demand registries")
}

// createDemandSQL stores a demand whole, in one statement (one implicit
// transaction). With $26 it first checks what the API's checks assumed (ok):
// every item ($23) is the department's ($1), every business ($24) is
// registered; if not, it writes nothing. Then the idempotency key ($17..$19,
// when $16), and nothing more unless the key was new; then the demand under
// the id the key records, its items and businesses, and the audit row ($21,
// $22, $25). It answers ok, and the demand's id, creation time and
// businesses in the order a read gives them (no id when nothing was
// written). The key's insert waits for a transaction holding the same key,
// as CreateDemand's does. The checks take their arrays through a scalar
// sub-select, for the reason given at demandRefsItems.
const createDemandSQL = `WITH ok AS (
	SELECT NOT $26::bool OR (
		NOT EXISTS (SELECT 1 FROM unnest((SELECT $23::bigint[])) AS x (id)
			WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = x.id AND i.department_id = $1::bigint))
		AND NOT EXISTS (SELECT 1 FROM unnest((SELECT $24::text[])) AS x
			WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.uscc = x::bpchar))) AS v
), n AS (
	SELECT nextval(pg_get_serial_sequence('demands', 'id')) AS id FROM ok WHERE ok.v
), k AS (
	INSERT INTO idempotency_keys (token_id, key, request_hash, status, response)
	SELECT $17::bigint, $18::text, $19::bytea, 201, convert_to(n.id::text, 'UTF8') FROM n WHERE $16::bool
	ON CONFLICT DO NOTHING
	RETURNING 1
), d AS (
	INSERT INTO demands (id, department_id, title, target_kind, sample_region_ids, sample_industries,
		sample_scenario_id, sample_risk_codes, sample_count, sample_ratio, window_from, window_to,
		priority, source, scenario_id, announce_days, created_by)
	OVERRIDING SYSTEM VALUE
	SELECT n.id, $1::bigint, $2::text, $3::text, $4::bigint[], $5::text[], $6::bigint, $7::text[],
		$8::integer, $9::double precision, $10::date, $11::date, $12::integer, $13::text, $14::bigint,
		$15::integer, $20::text
	FROM n
	WHERE NOT $16::bool OR EXISTS (SELECT 1 FROM k)
	RETURNING id, created_at
), i AS (
	INSERT INTO demand_items (demand_id, item_id) SELECT d.id, unnest($23::bigint[]) FROM d
	ON CONFLICT DO NOTHING
), b AS (
	INSERT INTO demand_businesses (demand_id, uscc) SELECT d.id, unnest($24::text[]) FROM d
	ON CONFLICT DO NOTHING
), a AS (
	INSERT INTO audit_log (at, actor, action, object, outcome, detail)
	SELECT $21::timestamptz, $25::text, 'demand.submit', 'demand/' || d.id, 'ok', $22::text FROM d
)
SELECT ok.v, d.id, d.created_at,
	ARRAY(SELECT DISTINCT x::char(18) AS u FROM unnest($24::text[]) AS x ORDER BY u)::text[]
FROM ok LEFT JOIN d ON true`

// ErrDemandRefs says that a demand checked on assumptions (CreateCheckedDemand)
// named an item not of its department or a business not registered: nothing
// was stored, and the demand is to be checked against the registries.
var ErrDemandRefs = errors.New("the demand's items or businesses are not as its checks assumed")

// CreateCheckedDemand is CreateDemand for a demand whose checks assumed that
// each of its items is its department's and each of its businesses is
// registered (so no round trip read them): the statement that stores it
// checks that first, and answers ErrDemandRefs, having stored nothing, when
// it does not hold. A new demand then takes one round trip.
func (s *Store) CreateCheckedDemand(ctx context.Context, actor string, idem *Idempotency, d *domain.Demand) (replayed bool, err error) {
	stored, err := s.createDemandFast(ctx, actor, idem, d, true)
	if err != nil || stored {
		return false, err
	}
	return s.createDemandTx(ctx, actor, idem, d)
}

// createDemandFast is CreateDemand's usual case, in one round trip. stored is
// false when the idempotency key was there already: nothing was written, and
// CreateDemand's transaction answers (the demand the key made, or the key's
// refusal). With verify, the registries are checked first (ErrDemandRefs).
func (s *Store) createDemandFast(ctx context.Context, actor string, idem *Idempotency, d *domain.Demand, verify bool) (stored bool, err error) {
	r := demandToRow(d)
	items := slices.Clone(d.ItemIDs)
	slices.Sort(items)
	items = slices.Compact(items)
	if items == nil {
		items = []int64{}
	}
	businesses := d.Businesses
	if businesses == nil {
		businesses = []string{}
	}
	detail, err := auditDetail(map[string]any{
		"department_id": d.DepartmentID, "source": d.Source, "target_kind": d.TargetKind, "items": items,
	})
	if err != nil {
		return false, err
	}
	var (
		tokenID int64
		key     string
		hash    []byte
	)
	if idem != nil {
		tokenID, key, hash = idem.TokenID, idem.Key, idem.RequestHash
	}
	var (
		ok     bool
		id     *int64
		at     *time.Time
		sorted []string
	)
	err = s.withPgx(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, createDemandSQL,
			r.DepartmentID, r.Title, r.TargetKind, []int64(r.SampleRegionIDs), []string(r.SampleIndustries),
			r.SampleScenarioID, []string(r.SampleRiskCodes), r.SampleCount, r.SampleRatio, r.WindowFrom, r.WindowTo,
			r.Priority, r.Source, r.ScenarioID, r.AnnounceDays,
			idem != nil, tokenID, key, hash,
			r.CreatedBy, auditNow(), detail,
			items, businesses, actor, verify,
		).Scan(&ok, &id, &at, &sorted)
	})
	switch {
	case err != nil:
		return false, translateDemandWrite(err)
	case !ok:
		return false, ErrDemandRefs
	case id == nil:
		return false, nil
	}
	// The demand as a read gives it back (demandRow.domain), from what was
	// written rather than by reading it again.
	r.ID, r.CreatedAt = *id, *at
	r.ItemIDs, r.Businesses = items, sorted
	*d = r.domain()
	return true, nil
}

// translateDemandWrite names the table a failed demand write broke, as
// CreateDemand's statements do one by one.
func translateDemandWrite(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return translate(err, "demand")
	}
	switch pe.TableName {
	case "idempotency_keys":
		return translate(err, "idempotency key")
	case "demand_items":
		return translate(err, "demand items")
	case "demand_businesses":
		return translate(err, "demand businesses")
	case "audit_log":
		return fmt.Errorf("audit append: %w", err)
	}
	return translate(err, "demand")
}
