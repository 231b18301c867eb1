package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// PublicationWorkingDays is the 一公开 deadline: a visit's results are public
// within this many working days of its (effective) date.
const PublicationWorkingDays = 20

// PublishReports publishes up to limit confirmed, unpublished visit reports,
// the earliest due first, in one transaction, and returns how many it
// published. Rows another publisher holds are skipped (FOR UPDATE SKIP
// LOCKED), so two runs at once publish disjoint reports and never one twice;
// a report already published is never touched again. The batch is audited as
// "results.publish" with the visits it published.
func (s *Store) PublishReports(ctx context.Context, actor string, limit int) (int, error) {
	if limit <= 0 {
		limit = 500
	}
	var done []struct {
		PlanID   int64
		VisitSeq int
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`UPDATE visit_reports r SET published_at = now()
			FROM (SELECT plan_id, visit_seq FROM visit_reports WHERE published_at IS NULL
				ORDER BY publish_due, plan_id, visit_seq LIMIT ? FOR UPDATE SKIP LOCKED) w
			WHERE r.plan_id = w.plan_id AND r.visit_seq = w.visit_seq AND r.published_at IS NULL
			RETURNING r.plan_id, r.visit_seq`, limit).Scan(&done).Error; err != nil {
			return translate(err, "publish visit reports")
		}
		if len(done) == 0 {
			return nil
		}
		visits := make([]string, len(done))
		for i, d := range done {
			visits[i] = visitObject(d.PlanID, d.VisitSeq)
		}
		return appendAudit(tx, actor, "results.publish", "publication", OutcomeOK,
			map[string]any{"published": len(done), "visits": visits})
	})
	if err != nil {
		return 0, err
	}
	return len(done), nil
}

// UnpublishedReports counts the confirmed reports not yet published: the
// work a publication run has before it.
func (s *Store) UnpublishedReports(ctx context.Context) (int, error) {
	var n int
	if err := s.sql.QueryRowContext(ctx, `SELECT count(*) FROM visit_reports WHERE published_at IS NULL`).Scan(&n); err != nil {
		return 0, translatePg(err, "unpublished reports")
	}
	return n, nil
}

// ResultFilter selects published results by visit date (civil dates, both
// included; zero = unbounded).
type ResultFilter struct {
	From, To time.Time
}

// ResultCursor is the position after a published result in the public list:
// results are ordered by visit date, plan and visit.
type ResultCursor struct {
	Date     time.Time
	PlanID   int64
	VisitSeq int
}

// String is the cursor as the list hands it out: date.plan.visit.
func (c ResultCursor) String() string {
	return fmt.Sprintf("%s.%d.%d", civilDate(c.Date), c.PlanID, c.VisitSeq)
}

// ParseResultCursor reads a cursor written by ResultCursor.String; anything
// else is a validation error on field "after". "" is the start.
func ParseResultCursor(s string) (ResultCursor, error) {
	if s == "" {
		return ResultCursor{}, nil
	}
	bad := domain.Invalid("after", "not a cursor returned by this list")
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return ResultCursor{}, bad
	}
	d, err := time.Parse(time.DateOnly, parts[0])
	if err != nil {
		return ResultCursor{}, bad
	}
	plan, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || plan <= 0 {
		return ResultCursor{}, bad
	}
	seq, err := strconv.ParseInt(parts[2], 10, 32)
	if err != nil || seq <= 0 {
		return ResultCursor{}, bad
	}
	c := ResultCursor{Date: d, PlanID: plan, VisitSeq: int(seq)}
	if c.String() != s {
		return ResultCursor{}, bad // one spelling per position: no leading zeros or signs
	}
	return c, nil
}

// PublishedResult is one published visit as the public page and the open
// data export show it. It names the inspectors and nothing else about them
// (no certificate numbers, ids or phones).
type PublishedResult struct {
	PlanID       int64                 `json:"plan_id"`
	VisitSeq     int                   `json:"visit_seq"`
	BusinessName string                `json:"business_name"`
	USCC         string                `json:"uscc"`
	VisitDate    string                `json:"visit_date"`
	Departments  []PublishedDepartment `json:"departments"`
	Items        []PublishedItem       `json:"items"`
	Inspectors   []string              `json:"inspectors"`
	PublishDue   string                `json:"publish_due"`
	PublishedAt  time.Time             `json:"published_at"`
	// Draws are the target draws that selected the business for this visit;
	// a business named in a list demand (or a complaint) was not drawn.
	Draws []PublishedDraw `json:"draws"`
}

