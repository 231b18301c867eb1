package store

// The draws as open data (一公开, issue 19 part 3): for each published plan,
// its sampling rules (the 抽查计划) at once, and for each target draw its
// frame, key list, exclusions and selection once the draw has closed — its
// demand's window is over, or no visit carrying its tasks is still to come —
// so that no visit, unannounced ones included, is revealed before it
// happens. Each business drawn is accounted for: visited (with its published
// results), not done, or unplaced, with the reason.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"inspectonce/domain"
	"inspectonce/planner"
)

// PublicPlan is a published plan as the public sees it: what commits and
// reveals its randomness.
type PublicPlan struct {
	ID          int64     `json:"id"`
	PublishedAt time.Time `json:"published_at"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Year        int       `json:"year"`
	Mode        string    `json:"mode"`
	Shift       float64   `json:"shift"`
	NextShift   *float64  `json:"next_shift"`
	// SeedHash was committed when the plan was created; Seed is revealed on
	// publication (it drives the inspector draws).
	SeedHash Hex `json:"seed_sha256"`
	Seed     Hex `json:"seed"`
	// YearKeyHash was committed when the year's key was made; YearKey is
	// there once the year is closed (it drives the target draws).
	YearKeyHash Hex  `json:"year_key_sha256"`
	YearKey     Hex  `json:"year_key,omitempty"`
	TargetDraws int  `json:"target_draws"`
	KeyRevealed bool `json:"year_key_revealed"`
}

// PublicRule is one sampling rule a plan drew from (抽查计划).
type PublicRule struct {
	DemandID       int64    `json:"demand_id"`
	DrawSeq        int      `json:"draw_seq"`
	DepartmentID   int64    `json:"department_id"`
	DepartmentName string   `json:"department_name"`
	Title          string   `json:"title"`
	Items          []string `json:"items"`
	RegionIDs      []int64  `json:"region_ids"`
	Industries     []string `json:"industries"`
	ScenarioID     *int64   `json:"scenario_id"`
	RiskCodes      []string `json:"risk_codes"`
	Count          *int64   `json:"count"`
	Ratio          *float64 `json:"ratio"`
	WindowFrom     string   `json:"window_from"`
	WindowTo       string   `json:"window_to"`
	Source         string   `json:"source"`
}

// PublicDraw is one target draw of a published plan. Until it closes only
// its commitment shows (frame hash, n, shift, sizes); once closed, its frame,
// key list, exclusions, result and what became of each business drawn.
type PublicDraw struct {
	Seq       int     `json:"seq"`
	DemandID  int64   `json:"demand_id"`
	N         int     `json:"n"`
	Shift     float64 `json:"shift"`
	Salt      string  `json:"salt"`
	FrameHash string  `json:"frame_sha256"`
	FrameSize int     `json:"frame_size"`
	Closed    bool    `json:"closed"`
	// ClosesBy is the last day of the demand's window: the draw is public
	// by the day after at the latest.
	ClosesBy string              `json:"closes_by"`
	Frame    []Candidate         `json:"frame,omitempty"`
	Certain  []string            `json:"certain,omitempty"`
	Excluded []Exclusion         `json:"excluded,omitempty"`
	Result   []string            `json:"result,omitempty"`
	Outcomes []PublicDrawOutcome `json:"outcomes,omitempty"`
}

// Outcomes of a business drawn.
const (
	DrawnVisited  = "visited"  // a visit with a confirmed report
	DrawnNotDone  = "not_done" // visited, every task not done (why in Reason)
	DrawnUnplaced = "unplaced" // no visit: the planner's reason
	DrawnMissed   = "missed"   // its visit's day passed without a report
)

// PublicDrawOutcome is what became of one business drawn.
type PublicDrawOutcome struct {
	USCC    string `json:"uscc"`
	Outcome string `json:"outcome"`
	// Reason: the planner's reason (unplaced) or the not-done reasons.
	Reason string `json:"reason,omitempty"`
	// PlanID and VisitSeq name the visit; Date its effective date.
	PlanID   int64  `json:"plan_id,omitempty"`
	VisitSeq int    `json:"visit_seq,omitempty"`
	Date     string `json:"date,omitempty"`
	// Results are the published outcomes of its tasks for this demand
	// (item code: outcome), once the report is published.
	Results map[string]string `json:"results,omitempty"`
}

// PublicPlans lists the published plans, newest first.
func (s *Store) PublicPlans(ctx context.Context, p Page) (Paged[PublicPlan], error) {
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[PublicPlan]{}, err
	}
	lim := p.limit()
	where := "p.status = 'published'"
	args := []any{}
	if after > 0 {
		where += " AND p.id < $1"
		args = append(args, after)
	}
	var out Paged[PublicPlan]
	err = s.queryRows(ctx, publicPlanSelect+` WHERE `+where+` ORDER BY p.id DESC LIMIT `+fmt.Sprint(lim+1), args,
		func(rows *sql.Rows) error {
			pp, err := scanPublicPlan(rows)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, pp)
			return nil
		})
	if err != nil {
		return out, fmt.Errorf("public plans: %w", err)
	}
	if len(out.Items) > lim {
		out.Items = out.Items[:lim]
		out.Next = fmt.Sprint(out.Items[lim-1].ID)
	}
	if out.Items == nil {
		out.Items = []PublicPlan{}
	}
	return out, nil
}

const publicPlanSelect = `SELECT p.id, p.published_at, p.horizon_from, p.horizon_to, p.year, p.mode, p.shift, p.next_shift,
	p.seed_hash, p.seed, k.key_hash, CASE WHEN k.revealed_at IS NOT NULL THEN k.key END, k.revealed_at IS NOT NULL,
	(SELECT count(*) FROM plan_draws d WHERE d.plan_id = p.id AND d.kind = 'targets')
	FROM plans p JOIN year_keys k ON k.year = p.year`

func scanPublicPlan(rows interface{ Scan(...any) error }) (PublicPlan, error) {
	var pp PublicPlan
	var from, to time.Time
	var next sql.NullFloat64
	var key []byte
	if err := rows.Scan(&pp.ID, &pp.PublishedAt, &from, &to, &pp.Year, &pp.Mode, &pp.Shift, &next, (*[]byte)(&pp.SeedHash),
		(*[]byte)(&pp.Seed), (*[]byte)(&pp.YearKeyHash), &key, &pp.KeyRevealed, &pp.TargetDraws); err != nil {
		return pp, err
	}
	pp.From, pp.To, pp.PublishedAt = civilDate(from), civilDate(to), pp.PublishedAt.UTC()
	if next.Valid {
		pp.NextShift = &next.Float64
	}
	if len(key) > 0 {
		pp.YearKey = key
	}
	return pp, nil
}

// PublicPlan reads one published plan; any other is ErrNotFound.
func (s *Store) PublicPlan(ctx context.Context, id int64) (PublicPlan, error) {
	row := s.sql.QueryRowContext(ctx, publicPlanSelect+` WHERE p.status = 'published' AND p.id = $1`, id)
	pp, err := scanPublicPlan(row)
	if err == sql.ErrNoRows {
		return pp, fmt.Errorf("published %s: %w", planObject(id), domain.ErrNotFound)
	}
	if err != nil {
		return pp, translate(err, planObject(id))
	}
	return pp, nil
}

// PublicRules lists the sampling rules published plan id drew from, in draw
// order.
func (s *Store) PublicRules(ctx context.Context, id int64) ([]PublicRule, error) {
	if _, err := s.PublicPlan(ctx, id); err != nil {
		return nil, err
	}
	out := []PublicRule{}
	err := s.queryRows(ctx, `SELECT d.id, pd.seq, d.department_id, dp.name, d.title,
			ARRAY(SELECT it.code FROM demand_items di JOIN items it ON it.id = di.item_id WHERE di.demand_id = d.id ORDER BY it.code),
			d.sample_region_ids, d.sample_industries, d.sample_scenario_id, d.sample_risk_codes, d.sample_count, d.sample_ratio,
			d.window_from, d.window_to, d.source
		FROM plan_draws pd JOIN demands d ON d.id = pd.demand_id JOIN departments dp ON dp.id = d.department_id
		WHERE pd.plan_id = $1 AND pd.kind = 'targets' ORDER BY pd.seq`, []any{id}, func(rows *sql.Rows) error {
		var r PublicRule
		var items, inds, risks pq.StringArray
		var regions pq.Int64Array
		var scen, count sql.NullInt64
		var ratio sql.NullFloat64
		var from, to time.Time
		if err := rows.Scan(&r.DemandID, &r.DrawSeq, &r.DepartmentID, &r.DepartmentName, &r.Title, &items, &regions, &inds,
			&scen, &risks, &count, &ratio, &from, &to, &r.Source); err != nil {
			return err
		}
		r.Items, r.RegionIDs, r.Industries, r.RiskCodes = nonNil([]string(items)), nonNil([]int64(regions)),
			nonNil([]string(inds)), nonNil([]string(risks))
		if scen.Valid {
			r.ScenarioID = &scen.Int64
		}
		if count.Valid {
			r.Count = &count.Int64
		}
		if ratio.Valid {
			r.Ratio = &ratio.Float64
		}
		r.WindowFrom, r.WindowTo = civilDate(from), civilDate(to)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rules of %s: %w", planObject(id), err)
	}
	return out, nil
}

// PublicDraws lists the target draws of published plan id as of today (a
// civil date in the configured zone): every draw's commitment, and the
// records and outcomes of those closed.
func (s *Store) PublicDraws(ctx context.Context, id int64, today time.Time) ([]PublicDraw, error) {
	return s.publicDraws(ctx, id, today, 0, true)
}

// PublicDrawSummaries is PublicDraws without each closed draw's outcomes
// (a plan's summary counts the selection only).
func (s *Store) PublicDrawSummaries(ctx context.Context, id int64, today time.Time) ([]PublicDraw, error) {
	return s.publicDraws(ctx, id, today, 0, false)
}

// PublicDraw is one target draw of a published plan, as PublicDraws has it.
func (s *Store) PublicDraw(ctx context.Context, id int64, seq int, today time.Time) (PublicDraw, error) {
	draws, err := s.publicDraws(ctx, id, today, seq, true)
	if err != nil {
		return PublicDraw{}, err
	}
	if len(draws) == 0 {
		return PublicDraw{}, fmt.Errorf("target draw %d of published plan %d: %w", seq, id, domain.ErrNotFound)
	}
	return draws[0], nil
}

// publicDraws reads the target draws (only seq when not 0), with each
// closed draw's outcomes when asked.
func (s *Store) publicDraws(ctx context.Context, id int64, today time.Time, seq int, outcomes bool) ([]PublicDraw, error) {
	if _, err := s.PublicPlan(ctx, id); err != nil {
		return nil, err
	}
	day := civilDate(today)
	var draws []PublicDraw
	var raw [][4][]byte
	err := s.queryRows(ctx, `SELECT pd.seq, pd.demand_id, pd.n, pd.shift, pd.salt, pd.frame_hash, json_array_length(pd.frame),
			d.window_to,
			d.window_to < $2::date OR NOT EXISTS (SELECT 1 FROM plan_tasks t JOIN published_visits v
				ON v.plan_id = t.plan_id AND v.seq = t.visit_seq WHERE t.demand_id = d.id AND v.date >= $2::date),
			pd.frame::text, pd.certain::text, pd.excluded::text, pd.result::text
		FROM plan_draws pd JOIN demands d ON d.id = pd.demand_id
		WHERE pd.plan_id = $1 AND pd.kind = 'targets' AND ($3 = 0 OR pd.seq = $3) ORDER BY pd.seq`, []any{id, day, seq}, func(rows *sql.Rows) error {
		var d PublicDraw
		var end time.Time
		var frame, certain, excluded, result string
		if err := rows.Scan(&d.Seq, &d.DemandID, &d.N, &d.Shift, &d.Salt, &d.FrameHash, &d.FrameSize, &end, &d.Closed,
			&frame, &certain, &excluded, &result); err != nil {
			return err
		}
		d.ClosesBy = civilDate(end)
		draws = append(draws, d)
		raw = append(raw, [4][]byte{[]byte(frame), []byte(certain), []byte(excluded), []byte(result)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("draws of %s: %w", planObject(id), err)
	}
	for i := range draws {
		d := &draws[i]
		if !d.Closed {
			continue
		}
		if err := json.Unmarshal(raw[i][0], &d.Frame); err != nil {
			return nil, fmt.Errorf("draw %d frame: %w", d.Seq, err)
		}
		d.Frame = nonNil(d.Frame)
		for _, part := range []struct {
			raw  []byte
			into any
		}{{raw[i][1], &d.Certain}, {raw[i][2], &d.Excluded}, {raw[i][3], &d.Result}} {
			if err := json.Unmarshal(part.raw, part.into); err != nil {
				return nil, fmt.Errorf("draw %d: %w", d.Seq, err)
			}
		}
		d.Certain, d.Excluded, d.Result = nonNil(d.Certain), nonNil(d.Excluded), nonNil(d.Result)
		if !outcomes {
			continue
		}
		out, err := s.drawOutcomes(ctx, d.DemandID, d.Result, day)
		if err != nil {
			return nil, err
		}
		d.Outcomes = out
	}
	if draws == nil {
		draws = []PublicDraw{}
	}
	return draws, nil
}

// drawOutcomes says what became of each business drawn for demand.
func (s *Store) drawOutcomes(ctx context.Context, demand int64, drawn []string, day string) ([]PublicDrawOutcome, error) {
	byUSCC := map[string]*PublicDrawOutcome{}
	err := s.queryRows(ctx, `SELECT t.uscc, t.unplaced_reason, v.plan_id, v.seq, v.date,
			r.plan_id IS NOT NULL, r.published_at IS NOT NULL,
			coalesce((SELECT json_object_agg(it.code, c.outcome) FROM (SELECT DISTINCT ON (x.task_seq) x.item_id, x.outcome
				FROM task_results x WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq AND x.demand_id = t.demand_id
				ORDER BY x.task_seq, x.id DESC) c JOIN items it ON it.id = c.item_id), '{}')::text,
			coalesce((SELECT string_agg(DISTINCT x.not_done_reason, ',') FROM task_results x
				WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq AND x.demand_id = t.demand_id AND x.not_done_reason IS NOT NULL), '')
		FROM plan_tasks t LEFT JOIN published_visits v ON v.plan_id = t.plan_id AND v.seq = t.visit_seq
			LEFT JOIN visit_reports r ON r.plan_id = v.plan_id AND r.visit_seq = v.seq
		WHERE t.demand_id = $1 AND t.uscc = ANY($2::text[]) AND (t.visit_seq IS NOT NULL OR t.unplaced_reason IS NOT NULL)
			AND t.join_plan_id IS NULL
		ORDER BY t.uscc, t.plan_id, t.seq`, []any{demand, pq.StringArray(drawn)}, func(rows *sql.Rows) error {
		var uscc string
		var reason sql.NullString
		var plan sql.NullInt64
		var seq sql.NullInt32
		var date sql.NullTime
		var reported, published bool
		var results, notDone string
		if err := rows.Scan(&uscc, &reason, &plan, &seq, &date, &reported, &published, &results, &notDone); err != nil {
			return err
		}
		o := byUSCC[uscc]
		if o != nil && o.Outcome != DrawnUnplaced {
			return nil // the business's visit is already accounted for
		}
		o = &PublicDrawOutcome{USCC: uscc}
		switch {
		case reason.Valid:
			o.Outcome, o.Reason = DrawnUnplaced, reason.String
		case plan.Valid:
			o.PlanID, o.VisitSeq, o.Date = plan.Int64, int(seq.Int32), civilDate(date.Time)
			switch {
			case reported && published:
				o.Outcome = DrawnVisited
				if err := json.Unmarshal([]byte(results), &o.Results); err != nil {
					return err
				}
				if notDone != "" && allNotDone(o.Results) {
					o.Outcome, o.Reason = DrawnNotDone, notDone
				}
			case reported:
				o.Outcome = DrawnVisited // reported, its results published on their due date
			case o.Date < day:
				o.Outcome = DrawnMissed
			default:
				return nil // still to come: PublicDraws shows only closed draws
			}
		default:
			return nil
		}
		byUSCC[uscc] = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outcomes of demand %d: %w", demand, err)
	}
	out := make([]PublicDrawOutcome, 0, len(drawn))
	for _, u := range drawn {
		if o, ok := byUSCC[u]; ok {
			out = append(out, *o)
		} else {
			// Drawn, yet no task of it is on record: the public must see it.
			out = append(out, PublicDrawOutcome{USCC: u, Outcome: DrawnUnplaced, Reason: "not_recorded"})
		}
	}
	return out, nil
}

func allNotDone(results map[string]string) bool {
	for _, o := range results {
		if o != ResultNotDone {
			return false
		}
	}
	return len(results) > 0
}

// PlannerDraw is a closed public draw as the planner's Draw, for
// recomputation from the revealed year key.
func (d PublicDraw) PlannerDraw() planner.Draw {
	out := planner.Draw{Kind: planner.DrawTargets, DemandID: d.DemandID, N: d.N, Shift: d.Shift, Salt: d.Salt,
		FrameHash: d.FrameHash, Result: d.Result, Certain: d.Certain}
	for _, c := range d.Frame {
		out.Frame = append(out.Frame, planner.Candidate{Key: c.Key, Weight: c.Weight})
	}
	for _, e := range d.Excluded {
		out.Excluded = append(out.Excluded, planner.Exclusion{Key: e.Key, Reason: e.Reason})
	}
	if len(out.Certain) == 0 {
		out.Certain = nil
	}
	return out
}
