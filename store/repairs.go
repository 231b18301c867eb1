package store

// Repairs of the published calendar (issue 17 part 2, migration 00016). A
// new unavailability or closure opens a repair in its own transaction and
// hands it to the queue through the outbox; the repair task (jobs) reads the
// visits it hits (RepairTargets), lets the planner find the least change
// (planner.Repair) and applies it visit by visit (ApplyRepairChange), each
// in its own transaction that re-checks the visit first. A worker killed
// part-way leaves some visits repaired and the rest as they were; the task
// runs again, the visits repaired no longer need anything, and the unique
// indexes on (repair, visit) make a second change for the same cause
// impossible.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// Repair causes.
const (
	RepairCauseUnavailability = "unavailability"
	RepairCauseClosure        = "closure"
	// RepairCauseRestore undoes the moves of the repair named by cause_id
	// once its cause was lifted (OpenRestore).
	RepairCauseRestore = "restore"
)

// Repair statuses.
const (
	RepairPending = "pending"
	RepairRunning = "running"
	RepairDone    = "done"
)

// OutboxCalendarRepair is the kind of the outbox row that hands a repair to
// the queue (jobs.TypeCalendarRepair): plan_id 0, visit_seq the repair's id.
const OutboxCalendarRepair = "calendar_repair"

// OutboxVisitRestaffed is the kind of the outbox row that tells the people of
// a visit that an inspector was replaced (jobs.TypeDispatchVisitRestaffed).
// Its payload is version 1 of jobs.VisitRestaffedPayload.
const OutboxVisitRestaffed = "visit_restaffed"

// CalendarRepair is one repair of the calendar after an unavailability or a
// closure, with its progress: Moved, Restaffed and Unrepaired count what it
// has done so far.
type CalendarRepair struct {
	ID         int64      `json:"id"`
	Cause      string     `json:"cause"`
	CauseID    int64      `json:"cause_id"`
	Reason     string     `json:"reason"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Status     string     `json:"status"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// Visits is how many published visits the repair looked at (null until
	// it starts).
	Visits     *int `json:"visits"`
	Attempts   int  `json:"attempts"`
	Moved      int  `json:"moved"`
	Restaffed  int  `json:"restaffed"`
	Unrepaired int  `json:"unrepaired"`
	// CauseLifted: the leave or closure was deleted since (a restore's is
	// always false); RestoreID is the repair that undid its moves, if one
	// was asked for (OpenRestore).
	CauseLifted bool   `json:"cause_lifted"`
	RestoreID   *int64 `json:"restore_id"`
}

// RepairProblem is a visit a repair could not mend: it stays as it was, for
// a coordinator to move or restaff by hand.
type RepairProblem struct {
	RepairID     int64  `json:"repair_id"`
	PlanID       int64  `json:"plan_id"`
	VisitSeq     int    `json:"visit_seq"`
	UID          string `json:"uid"`
	USCC         string `json:"uscc"`
	BusinessName string `json:"business_name"`
	// Date is the visit's date when the repair looked at it; CurrentDate its
	// effective date now (a coordinator may have moved it since).
	Date        string    `json:"date"`
	CurrentDate string    `json:"current_date"`
	Reason      string    `json:"reason"`
	Detail      string    `json:"detail"`
	CreatedAt   time.Time `json:"created_at"`
}

// RepairTarget is a published visit a repair looks at: its effective date,
// the window all its tasks allow, the longest notice its announced tasks
// give, and the qualification domains of its items.
type RepairTarget struct {
	PlanID       int64
	Seq          int
	Date         time.Time
	WindowFrom   time.Time
	WindowTo     time.Time
	AnnounceDays int
	Domains      []string
	// BackTo, for a restore, is the day the undone repair moved it from.
	BackTo time.Time
}

// openRepair opens the repair of a new unavailability or closure in tx and
// arms its outbox row, so that the repair is queued however the process dies
// after the commit.
func openRepair(tx *gorm.DB, actor, cause string, causeID int64, reason, from, to string) (int64, error) {
	var id int64
	if err := tx.Raw(`INSERT INTO calendar_repairs (cause, cause_id, reason, from_date, to_date, created_by)
		VALUES (?, ?, ?, ?::date, ?::date, ?) RETURNING id`, cause, causeID, reason, from, to, actor).Row().Scan(&id); err != nil {
		return 0, translate(err, "calendar repair")
	}
	err := tx.Exec(`INSERT INTO outbox (plan_id, visit_seq, kind, payload)
		VALUES (0, ?, ?, jsonb_build_object('v', 1, 'repair_id', ?::bigint))`, id, OutboxCalendarRepair, id).Error
	return id, translate(err, "calendar repair outbox")
}

