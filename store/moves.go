package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"inspectonce/domain"
)

// VisitMove is one move of a published visit to another day.
type VisitMove struct {
	PlanID   int64  `json:"plan_id"`
	VisitSeq int    `json:"visit_seq"`
	UID      string `json:"uid"`
	// Revision numbers the visit's moves from 1: the visit's iCalendar
	// SEQUENCE from this move on.
	Revision int `json:"revision"`
	// OriginalDate is the plan's date; FromDate the date before this move
	// (the plan's or an earlier move's); ToDate the new effective date.
	OriginalDate string    `json:"original_date"`
	FromDate     string    `json:"from_date"`
	ToDate       string    `json:"to_date"`
	Reason       string    `json:"reason"`
	MovedBy      string    `json:"moved_by"`
	MovedAt      time.Time `json:"moved_at"`
}

// MoveRules are what a move's target day must satisfy, from the caller's
// configuration: Today is today's civil date in the configured zone, and
// WorkingDay the working-day calendar (calendar.Calendar.IsWorkingDay). A nil
// WorkingDay accepts every day.
type MoveRules struct {
	Today      time.Time
	WorkingDay func(time.Time) bool
}

// maxMoveReason bounds a move's reason (the column's CHECK says the same).
const maxMoveReason = 1000

// OutboxVisitMoved is the kind of the outbox row that tells the people of a
// visit that it moved (jobs.TypeDispatchVisitMoved). Its payload is version 1
// of jobs.VisitMovedPayload: plan, visit and the revision of the latest move.
const OutboxVisitMoved = "visit_moved"

// MoveVisit moves visit seq of published plan planID to the civil date to,
// without touching the frozen plan rows: it records a move (visit_moves), and
// from then on the visit's effective date is to and its revision one more.
//
// Refused with a validation error naming the field: an empty reason
// ("reason"); a target before rules.Today, on a day that is not a working day,
// or equal to the visit's current date ("date"); a plan that is not published
// ("id"). An unknown plan or visit is ErrNotFound; a visit whose effective date
// is already past is ErrConflict (it has happened, or should have). The
// team's capacity on the new day and the demands' windows are not checked: a
// move is the coordinator's decision, recorded with its reason. Audited as
// "visit.move". The move's outbox row (OutboxVisitMoved) is written in the
// same transaction: its dispatch tells the inspectors, the lead team and, for
// an announced visit, the business.
func (s *Store) MoveVisit(ctx context.Context, actor string, planID int64, seq int, to time.Time, reason string, rules MoveRules) (VisitMove, error) {
	var v domain.ValidationError
	reason = strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		v.Add("reason", "is required: say why the visit moves")
	case n > maxMoveReason:
		v.Add("reason", "must be at most %d characters, got %d", maxMoveReason, n)
	}
	target := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	day := time.Date(rules.Today.Year(), rules.Today.Month(), rules.Today.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case target.Before(day):
		v.Add("date", "is in the past (today is %s)", civilDate(day))
	case rules.WorkingDay != nil && !rules.WorkingDay(target):
		v.Add("date", "%s is not a working day (weekend or holiday)", civilDate(target))
	}
	if err := v.Err(); err != nil {
		return VisitMove{}, err
	}
	var out VisitMove
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// The plan's row lock orders moves of its visits: the next move number
		// and the date moved from are read and written under it.
		row, err := lockPlan(tx, planID)
		if err != nil {
			return err
		}
		if row.Status != PlanPublished {
			return domain.Invalid("id", "plan %d is %s: only the visits of a published plan can be moved", planID, row.Status)
		}
		var cur struct {
			Date         time.Time
			OriginalDate time.Time
			Revision     int
		}
		res := tx.Raw(`SELECT date, original_date, revision FROM published_visits WHERE plan_id = ? AND seq = ?`, planID, seq).Scan(&cur)
		if res.Error != nil {
			return translate(res.Error, visitObject(planID, seq))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
		}
		switch {
		case cur.Date.Before(day):
			return fmt.Errorf("%s took place on %s (or should have): a past visit cannot be moved: %w",
				visitObject(planID, seq), civilDate(cur.Date), domain.ErrConflict)
		case cur.Date.Equal(target):
			return domain.Invalid("date", "is already the visit's date")
		}
		out = VisitMove{PlanID: planID, VisitSeq: seq, UID: VisitUID(planID, seq), Revision: cur.Revision + 1,
			OriginalDate: civilDate(cur.OriginalDate), FromDate: civilDate(cur.Date), ToDate: civilDate(target),
			Reason: reason, MovedBy: actor}
		if err := tx.Raw(`INSERT INTO visit_moves (plan_id, visit_seq, seq, from_date, to_date, reason, moved_by)
			VALUES (?, ?, ?, ?::date, ?::date, ?, ?) RETURNING moved_at`,
			planID, seq, out.Revision, out.FromDate, out.ToDate, reason, actor).Row().Scan(&out.MovedAt); err != nil {
			return translate(err, visitObject(planID, seq)+" move")
		}
		// Telling people of the move is the dispatch's work (jobs), and it
		// must not be lost: the outbox row is written with the move, and the
		// relay hands it to a dispatch:visit_moved task. A visit has one such
		// row (the outbox is unique per plan, visit and kind): a later move
		// re-arms it with its revision, and the task tells every move not
		// told yet.
		if err := armVisitOutbox(tx, planID, seq, OutboxVisitMoved, "revision", out.Revision); err != nil {
			return err
		}
		return appendAudit(tx, actor, "visit.move", visitObject(planID, seq), OutcomeOK, map[string]any{
			"from": out.FromDate, "to": out.ToDate, "revision": out.Revision, "reason": reason,
		})
	})
	if err != nil {
		return VisitMove{}, err
	}
	return out, nil
}

// VisitMoves lists the moves of visit seq of plan planID, oldest first (none
// for a visit never moved). An unknown visit is ErrNotFound.
func (s *Store) VisitMoves(ctx context.Context, planID int64, seq int) ([]VisitMove, error) {
	db := s.db.WithContext(ctx)
	var original []time.Time
	if err := db.Raw(`SELECT date FROM plan_visits WHERE plan_id = ? AND seq = ?`, planID, seq).Scan(&original).Error; err != nil {
		return nil, translate(err, visitObject(planID, seq))
	}
	if len(original) == 0 {
		return nil, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	var rows []struct {
		Seq      int
		FromDate time.Time
		ToDate   time.Time
		Reason   string
		MovedBy  string
		MovedAt  time.Time
	}
	if err := db.Raw(`SELECT seq, from_date, to_date, reason, moved_by, moved_at FROM visit_moves
		WHERE plan_id = ? AND visit_seq = ? ORDER BY seq`, planID, seq).Scan(&rows).Error; err != nil {
		return nil, translate(err, visitObject(planID, seq)+" moves")
	}
	out := make([]VisitMove, len(rows))
	for i, r := range rows {
		out[i] = VisitMove{PlanID: planID, VisitSeq: seq, UID: VisitUID(planID, seq), Revision: r.Seq,
			OriginalDate: civilDate(original[0]), FromDate: civilDate(r.FromDate), ToDate: civilDate(r.ToDate),
			Reason: r.Reason, MovedBy: r.MovedBy, MovedAt: r.MovedAt}
	}
	return out, nil
}

func visitObject(planID int64, seq int) string {
	return fmt.Sprintf("%s/visit/%d", planObject(planID), seq)
}
