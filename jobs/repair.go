package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/domain"
	"inspectonce/store"
)

// Repairs of the calendar (issue 17 part 2). A new unavailability or closure
// opens a repair and its 'calendar_repair' outbox row in one transaction;
// the relay makes the row a repair:calendar task, and the handler runs the
// repair (planning.Service.RunRepair), which applies each visit's change in
// its own transaction with its news in the outbox: moves as visit_moved rows
// (moved.go tells them), replaced inspectors as visit_restaffed rows (told
// here). A worker killed mid-way leaves the task active; asynq hands it out
// again when its lease expires, and the repair resumes from the calendar as
// it is.

// TypeCalendarRepair runs one repair of the calendar.
const TypeCalendarRepair = "repair:calendar"

// TypeDispatchVisitRestaffed tells the people of a visit that a repair
// replaced an inspector.
const TypeDispatchVisitRestaffed = "dispatch:visit_restaffed"

// CalendarRepairPayload is version 1 of a repair:calendar payload.
type CalendarRepairPayload struct {
	V        int   `json:"v"`
	RepairID int64 `json:"repair_id"`
}

// RepairTaskID is the task ID of repair id's task: one per repair.
func RepairTaskID(id int64) string { return "repair:" + strconv.FormatInt(id, 10) }

// NewCalendarRepair builds the task that runs repair id.
func NewCalendarRepair(id int64, opts ...asynq.Option) (*asynq.Task, error) {
	if id <= 0 {
		return nil, fmt.Errorf("calendar repair: repair id must be positive, got %d", id)
	}
	b, err := json.Marshal(CalendarRepairPayload{V: 1, RepairID: id})
	if err != nil {
		return nil, err
	}
	all := append([]asynq.Option{asynq.Queue(PlanRunQueue), asynq.MaxRetry(10), asynq.Timeout(10 * time.Minute),
		asynq.Retention(TaskRetention), asynq.TaskID(RepairTaskID(id))}, opts...)
	return asynq.NewTask(TypeCalendarRepair, b, all...), nil
}

// Repairer runs a repair of the calendar (*planning.Service is one).
type Repairer interface {
	RunRepair(ctx context.Context, id int64) (store.CalendarRepair, error)
}

// HandleCalendarRepair returns the handler of TypeCalendarRepair. An
// unknown repair or a bad payload is not retried; any other failure is, and
// the repair resumes where it stopped.
func HandleCalendarRepair(r Repairer, log *slog.Logger) asynq.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, t *asynq.Task) error {
		var p CalendarRepairPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("calendar repair payload: %v: %w", err, asynq.SkipRetry)
		}
		if p.V != 1 || p.RepairID <= 0 {
			return fmt.Errorf("calendar repair payload version %d repair %d: %w", p.V, p.RepairID, asynq.SkipRetry)
		}
		start := time.Now()
		rep, err := r.RunRepair(ctx, p.RepairID)
		switch {
		case err == nil:
			log.Info("calendar repair done", "repair_id", p.RepairID, "cause", rep.Cause, "cause_id", rep.CauseID,
				"moved", rep.Moved, "restaffed", rep.Restaffed, "unrepaired", rep.Unrepaired,
				"duration_ms", time.Since(start).Milliseconds())
			return nil
		case errors.Is(err, domain.ErrNotFound):
			log.Error("calendar repair refused", "repair_id", p.RepairID, "err", err)
			return fmt.Errorf("repair %d: %w: %w", p.RepairID, err, asynq.SkipRetry)
		}
		log.Error("calendar repair failed", "repair_id", p.RepairID, "err", err)
		return fmt.Errorf("repair %d: %w", p.RepairID, err)
	}
}

// repairTaskOf is the task of a calendar_repair outbox row.
func (r *Relay) repairTaskOf(row store.OutboxRow) (*asynq.Task, error) {
	var p CalendarRepairPayload
	if err := json.Unmarshal(row.Payload, &p); err != nil {
		return nil, fmt.Errorf("outbox row %d: %s payload: %w", row.ID, row.Kind, err)
	}
	if p.V != 1 || p.RepairID != int64(row.VisitSeq) {
		return nil, fmt.Errorf("outbox row %d names repair %d, payload version %d repair %d", row.ID, row.VisitSeq, p.V, p.RepairID)
	}
	var opts []asynq.Option
	if r.queue != "" {
		opts = append(opts, asynq.Queue(r.queue))
	}
	return NewCalendarRepair(p.RepairID, opts...)
}

// VisitRestaffedPayload is version 1 of a dispatch:visit_restaffed payload:
// the visit and how many substitutions it had when the task was made.
type VisitRestaffedPayload struct {
	V             int   `json:"v"`
	PlanID        int64 `json:"plan_id"`
	VisitSeq      int   `json:"visit_seq"`
	Substitutions int   `json:"substitutions"`
}

func (p VisitRestaffedPayload) check() error {
	if p.V != 1 {
		return fmt.Errorf("visit_restaffed payload version %d is not known", p.V)
	}
	if p.PlanID <= 0 || p.VisitSeq <= 0 || p.Substitutions <= 0 {
		return fmt.Errorf("visit_restaffed payload names plan %d visit %d substitutions %d", p.PlanID, p.VisitSeq, p.Substitutions)
	}
	return nil
}

func (p VisitRestaffedPayload) visit() (int64, int) { return p.PlanID, p.VisitSeq }

// RestaffedTaskID is the task ID of the dispatch:visit_restaffed task of
// outbox row id armed for the visit's n-th substitution.
func RestaffedTaskID(id int64, n int) string {
	return OutboxTaskID(id) + ":restaffed:" + strconv.Itoa(n)
}