const repairColumns = `r.id, r.cause, r.cause_id, r.reason, r.from_date, r.to_date, r.status, r.created_by, r.created_at,
	r.started_at, r.finished_at, r.visits, r.attempts,
	(SELECT count(*) FROM visit_moves m WHERE m.repair_id = r.id) AS moved,
	(SELECT count(DISTINCT (s.plan_id, s.visit_seq)) FROM visit_substitutions s WHERE s.repair_id = r.id) AS restaffed,
	(SELECT count(*) FROM repair_problems p WHERE p.repair_id = r.id) AS unrepaired,
	CASE r.cause WHEN 'unavailability' THEN NOT EXISTS (SELECT 1 FROM inspector_unavailability u WHERE u.id = r.cause_id)
		WHEN 'closure' THEN NOT EXISTS (SELECT 1 FROM closures c WHERE c.id = r.cause_id) ELSE false END AS cause_lifted,
	(SELECT x.id FROM calendar_repairs x WHERE x.cause = 'restore' AND x.cause_id = r.id) AS restore_id`

type repairRow struct {
	ID          int64
	Cause       string
	CauseID     int64
	Reason      string
	FromDate    time.Time
	ToDate      time.Time
	Status      string
	CreatedBy   string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	Visits      *int
	Attempts    int
	Moved       int
	Restaffed   int
	Unrepaired  int
	CauseLifted bool
	RestoreID   *int64
}

func (r repairRow) value() CalendarRepair {
	return CalendarRepair{ID: r.ID, Cause: r.Cause, CauseID: r.CauseID, Reason: r.Reason, From: civilDate(r.FromDate),
		To: civilDate(r.ToDate), Status: r.Status, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt), Visits: r.Visits, Attempts: r.Attempts,
		Moved: r.Moved, Restaffed: r.Restaffed, Unrepaired: r.Unrepaired, CauseLifted: r.CauseLifted, RestoreID: r.RestoreID}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func repairObject(id int64) string { return objectID("repair", id) }

// GetRepair reads one repair with its progress. An unknown id is ErrNotFound.
func (s *Store) GetRepair(ctx context.Context, id int64) (CalendarRepair, error) {
	var row repairRow
	res := s.db.WithContext(ctx).Raw(`SELECT `+repairColumns+` FROM calendar_repairs r WHERE r.id = ?`, id).Scan(&row)
	if res.Error != nil {
		return CalendarRepair{}, translate(res.Error, repairObject(id))
	}
	if res.RowsAffected == 0 {
		return CalendarRepair{}, fmt.Errorf("%s: %w", repairObject(id), domain.ErrNotFound)
	}
	return row.value(), nil
}

// RepairFilter narrows a list of repairs: by status, and to those with a
// visit left unrepaired.
type RepairFilter struct {
	Status       string
	WithProblems bool
}

// ListRepairs pages through repairs, newest first.
func (s *Store) ListRepairs(ctx context.Context, f RepairFilter, p Page) (Paged[CalendarRepair], error) {
	q := s.db.WithContext(ctx).Table("calendar_repairs r").Select(repairColumns)
	if f.Status != "" {
		q = q.Where("r.status = ?", f.Status)
	}
	if f.WithProblems {
		q = q.Where("EXISTS (SELECT 1 FROM repair_problems p WHERE p.repair_id = r.id)")
	}
	if p.After != "" {
		after, err := idCursor(p.After)
		if err != nil {
			return Paged[CalendarRepair]{}, err
		}
		q = q.Where("r.id < ?", after)
	}
	lim := p.limit()
	var rows []repairRow
	if err := q.Order("r.id DESC").Limit(lim + 1).Find(&rows).Error; err != nil {
		return Paged[CalendarRepair]{}, translate(err, "calendar repairs")
	}
	out := Paged[CalendarRepair]{Items: make([]CalendarRepair, 0, min(len(rows), lim))}
	for i, r := range rows {
		if i == lim {
			out.Next = strconv.FormatInt(rows[lim-1].ID, 10)
			break
		}
		out.Items = append(out.Items, r.value())
	}
	return out, nil
}

