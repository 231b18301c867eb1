package store

// Joins (DESIGN.md §4a, issue 16): a draft's tasks joined to visits already
// on the calendar, and their publication as amendments of those visits.
//
// A draft stores its joins in plan_joins (one row per amended visit) and the
// joined tasks in its own plan_tasks with join_plan_id/join_visit_seq naming
// the target visit, so every resolved task is in exactly one of a new visit,
// a join, or unplaced. Publication copies the joined tasks into the target
// plan as tasks of the target visit (added_by_plan_id = the joining plan),
// and the added inspectors into its plan_assignments: every reader of a
// visit's tasks and inspectors reads them by (plan_id, visit_seq), so the
// roster, the door view, the schedule, the /v/ page and the feeds show the
// added items without knowing about joins. published_visits adds the joins'
// minutes to the visit's duration and counts them in amendments (the
// calendar SEQUENCE is revision + amendments). The visit's code is untouched.

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
	"inspectonce/planner"
)

// OutboxVisitAmended is the kind of the outbox row that tells the people of
// a published visit that a later plan's joins amended it.
const OutboxVisitAmended = "visit_amended"

// PlanJoin is one visit already on the calendar that a plan amends: the
// target visit (TargetPlanID, TargetVisitSeq), what the join adds, and the
// joined tasks.
type PlanJoin struct {
	Seq            int    `json:"seq"`
	TargetPlanID   int64  `json:"target_plan_id"`
	TargetVisitSeq int    `json:"target_visit_seq"`
	USCC           string `json:"uscc"`
	// Date is the target's effective date when the plan was made.
	Date string `json:"date"`
	// AddedMinutes is how much longer the visit gets; DurationMinutes its
	// time on site with the joined items.
	AddedMinutes    int     `json:"added_minutes"`
	DurationMinutes int     `json:"duration_minutes"`
	AddedInspectors []int64 `json:"added_inspector_ids"`
	// Unannounced: some joined item is unannounced, and the business is not
	// told of it before the day.
	Unannounced bool       `json:"unannounced"`
	Tasks       []PlanTask `json:"tasks"`
}

// checkJoinTargets checks, in the transaction that saves a draft, that every
// join names a visit of another, published plan at the join's business
// (plan_joins has no foreign keys: see 00003), set-wise.
func checkJoinTargets(ctx context.Context, tx pgx.Tx, planID int64, joins []planner.Join) error {
	if len(joins) == 0 {
		return nil
	}
	plans, seqs, codes := make([]int64, len(joins)), make([]int32, len(joins)), make([]string, len(joins))
	for i, j := range joins {
		if j.PlanID == planID {
			return fmt.Errorf("join %d names a visit of %s itself: %w", i+1, planObject(planID), domain.ErrConflict)
		}
		plans[i], seqs[i], codes[i] = j.PlanID, int32(j.Seq), j.USCC
	}
	var bad []string
	rows, err := tx.Query(ctx, `SELECT x.p || '/' || x.s FROM unnest($1::bigint[], $2::int[], $3::text[]) AS x(p, s, u)
		WHERE NOT EXISTS (SELECT 1 FROM plan_visits v JOIN plans p ON p.id = v.plan_id AND p.status = 'published'
			WHERE v.plan_id = x.p AND v.seq = x.s AND v.uscc = x.u::char(18))
		ORDER BY x.p, x.s LIMIT 10`, plans, seqs, codes)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return err
		}
		bad = append(bad, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("the plan joins visits that are not published visits at their business (plan/visit): %v: %w",
			bad, domain.ErrConflict)
	}
	return nil
}

type joinRow struct {
	Seq               int
	TargetPlanID      int64
	TargetVisitSeq    int
	USCC              string `gorm:"column:uscc"`
	Date              time.Time
	AddedMinutes      int
	DurationMinutes   int
	AddedInspectorIDs pq.Int64Array `gorm:"column:added_inspector_ids;type:bigint[]"`
	Unannounced       bool
}

