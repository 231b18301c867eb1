package jobs

import (
	"context"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/store"
)

// Telling people that a published visit moved (store.MoveVisit).
//
// The notices are written by a dispatch:visit_moved task that the relay makes
// from the outbox row MoveVisit writes in the move's transaction, not by
// MoveVisit itself: webhook deliveries are queued by the handler that writes
// the notices (enqueueDeliveries), and nothing else ever queues them, so
// notices written in the move's transaction would reach the inboxes but
// never the webhooks. Through the outbox a move is told however the process
// dies after the commit, and like every dispatch its notices and deliveries
// are written once under their effect keys however often the task runs.

// moveInfo is what a visit_moved notice says of the move.
type moveInfo struct {
	Revision     int       `json:"revision"`
	FromDate     string    `json:"from_date"`
	ToDate       string    `json:"to_date"`
	OriginalDate string    `json:"original_date"`
	Reason       string    `json:"reason"`
	MovedAt      time.Time `json:"moved_at"`
}

// moveBody is the body of a visit_moved notice to an inspector or the lead
// team: the visit (date: the move's new date) and the move.
type moveBody struct {
	visitBody
	Move moveInfo `json:"move"`
}

// businessMoveBody is what the business of an announced visit is told of a
// move: what it is told of the visit (date: the new one) and the move.
type businessMoveBody struct {
	businessBody
	Move moveInfo `json:"move"`
}

// MoveNotices are the notices of the moves of visit v (its moves, oldest
// first, as store.VisitMoves lists them): for each move, a visit_moved notice
// to each inspector of the visit (the lead first), to the lead team, and —
// when the visit is announced (every demand's announce_days > 0) — to the
// business. Effect key: visit × recipient × "moved" × revision
// (store.MoveEffectKey): each move is told once to each of them.
//
// The business's notice is visible from the earliest date the visit had been
// set for up to that move, less the least announce_days, at midnight in loc:
// a business already told of the visit sees the move at once, and one not
// told yet hears of neither before the announce policy allows. An
// unannounced visit's business hears of no move: it is not told of the visit
// before it has happened.
func MoveNotices(v *store.DispatchVisit, moves []store.VisitMove, loc *time.Location, langs NoticeLanguages) []store.NewNotification {
	var out []store.NewNotification
	li, lt, lb := langs.For(store.RecipientInspector), langs.For(store.RecipientTeam), langs.For(store.RecipientBusiness)
	days := v.AnnounceDays()
	earliest := v.OriginalDate
	if earliest.IsZero() {
		earliest = v.Date
	}
	for _, m := range moves {
		to, err := time.Parse(time.DateOnly, m.ToDate)
		if err != nil {
			continue // VisitMoves writes civil dates: cannot happen
		}
		if to.Before(earliest) {
			earliest = to
		}
		at := *v
		at.Date = to
		info := moveInfo{Revision: m.Revision, FromDate: m.FromDate, ToDate: m.ToDate, OriginalDate: m.OriginalDate,
			Reason: m.Reason, MovedAt: m.MovedAt}
		for _, in := range v.Inspectors {
			id := strconv.FormatInt(in.ID, 10)
			b := moveBody{visitBody: bodyOf(&at, in.Role), Move: info}
			b.Revision, b.OriginalDate = m.Revision, m.OriginalDate
			title := li.T("notice.visit_moved.title", v.BusinessName, li.Date(m.FromDate), li.Date(m.ToDate), roleText(li, in.Role))
			b.Text = noticeText(li, title, reasonDetail(li, m.Reason), visitDetail(li, b.visitBody))
			out = append(out, store.NewNotification{
				EffectKey:     store.MoveEffectKey(v.PlanID, v.Seq, store.RecipientInspector, id, m.Revision),
				RecipientKind: store.RecipientInspector, RecipientID: id, Kind: store.NoticeVisitMoved,
				PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
			})
		}
		tb := moveBody{visitBody: bodyOf(&at, ""), Move: info}
		tb.Revision, tb.OriginalDate = m.Revision, m.OriginalDate
		tTitle := lt.T("notice.visit_moved.team", v.TeamName, v.BusinessName, lt.Date(m.FromDate), lt.Date(m.ToDate))
		tb.Text = noticeText(lt, tTitle, reasonDetail(lt, m.Reason), visitDetail(lt, tb.visitBody))
		team := strconv.FormatInt(v.TeamID, 10)
		out = append(out, store.NewNotification{
			EffectKey:     store.MoveEffectKey(v.PlanID, v.Seq, store.RecipientTeam, team, m.Revision),
			RecipientKind: store.RecipientTeam, RecipientID: team, Kind: store.NoticeVisitMoved,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: tTitle, Body: tb,
		})
		if days > 0 {
			bb := businessMoveBody{businessBody: businessBodyOf(v, m.ToDate), Move: info}
			bTitle := lb.T("notice.visit_moved.business", lb.Date(m.FromDate), lb.Date(m.ToDate))
			bb.Text = noticeText(lb, bTitle, reasonDetail(lb, m.Reason), businessDetail(lb, bb.businessBody))
			out = append(out, store.NewNotification{
				EffectKey:     store.MoveEffectKey(v.PlanID, v.Seq, store.RecipientBusiness, v.USCC, m.Revision),
				RecipientKind: store.RecipientBusiness, RecipientID: v.USCC, Kind: store.NoticeVisitMoved,
				PlanID: v.PlanID, VisitSeq: v.Seq, Title: bTitle, Body: bb,
				VisibleFrom: localDay(earliest, loc).AddDate(0, 0, -days),
			})
		}
	}
	return out
}

