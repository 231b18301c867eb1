package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/lib/pq"

	"inspectonce/domain"
)

// The planner's workspace (issue 18 part 1): what became of a department's
// demands, the population a sampling rule would draw from, and the
// department's results.

// PopulationFilter is a sampling rule's population filter; empty filters do
// not restrict (domain.SampleRule without its size).
type PopulationFilter struct {
	RegionIDs     []int64
	IndustryCodes []string
	ScenarioID    *int64
	RiskCodes     []string
}

// Population counts the businesses a sampling rule matches, as the planner's
// Resolve filters them: regions with everything below them, industries, the
// scenario's industries (an unknown scenario matches nothing) and risk codes.
type Population struct {
	// Matching is every registered business the filters match.
	Matching int `json:"matching"`
	// LeaveAlone are those on the 无事不扰 list: a sample never draws them.
	LeaveAlone int `json:"leave_alone"`
	// Key are those on the key (重点) list: inspected on top of the sample
	// drawn from the rest (docs/draws.md §3.2).
	Key int `json:"key"`
	// Frame is Matching less LeaveAlone: what the draw is made from before
	// the cool-down and yearly cap, which depend on the plan's dates.
	Frame int `json:"population"`
}

// CountPopulation counts the businesses f matches (see Population).
func (s *Store) CountPopulation(ctx context.Context, f PopulationFilter) (Population, error) {
	var scenario sql.NullInt64
	if f.ScenarioID != nil {
		scenario = sql.NullInt64{Int64: *f.ScenarioID, Valid: true}
	}
	var p Population
	err := s.sql.QueryRowContext(ctx, `
WITH RECURSIVE sub AS (
	SELECT id FROM regions WHERE id = ANY($1::bigint[])
	UNION
	SELECT r.id FROM regions r JOIN sub ON r.parent_id = sub.id)
SELECT count(*), count(*) FILTER (WHERE b.list_kind = 'leave_alone'), count(*) FILTER (WHERE b.list_kind = 'key')
FROM businesses b
WHERE (cardinality($1::bigint[]) = 0 OR b.region_id IN (SELECT id FROM sub))
	AND (cardinality($2::text[]) = 0 OR b.industry_code = ANY($2::text[]))
	AND ($3::bigint IS NULL OR b.industry_code = ANY(coalesce((SELECT industry_codes FROM scenarios WHERE id = $3), '{}')))
	AND (cardinality($4::text[]) = 0 OR b.risk_code = ANY($4::text[]))`,
		pq.Int64Array(nonNil(f.RegionIDs)), pq.StringArray(nonNil(f.IndustryCodes)), scenario, pq.StringArray(nonNil(f.RiskCodes))).
		Scan(&p.Matching, &p.LeaveAlone, &p.Key)
	if err != nil {
		return Population{}, translatePg(err, "population")
	}
	p.Frame = p.Matching - p.LeaveAlone
	return p, nil
}

// IndustryCodes lists the industry codes of the registered businesses with
// how many each has, most first: the choices a sampling rule's industry
// filter offers.
func (s *Store) IndustryCodes(ctx context.Context) ([]IndustryCount, error) {
	var out []IndustryCount
	err := s.queryRows(ctx, `SELECT industry_code, count(*) FROM businesses GROUP BY 1 ORDER BY 2 DESC, 1`, nil,
		func(rows *sql.Rows) error {
			var c IndustryCount
			if err := rows.Scan(&c.Code, &c.Businesses); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("industry codes: %w", err)
	}
	return out, nil
}

// IndustryCount is an industry code and its number of businesses.
type IndustryCount struct {
	Code       string
	Businesses int
}

// Demand progress states, as the planner's workspace shows them. Only open
// and cancelled are stored; the others are read from published plans and
// results.
const (
	ProgressOpen      = "open"      // no published plan has placed or refused it yet
	ProgressPlanned   = "planned"   // some of its tasks are in published visits
	ProgressUnplaced  = "unplaced"  // the latest published plan could not place it
	ProgressDone      = "done"      // every placed task is in a confirmed visit report (unplaced ones are still listed)
	ProgressCancelled = "cancelled" // cancelled, with the reason
)

// DemandPlacement is where one published plan put a demand's tasks.
type DemandPlacement struct {
	// PlanID is the plan that placed them (for a join: the joining plan).
	PlanID int64
	// Visits is the number of visits carrying its tasks; Joined of them are
	// visits of an earlier plan the tasks joined.
	Visits, Joined int
	// Tasks is the number of its tasks placed; Reported of them are in
	// confirmed visit reports.
	Tasks, Reported int
	// Dates are the visits' effective dates (after moves), distinct, in order.
	Dates []time.Time
}

// DemandUnplaced is one reason the latest published plan gave for tasks of a
// demand it could not place (planner.Reason* codes), and how many.
type DemandUnplaced struct {
	Reason string
	Tasks  int
}

// DemandProgress is a demand with what became of it.
type DemandProgress struct {
	domain.Demand
	DepartmentCode string
	DepartmentName string
	State          string
	Placements     []DemandPlacement
	Unplaced       []DemandUnplaced
	// Outcomes counts the current results of its tasks by outcome
	// (compliant, minor, violation, transferred, not_done).
	Outcomes map[string]int
}

// Results is the number of its tasks with a result.
func (d DemandProgress) Results() int {
	n := 0
	for _, c := range d.Outcomes {
		n += c
	}
	return n
}

// DemandBoard lists demands newest first with their progress: departmentID
// 0 means every department; before (a demand id, 0 = from the newest) and
// limit page through them. next is the cursor of the following page, 0 when
// there is none.
func (s *Store) DemandBoard(ctx context.Context, departmentID, before int64, limit int) (out []DemandProgress, next int64, err error) {
	if limit <= 0 || limit > MaxLimit {
		limit = DefaultLimit
	}
	q := s.db.WithContext(ctx).Model(&demandRow{}).Select(demandSelect)
	if departmentID != 0 {
		q = q.Where("department_id = ?", departmentID)
	}
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var rows []demandRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, 0, translate(err, "demands")
	}
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	if len(rows) == 0 {
		return nil, 0, nil
	}
	ids := make([]int64, len(rows))
	byID := make(map[int64]*DemandProgress, len(rows))
	out = make([]DemandProgress, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		out[i] = DemandProgress{Demand: r.domain(), Outcomes: map[string]int{}}
		byID[r.ID] = &out[i]
	}
	if err := s.fillProgress(ctx, ids, byID); err != nil {
		return nil, 0, err
	}
	for i := range out {
		out[i].State = progressState(&out[i])
	}
	return out, next, nil
}