// RepairProblems lists what repair id could not mend, by date, plan and
// visit; with id 0, every repair's, newest repair first.
func (s *Store) RepairProblems(ctx context.Context, id int64, p Page) (Paged[RepairProblem], error) {
	q := s.db.WithContext(ctx).Table("repair_problems p").
		Select(`p.repair_id, p.plan_id, p.visit_seq, p.uscc, coalesce(b.name, '') AS business_name, p.date,
			coalesce((SELECT v.date FROM published_visits v WHERE v.plan_id = p.plan_id AND v.seq = p.visit_seq), p.date) AS current_date,
			p.reason, p.detail, p.created_at`).
		Joins("LEFT JOIN businesses b ON b.uscc = p.uscc")
	if id != 0 {
		q = q.Where("p.repair_id = ?", id)
	}
	off, err := offsetCursor(p.After)
	if err != nil {
		return Paged[RepairProblem]{}, err
	}
	lim := p.limit()
	var rows []struct {
		RepairID     int64
		PlanID       int64
		VisitSeq     int
		USCC         string
		BusinessName string
		Date         time.Time
		CurrentDate  time.Time
		Reason       string
		Detail       string
		CreatedAt    time.Time
	}
	if err := q.Order("p.repair_id DESC, p.date, p.plan_id, p.visit_seq").Offset(off).Limit(lim + 1).Find(&rows).Error; err != nil {
		return Paged[RepairProblem]{}, translate(err, "repair problems")
	}
	out := Paged[RepairProblem]{Items: make([]RepairProblem, 0, min(len(rows), lim))}
	for i, r := range rows {
		if i == lim {
			out.Next = strconv.Itoa(off + lim)
			break
		}
		out.Items = append(out.Items, RepairProblem{RepairID: r.RepairID, PlanID: r.PlanID, VisitSeq: r.VisitSeq,
			UID: VisitUID(r.PlanID, r.VisitSeq), USCC: r.USCC, BusinessName: r.BusinessName, Date: civilDate(r.Date),
			CurrentDate: civilDate(r.CurrentDate), Reason: r.Reason, Detail: r.Detail, CreatedAt: r.CreatedAt.UTC()})
	}
	return out, nil
}

// offsetCursor reads a page cursor that is a row offset.
func offsetCursor(after string) (int, error) {
	if after == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(after)
	if err != nil || n < 0 {
		return 0, domain.Invalid("after", "must be the next cursor of an earlier page")
	}
	return n, nil
}

// StartRepair marks repair id running (one more attempt) and returns it. A
// repair already done is returned as it is, unchanged.
func (s *Store) StartRepair(ctx context.Context, id int64) (CalendarRepair, error) {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var status string
		res := tx.Raw(`SELECT status FROM calendar_repairs WHERE id = ? FOR UPDATE`, id).Scan(&status)
		if res.Error != nil {
			return translate(res.Error, repairObject(id))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", repairObject(id), domain.ErrNotFound)
		}
		if status == RepairDone {
			return nil
		}
		return translate(tx.Exec(`UPDATE calendar_repairs SET status = 'running', attempts = attempts + 1,
			started_at = coalesce(started_at, now()) WHERE id = ?`, id).Error, repairObject(id))
	})
	if err != nil {
		return CalendarRepair{}, err
	}
	return s.GetRepair(ctx, id)
}

