package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
	"inspectonce/visitcode"
)

// Outcomes of a visit-code scan (visit_code_scans.outcome).
const (
	CodeValid        = "valid"
	CodeRevoked      = "revoked"
	CodeNotPublished = "not_published"
	CodeUnknown      = "unknown"
)

// OutboxCodeRevoked is the kind of the outbox row that tells the people of a
// visit that its code was revoked (jobs.TypeDispatchCodeReplaced). Its payload
// is version 1 of jobs.CodeReplacedPayload: plan, visit and the generation of
// the code that replaced the revoked one.
const OutboxCodeRevoked = "code_revoked"

const (
	codeKeyPurpose   = "visit_code"
	maxRevokeReason  = 1000
	maxScanUserAgent = 500
)

// keyCache holds a signing key once read: keys are never changed or
// deleted, so a replica may keep the one it read.
type keyCache struct {
	mu  sync.Mutex
	key []byte
}

// visitCodeKey returns the visit-code signing key, making it on first use.
// Every replica races to insert its own random key; the first insert wins and
// all read that one back.
func (s *Store) visitCodeKey(ctx context.Context) ([]byte, error) {
	s.codeKey.mu.Lock()
	defer s.codeKey.mu.Unlock()
	if s.codeKey.key != nil {
		return s.codeKey.key, nil
	}
	fresh := make([]byte, visitcode.KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("visit code key: %w", err)
	}
	db := s.db.WithContext(ctx)
	if err := db.Exec(`INSERT INTO signing_keys (purpose, key) VALUES (?, ?) ON CONFLICT (purpose) DO NOTHING`,
		codeKeyPurpose, fresh).Error; err != nil {
		return nil, translate(err, "visit code key")
	}
	var key []byte
	if err := db.Raw(`SELECT key FROM signing_keys WHERE purpose = ?`, codeKeyPurpose).Row().Scan(&key); err != nil {
		return nil, translate(err, "visit code key")
	}
	if len(key) != visitcode.KeySize {
		return nil, fmt.Errorf("visit code key is %d bytes, want %d", len(key), visitcode.KeySize)
	}
	s.codeKey.key = key
	return key, nil
}

// VisitKey names one visit of one plan.
type VisitKey struct {
	PlanID   int64 `json:"plan_id"`
	VisitSeq int   `json:"visit_seq"`
}

// VisitCodeInfo is the current code of a visit.
type VisitCodeInfo struct {
	PlanID     int64  `json:"plan_id"`
	VisitSeq   int    `json:"visit_seq"`
	Code       string `json:"code"`
	Generation int    `json:"generation"`
}

// VisitCode returns the current code of visit seq of plan planID: the one
// whose generation is the number of codes revoked so far. Any stored visit
// has one, a draft's too (its scan says not_published); an unknown visit is
// ErrNotFound.
func (s *Store) VisitCode(ctx context.Context, planID int64, seq int) (VisitCodeInfo, error) {
	if seq <= 0 || seq > math.MaxInt32 || planID <= 0 {
		return VisitCodeInfo{}, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	var n int64
	if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM plan_visits WHERE plan_id = ? AND seq = ?`, planID, seq).
		Row().Scan(&n); err != nil {
		return VisitCodeInfo{}, translate(err, visitObject(planID, seq))
	}
	if n == 0 {
		return VisitCodeInfo{}, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	codes, err := s.VisitCodes(ctx, []VisitKey{{PlanID: planID, VisitSeq: seq}})
	if err != nil {
		return VisitCodeInfo{}, err
	}
	return codes[VisitKey{PlanID: planID, VisitSeq: seq}], nil
}

// VisitCodes returns the current codes of many visits (a roster, a schedule)
// with one query. It does not check that the visits exist: callers pass
// visits they read.
func (s *Store) VisitCodes(ctx context.Context, visits []VisitKey) (map[VisitKey]VisitCodeInfo, error) {
	out := make(map[VisitKey]VisitCodeInfo, len(visits))
	if len(visits) == 0 {
		return out, nil
	}
	key, err := s.visitCodeKey(ctx)
	if err != nil {
		return nil, err
	}
	plans := make([]int64, len(visits))
	seqs := make([]int64, len(visits))
	for i, v := range visits {
		plans[i], seqs[i] = v.PlanID, int64(v.VisitSeq)
	}
	var rows []struct {
		PlanID   int64
		VisitSeq int
		N        int
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT r.plan_id, r.visit_seq, count(*) AS n FROM visit_code_revocations r
		JOIN unnest(?::bigint[], ?::int[]) AS k(plan_id, visit_seq) ON k.plan_id = r.plan_id AND k.visit_seq = r.visit_seq
		GROUP BY r.plan_id, r.visit_seq`, pq.Int64Array(plans), pq.Int64Array(seqs)).Scan(&rows).Error; err != nil {
		return nil, translate(err, "visit code revocations")
	}
	gen := make(map[VisitKey]int, len(rows))
	for _, r := range rows {
		gen[VisitKey{PlanID: r.PlanID, VisitSeq: r.VisitSeq}] = r.N
	}
	for _, v := range visits {
		text, err := signVisitCode(key, v.PlanID, v.VisitSeq, gen[v])
		if err != nil {
			return nil, err
		}
		out[v] = VisitCodeInfo{PlanID: v.PlanID, VisitSeq: v.VisitSeq, Code: text, Generation: gen[v]}
	}
	return out, nil
}

