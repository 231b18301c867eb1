package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"inspectonce/domain"
	"inspectonce/planner"
)

// HistoryDays is how far back PlannerInput reads past visits: a year and a day
// covers the yearly cap (calendar year) and any cool-down up to a year.
const HistoryDays = 366

// PlannerInput loads what one planning cycle over [from, to] reads, as the
// planner's plain values: every region, team, inspector (with declared
// conflicts), item and scenario; the businesses (within the subtrees of
// regionIDs when any are given, else all); the open demands whose window
// overlaps the horizon; the history of performed visits in the
// HistoryDays before from (see visitHistory); and the calendar, the
// published visits still to come in the horizon (Booked, see bookedVisits), and the
// inspector unavailabilities and closures overlapping it. Dates are taken as civil dates (their
// year-month-day in their own location). Everything is ordered by key, so the
// same database gives the same input.
//
// A demand already served by a published plan is not planned again: a sample
// demand once any published plan drew it, a list target once a published
// plan placed it (the targets left keep the demand). With regionIDs, a list
// demand keeps only its targets in those regions, and a sample demand is
// planned when its population may reach them (no region filter, or a filter
// region that is inside, or above, one of regionIDs).
//
// The caller sets Policy, Calendar, YearKey, Shift and Seed; PlannerInput
// leaves Policy at planner.DefaultPolicy().
func (s *Store) PlannerInput(ctx context.Context, from, to time.Time, regionIDs []int64, opts ...InputOption) (*planner.Input, error) {
	in := &planner.Input{From: planner.DayOf(from), To: planner.DayOf(to), Policy: planner.DefaultPolicy()}
	o := inputOptions{today: time.Now().UTC()}
	for _, opt := range opts {
		opt(&o)
	}
	fromS, toS := civilDate(from), civilDate(to)
	db := s.db.WithContext(ctx)

	var regions []domain.Region
	if err := db.Table("regions").Order("id").Find(&regions).Error; err != nil {
		return nil, translate(err, "regions")
	}
	parent := make(map[int64]int64, len(regions))
	in.Regions = make([]planner.Region, len(regions))
	for i, r := range regions {
		var p int64
		if r.ParentID != nil {
			p = *r.ParentID
		}
		parent[r.ID] = p
		in.Regions[i] = planner.Region{ID: r.ID, ParentID: p, Name: r.Name}
	}
	// inScope: the regions planned (subtrees of regionIDs); reach: those plus
	// their ancestors, the regions a sample filter may name and still reach them.
	var inScope, reach map[int64]bool
	if len(regionIDs) > 0 {
		inScope, reach = map[int64]bool{}, map[int64]bool{}
		for _, r := range regions {
			for id := r.ID; id != 0; id = parent[id] {
				if containsID(regionIDs, id) {
					inScope[r.ID] = true
					break
				}
			}
		}
		for _, id := range regionIDs {
			for a := id; a != 0; a = parent[a] {
				reach[a] = true
			}
		}
		for id := range inScope {
			reach[id] = true
		}
	}

	var items []domain.Item
	if err := db.Table("items").Order("id").Find(&items).Error; err != nil {
		return nil, translate(err, "items")
	}
	in.Items = make([]planner.Item, len(items))
	for i, it := range items {
		in.Items[i] = planner.Item{ID: it.ID, DepartmentID: it.DepartmentID, Domain: it.Domain, Minutes: it.Minutes}
	}

	var scenarios []scenarioRow
	if err := db.Table("scenarios").Select(scenarioSelect).Order("id").Find(&scenarios).Error; err != nil {
		return nil, translate(err, "scenarios")
	}
	in.Scenarios = make([]planner.Scenario, len(scenarios))
	for i, sc := range scenarios {
		in.Scenarios[i] = planner.Scenario{ID: sc.ID, Industries: nonNil([]string(sc.IndustryCodes)), ItemIDs: nonNil([]int64(sc.ItemIDs))}
	}

	var teams []teamRow
	if err := db.Table("teams").Select(teamSelect).Order("id").Find(&teams).Error; err != nil {
		return nil, translate(err, "teams")
	}
	in.Teams = make([]planner.Team, len(teams))
	for i, t := range teams {
		pt := planner.Team{ID: t.ID, Kind: t.Kind, BaseLat: t.BaseLat, BaseLng: t.BaseLng,
			DailyCapacityMinutes: t.DailyCapacityMinutes, RegionIDs: nonNil([]int64(t.RegionIDs))}
		if t.DepartmentID != nil {
			pt.DepartmentID = *t.DepartmentID
		}
		in.Teams[i] = pt
	}

	var inspectors []inspectorRow
	if err := db.Table("inspectors").Select(inspectorSelect).Order("id").Find(&inspectors).Error; err != nil {
		return nil, translate(err, "inspectors")
	}
	in.Inspectors = make([]planner.Inspector, len(inspectors))
	for i, r := range inspectors {
		in.Inspectors[i] = planner.Inspector{ID: r.ID, TeamID: r.TeamID, Domains: nonNil([]string(r.Domains)),
			Conflicts: nonNil([]string(r.Conflicts))}
	}

	// Businesses and history go straight through database/sql: there may be
	// hundreds of thousands of rows.
	bizFilter, bizArgs := "", []any{}
	if len(regionIDs) > 0 {
		bizFilter = ` WHERE region_id = ANY($1::bigint[])`
		bizArgs = append(bizArgs, pq.Int64Array(keys(inScope)))
	}
	known := map[string]bool{}
	err := s.queryRows(ctx, `SELECT uscc, region_id, industry_code, lat, lng, risk_code, list_kind FROM businesses`+bizFilter+` ORDER BY uscc`,
		bizArgs, func(rows *sql.Rows) error {
			var b planner.Business
			if err := rows.Scan(&b.USCC, &b.RegionID, &b.Industry, &b.Lat, &b.Lng, &b.Risk, &b.List); err != nil {
				return err
			}
			in.Businesses = append(in.Businesses, b)
			known[b.USCC] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("planner input: businesses: %w", err)
	}

	err = s.queryRows(ctx, `
SELECT d.id, d.department_id, d.target_kind, d.sample_region_ids, d.sample_industries, d.sample_scenario_id,
	d.sample_risk_codes, d.sample_count, d.sample_ratio, d.window_from, d.window_to, d.priority, d.source,
	d.scenario_id, d.announce_days, d.origin_kind IS NOT NULL,
	ARRAY(SELECT item_id FROM demand_items x WHERE x.demand_id = d.id ORDER BY item_id),
	ARRAY(SELECT x.uscc::text FROM demand_businesses x WHERE x.demand_id = d.id AND NOT EXISTS (
		SELECT 1 FROM plan_tasks t JOIN plans p ON p.id = t.plan_id
		WHERE t.demand_id = d.id AND t.uscc = x.uscc::text AND t.visit_seq IS NOT NULL AND p.status = 'published')
		ORDER BY x.uscc)
FROM demands d
WHERE d.status = 'open' AND d.window_from <= $2::date AND d.window_to >= $1::date
	AND NOT (d.target_kind = 'sample' AND EXISTS (
		SELECT 1 FROM plan_draws pd JOIN plans p ON p.id = pd.plan_id WHERE pd.demand_id = d.id AND p.status = 'published'))
ORDER BY d.id`, []any{fromS, toS}, func(rows *sql.Rows) error {
		var (
			d                   planner.Demand
			kind                string
			sRegions            pq.Int64Array
			sIndustries, sRisk  pq.StringArray
			sScenario, scenario sql.NullInt64
			sCount              sql.NullInt64
			sRatio              sql.NullFloat64
			wFrom, wTo          time.Time
			itemIDs             pq.Int64Array
			targets             pq.StringArray
		)
		if err := rows.Scan(&d.ID, &d.DepartmentID, &kind, &sRegions, &sIndustries, &sScenario, &sRisk, &sCount, &sRatio,
			&wFrom, &wTo, &d.Priority, &d.Source, &scenario, &d.AnnounceDays, &d.FollowUp, &itemIDs, &targets); err != nil {
			return err
		}
		if o.demandIDs != nil && !containsID(o.demandIDs, d.ID) {
			return nil // a plan restricted to some demands (urgent placement)
		}
		d.From, d.To = planner.DayOf(wFrom), planner.DayOf(wTo)
		d.ItemIDs = nonNil([]int64(itemIDs))
		d.ScenarioID = scenario.Int64
		if kind == domain.TargetList {
			for _, code := range targets {
				if inScope == nil || known[code] {
					d.Businesses = append(d.Businesses, code)
				}
			}
			if len(d.Businesses) == 0 {
				return nil // served already, or outside the regions planned
			}
		} else {
			if reach != nil && len(sRegions) > 0 && !anyIn(sRegions, reach) {
				return nil
			}
			d.Sample = &planner.SampleRule{
				RegionIDs: nonNil([]int64(sRegions)), Industries: nonNil([]string(sIndustries)),
				ScenarioID: sScenario.Int64, RiskCodes: nonNil([]string(sRisk)),
				Count: int(sCount.Int64), Ratio: sRatio.Float64,
			}
		}
		in.Demands = append(in.Demands, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("planner input: demands: %w", err)
	}

	since := civilDate(from.AddDate(0, 0, -HistoryDays))
	histFilter, histArgs := "", []any{fromS, since, civilDate(o.today)}
	if len(regionIDs) > 0 {
		histFilter = ` AND EXISTS (SELECT 1 FROM businesses b WHERE b.uscc = h.uscc AND b.region_id = ANY($4::bigint[]))`
		histArgs = append(histArgs, pq.Int64Array(keys(inScope)))
	}
	err = s.queryRows(ctx, visitHistory+histFilter+`
ORDER BY h.date, h.uscc, h.plan_id, h.seq`, histArgs, func(rows *sql.Rows) error {
		var (
			pv                  planner.PastVisit
			date                time.Time
			depts, its, inspIDs pq.Int64Array
		)
		if err := rows.Scan(&pv.USCC, &date, &depts, &its, &inspIDs); err != nil {
			return err
		}
		pv.Date = planner.DayOf(date)
		pv.DepartmentIDs, pv.ItemIDs, pv.InspectorIDs = nonNil([]int64(depts)), nonNil([]int64(its)), nonNil([]int64(inspIDs))
		in.History = append(in.History, pv)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("planner input: history: %w", err)
	}

	// The calendar: published visits still to come in the horizon hold team
	// and inspector minutes this plan must not give away again. Every region
	// is read, even for a region-scoped plan: teams and inspectors work
	// across regions, so a visit elsewhere still holds their day.
	err = s.queryRows(ctx, bookedVisits, []any{fromS, toS}, func(rows *sql.Rows) error {
		var (
			bv                  planner.BookedVisit
			date                time.Time
			depts, its, inspIDs pq.Int64Array
		)
		if err := rows.Scan(&bv.PlanID, &bv.Seq, &bv.USCC, &date, &bv.TeamID, &bv.DurationMinutes, &bv.TravelMinutes,
			&depts, &inspIDs, &its); err != nil {
			return err
		}
		bv.Date = planner.DayOf(date)
		bv.DepartmentIDs, bv.InspectorIDs, bv.ItemIDs = nonNil([]int64(depts)), nonNil([]int64(inspIDs)), nonNil([]int64(its))
		in.Booked = append(in.Booked, bv)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("planner input: booked visits: %w", err)
	}
	// Inspectors away and regions or teams closed on any day of the horizon
	// (all of them, as for the calendar: a closure elsewhere still keeps a
	// team or an inspector from working here).
	if err := s.availabilityInput(ctx, in, fromS, toS); err != nil {
		return nil, fmt.Errorf("planner input: availability: %w", err)
	}
	return in, nil
}

// bookedVisits reads the visits on the calendar in [$1, $2]: published, at
// their effective date after moves, and not happened (no confirmed report),
// with their lead team, minutes, departments, inspectors (lead first) and
// items — amended by published joins (their tasks and inspectors are rows of
// the visit, their minutes in published_visits' duration), as
// planner.AmendBooked says the calendar holds them. One statement, bounded by the horizon through published_visits'
// dates. Columns: plan id, seq, uscc, date, team id, duration, travel,
// department ids, inspector ids, item ids.
const bookedVisits = `
SELECT v.plan_id, v.seq, v.uscc::text, v.date, v.team_id, v.duration_minutes, v.travel_minutes,
	ARRAY(SELECT DISTINCT t.department_id FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq ORDER BY 1),
	ARRAY(SELECT a.inspector_id FROM visit_assignments a WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq ORDER BY a.ord),
	ARRAY(SELECT DISTINCT t.item_id FROM plan_tasks t
		WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq AND t.item_id IS NOT NULL ORDER BY 1)
FROM published_visits v
WHERE v.date >= $1::date AND v.date <= $2::date
	AND NOT EXISTS (SELECT 1 FROM visit_reports x WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq)
ORDER BY v.date, v.team_id, v.plan_id, v.seq`

// InputOption adjusts what PlannerInput reads.
type InputOption func(*inputOptions)

type inputOptions struct {
	today time.Time
	// demandIDs, when not nil, are the only demands planned.
	demandIDs []int64
}

// InputDemands restricts the demands read to ids (an urgent placement plans
// one demand). Everything else — registries, history, the calendar of booked
// visits — is read as for any plan, so capacity already held is respected.
func InputDemands(ids ...int64) InputOption {
	return func(o *inputOptions) { o.demandIDs = append([]int64{}, ids...) }
}

// InputToday sets today's civil date (in the configured zone): a published
// visit with no report yet counts as history only from today on, since it is
// still to happen. Without it, today is the UTC date of the clock.
func InputToday(today time.Time) InputOption {
	return func(o *inputOptions) { o.today = today }
}

// visitHistory reads the visits that count as history (cool-downs, yearly
// caps, recusal, weights) for dates in [$2, $1), $3 being today: performed
// visits, at their report's effective date, with only the tasks whose
// current result is not not_done (a visit whose every task was not done is
// left out: nobody inspected anything); and published visits with no report
// yet whose effective date is today or later, since they will happen. A past
// published visit with no report is not counted: it did not (yet) happen.
// Columns: uscc, date, department ids, item ids, inspector ids (lead first);
// the alias h carries uscc, date, plan_id and seq for filters and order.
const visitHistory = `
SELECT h.uscc, h.date, h.department_ids, h.item_ids, h.inspector_ids FROM (
	SELECT r.uscc::text AS uscc, r.visit_date AS date, r.plan_id, r.visit_seq AS seq, p.department_ids, p.item_ids,
		ARRAY(SELECT a.inspector_id FROM visit_assignments a WHERE a.plan_id = r.plan_id AND a.visit_seq = r.visit_seq ORDER BY a.ord) AS inspector_ids
	FROM visit_reports r CROSS JOIN LATERAL (
		SELECT array_agg(DISTINCT c.department_id ORDER BY c.department_id) AS department_ids,
			array_agg(DISTINCT c.item_id ORDER BY c.item_id) AS item_ids
		FROM (SELECT DISTINCT ON (t.task_seq) t.department_id, t.item_id, t.outcome FROM task_results t
			WHERE t.plan_id = r.plan_id AND t.visit_seq = r.visit_seq ORDER BY t.task_seq, t.id DESC) c
		WHERE c.outcome <> 'not_done') p
	WHERE r.visit_date < $1::date AND r.visit_date >= $2::date AND p.item_ids IS NOT NULL
	UNION ALL
	SELECT v.uscc::text, v.date, v.plan_id, v.seq,
		ARRAY(SELECT DISTINCT t.department_id FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq ORDER BY 1),
		ARRAY(SELECT DISTINCT t.item_id FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq ORDER BY 1),
		ARRAY(SELECT a.inspector_id FROM visit_assignments a WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq ORDER BY a.ord)
	FROM published_visits v
	WHERE v.date < $1::date AND v.date >= $2::date AND v.date >= $3::date
		AND NOT EXISTS (SELECT 1 FROM visit_reports x WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq)
) h WHERE true`

// queryRows runs a read on the pool and calls fn for each row.
func (s *Store) queryRows(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return translatePg(err, "query")
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// civilDate formats t's civil date (in t's own location) as YYYY-MM-DD.
func civilDate(t time.Time) string { return t.Format(time.DateOnly) }

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func anyIn(ids []int64, set map[int64]bool) bool {
	for _, id := range ids {
		if set[id] {
			return true
		}
	}
	return false
}

func keys(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return out
}