// PublishedDepartment is a department whose items the visit carried.
type PublishedDepartment struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// PublishedItem is one task's current result.
type PublishedItem struct {
	DepartmentCode string `json:"department_code"`
	// DepartmentName is what the public reads; the code is for machines.
	DepartmentName string `json:"department_name"`
	ItemCode       string `json:"item_code"`
	ItemName       string `json:"item_name"`
	LegalBasis     string `json:"legal_basis"`
	// Outcome is compliant, minor, violation, transferred or not_done.
	Outcome string `json:"outcome"`
	// RuleCited: minor and violation.
	RuleCited string `json:"rule_cited,omitempty"`
	// RectifyBy: violation, the rectification deadline.
	RectifyBy string `json:"rectify_by,omitempty"`
	// TransferredTo: transferred (移送), the receiving department's name.
	TransferredTo string `json:"transferred_to,omitempty"`
	// NotDoneReason: not_done, closed, absent or refused.
	NotDoneReason string `json:"not_done_reason,omitempty"`
}

// PublishedDraw is the public identity of a target draw: with the plan's
// revealed seed and, once the year is closed, the year key, anyone can
// recompute it (`inspectonce draw verify`).
type PublishedDraw struct {
	PlanID         int64   `json:"plan_id"`
	Seq            int     `json:"seq"`
	DemandID       int64   `json:"demand_id"`
	DepartmentCode string  `json:"department_code"`
	DepartmentName string  `json:"department_name"`
	FrameHash      string  `json:"frame_hash"`
	FrameSize      int     `json:"frame_size"`
	N              int     `json:"n"`
	Shift          float64 `json:"shift"`
	Year           int     `json:"year"`
	SeedHash       Hex     `json:"seed_hash"`
	Seed           Hex     `json:"seed"`
	YearKeyHash    Hex     `json:"year_key_hash"`
	// YearKey is null until the year is closed and its key revealed.
	YearKey Hex `json:"year_key"`
}

// PublishedResults returns up to limit published results of f after the
// cursor, ordered by visit date, plan and visit, and the next cursor ("" on
// the last page).
func (s *Store) PublishedResults(ctx context.Context, f ResultFilter, after string, limit int) (Paged[PublishedResult], error) {
	cur, err := ParseResultCursor(after)
	if err != nil {
		return Paged[PublishedResult]{}, err
	}
	lim := Page{Limit: limit}.limit()
	out, err := s.publishedPage(ctx, f, cur, lim, newDrawCache())
	if err != nil {
		return Paged[PublishedResult]{}, err
	}
	return out, nil
}

// EachPublishedResult calls fn for every published result of f in list
// order, reading them a page at a time so an export of any size streams.
func (s *Store) EachPublishedResult(ctx context.Context, f ResultFilter, fn func(PublishedResult) error) error {
	cur := ResultCursor{}
	cache := newDrawCache()
	for {
		page, err := s.publishedPage(ctx, f, cur, 500, cache)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		if cur, err = ParseResultCursor(page.Next); err != nil {
			return err
		}
	}
}

// drawCache keeps the draws an export has read: many visits share one draw,
// and reading a frame's size decompresses it.
type drawCache struct {
	byDemand map[[2]int64][]cachedDraw
}

type cachedDraw struct {
	PublishedDraw
	result map[string]bool
}

func newDrawCache() *drawCache { return &drawCache{byDemand: map[[2]int64][]cachedDraw{}} }

func civilOrEmpty(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return civilDate(t)
}