// signVisitCode is the code of generation gen of visit seq of plan planID:
// reads that count a visit's revocations in their own query (the
// generation) sign its code without another.
func signVisitCode(key []byte, planID int64, seq, gen int) (string, error) {
	text, err := visitcode.Sign(key, visitcode.Code{PlanID: planID, VisitSeq: seq, Generation: gen})
	if err != nil {
		return "", fmt.Errorf("%s code: %w", visitObject(planID, seq), err)
	}
	return text, nil
}

// setCodes sets the current code of each visit of list (one query for all):
// key names an element's visit, code is where its code goes.
func setCodes[T any](ctx context.Context, s *Store, list []T, key func(*T) VisitKey, code func(*T) *string) error {
	keys := make([]VisitKey, len(list))
	for i := range list {
		keys[i] = key(&list[i])
	}
	codes, err := s.VisitCodes(ctx, keys)
	if err != nil {
		return err
	}
	for i := range list {
		*code(&list[i]) = codes[keys[i]].Code
	}
	return nil
}

// PublicItem is an item of a visit as the business sees it.
type PublicItem struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Department string `json:"department"`
	LegalBasis string `json:"legal_basis"`
}

// PublicInspector is an inspector as the business sees them: the name and the
// law-enforcement certificate number (执法证号), nothing else.
type PublicInspector struct {
	Name   string `json:"name"`
	CertNo string `json:"cert_no"`
	Role   string `json:"role"`
}

// PublicVisit is a visit as its code page shows it to the business.
type PublicVisit struct {
	PlanID       int64             `json:"plan_id"`
	VisitSeq     int               `json:"visit_seq"`
	Date         string            `json:"date"`
	OriginalDate string            `json:"original_date"`
	USCC         string            `json:"uscc"`
	BusinessName string            `json:"business_name"`
	TeamName     string            `json:"team_name"`
	Departments  []string          `json:"departments"`
	Items        []PublicItem      `json:"items"`
	Inspectors   []PublicInspector `json:"inspectors"`
}