// OpenRestore opens the repair that undoes repair id's moves (cause
// restore): once its cause is lifted, a coordinator may ask for the visits it
// moved to go back to their days. The repair must be done and its cause gone
// (else ErrConflict); a repair is undone once (a second ask is ErrConflict).
// Like any repair it runs in the worker and lists what cannot go back.
func (s *Store) OpenRestore(ctx context.Context, actor string, id int64) (CalendarRepair, error) {
	var out int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var orig struct {
			Cause    string
			CauseID  int64
			Status   string
			Reason   string
			FromDate time.Time
			ToDate   time.Time
			Standing bool
		}
		res := tx.Raw(`SELECT r.cause, r.cause_id, r.status, r.reason, r.from_date, r.to_date,
				CASE r.cause WHEN 'unavailability' THEN EXISTS (SELECT 1 FROM inspector_unavailability u WHERE u.id = r.cause_id)
					WHEN 'closure' THEN EXISTS (SELECT 1 FROM closures c WHERE c.id = r.cause_id) ELSE false END AS standing
			FROM calendar_repairs r WHERE r.id = ? FOR UPDATE`, id).Scan(&orig)
		if res.Error != nil {
			return translate(res.Error, repairObject(id))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", repairObject(id), domain.ErrNotFound)
		}
		switch {
		case orig.Cause == RepairCauseRestore:
			return fmt.Errorf("%s is itself a restore: %w", repairObject(id), domain.ErrConflict)
		case orig.Status != RepairDone:
			return fmt.Errorf("%s is %s: undo it once it is done: %w", repairObject(id), orig.Status, domain.ErrConflict)
		case orig.Standing:
			return fmt.Errorf("the %s %d of %s still stands: lift it first: %w", orig.Cause, orig.CauseID, repairObject(id), domain.ErrConflict)
		}
		var dup bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM calendar_repairs WHERE cause = 'restore' AND cause_id = ?)`, id).
			Row().Scan(&dup); err != nil {
			return translate(err, repairObject(id))
		}
		if dup {
			return fmt.Errorf("%s was undone already: %w", repairObject(id), domain.ErrConflict)
		}
		var err error
		out, err = openRepair(tx, actor, RepairCauseRestore, id, "恢复原定日期（"+orig.Reason+"已解除）",
			civilDate(orig.FromDate), civilDate(orig.ToDate))
		if err != nil {
			return err
		}
		return appendAudit(tx, actor, "repair.restore", repairObject(out), OutcomeOK, map[string]any{"undoes": id})
	})
	if err != nil {
		return CalendarRepair{}, err
	}
	return s.GetRepair(ctx, out)
}

// RepairTargets reads the published visits repair r may have to mend: those
// not yet reported whose effective date is in the cause's days from today on,
// and that the cause touches — a visit of the inspector away, a visit of the
// closed team or with one of its members, a visit to a business in the
// closed region or below it.
func (s *Store) RepairTargets(ctx context.Context, r CalendarRepair, today time.Time) ([]RepairTarget, error) {
	var scope string
	args := []any{r.From, civilDate(today), r.To}
	switch r.Cause {
	case RepairCauseUnavailability:
		scope = `EXISTS (SELECT 1 FROM visit_assignments a JOIN inspector_unavailability u ON u.inspector_id = a.inspector_id
			WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq AND u.id = $4)`
		args = append(args, r.CauseID)
	case RepairCauseClosure:
		scope = `EXISTS (SELECT 1 FROM closures c WHERE c.id = $4 AND (
			v.team_id = c.team_id
			OR EXISTS (SELECT 1 FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
				WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq AND i.team_id = c.team_id)
			OR EXISTS (WITH RECURSIVE sub(id) AS (SELECT c.region_id UNION SELECT g.id FROM regions g JOIN sub ON g.parent_id = sub.id)
				SELECT 1 FROM businesses b JOIN sub ON sub.id = b.region_id WHERE b.uscc = v.uscc)))`
		args = append(args, r.CauseID)
	case RepairCauseRestore:
		// The visits whose latest move is the undone repair's, wherever
		// they are now (they were moved off the cause's days).
		args[0], args[2] = civilDate(today), "2100-12-31"
		scope = `EXISTS (SELECT 1 FROM visit_moves m WHERE m.plan_id = v.plan_id AND m.visit_seq = v.seq
			AND m.seq = v.revision AND m.repair_id = $4)`
		args = append(args, r.CauseID)
	default:
		return nil, fmt.Errorf("%s has cause %q", repairObject(r.ID), r.Cause)
	}
	var out []RepairTarget
	err := s.queryRows(ctx, `SELECT v.plan_id, v.seq, v.date,
			coalesce((SELECT max(t.window_from) FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq), v.date),
			coalesce((SELECT min(t.window_to) FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq), v.date),
			coalesce((SELECT max(d.announce_days) FROM plan_tasks t JOIN demands d ON d.id = t.demand_id
				WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq), 0),
			ARRAY(SELECT DISTINCT it.domain FROM plan_tasks t JOIN items it ON it.id = t.item_id
				WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq ORDER BY 1),
			(SELECT m.from_date FROM visit_moves m WHERE m.plan_id = v.plan_id AND m.visit_seq = v.seq AND m.seq = v.revision)
		FROM published_visits v
		WHERE v.date >= greatest($1::date, $2::date) AND v.date <= $3::date
			AND NOT EXISTS (SELECT 1 FROM visit_reports x WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq)
			AND `+scope+`
		ORDER BY v.date, v.plan_id, v.seq`, args, func(rows *sql.Rows) error {
		var t RepairTarget
		var domains pq.StringArray
		var back sql.NullTime
		if err := rows.Scan(&t.PlanID, &t.Seq, &t.Date, &t.WindowFrom, &t.WindowTo, &t.AnnounceDays, &domains, &back); err != nil {
			return err
		}
		if r.Cause == RepairCauseRestore && back.Valid {
			t.BackTo = back.Time
		}
		t.Domains = nonNil([]string(domains))
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("targets of %s: %w", repairObject(r.ID), err)
	}
	return out, nil
}

// SetRepairVisits records how many visits repair id looked at, the first
// time it is told.
func (s *Store) SetRepairVisits(ctx context.Context, id int64, n int) error {
	return translate(s.db.WithContext(ctx).Exec(`UPDATE calendar_repairs SET visits = coalesce(visits, ?) WHERE id = ?`, n, id).Error,
		repairObject(id))
}

// RepairSwap is one inspector replaced by a repair: position Ord of the
// visit goes from Out to In, picked by the recorded draw Draw (a
// planner.Draw) under DrawKey.
type RepairSwap struct {
	Ord     int
	Out, In int64
	DrawKey string
	Draw    any
}

// RepairChange is what a repair does to one visit: moves it from From to To
// (equal: not moved) and replaces inspectors.
type RepairChange struct {
	PlanID   int64
	Seq      int
	From, To time.Time
	Swaps    []RepairSwap
}

// ErrRepairStale is ApplyRepairChange's answer when the visit is no longer
// what the repair was computed from (moved, restaffed or reported
// meanwhile): the repair must be computed again.
var ErrRepairStale = errors.New("the visit changed since the repair was computed")

// ApplyRepairChange applies one visit's change for repair r in one
// transaction under the plan's row lock, after checking the visit is still
// on ch.From with the inspectors the swaps replace (else ErrRepairStale). A
// move is recorded as visit_moves does a coordinator's (with the repair's
// id and reason) and told through its visit_moved outbox row; replaced
// inspectors are visit_substitutions rows told through a visit_restaffed
// outbox row. Both are audited. A change this repair already made to the
// visit is not made again (applied false).
func (s *Store) ApplyRepairChange(ctx context.Context, r CalendarRepair, ch RepairChange) (applied bool, err error) {
	actor := "repair:" + strconv.FormatInt(r.ID, 10)
	err = s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockPlan(tx, ch.PlanID)
		if err != nil {
			return err
		}
		if row.Status != PlanPublished {
			return fmt.Errorf("%s is %s: %w", planObject(ch.PlanID), row.Status, ErrRepairStale)
		}
		var done bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM visit_moves WHERE repair_id = ? AND plan_id = ? AND visit_seq = ?)
			OR EXISTS (SELECT 1 FROM visit_substitutions WHERE repair_id = ? AND plan_id = ? AND visit_seq = ?)`,
			r.ID, ch.PlanID, ch.Seq, r.ID, ch.PlanID, ch.Seq).Row().Scan(&done); err != nil {
			return translate(err, visitObject(ch.PlanID, ch.Seq))
		}
		if done {
			return nil
		}
		var cur struct {
			Date     time.Time
			Revision int
		}
		res := tx.Raw(`SELECT date, revision FROM published_visits WHERE plan_id = ? AND seq = ?`, ch.PlanID, ch.Seq).Scan(&cur)
		if res.Error != nil {
			return translate(res.Error, visitObject(ch.PlanID, ch.Seq))
		}
		if res.RowsAffected == 0 || civilDate(cur.Date) != civilDate(ch.From) {
			return fmt.Errorf("%s is not on %s any more: %w", visitObject(ch.PlanID, ch.Seq), civilDate(ch.From), ErrRepairStale)
		}
		var reported bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM visit_reports WHERE plan_id = ? AND visit_seq = ?)`,
			ch.PlanID, ch.Seq).Row().Scan(&reported); err != nil {
			return translate(err, visitObject(ch.PlanID, ch.Seq))
		}
		if reported {
			return fmt.Errorf("%s has its report: %w", visitObject(ch.PlanID, ch.Seq), ErrRepairStale)
		}
		object := visitObject(ch.PlanID, ch.Seq)
		if !sameDay(ch.From, ch.To) {
			rev := cur.Revision + 1
			if err := tx.Exec(`INSERT INTO visit_moves (plan_id, visit_seq, seq, from_date, to_date, reason, moved_by, repair_id)
				VALUES (?, ?, ?, ?::date, ?::date, ?, ?, ?)`, ch.PlanID, ch.Seq, rev, civilDate(ch.From), civilDate(ch.To),
				r.Reason, actor, r.ID).Error; err != nil {
				return translate(err, object+" move")
			}
			if err := armVisitOutbox(tx, ch.PlanID, ch.Seq, OutboxVisitMoved, "revision", rev); err != nil {
				return err
			}
			if err := appendAudit(tx, actor, "visit.move", object, OutcomeOK, map[string]any{
				"from": civilDate(ch.From), "to": civilDate(ch.To), "revision": rev, "reason": r.Reason, "repair_id": r.ID,
			}); err != nil {
				return err
			}
		}
		if len(ch.Swaps) == 0 {
			return nil
		}
		var staff []struct {
			Ord         int
			InspectorID int64
		}
		if err := tx.Raw(`SELECT ord, inspector_id FROM visit_assignments WHERE plan_id = ? AND visit_seq = ?`,
			ch.PlanID, ch.Seq).Scan(&staff).Error; err != nil {
			return translate(err, object+" inspectors")
		}
		at := map[int]int64{}
		for _, a := range staff {
			at[a.Ord] = a.InspectorID
		}
		var n int
		if err := tx.Raw(`SELECT coalesce(max(seq), 0) FROM visit_substitutions WHERE plan_id = ? AND visit_seq = ?`,
			ch.PlanID, ch.Seq).Row().Scan(&n); err != nil {
			return translate(err, object+" substitutions")
		}
		for _, sw := range ch.Swaps {
			if at[sw.Ord] != sw.Out {
				return fmt.Errorf("%s position %d is held by inspector %d, not %d: %w", object, sw.Ord, at[sw.Ord], sw.Out, ErrRepairStale)
			}
			draw, err := json.Marshal(sw.Draw)
			if err != nil {
				return fmt.Errorf("%s draw: %w", object, err)
			}
			n++
			if err := tx.Exec(`INSERT INTO visit_substitutions (plan_id, visit_seq, seq, ord, out_inspector_id, inspector_id,
				date, repair_id, reason, draw_key, draw, created_by) VALUES (?, ?, ?, ?, ?, ?, ?::date, ?, ?, ?, ?::jsonb, ?)`,
				ch.PlanID, ch.Seq, n, sw.Ord, sw.Out, sw.In, civilDate(ch.To), r.ID, r.Reason, sw.DrawKey, string(draw), actor).Error; err != nil {
				return translate(err, object+" substitution")
			}
			if err := appendAudit(tx, actor, "visit.restaff", object, OutcomeOK, map[string]any{
				"ord": sw.Ord, "out": sw.Out, "in": sw.In, "draw_key": sw.DrawKey, "reason": r.Reason, "repair_id": r.ID,
			}); err != nil {
				return err
			}
		}
		return armVisitOutbox(tx, ch.PlanID, ch.Seq, OutboxVisitRestaffed, "substitutions", n)
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

func sameDay(a, b time.Time) bool { return civilDate(a) == civilDate(b) }

// RepairProblemInput is a visit repair could not mend, to record.
type RepairProblemInput struct {
	PlanID int64
	Seq    int
	USCC   string
	Date   time.Time
	Reason string
	Detail string
}

// FinishRepair records what repair r could not mend (once per visit) and
// marks it done, audited with what it did, in one transaction.
func (s *Store) FinishRepair(ctx context.Context, r CalendarRepair, problems []RepairProblemInput) (CalendarRepair, error) {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for _, p := range problems {
			if err := tx.Exec(`INSERT INTO repair_problems (repair_id, plan_id, visit_seq, uscc, date, reason, detail)
				VALUES (?, ?, ?, ?, ?::date, ?, ?) ON CONFLICT DO NOTHING`,
				r.ID, p.PlanID, p.Seq, p.USCC, civilDate(p.Date), p.Reason, p.Detail).Error; err != nil {
				return translate(err, repairObject(r.ID)+" problems")
			}
		}
		res := tx.Exec(`UPDATE calendar_repairs SET status = 'done', finished_at = now() WHERE id = ? AND status <> 'done'`, r.ID)
		if res.Error != nil {
			return translate(res.Error, repairObject(r.ID))
		}
		if res.RowsAffected == 0 {
			return nil
		}
		var row repairRow
		if err := tx.Raw(`SELECT `+repairColumns+` FROM calendar_repairs r WHERE r.id = ?`, r.ID).Scan(&row).Error; err != nil {
			return translate(err, repairObject(r.ID))
		}
		return appendAudit(tx, "repair:"+strconv.FormatInt(r.ID, 10), "calendar.repair", repairObject(r.ID), OutcomeOK,
			map[string]any{"cause": r.Cause, "cause_id": r.CauseID, "reason": r.Reason, "visits": row.Visits,
				"moved": row.Moved, "restaffed": row.Restaffed, "unrepaired": row.Unrepaired})
	})
	if err != nil {
		return CalendarRepair{}, err
	}
	return s.GetRepair(ctx, r.ID)
}

// VisitSubstitution is one inspector replaced on a visit.
type VisitSubstitution struct {
	PlanID    int64           `json:"plan_id"`
	VisitSeq  int             `json:"visit_seq"`
	Seq       int             `json:"seq"`
	Ord       int             `json:"ord"`
	OutID     int64           `json:"out_inspector_id"`
	OutName   string          `json:"out_inspector_name"`
	InID      int64           `json:"inspector_id"`
	InName    string          `json:"inspector_name"`
	Date      string          `json:"date"`
	RepairID  *int64          `json:"repair_id"`
	Reason    string          `json:"reason"`
	DrawKey   string          `json:"draw_key"`
	Draw      json.RawMessage `json:"draw"`
	CreatedAt time.Time       `json:"created_at"`
}

// VisitSubstitutions lists the inspectors replaced on visit seq of plan
// planID, oldest first.
func (s *Store) VisitSubstitutions(ctx context.Context, planID int64, seq int) ([]VisitSubstitution, error) {
	return s.substitutions(ctx, "s.plan_id = ? AND s.visit_seq = ?", planID, seq)
}

// RepairSubstitutions lists the inspectors repair id replaced, by plan,
// visit and order.
func (s *Store) RepairSubstitutions(ctx context.Context, id int64) ([]VisitSubstitution, error) {
	return s.substitutions(ctx, "s.repair_id = ?", id)
}

func (s *Store) substitutions(ctx context.Context, where string, args ...any) ([]VisitSubstitution, error) {
	var rows []struct {
		PlanID    int64
		VisitSeq  int
		Seq       int
		Ord       int
		OutID     int64
		OutName   string
		InID      int64
		InName    string
		Date      time.Time
		RepairID  *int64
		Reason    string
		DrawKey   string
		Draw      string
		CreatedAt time.Time
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT s.plan_id, s.visit_seq, s.seq, s.ord, s.out_inspector_id AS out_id,
			o.name AS out_name, s.inspector_id AS in_id, i.name AS in_name, s.date, s.repair_id, s.reason, s.draw_key,
			s.draw::text AS draw, s.created_at
		FROM visit_substitutions s JOIN inspectors o ON o.id = s.out_inspector_id JOIN inspectors i ON i.id = s.inspector_id
		WHERE `+where+` ORDER BY s.plan_id, s.visit_seq, s.seq`, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "visit substitutions")
	}
	out := make([]VisitSubstitution, len(rows))
	for i, r := range rows {
		out[i] = VisitSubstitution{PlanID: r.PlanID, VisitSeq: r.VisitSeq, Seq: r.Seq, Ord: r.Ord, OutID: r.OutID,
			OutName: r.OutName, InID: r.InID, InName: r.InName, Date: civilDate(r.Date), RepairID: r.RepairID,
			Reason: r.Reason, DrawKey: r.DrawKey, Draw: json.RawMessage(r.Draw), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// repairLockKey is the advisory lock that runs repairs one at a time: each
// computes its changes from the calendar as it is, so two at once could both
// fill the same team-day.
const repairLockKey = 7_310_005

// WithRepairLock runs fn holding the repairs' advisory lock, on a
// connection of its own: a process that dies releases it with its
// connection. It waits for a repair running elsewhere, up to ctx.
func (s *Store) WithRepairLock(ctx context.Context, fn func() error) error {
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("repair lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, repairLockKey); err != nil {
		return fmt.Errorf("repair lock: %w", translate(err, "repair lock"))
	}
	defer func() {
		// A background context: the lock must go even if ctx is done.
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, repairLockKey)
	}()
	return fn()
}