// HandleVisitMoved is the handler of TypeDispatchVisitMoved: it tells the
// moves of the visit (TellMoves). A bad payload, an unknown visit or a plan
// that is not published is not retried (the task is archived).
func (d *Dispatcher) HandleVisitMoved(ctx context.Context, t *asynq.Task) error {
	return d.handleNews(ctx, t, &VisitMovedPayload{}, "tell moves", d.TellMoves)
}

// TellMoves writes the notices of every move of visit seq of plan planID
// (MoveNotices; those told before are not written again), queues their
// webhook deliveries, and re-checks the rosters of the team-days the moves
// left and entered that have gone out already. It returns how many notices it
// wrote. Every move, not only the latest: moves made before the relay picked
// up the first are carried by one task, and each is told.
func (d *Dispatcher) TellMoves(ctx context.Context, planID int64, seq int) (int, error) {
	v, err := d.newsVisit(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	moves, err := d.st.VisitMoves(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	if len(moves) == 0 {
		return 0, nil
	}
	inserted, err := d.sendNews(ctx, TypeDispatchVisitMoved, &v, MoveNotices(&v, moves, d.loc, d.langs))
	if err != nil {
		return inserted, err
	}
	days := teamDays{}
	for _, m := range moves {
		for _, s := range []string{m.FromDate, m.ToDate} {
			if day, err := time.Parse(time.DateOnly, s); err == nil {
				days.add(v.TeamID, day)
			}
		}
	}
	_, err = d.refreshRosters(ctx, TypeDispatchVisitMoved, days)
	return inserted, err
}

// newsVisit reads visit seq of plan planID with its current code, for news
// about it (a move, an amendment).
func (d *Dispatcher) newsVisit(ctx context.Context, planID int64, seq int) (store.DispatchVisit, error) {
	v, err := d.st.DispatchVisitOf(ctx, planID, seq)
	if err != nil {
		return v, err
	}
	vs := []store.DispatchVisit{v}
	if err := d.attachCodes(ctx, vs); err != nil {
		return v, err
	}
	return vs[0], nil
}

// sendNews writes the notices ns of news about visit v (those written
// before are not written again) and queues their webhook deliveries,
// counting them under kind. Told after the visit's date, only its
// inspectors hear it, as for a late dispatch (LateNotices). It returns how
// many notices it wrote.
func (d *Dispatcher) sendNews(ctx context.Context, kind string, v *store.DispatchVisit, ns []store.NewNotification) (int, error) {
	if v.Date.Before(d.today()) {
		kept := ns[:0:0]
		for _, n := range ns {
			if n.RecipientKind == store.RecipientInspector {
				kept = append(kept, n)
			}
		}
		ns = kept
	}
	w, err := d.st.WriteNotifications(ctx, ns)
	if err != nil {
		return 0, err
	}
	d.effects.WithLabelValues(kind).Add(float64(w.Inserted))
	if err := d.enqueueDeliveries(ctx, w.Deliveries); err != nil {
		return w.Inserted, err
	}
	return w.Inserted, nil
}