// CodeCheck is the answer to a scan.
type CodeCheck struct {
	Outcome string `json:"outcome"`
	// Visit is set only when the code is valid.
	Visit *PublicVisit `json:"visit,omitempty"`
	// RevokedAt is when a revoked code was revoked.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// VerifyVisitCode checks a scanned code and records the scan: valid (the
// current code of a visit of a published plan, with the visit as the
// business should see it, at its effective date), revoked (an earlier code of
// a visit, since replaced), not_published (a visit of a plan that is a draft
// or discarded) or unknown (anything else, including a code whose signature
// does not check out). A scan of a code this service signed becomes a row of
// visit_code_scans; any other scan only adds one to the count of its hour in
// visit_code_unknown_scans, so that codes made up by anyone cannot grow the
// database. Scans are written in batches, off the request (scanbatch.go).
// The check itself is one round trip (checkCode). An error means the
// database failed.
func (s *Store) VerifyVisitCode(ctx context.Context, text, userAgent string) (CodeCheck, error) {
	key, err := s.visitCodeKey(ctx)
	if err != nil {
		return CodeCheck{}, err
	}
	at := time.Now()
	c, perr := visitcode.Parse(key, text)
	if perr != nil {
		s.scans.record(scanEvent{at: at})
		return CodeCheck{Outcome: CodeUnknown}, nil
	}
	check, err := s.checkCode(ctx, c)
	if err != nil {
		return CodeCheck{}, err
	}
	s.scans.record(scanEvent{signed: true, planID: c.PlanID, seq: c.VisitSeq, generation: c.Generation,
		outcome: check.Outcome, userAgent: scanUserAgent(userAgent), at: at})
	return check, nil
}

// UnknownScanCount is the number of scans, in one hour, of codes this
// service did not sign.
type UnknownScanCount struct {
	// Hour is the hour's start (UTC).
	Hour   time.Time `json:"hour"`
	Scans  int64     `json:"scans"`
	LastAt time.Time `json:"last_at"`
}

// UnknownCodeScans lists the hourly counts of scans of unsigned codes whose
// hour starts in [from, to), oldest first, with this replica's buffered
// scans written first.
func (s *Store) UnknownCodeScans(ctx context.Context, from, to time.Time) ([]UnknownScanCount, error) {
	if err := s.FlushScans(ctx); err != nil {
		return nil, err
	}
	var out []UnknownScanCount
	err := s.db.WithContext(ctx).Raw(`SELECT hour, scans, last_at FROM visit_code_unknown_scans
		WHERE hour >= ? AND hour < ? ORDER BY hour`, from, to).Scan(&out).Error
	return nonNil(out), translate(err, "unknown visit code scans")
}

// checkCode decides the outcome of a code whose signature checked out, in
// one batch (one round trip): the plan's status with the visit's codes and
// the revocation of c's generation, and the visit as the business sees it:
// the published visit at its effective date, its inspectors and its tasks.
func (s *Store) checkCode(ctx context.Context, c visitcode.Code) (CodeCheck, error) {
	if c.VisitSeq <= 0 || c.VisitSeq > math.MaxInt32 {
		return CodeCheck{Outcome: CodeUnknown}, nil
	}
	cached, ok, base := s.reads.code(ctx, s, c)
	if ok {
		return cached, nil
	}
	var snap string
	var until time.Time
	check, err := s.readCode(ctx, c, func(b *pgx.Batch) {
		if base > 0 {
			// The check depends on the database's date: cached until its
			// next midnight.
			b.Queue(snapshotSQL + `, (current_date + 1)::timestamptz`).QueryRow(func(row pgx.Row) error {
				return row.Scan(&snap, &until)
			})
		}
	})
	if err == nil {
		s.reads.putCode(c, base, snap, until, check)
	}
	return check, err
}

// readCode is checkCode's read of PostgreSQL; first queues what the read
// cache needs ahead of it.
func (s *Store) readCode(ctx context.Context, c visitcode.Code, first func(*pgx.Batch)) (CodeCheck, error) {
	var (
		status          string
		found, visitRow bool
		visits, revoked int
		revokedAt       *time.Time
		today           time.Time
		date, original  time.Time
		uscc, biz, team string
		pv              PublicVisit
		seen            = map[string]bool{}
	)
	pv = PublicVisit{PlanID: c.PlanID, VisitSeq: c.VisitSeq, Departments: []string{}, Items: []PublicItem{},
		Inspectors: []PublicInspector{}}
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		b := &pgx.Batch{}
		first(b)
		b.Queue(`SELECT p.status, current_date,
				(SELECT count(*) FROM plan_visits v WHERE v.plan_id = p.id AND v.seq = $2),
				(SELECT count(*) FROM visit_code_revocations r WHERE r.plan_id = p.id AND r.visit_seq = $2),
				(SELECT r.revoked_at FROM visit_code_revocations r WHERE r.plan_id = p.id AND r.visit_seq = $2 AND r.generation = $3)
			FROM plans p WHERE p.id = $1`, c.PlanID, c.VisitSeq, c.Generation).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&status, &today, &visits, &revoked, &revokedAt)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		})
		b.Queue(`SELECT pv.date, pv.original_date, pv.uscc, b.name, t.name
			FROM published_visits pv JOIN businesses b ON b.uscc = pv.uscc JOIN teams t ON t.id = pv.team_id
			WHERE pv.plan_id = $1 AND pv.seq = $2`, c.PlanID, c.VisitSeq).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&date, &original, &uscc, &biz, &team)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			visitRow = err == nil
			return err
		})
		b.Queue(`SELECT i.name, i.code, a.role FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
			WHERE a.plan_id = $1 AND a.visit_seq = $2 ORDER BY a.ord`, c.PlanID, c.VisitSeq).Query(func(rows pgx.Rows) error {
			var in PublicInspector
			_, err := pgx.ForEachRow(rows, []any{&in.Name, &in.CertNo, &in.Role}, func() error {
				pv.Inspectors = append(pv.Inspectors, in)
				return nil
			})
			return err
		})
		b.Queue(`SELECT i.code, i.name, d.name, i.legal_basis, t.added_by_plan_id IS NOT NULL, dm.announce_days
			FROM plan_tasks t JOIN items i ON i.id = t.item_id JOIN departments d ON d.id = t.department_id
				JOIN demands dm ON dm.id = t.demand_id
			WHERE t.plan_id = $1 AND t.visit_seq = $2 ORDER BY t.seq`, c.PlanID, c.VisitSeq).Query(func(rows pgx.Rows) error {
			var it PublicItem
			var added bool
			var announce int
			_, err := pgx.ForEachRow(rows, []any{&it.Code, &it.Name, &it.Department, &it.LegalBasis, &added, &announce}, func() error {
				// An item a later plan's join added stays hidden from the
				// business until the visit's day or, when its demand is
				// announced, until its notice (as DoorVisit's PublicHidden,
				// by the database's date).
				if added && date.After(today) && !(announce > 0 && !date.AddDate(0, 0, -announce).After(today)) {
					return nil
				}
				if !seen[it.Department] {
					seen[it.Department] = true
					pv.Departments = append(pv.Departments, it.Department)
				}
				pv.Items = append(pv.Items, it)
				return nil
			})
			return err
		})
		return conn.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return CodeCheck{}, translate(err, visitObject(c.PlanID, c.VisitSeq))
	}
	switch {
	case !found || visits == 0 || c.Generation > revoked:
		// Signed by us but naming nothing we have (a deleted draft): say
		// no more than for a forged code.
		return CodeCheck{Outcome: CodeUnknown}, nil
	case status != PlanPublished:
		return CodeCheck{Outcome: CodeNotPublished}, nil
	case c.Generation < revoked:
		if revokedAt == nil {
			return CodeCheck{}, fmt.Errorf("%s revocation %d: %w", visitObject(c.PlanID, c.VisitSeq), c.Generation, domain.ErrNotFound)
		}
		return CodeCheck{Outcome: CodeRevoked, RevokedAt: revokedAt}, nil
	case !visitRow:
		return CodeCheck{Outcome: CodeUnknown}, nil
	}
	pv.Date, pv.OriginalDate = civilDate(date), civilDate(original)
	pv.USCC, pv.BusinessName, pv.TeamName = strings.TrimSpace(uscc), biz, team
	return CodeCheck{Outcome: CodeValid, Visit: &pv}, nil
}