func (s *Store) publishedPage(ctx context.Context, f ResultFilter, cur ResultCursor, lim int, cache *drawCache) (Paged[PublishedResult], error) {
	var out Paged[PublishedResult]
	var curDate any
	if cur.PlanID != 0 {
		curDate = civilDate(cur.Date)
	}
	index := map[[2]int64]int{}
	err := s.queryRows(ctx, `
SELECT r.plan_id, r.visit_seq, coalesce(b.name, ''), r.uscc, r.visit_date, r.publish_due, r.published_at
FROM visit_reports r LEFT JOIN businesses b ON b.uscc = r.uscc
WHERE r.published_at IS NOT NULL
	AND ($1::date IS NULL OR r.visit_date >= $1::date) AND ($2::date IS NULL OR r.visit_date <= $2::date)
	AND ($3::date IS NULL OR (r.visit_date, r.plan_id, r.visit_seq) > ($3::date, $4::bigint, $5::int))
ORDER BY r.visit_date, r.plan_id, r.visit_seq
LIMIT $6`, []any{civilOrEmpty(f.From), civilOrEmpty(f.To), curDate, cur.PlanID, cur.VisitSeq, lim + 1},
		func(rows *sql.Rows) error {
			var r PublishedResult
			var vd, due time.Time
			if err := rows.Scan(&r.PlanID, &r.VisitSeq, &r.BusinessName, &r.USCC, &vd, &due, &r.PublishedAt); err != nil {
				return err
			}
			r.VisitDate, r.PublishDue = civilDate(vd), civilDate(due)
			r.Departments, r.Items, r.Inspectors, r.Draws = []PublishedDepartment{}, []PublishedItem{}, []string{}, []PublishedDraw{}
			index[[2]int64{r.PlanID, int64(r.VisitSeq)}] = len(out.Items)
			out.Items = append(out.Items, r)
			return nil
		})
	if err != nil {
		return out, fmt.Errorf("published results: %w", err)
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		last := out.Items[lim-1]
		d, _ := time.Parse(time.DateOnly, last.VisitDate)
		out.Next = ResultCursor{Date: d, PlanID: last.PlanID, VisitSeq: last.VisitSeq}.String()
	}
	if len(out.Items) == 0 {
		return out, nil
	}
	plans := make(pq.Int64Array, len(out.Items))
	seqs := make(pq.Int64Array, len(out.Items))
	for i, r := range out.Items {
		plans[i], seqs[i] = r.PlanID, int64(r.VisitSeq)
	}
	at := func(plan int64, seq int) *PublishedResult {
		i, ok := index[[2]int64{plan, int64(seq)}]
		if !ok || i >= len(out.Items) {
			return nil
		}
		return &out.Items[i]
	}

	// The current result of each task: its latest row. Filtering task_results
	// by visit before DISTINCT ON is the same as reading current_task_results
	// (every row of a task names its visit) and uses the visit index.
	err = s.queryRows(ctx, `
SELECT c.plan_id, c.visit_seq, d.code, d.name, i.code, i.name, i.legal_basis, c.outcome, c.rule_cited, c.rectify_by,
	coalesce(td.name, ''), coalesce(c.not_done_reason, '')
FROM (SELECT DISTINCT ON (t.plan_id, t.task_seq) t.*
	FROM task_results t JOIN unnest($1::bigint[], $2::int[]) AS k(plan_id, visit_seq)
		ON k.plan_id = t.plan_id AND k.visit_seq = t.visit_seq
	ORDER BY t.plan_id, t.task_seq, t.id DESC) c
JOIN departments d ON d.id = c.department_id JOIN items i ON i.id = c.item_id
LEFT JOIN departments td ON td.id = c.transferred_to
ORDER BY c.plan_id, c.visit_seq, d.code, i.code, c.task_seq`, []any{plans, seqs}, func(rows *sql.Rows) error {
		var (
			plan    int64
			seq     int
			it      PublishedItem
			rectify sql.NullTime
		)
		if err := rows.Scan(&plan, &seq, &it.DepartmentCode, &it.DepartmentName, &it.ItemCode, &it.ItemName, &it.LegalBasis,
			&it.Outcome, &it.RuleCited, &rectify, &it.TransferredTo, &it.NotDoneReason); err != nil {
			return err
		}
		if rectify.Valid {
			it.RectifyBy = civilDate(rectify.Time)
		}
		r := at(plan, seq)
		if r == nil {
			return nil
		}
		r.Items = append(r.Items, it)
		if n := len(r.Departments); n == 0 || r.Departments[n-1].Code != it.DepartmentCode {
			r.Departments = append(r.Departments, PublishedDepartment{Code: it.DepartmentCode, Name: it.DepartmentName})
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("published results: items: %w", err)
	}

	err = s.queryRows(ctx, `
SELECT a.plan_id, a.visit_seq, i.name
FROM visit_assignments a JOIN unnest($1::bigint[], $2::int[]) AS k(plan_id, visit_seq)
	ON k.plan_id = a.plan_id AND k.visit_seq = a.visit_seq
JOIN inspectors i ON i.id = a.inspector_id
ORDER BY a.plan_id, a.visit_seq, a.ord`, []any{plans, seqs}, func(rows *sql.Rows) error {
		var plan int64
		var seq int
		var name string
		if err := rows.Scan(&plan, &seq, &name); err != nil {
			return err
		}
		if r := at(plan, seq); r != nil {
			r.Inspectors = append(r.Inspectors, name)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("published results: inspectors: %w", err)
	}

	// The demands behind each visit's tasks; the draws of those demands in
	// the visit's plan are read once per export.
	type visitDemand struct {
		plan   int64
		seq    int
		demand int64
	}
	var vds []visitDemand
	missing := map[[2]int64]bool{}
	err = s.queryRows(ctx, `
SELECT DISTINCT t.plan_id, t.visit_seq, t.demand_id
FROM plan_tasks t JOIN unnest($1::bigint[], $2::int[]) AS k(plan_id, visit_seq)
	ON k.plan_id = t.plan_id AND k.visit_seq = t.visit_seq
ORDER BY 1, 2, 3`, []any{plans, seqs}, func(rows *sql.Rows) error {
		var vd visitDemand
		if err := rows.Scan(&vd.plan, &vd.seq, &vd.demand); err != nil {
			return err
		}
		vds = append(vds, vd)
		if _, ok := cache.byDemand[[2]int64{vd.plan, vd.demand}]; !ok {
			missing[[2]int64{vd.plan, vd.demand}] = true
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("published results: demands: %w", err)
	}
	if len(missing) > 0 {
		mp, md := make(pq.Int64Array, 0, len(missing)), make(pq.Int64Array, 0, len(missing))
		for k := range missing {
			mp, md = append(mp, k[0]), append(md, k[1])
			cache.byDemand[k] = nil
		}
		err = s.queryRows(ctx, `
SELECT pd.plan_id, pd.seq, pd.demand_id, coalesce(dp.code, ''), coalesce(dp.name, ''), pd.frame_hash, json_array_length(pd.frame), pd.n, pd.shift,
	p.year, p.seed_hash, CASE WHEN p.status = 'published' THEN p.seed END, y.key_hash,
	CASE WHEN y.revealed_at IS NOT NULL THEN y.key END, pd.result::text
FROM plan_draws pd JOIN unnest($1::bigint[], $2::bigint[]) AS k(plan_id, demand_id)
	ON k.plan_id = pd.plan_id AND k.demand_id = pd.demand_id
JOIN plans p ON p.id = pd.plan_id JOIN year_keys y ON y.year = p.year
LEFT JOIN demands dm ON dm.id = pd.demand_id LEFT JOIN departments dp ON dp.id = dm.department_id
WHERE pd.kind = 'targets'
ORDER BY pd.plan_id, pd.seq`, []any{mp, md}, func(rows *sql.Rows) error {
			var d cachedDraw
			var result string
			var seedHash, seed, keyHash, key []byte
			if err := rows.Scan(&d.PlanID, &d.Seq, &d.DemandID, &d.DepartmentCode, &d.DepartmentName, &d.FrameHash, &d.FrameSize, &d.N, &d.Shift,
				&d.Year, &seedHash, &seed, &keyHash, &key, &result); err != nil {
				return err
			}
			d.SeedHash, d.Seed, d.YearKeyHash, d.YearKey = seedHash, seed, keyHash, key
			var keys []string
			if err := json.Unmarshal([]byte(result), &keys); err != nil {
				return fmt.Errorf("draw %d of plan %d: result: %w", d.Seq, d.PlanID, err)
			}
			d.result = make(map[string]bool, len(keys))
			for _, k := range keys {
				d.result[k] = true
			}
			k := [2]int64{d.PlanID, d.DemandID}
			cache.byDemand[k] = append(cache.byDemand[k], d)
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("published results: draws: %w", err)
		}
	}
	for _, vd := range vds {
		r := at(vd.plan, vd.seq)
		if r == nil {
			continue
		}
		for _, d := range cache.byDemand[[2]int64{vd.plan, vd.demand}] {
			if d.result[r.USCC] {
				r.Draws = append(r.Draws, d.PublishedDraw)
			}
		}
	}
	return out, nil
}

// ---- dashboard

// PublicationQuery sets the day a publication dashboard is read on.
type PublicationQuery struct {
	// Today is the civil date in the configured zone.
	Today time.Time
	// AddWorkingDays is the working-day calendar (calendar.AddWorkingDays):
	// it gives the deadline of a visit with no report, so a published visit
	// whose deadline passed with no report is overdue. nil counts Monday to
	// Friday.
	AddWorkingDays func(time.Time, int) time.Time
	// WorkingDays is the publication deadline in working days (default
	// PublicationWorkingDays); reports carry their own publish_due.
	WorkingDays int
	// Location is the zone whose civil date of published_at is compared with
	// publish_due.
	Location *time.Location
	// DepartmentID, when set, keeps visits carrying that department's tasks.
	DepartmentID int64
	// Limit bounds each list (default 100).
	Limit int
}

// OverdueCutoff is the latest visit date d whose publication deadline,
// addWorkingDays(d, n), lies before today. Deadlines grow with the visit
// date, so walking back from today finds it.
func OverdueCutoff(today time.Time, addWorkingDays func(time.Time, int) time.Time, n int) time.Time {
	d := today.AddDate(0, 0, -1)
	for i := 0; i < 3660 && !addWorkingDays(d, n).Before(today); i++ {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// PublicationVisit is one visit on the publication dashboard.
type PublicationVisit struct {
	PlanID       int64  `json:"plan_id"`
	VisitSeq     int    `json:"visit_seq"`
	USCC         string `json:"uscc"`
	BusinessName string `json:"business_name"`
	VisitDate    string `json:"visit_date"`
	// PublishDue is the deadline (the report's, or for a visit with no
	// report the 20th working day after its date).
	PublishDue string `json:"publish_due"`
	// State is due (confirmed, to be published), unpublished (confirmed,
	// past its deadline) or unreported (no confirmed report, past its
	// deadline).
	State string `json:"state"`
}

// PublicationDashboard is what results are due, published and overdue.
type PublicationDashboard struct {
	Today string `json:"today"`
	// Due: confirmed, unpublished, deadline not passed.
	Due int `json:"due"`
	// PublishedOnTime / PublishedLate: published on or before the deadline
	// (in the configured zone), or after it.
	PublishedOnTime int `json:"published_on_time"`
	PublishedLate   int `json:"published_late"`
	// OverdueUnpublished: confirmed, unpublished, deadline passed.
	OverdueUnpublished int `json:"overdue_unpublished"`
	// OverdueUnreported: visits of published plans whose deadline passed
	// with no confirmed report at all.
	OverdueUnreported int `json:"overdue_unreported"`
	// DueVisits and OverdueVisits list the first Limit of each, the most
	// urgent first.
	DueVisits     []PublicationVisit `json:"due_visits"`
	OverdueVisits []PublicationVisit `json:"overdue_visits"`
}

// PublicationStatus reads the publication dashboard for q.Today.
func (s *Store) PublicationStatus(ctx context.Context, q PublicationQuery) (PublicationDashboard, error) {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	lim := q.Limit
	if lim <= 0 {
		lim = 100
	}
	today := civilDate(q.Today)
	out := PublicationDashboard{Today: today, DueVisits: []PublicationVisit{}, OverdueVisits: []PublicationVisit{}}
	const carries = `($1::bigint = 0 OR EXISTS (SELECT 1 FROM plan_tasks t WHERE t.plan_id = %[1]s.plan_id AND t.visit_seq = %[1]s.%[2]s AND t.department_id = $1::bigint))`
	repScope := fmt.Sprintf(carries, "r", "visit_seq")
	visScope := fmt.Sprintf(carries, "v", "seq")
	err := s.sql.QueryRowContext(ctx, `
SELECT count(*) FILTER (WHERE published_at IS NULL AND publish_due >= $2::date),
	count(*) FILTER (WHERE published_at IS NOT NULL AND (published_at AT TIME ZONE $3)::date <= publish_due),
	count(*) FILTER (WHERE published_at IS NOT NULL AND (published_at AT TIME ZONE $3)::date > publish_due),
	count(*) FILTER (WHERE published_at IS NULL AND publish_due < $2::date)
FROM visit_reports r WHERE `+repScope, q.DepartmentID, today, loc.String()).
		Scan(&out.Due, &out.PublishedOnTime, &out.PublishedLate, &out.OverdueUnpublished)
	if err != nil {
		return out, translatePg(err, "publication status")
	}
	add := q.AddWorkingDays
	if add == nil {
		add = weekdaysAfter
	}
	days := q.WorkingDays
	if days <= 0 {
		days = PublicationWorkingDays
	}
	cutoff := civilDate(OverdueCutoff(q.Today, add, days))
	const unreported = `FROM published_visits v LEFT JOIN businesses b ON b.uscc = v.uscc
WHERE v.date <= $2::date AND NOT EXISTS (SELECT 1 FROM visit_reports x WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq) AND `
	if err := s.sql.QueryRowContext(ctx, `SELECT count(*) `+unreported+visScope, q.DepartmentID, cutoff).
		Scan(&out.OverdueUnreported); err != nil {
		return out, translatePg(err, "publication status")
	}
	scan := func(dst *[]PublicationVisit, state string) func(*sql.Rows) error {
		return func(rows *sql.Rows) error {
			v := PublicationVisit{State: state}
			var vd, due time.Time
			if err := rows.Scan(&v.PlanID, &v.VisitSeq, &v.USCC, &v.BusinessName, &vd, &due); err != nil {
				return err
			}
			v.VisitDate, v.PublishDue = civilDate(vd), civilDate(due)
			*dst = append(*dst, v)
			return nil
		}
	}
	if err := s.queryRows(ctx, `SELECT r.plan_id, r.visit_seq, r.uscc, coalesce(b.name, ''), r.visit_date, r.publish_due
FROM visit_reports r LEFT JOIN businesses b ON b.uscc = r.uscc
WHERE r.published_at IS NULL AND r.publish_due >= $2::date AND `+repScope+`
ORDER BY r.publish_due, r.plan_id, r.visit_seq LIMIT $3`, []any{q.DepartmentID, today, lim}, scan(&out.DueVisits, "due")); err != nil {
		return out, fmt.Errorf("publication status: due: %w", err)
	}
	if err := s.queryRows(ctx, `SELECT r.plan_id, r.visit_seq, r.uscc, coalesce(b.name, ''), r.visit_date, r.publish_due
FROM visit_reports r LEFT JOIN businesses b ON b.uscc = r.uscc
WHERE r.published_at IS NULL AND r.publish_due < $2::date AND `+repScope+`
ORDER BY r.publish_due, r.plan_id, r.visit_seq LIMIT $3`, []any{q.DepartmentID, today, lim}, scan(&out.OverdueVisits, "unpublished")); err != nil {
		return out, fmt.Errorf("publication status: overdue: %w", err)
	}
	// A visit with no report has no stored deadline: the calendar gives it.
	var unrep []PublicationVisit
	if err := s.queryRows(ctx, `SELECT v.plan_id, v.seq, v.uscc, coalesce(b.name, ''), v.date, v.date `+unreported+visScope+`
ORDER BY v.date, v.plan_id, v.seq LIMIT $3`, []any{q.DepartmentID, cutoff, lim}, scan(&unrep, "unreported")); err != nil {
		return out, fmt.Errorf("publication status: unreported: %w", err)
	}
	for i := range unrep {
		d, _ := time.Parse(time.DateOnly, unrep[i].VisitDate)
		unrep[i].PublishDue = civilDate(add(d, days))
	}
	out.OverdueVisits = append(out.OverdueVisits, unrep...)
	return out, nil
}

// weekdaysAfter is AddWorkingDays with no holidays: Monday to Friday.
func weekdaysAfter(t time.Time, n int) time.Time {
	d := t
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d
}