// ListPlanJoins pages through the visits already on the calendar that plan
// planID joins tasks to, by seq, each with its joined tasks; departmentID !=
// 0 keeps the joins with a task of that department, and only those tasks.
func (s *Store) ListPlanJoins(ctx context.Context, planID, departmentID int64, p Page) (Paged[PlanJoin], error) {
	if err := s.planExists(ctx, planID); err != nil {
		return Paged[PlanJoin]{}, err
	}
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[PlanJoin]{}, err
	}
	lim := p.limit()
	db := s.db.WithContext(ctx)
	var rows []joinRow
	if err := db.Raw(`SELECT seq, target_plan_id, target_visit_seq, uscc, date, added_minutes, duration_minutes,
			added_inspector_ids, unannounced
		FROM plan_joins j WHERE plan_id = ? AND seq > ?
			AND (?::bigint = 0 OR EXISTS (SELECT 1 FROM plan_tasks t WHERE t.plan_id = j.plan_id
				AND t.join_plan_id = j.target_plan_id AND t.join_visit_seq = j.target_visit_seq AND t.department_id = ?))
		ORDER BY seq LIMIT ?`, planID, after, departmentID, departmentID, lim+1).Scan(&rows).Error; err != nil {
		return Paged[PlanJoin]{}, translate(err, "joins of "+planObject(planID))
	}
	out := Paged[PlanJoin]{Items: []PlanJoin{}}
	if len(rows) > lim {
		rows = rows[:lim]
		out.Next = strconv.Itoa(rows[lim-1].Seq)
	}
	if len(rows) == 0 {
		return out, nil
	}
	type key struct {
		plan int64
		seq  int
	}
	at := map[key]int{}
	targets, tseqs := make([]int64, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		ids := []int64(r.AddedInspectorIDs)
		if ids == nil {
			ids = []int64{}
		}
		out.Items = append(out.Items, PlanJoin{Seq: r.Seq, TargetPlanID: r.TargetPlanID, TargetVisitSeq: r.TargetVisitSeq,
			USCC: r.USCC, Date: r.Date.Format(time.DateOnly), AddedMinutes: r.AddedMinutes, DurationMinutes: r.DurationMinutes,
			AddedInspectors: ids, Unannounced: r.Unannounced, Tasks: []PlanTask{}})
		at[key{r.TargetPlanID, r.TargetVisitSeq}] = i
		targets[i], tseqs[i] = r.TargetPlanID, int64(r.TargetVisitSeq)
	}
	// The task's columns are a named field: gorm does not fill an embedded
	// unexported struct.
	var tasks []struct {
		Task         taskRow `gorm:"embedded"`
		JoinPlanID   int64
		JoinVisitSeq int
	}
	if err := db.Raw(`SELECT t.seq, t.visit_seq, t.demand_id, t.department_id, t.uscc, t.item_id, t.window_from, t.window_to,
			t.priority, t.complaint, t.unplaced_reason, t.join_plan_id, t.join_visit_seq
		FROM plan_tasks t JOIN unnest(?::bigint[], ?::bigint[]) AS x(p, s) ON t.join_plan_id = x.p AND t.join_visit_seq = x.s
		WHERE t.plan_id = ? AND (?::bigint = 0 OR t.department_id = ?) ORDER BY t.seq`,
		pq.Int64Array(targets), pq.Int64Array(tseqs), planID, departmentID, departmentID).Scan(&tasks).Error; err != nil {
		return Paged[PlanJoin]{}, translate(err, "joined tasks of "+planObject(planID))
	}
	for _, t := range tasks {
		if i, ok := at[key{t.JoinPlanID, t.JoinVisitSeq}]; ok {
			out.Items[i].Tasks = append(out.Items[i].Tasks, t.Task.task())
		}
	}
	return out, nil
}