// scanUserAgent makes a user agent storable: valid UTF-8, no NULs, at most
// maxScanUserAgent characters. A scan is recorded whatever the phone sends.
func scanUserAgent(ua string) string {
	ua = strings.ReplaceAll(strings.ToValidUTF8(ua, "\uFFFD"), "\x00", "")
	if utf8.RuneCountInString(ua) > maxScanUserAgent {
		r := []rune(ua)
		ua = string(r[:maxScanUserAgent])
	}
	return ua
}

// VisitCodeScan is one recorded scan of a code this service signed.
type VisitCodeScan struct {
	ID         int64     `json:"id"`
	PlanID     int64     `json:"plan_id"`
	VisitSeq   int       `json:"visit_seq"`
	Generation int       `json:"generation"`
	Outcome    string    `json:"outcome"`
	UserAgent  string    `json:"user_agent"`
	ScannedAt  time.Time `json:"scanned_at"`
}

// VisitCodeScans lists the scans of visit seq of plan planID, oldest first,
// with this replica's buffered scans written first.
func (s *Store) VisitCodeScans(ctx context.Context, planID int64, seq int) ([]VisitCodeScan, error) {
	if err := s.FlushScans(ctx); err != nil {
		return nil, err
	}
	var out []VisitCodeScan
	err := s.db.WithContext(ctx).Raw(`SELECT id, plan_id, visit_seq, generation, outcome, user_agent, scanned_at
		FROM visit_code_scans WHERE plan_id = ? AND visit_seq = ? ORDER BY id`, planID, seq).Scan(&out).Error
	return nonNil(out), translate(err, visitObject(planID, seq)+" scans")
}

// VisitCodeRevocation is one revoked code of a visit.
type VisitCodeRevocation struct {
	PlanID     int64     `json:"plan_id"`
	VisitSeq   int       `json:"visit_seq"`
	Generation int       `json:"generation"`
	Reason     string    `json:"reason"`
	RevokedBy  string    `json:"revoked_by"`
	RevokedAt  time.Time `json:"revoked_at"`
	// Current is the visit's code after the revocation.
	Current VisitCodeInfo `json:"current" gorm:"-"`
}