func progressState(d *DemandProgress) string {
	if d.Status == domain.DemandCancelled {
		return ProgressCancelled
	}
	tasks, reported := 0, 0
	for _, p := range d.Placements {
		tasks += p.Tasks
		reported += p.Reported
	}
	switch {
	case tasks > 0 && reported == tasks:
		return ProgressDone
	case tasks > 0:
		return ProgressPlanned
	case len(d.Unplaced) > 0:
		return ProgressUnplaced
	}
	return ProgressOpen
}

// fillProgress reads departments, placements, unplaced reasons and outcomes
// of the demands ids.
func (s *Store) fillProgress(ctx context.Context, ids []int64, byID map[int64]*DemandProgress) error {
	arg := pq.Int64Array(ids)
	err := s.queryRows(ctx, `SELECT d.id, p.code, p.name FROM demands d JOIN departments p ON p.id = d.department_id
WHERE d.id = ANY($1::bigint[])`, []any{arg}, func(rows *sql.Rows) error {
		var id int64
		var code, name string
		if err := rows.Scan(&id, &code, &name); err != nil {
			return err
		}
		byID[id].DepartmentCode, byID[id].DepartmentName = code, name
		return nil
	})
	if err != nil {
		return fmt.Errorf("demand departments: %w", err)
	}
	// Placed tasks: rows of published plans' visits, at the visits' effective
	// dates. A task that joined an earlier plan's visit is copied into that
	// plan on publication (added_by_plan_id names the joining plan).
	err = s.queryRows(ctx, `
SELECT t.demand_id, coalesce(t.added_by_plan_id, t.plan_id),
	count(DISTINCT (t.plan_id, t.visit_seq)),
	count(DISTINCT (t.plan_id, t.visit_seq)) FILTER (WHERE t.added_by_plan_id IS NOT NULL),
	count(*),
	count(*) FILTER (WHERE EXISTS (SELECT 1 FROM visit_reports r WHERE r.plan_id = t.plan_id AND r.visit_seq = t.visit_seq)),
	array_agg(DISTINCT v.date::text ORDER BY v.date::text)
FROM plan_tasks t JOIN published_visits v ON v.plan_id = t.plan_id AND v.seq = t.visit_seq
WHERE t.demand_id = ANY($1::bigint[]) AND t.visit_seq IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2`, []any{arg}, func(rows *sql.Rows) error {
		var id int64
		var p DemandPlacement
		var dates pq.StringArray
		if err := rows.Scan(&id, &p.PlanID, &p.Visits, &p.Joined, &p.Tasks, &p.Reported, &dates); err != nil {
			return err
		}
		for _, d := range dates {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return fmt.Errorf("visit date %q: %w", d, err)
			}
			p.Dates = append(p.Dates, t)
		}
		byID[id].Placements = append(byID[id].Placements, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("demand placements: %w", err)
	}
	// Unplaced: what the latest published plan that planned the demand could
	// not place and no published plan placed since (a list target placed
	// later, a task joined instead, …).
	err = s.queryRows(ctx, `
WITH last AS (
	SELECT t.demand_id, max(t.plan_id) AS plan_id
	FROM plan_tasks t JOIN plans p ON p.id = t.plan_id AND p.status = 'published'
	WHERE t.demand_id = ANY($1::bigint[]) AND t.added_by_plan_id IS NULL
	GROUP BY 1)
SELECT t.demand_id, t.unplaced_reason, count(*)
FROM plan_tasks t JOIN last l ON l.demand_id = t.demand_id AND l.plan_id = t.plan_id
WHERE t.unplaced_reason IS NOT NULL AND NOT EXISTS (
	SELECT 1 FROM plan_tasks x JOIN plans xp ON xp.id = x.plan_id AND xp.status = 'published'
	WHERE x.demand_id = t.demand_id AND x.uscc = t.uscc AND x.item_id = t.item_id
		AND (x.visit_seq IS NOT NULL OR x.join_plan_id IS NOT NULL))
GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`, []any{arg}, func(rows *sql.Rows) error {
		var id int64
		var u DemandUnplaced
		if err := rows.Scan(&id, &u.Reason, &u.Tasks); err != nil {
			return err
		}
		byID[id].Unplaced = append(byID[id].Unplaced, u)
		return nil
	})
	if err != nil {
		return fmt.Errorf("demand unplaced tasks: %w", err)
	}
	err = s.queryRows(ctx, `SELECT demand_id, outcome, count(*) FROM current_task_results
WHERE demand_id = ANY($1::bigint[]) GROUP BY 1, 2`, []any{arg}, func(rows *sql.Rows) error {
		var id int64
		var outcome string
		var n int
		if err := rows.Scan(&id, &outcome, &n); err != nil {
			return err
		}
		byID[id].Outcomes[outcome] = n
		return nil
	})
	if err != nil {
		return fmt.Errorf("demand results: %w", err)
	}
	for _, d := range byID {
		sort.Slice(d.Placements, func(i, j int) bool { return d.Placements[i].PlanID < d.Placements[j].PlanID })
	}
	return nil
}

// DepartmentResult is the current result of one task of a department's
// demand, for the department's download.
type DepartmentResult struct {
	DemandID       int64
	DemandTitle    string
	PlanID         int64
	VisitSeq       int
	VisitDate      time.Time
	USCC           string
	BusinessName   string
	ItemCode       string
	ItemName       string
	LegalBasis     string
	Outcome        string
	RuleCited      string
	RectifyBy      *time.Time
	TransferredTo  string // the department's code
	NotDoneReason  string
	Note           string
	RecordedAt     time.Time
	Confirmed      bool // the visit's results were confirmed (visit_reports)
	DepartmentCode string
}

// EachDepartmentResult calls fn with the current result of every task of
// departmentID's demands (0: every department), by visit date, visit and task.
func (s *Store) EachDepartmentResult(ctx context.Context, departmentID int64, fn func(DepartmentResult) error) error {
	err := s.queryRows(ctx, `
SELECT r.demand_id, d.title, r.plan_id, r.visit_seq, coalesce(rep.visit_date, v.date, pv.date), r.uscc::text,
	coalesce(b.name, ''), i.code, i.name, i.legal_basis, r.outcome, r.rule_cited, r.rectify_by,
	coalesce(td.code, ''), coalesce(r.not_done_reason, ''), r.note, r.recorded_at, rep.plan_id IS NOT NULL, dp.code
FROM current_task_results r
	JOIN demands d ON d.id = r.demand_id
	JOIN departments dp ON dp.id = r.department_id
	JOIN items i ON i.id = r.item_id
	LEFT JOIN businesses b ON b.uscc = r.uscc
	LEFT JOIN departments td ON td.id = r.transferred_to
	LEFT JOIN visit_reports rep ON rep.plan_id = r.plan_id AND rep.visit_seq = r.visit_seq
	LEFT JOIN published_visits v ON v.plan_id = r.plan_id AND v.seq = r.visit_seq
	JOIN plan_visits pv ON pv.plan_id = r.plan_id AND pv.seq = r.visit_seq
WHERE ($1::bigint = 0 OR r.department_id = $1)
ORDER BY 5, r.plan_id, r.visit_seq, r.task_seq`, []any{departmentID}, func(rows *sql.Rows) error {
		var x DepartmentResult
		var rectify sql.NullTime
		if err := rows.Scan(&x.DemandID, &x.DemandTitle, &x.PlanID, &x.VisitSeq, &x.VisitDate, &x.USCC, &x.BusinessName,
			&x.ItemCode, &x.ItemName, &x.LegalBasis, &x.Outcome, &x.RuleCited, &rectify, &x.TransferredTo,
			&x.NotDoneReason, &x.Note, &x.RecordedAt, &x.Confirmed, &x.DepartmentCode); err != nil {
			return err
		}
		if rectify.Valid {
			t := rectify.Time
			x.RectifyBy = &t
		}
		return fn(x)
	})
	if err != nil {
		return fmt.Errorf("department results: %w", err)
	}
	return nil
}

// PopulationEstimate is a population with the sample a rule of that size
// would draw from it (nil when the rule gives neither count nor ratio).
type PopulationEstimate struct {
	Population
	Expected *int `json:"expected"`
}