// publishJoins amends, in tx (the transaction that publishes plan id, under
// its row lock), every visit plan id joins tasks to: the joined tasks become
// tasks of the target visit, the added inspectors members of it, and an
// outbox row per amended visit tells its people. A target that moved since
// the draft was made (its effective date is no longer the join's), was
// unpublished or has happened (it has a report, or today, when known, is
// after its date) is a conflict: the join was checked against that date (window, notice,
// capacity), so the plan must be made again. It returns the number of visits
// amended.
func publishJoins(tx *gorm.DB, id int64, today time.Time) (int, error) {
	var targets []struct {
		TargetPlanID   int64
		TargetVisitSeq int
		Date           time.Time
		Effective      *time.Time
		Reported       bool
	}
	if err := tx.Raw(`SELECT j.target_plan_id, j.target_visit_seq, j.date, v.date AS effective,
			EXISTS (SELECT 1 FROM visit_reports r WHERE r.plan_id = j.target_plan_id AND r.visit_seq = j.target_visit_seq) AS reported
		FROM plan_joins j LEFT JOIN published_visits v ON v.plan_id = j.target_plan_id AND v.seq = j.target_visit_seq
		WHERE j.plan_id = ? ORDER BY j.target_plan_id, j.target_visit_seq`, id).Scan(&targets).Error; err != nil {
		return 0, translate(err, "joins of "+planObject(id))
	}
	if len(targets) == 0 {
		return 0, nil
	}
	if !today.IsZero() {
		var short int
		if err := tx.Raw(`SELECT count(*) FROM plan_tasks t
			JOIN plan_joins j ON j.plan_id = t.plan_id AND j.target_plan_id = t.join_plan_id AND j.target_visit_seq = t.join_visit_seq
			JOIN demands d ON d.id = t.demand_id
			WHERE t.plan_id = ? AND d.announce_days > 0 AND j.date < ?::date + d.announce_days`, id, civilDate(today)).
			Scan(&short).Error; err != nil {
			return 0, translate(err, "joins of "+planObject(id))
		}
		if short > 0 {
			return 0, fmt.Errorf("%s joins %d announced task(s) to visits inside their notice period if published on %s; plan it again from today: %w",
				planObject(id), short, civilDate(today), domain.ErrConflict)
		}
	}
	plans := map[int64]bool{}
	var lock []int64
	for _, t := range targets {
		obj := visitObject(t.TargetPlanID, t.TargetVisitSeq)
		switch {
		case t.Effective == nil:
			return 0, fmt.Errorf("%s joins %s, which is not a published visit: %w", planObject(id), obj, domain.ErrConflict)
		case !t.Effective.Equal(t.Date):
			return 0, fmt.Errorf("%s joins %s on %s, but it is now on %s; plan it again: %w", planObject(id), obj,
				civilDate(t.Date), civilDate(*t.Effective), domain.ErrConflict)
		case t.Reported:
			return 0, fmt.Errorf("%s joins %s, which has been reported on; plan it again: %w", planObject(id), obj,
				domain.ErrConflict)
		case !today.IsZero() && t.Date.Before(civilDay(today)):
			return 0, fmt.Errorf("%s joins %s, which was due on %s and has happened; plan it again: %w", planObject(id), obj,
				civilDate(t.Date), domain.ErrConflict)
		}
		if !plans[t.TargetPlanID] {
			plans[t.TargetPlanID] = true
			lock = append(lock, t.TargetPlanID)
		}
	}
	// The target plans' rows are numbered under their row locks (taken in id
	// order), so two plans joining the same plan cannot take the same seq.
	if err := tx.Exec(`SELECT 1 FROM plans WHERE id = ANY(?) ORDER BY id FOR UPDATE`, pq.Int64Array(lock)).Error; err != nil {
		return 0, translate(err, "plans joined by "+planObject(id))
	}
	if err := tx.Exec(`INSERT INTO plan_tasks (plan_id, seq, visit_seq, demand_id, department_id, uscc, item_id,
			window_from, window_to, priority, complaint, added_by_plan_id)
		SELECT t.join_plan_id,
			(SELECT max(x.seq) FROM plan_tasks x WHERE x.plan_id = t.join_plan_id)
				+ row_number() OVER (PARTITION BY t.join_plan_id ORDER BY t.seq),
			t.join_visit_seq, t.demand_id, t.department_id, t.uscc, t.item_id, t.window_from, t.window_to,
			t.priority, t.complaint, t.plan_id
		FROM plan_tasks t WHERE t.plan_id = ? AND t.join_plan_id IS NOT NULL`, id).Error; err != nil {
		return 0, translate(err, "joined tasks of "+planObject(id))
	}
	if err := tx.Exec(`INSERT INTO plan_assignments (plan_id, visit_seq, inspector_id, role, ord, added_by_plan_id)
		SELECT j.target_plan_id, j.target_visit_seq, x.id, 'member',
			(SELECT max(a.ord) FROM plan_assignments a WHERE a.plan_id = j.target_plan_id AND a.visit_seq = j.target_visit_seq) + x.n,
			j.plan_id
		FROM plan_joins j, unnest(j.added_inspector_ids) WITH ORDINALITY AS x(id, n)
		WHERE j.plan_id = ?
		ON CONFLICT (plan_id, visit_seq, inspector_id) DO NOTHING`, id).Error; err != nil {
		return 0, translate(err, "inspectors added by "+planObject(id))
	}
	if err := writeAmendedOutbox(tx, id); err != nil {
		return 0, err
	}
	return len(targets), nil
}