// RevokeVisitCode revokes the current code of visit seq of published plan
// planID (a printed notice lost, a code photographed and misused) and returns
// the revocation with the visit's new code. Refused with a validation error:
// an empty or over-long reason ("reason"). A visit not in a published plan is
// ErrNotFound. Audited as "visit_code.revoke". The people holding the revoked
// code are told the new one through the outbox (OutboxCodeRevoked).
func (s *Store) RevokeVisitCode(ctx context.Context, actor string, planID int64, seq int, reason string) (VisitCodeRevocation, error) {
	reason = strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return VisitCodeRevocation{}, domain.Invalid("reason", "is required: say why the code is revoked")
	case n > maxRevokeReason:
		return VisitCodeRevocation{}, domain.Invalid("reason", "must be at most %d characters, got %d", maxRevokeReason, n)
	case !utf8.ValidString(reason) || strings.ContainsRune(reason, 0):
		return VisitCodeRevocation{}, domain.Invalid("reason", "must be valid UTF-8 text without NUL characters")
	}
	if seq <= 0 || seq > math.MaxInt32 {
		return VisitCodeRevocation{}, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	var out VisitCodeRevocation
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// The visit's row lock orders revocations of its code: the next
		// generation is counted and written under it.
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM (SELECT 1 FROM plan_visits v JOIN plans p ON p.id = v.plan_id
				WHERE v.plan_id = ? AND v.seq = ? AND p.status = ? FOR UPDATE OF v) x`, planID, seq, PlanPublished).
			Row().Scan(&n); err != nil {
			return translate(err, visitObject(planID, seq))
		}
		if n == 0 {
			return fmt.Errorf("%s: no visit of a published plan: %w", visitObject(planID, seq), domain.ErrNotFound)
		}
		var gen int
		if err := tx.Raw(`SELECT count(*) FROM visit_code_revocations WHERE plan_id = ? AND visit_seq = ?`, planID, seq).
			Row().Scan(&gen); err != nil {
			return translate(err, visitObject(planID, seq)+" revocations")
		}
		out = VisitCodeRevocation{PlanID: planID, VisitSeq: seq, Generation: gen, Reason: reason, RevokedBy: actor}
		if err := tx.Raw(`INSERT INTO visit_code_revocations (plan_id, visit_seq, generation, reason, revoked_by)
			VALUES (?, ?, ?, ?, ?) RETURNING revoked_at`, planID, seq, gen, reason, actor).Row().Scan(&out.RevokedAt); err != nil {
			return translate(err, visitObject(planID, seq)+" revocation")
		}
		// Whoever holds the revoked code must be given the new one, and that
		// must not be lost: the outbox row is written with the revocation
		// (one per visit, re-armed by a later revocation, like a move's).
		if err := armVisitOutbox(tx, planID, seq, OutboxCodeRevoked, "generation", gen+1); err != nil {
			return err
		}
		return appendAudit(tx, actor, "visit_code.revoke", visitObject(planID, seq), OutcomeOK, map[string]any{
			"generation": gen, "reason": reason,
		})
	})
	if err != nil {
		return VisitCodeRevocation{}, err
	}
	out.Current, err = s.VisitCode(ctx, planID, seq)
	return out, err
}

// LastRevocation returns the latest revocation of visit seq of plan planID;
// ErrNotFound when its code was never revoked.
func (s *Store) LastRevocation(ctx context.Context, planID int64, seq int) (VisitCodeRevocation, error) {
	var out VisitCodeRevocation
	res := s.db.WithContext(ctx).Raw(`SELECT plan_id, visit_seq, generation, reason, revoked_by, revoked_at
		FROM visit_code_revocations WHERE plan_id = ? AND visit_seq = ? ORDER BY generation DESC LIMIT 1`, planID, seq).Scan(&out)
	if res.Error != nil {
		return VisitCodeRevocation{}, translate(res.Error, visitObject(planID, seq)+" revocations")
	}
	if res.RowsAffected == 0 {
		return VisitCodeRevocation{}, fmt.Errorf("%s: no revoked code: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	return out, nil
}

// ParseVisitCode checks a code's signature without recording a scan, for
// rendering its QR image: a code this service did not sign is ErrNotFound.
func (s *Store) ParseVisitCode(ctx context.Context, text string) (VisitKey, error) {
	key, err := s.visitCodeKey(ctx)
	if err != nil {
		return VisitKey{}, err
	}
	c, err := visitcode.Parse(key, text)
	if err != nil {
		return VisitKey{}, fmt.Errorf("visit code: %v: %w", err, domain.ErrNotFound)
	}
	return VisitKey{PlanID: c.PlanID, VisitSeq: c.VisitSeq}, nil
}