// NewVisitRestaffed builds the dispatch:visit_restaffed task of visit
// visitSeq of plan planID, whose substitutions so far are n.
func NewVisitRestaffed(planID int64, visitSeq, n int, opts ...asynq.Option) (*asynq.Task, error) {
	return newsTask(TypeDispatchVisitRestaffed, VisitRestaffedPayload{V: 1, PlanID: planID, VisitSeq: visitSeq, Substitutions: n}, opts...)
}

// restaffInfo is what a visit_restaffed notice says of the replacement.
type restaffInfo struct {
	Seq          int    `json:"seq"`
	Ord          int    `json:"ord"`
	OutInspector int64  `json:"out_inspector_id"`
	OutName      string `json:"out_inspector_name"`
	InInspector  int64  `json:"inspector_id"`
	InName       string `json:"inspector_name"`
	Reason       string `json:"reason"`
	DrawKey      string `json:"draw_key"`
}

type restaffBody struct {
	visitBody
	Restaff restaffInfo `json:"restaff"`
}

// RestaffNotices are the notices of the substitutions of visit v (oldest
// first): for each, a visit_restaffed notice to the inspector who comes (with
// the visit as it is now), to the inspector who no longer does, and to the
// lead team. The business is not told: which inspectors come is not part of
// what it is told of a visit. Effect key: visit × recipient × "restaffed" ×
// substitution, so each is told once to each.
func RestaffNotices(v *store.DispatchVisit, subs []store.VisitSubstitution, langs NoticeLanguages) []store.NewNotification {
	var out []store.NewNotification
	li, lt := langs.For(store.RecipientInspector), langs.For(store.RecipientTeam)
	date := v.Date.Format(time.DateOnly)
	for _, s := range subs {
		info := restaffInfo{Seq: s.Seq, Ord: s.Ord, OutInspector: s.OutID, OutName: s.OutName, InInspector: s.InID,
			InName: s.InName, Reason: s.Reason, DrawKey: s.DrawKey}
		role := "member"
		if s.Ord == 0 {
			role = "lead"
		}
		key := func(kind, id string) string {
			return store.VisitEffectKey(v.PlanID, v.Seq, kind, id, "restaffed") + ":" + strconv.Itoa(s.Seq)
		}
		in, outID, team := strconv.FormatInt(s.InID, 10), strconv.FormatInt(s.OutID, 10), strconv.FormatInt(v.TeamID, 10)
		inB := restaffBody{visitBody: bodyOf(v, role), Restaff: info}
		inTitle := li.T("notice.visit_restaffed.in", s.OutName, v.BusinessName, li.Date(date), roleText(li, role), s.Reason)
		inB.Text = noticeText(li, inTitle, visitDetail(li, inB.visitBody))
		outB := restaffBody{visitBody: bodyOf(v, ""), Restaff: info}
		outTitle := li.T("notice.visit_restaffed.out", v.BusinessName, li.Date(date), s.InName, s.Reason)
		outB.Text = noticeText(li, outTitle, visitDetail(li, outB.visitBody))
		tB := restaffBody{visitBody: bodyOf(v, ""), Restaff: info}
		tTitle := lt.T("notice.visit_restaffed.team", v.TeamName, s.InName, s.OutName, v.BusinessName, lt.Date(date), s.Reason)
		tB.Text = noticeText(lt, tTitle, visitDetail(lt, tB.visitBody))
		out = append(out,
			store.NewNotification{EffectKey: key(store.RecipientInspector, in), RecipientKind: store.RecipientInspector,
				RecipientID: in, Kind: store.NoticeVisitRestaffed, PlanID: v.PlanID, VisitSeq: v.Seq,
				Title: inTitle, Body: inB},
			store.NewNotification{EffectKey: key(store.RecipientInspector, outID), RecipientKind: store.RecipientInspector,
				RecipientID: outID, Kind: store.NoticeVisitRestaffed, PlanID: v.PlanID, VisitSeq: v.Seq,
				Title: outTitle, Body: outB},
			store.NewNotification{EffectKey: key(store.RecipientTeam, team), RecipientKind: store.RecipientTeam,
				RecipientID: team, Kind: store.NoticeVisitRestaffed, PlanID: v.PlanID, VisitSeq: v.Seq,
				Title: tTitle, Body: tB})
	}
	return out
}

// HandleVisitRestaffed is the handler of TypeDispatchVisitRestaffed.
func (d *Dispatcher) HandleVisitRestaffed(ctx context.Context, t *asynq.Task) error {
	return d.handleNews(ctx, t, &VisitRestaffedPayload{}, "tell substitutions", d.TellSubstitutions)
}

// TellSubstitutions writes the notices of every substitution of visit seq
// of plan planID (those told before are not written again), queues their
// webhook deliveries and re-checks the roster of the visit's team-day if it
// went out already.
func (d *Dispatcher) TellSubstitutions(ctx context.Context, planID int64, seq int) (int, error) {
	v, err := d.newsVisit(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	subs, err := d.st.VisitSubstitutions(ctx, planID, seq)
	if err != nil || len(subs) == 0 {
		return 0, err
	}
	inserted, err := d.sendNews(ctx, TypeDispatchVisitRestaffed, &v, RestaffNotices(&v, subs, d.langs))
	if err != nil {
		return inserted, err
	}
	_, err = d.refreshRosters(ctx, TypeDispatchVisitRestaffed, teamDays{}.add(v.TeamID, v.Date))
	return inserted, err
}