// civilDay is t's civil date as UTC midnight, how dates are scanned.
func civilDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// writeAmendedOutbox writes (or re-arms) in tx the visit_amended outbox row
// of every visit plan id amends, set-wise: one row per visit, like moves
// (UNIQUE (plan_id, visit_seq, kind)), whose payload counts the visit's
// published amendments; the task tells every amendment not told yet, each
// under effect keys of its joining plan.
func writeAmendedOutbox(tx *gorm.DB, id int64) error {
	err := tx.Exec(`INSERT INTO outbox (plan_id, visit_seq, kind, payload)
		SELECT j.target_plan_id, j.target_visit_seq, ?, jsonb_build_object('v', 1, 'plan_id', j.target_plan_id,
			'visit_seq', j.target_visit_seq, 'amendments',
			(SELECT count(*) FROM plan_joins k JOIN plans kp ON kp.id = k.plan_id AND kp.status = 'published'
				WHERE k.target_plan_id = j.target_plan_id AND k.target_visit_seq = j.target_visit_seq))
		FROM plan_joins j WHERE j.plan_id = ? ORDER BY j.seq
		ON CONFLICT (plan_id, visit_seq, kind) DO UPDATE
			SET payload = excluded.payload, created_at = now(), relayed_at = NULL`, OutboxVisitAmended, id).Error
	return translate(err, "amendment outbox of "+planObject(id))
}

// VisitAmendment is one later plan's join to a published visit, as its
// people are told of it (jobs.AmendNotices).
type VisitAmendment struct {
	// ByPlanID is the joining plan; PublishedAt when it was published.
	ByPlanID    int64
	PublishedAt time.Time
	// AddedMinutes is how much longer the visit got.
	AddedMinutes int
	// AddedInspectorIDs are the inspectors the join added to the visit.
	AddedInspectorIDs []int64
	// Items are the items added, with their demands' announce_days.
	Items []VisitItem
}

// VisitAmendments lists the published joins to visit seq of plan planID,
// in the order their plans were published (none for a visit never amended).
func (s *Store) VisitAmendments(ctx context.Context, planID int64, seq int) ([]VisitAmendment, error) {
	db := s.db.WithContext(ctx)
	var rows []struct {
		PlanID            int64
		PublishedAt       time.Time
		AddedMinutes      int
		AddedInspectorIDs pq.Int64Array `gorm:"column:added_inspector_ids;type:bigint[]"`
	}
	if err := db.Raw(`SELECT j.plan_id, p.published_at, j.added_minutes, j.added_inspector_ids
		FROM plan_joins j JOIN plans p ON p.id = j.plan_id AND p.status = 'published'
		WHERE j.target_plan_id = ? AND j.target_visit_seq = ? ORDER BY p.published_at, j.plan_id`, planID, seq).
		Scan(&rows).Error; err != nil {
		return nil, translate(err, visitObject(planID, seq)+" amendments")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var items []struct {
		AddedByPlanID int64
		VisitItem
	}
	if err := db.Raw(`SELECT t.added_by_plan_id, it.id AS item_id, it.code, it.name, it.legal_basis,
			d.id AS department_id, d.name AS department, t.demand_id, dm.announce_days
		FROM plan_tasks t JOIN items it ON it.id = t.item_id JOIN departments d ON d.id = t.department_id
		JOIN demands dm ON dm.id = t.demand_id
		WHERE t.plan_id = ? AND t.visit_seq = ? AND t.added_by_plan_id IS NOT NULL ORDER BY t.seq`, planID, seq).
		Scan(&items).Error; err != nil {
		return nil, translate(err, visitObject(planID, seq)+" added items")
	}
	out := make([]VisitAmendment, len(rows))
	at := map[int64]int{}
	for i, r := range rows {
		out[i] = VisitAmendment{ByPlanID: r.PlanID, PublishedAt: r.PublishedAt, AddedMinutes: r.AddedMinutes,
			AddedInspectorIDs: []int64(r.AddedInspectorIDs)}
		at[r.PlanID] = i
	}
	for _, it := range items {
		if i, ok := at[it.AddedByPlanID]; ok {
			it.VisitItem.AddedByPlanID = it.AddedByPlanID
			out[i].Items = append(out[i].Items, it.VisitItem)
		}
	}
	return out, nil
}

// AmendEffectKey is the unique key of the notice to one recipient that plan
// byPlanID's join amended visit seq of plan planID.
func AmendEffectKey(planID int64, visitSeq int, recipientKind, recipientID string, byPlanID int64) string {
	return VisitEffectKey(planID, visitSeq, recipientKind, recipientID, "amended") + ":" + strconv.FormatInt(byPlanID, 10)
}

// planJoins reads plan planID's joins back as the planner's value, by seq,
// each with its joined tasks in seq order (PlanResult).
func (s *Store) planJoins(ctx context.Context, planID int64) ([]planner.Join, error) {
	var out []planner.Join
	page := Page{Limit: MaxLimit}
	for {
		joins, err := s.ListPlanJoins(ctx, planID, 0, page)
		if err != nil {
			return nil, err
		}
		for _, j := range joins.Items {
			pj := planner.Join{PlanID: j.TargetPlanID, Seq: j.TargetVisitSeq, USCC: j.USCC, Date: dayOfString(j.Date),
				AddedMinutes: j.AddedMinutes, DurationMinutes: j.DurationMinutes, Unannounced: j.Unannounced}
			if len(j.AddedInspectors) > 0 {
				pj.AddedInspectorIDs = j.AddedInspectors
			}
			for _, t := range j.Tasks {
				pj.Tasks = append(pj.Tasks, planner.Task{DemandID: t.DemandID, DepartmentID: t.DepartmentID, USCC: t.USCC,
					ItemID: t.ItemID, From: dayOfString(t.WindowFrom), To: dayOfString(t.WindowTo), Priority: t.Priority,
					Complaint: t.Complaint})
			}
			out = append(out, pj)
		}
		if joins.Next == "" {
			return out, nil
		}
		page.After = joins.Next
	}
}
