package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/store"
)

// Telling people that a visit's code was revoked (store.RevokeVisitCode).
//
// A revoked code answers "revoked" at the door, so everyone who was given it
// — in an assignment, a team notice, the business's notice, a reminder —
// needs the code that replaced it. As with moves, the revocation writes an
// outbox row in its own transaction and the relay makes it a
// dispatch:code_replaced task, whose handler writes the notices and queues
// their webhook deliveries.

// TypeDispatchCodeReplaced tells the people of a visit the code that
// replaced its revoked one (CodeReplacedPayload). The relay enqueues one per
// arming of a code_revoked outbox row (CodeTaskID).
const TypeDispatchCodeReplaced = "dispatch:code_replaced"

// CodeReplacedPayload is version 1 of a dispatch:code_replaced payload: the
// visit and the code generation that replaced the revoked one when the task
// was made. The handler tells the code current when it runs, so two quick
// revocations are told once, with the last code.
type CodeReplacedPayload struct {
	V          int   `json:"v"`
	PlanID     int64 `json:"plan_id"`
	VisitSeq   int   `json:"visit_seq"`
	Generation int   `json:"generation"`
}

func (p CodeReplacedPayload) check() error {
	if p.V != 1 {
		return fmt.Errorf("code_replaced payload version %d is not known", p.V)
	}
	if p.PlanID <= 0 || p.VisitSeq <= 0 || p.Generation <= 0 {
		return fmt.Errorf("code_replaced payload names plan %d visit %d generation %d", p.PlanID, p.VisitSeq, p.Generation)
	}
	return nil
}

// CodeTaskID is the task ID of the dispatch:code_replaced task of outbox row
// id armed for code generation: each revocation re-arms the row, and the
// generation keeps a later arming from taking an earlier one's retained ID.
func CodeTaskID(id int64, generation int) string {
	return OutboxTaskID(id) + ":code:" + strconv.Itoa(generation)
}

// NewCodeReplaced builds the dispatch:code_replaced task of a visit whose
// current code is generation. opts come after the defaults (queue
// DispatchQueue, DispatchMaxRetry, DispatchTimeout, TaskRetention) and
// override them.
func NewCodeReplaced(planID int64, visitSeq, generation int, opts ...asynq.Option) (*asynq.Task, error) {
	return newsTask(TypeDispatchCodeReplaced, CodeReplacedPayload{V: 1, PlanID: planID, VisitSeq: visitSeq, Generation: generation}, opts...)
}

// codeInfo is what a code_replaced notice says of the codes.
type codeInfo struct {
	// Code is the current code; Generation counts the revocations before it.
	Code       string `json:"code"`
	Generation int    `json:"generation"`
	// Reason and RevokedAt are the latest revocation's.
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
}

// codeBody is the body of a code_replaced notice to an inspector or the
// lead team: the visit (with the new code's page) and the codes.
type codeBody struct {
	visitBody
	NewCode codeInfo `json:"new_code"`
}

// businessCodeBody is what the business of an announced visit is told.
type businessCodeBody struct {
	businessBody
	NewCode codeInfo `json:"new_code"`
}

// CodeNotices are the notices telling the people of visit v (its CodeURL set
// to the current code's page, when the public URL is known) the current code
// info: a code_replaced notice to each inspector, to the lead team, and — when
// the visit is announced — to the business, visible no earlier than its
// visit notice. An unannounced visit's business was given no code and is told
// nothing. Effect key: visit × recipient × "code" × generation
// (store.CodeEffectKey).
func CodeNotices(v *store.DispatchVisit, info codeInfo, loc *time.Location, langs NoticeLanguages) []store.NewNotification {
	var out []store.NewNotification
	date := v.Date.Format(time.DateOnly)
	li, lt, lb := langs.For(store.RecipientInspector), langs.For(store.RecipientTeam), langs.For(store.RecipientBusiness)
	for _, in := range v.Inspectors {
		id := strconv.FormatInt(in.ID, 10)
		b := codeBody{visitBody: bodyOf(v, in.Role), NewCode: info}
		title := li.T("notice.code_replaced.title", v.BusinessName, li.Date(date), roleText(li, in.Role))
		b.Text = noticeText(li, title, reasonDetail(li, info.Reason), visitDetail(li, b.visitBody))
		out = append(out, store.NewNotification{
			EffectKey:     store.CodeEffectKey(v.PlanID, v.Seq, store.RecipientInspector, id, info.Generation),
			RecipientKind: store.RecipientInspector, RecipientID: id, Kind: store.NoticeCodeReplaced,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
		})
	}
	team := strconv.FormatInt(v.TeamID, 10)
	tb := codeBody{visitBody: bodyOf(v, ""), NewCode: info}
	tTitle := lt.T("notice.code_replaced.team", v.TeamName, v.BusinessName, lt.Date(date))
	tb.Text = noticeText(lt, tTitle, reasonDetail(lt, info.Reason), visitDetail(lt, tb.visitBody))
	out = append(out, store.NewNotification{
		EffectKey:     store.CodeEffectKey(v.PlanID, v.Seq, store.RecipientTeam, team, info.Generation),
		RecipientKind: store.RecipientTeam, RecipientID: team, Kind: store.NoticeCodeReplaced,
		PlanID: v.PlanID, VisitSeq: v.Seq, Title: tTitle, Body: tb,
	})
	if days := v.AnnounceDays(); days > 0 {
		bb := businessCodeBody{businessBody: businessBodyOf(v, date), NewCode: info}
		bTitle := lb.T("notice.code_replaced.business", lb.Date(date))
		bb.Text = noticeText(lb, bTitle, businessDetail(lb, bb.businessBody))
		out = append(out, store.NewNotification{
			EffectKey:     store.CodeEffectKey(v.PlanID, v.Seq, store.RecipientBusiness, v.USCC, info.Generation),
			RecipientKind: store.RecipientBusiness, RecipientID: v.USCC, Kind: store.NoticeCodeReplaced,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: bTitle, Body: bb,
			VisibleFrom: announcedFrom(v, days, loc),
		})
	}
	return out
}

// HandleCodeReplaced is the handler of TypeDispatchCodeReplaced (TellNewCode).
// A bad payload, an unknown visit or a plan that is not published is not
// retried (the task is archived).
func (d *Dispatcher) HandleCodeReplaced(ctx context.Context, t *asynq.Task) error {
	return d.handleNews(ctx, t, &CodeReplacedPayload{}, "tell the new code", d.TellNewCode)
}

// TellNewCode writes the notices of the current code of visit seq of plan
// planID (CodeNotices; those told before are not written again) and queues
// their webhook deliveries. It returns how many notices it wrote; a visit
// whose code was never revoked is ErrNotFound.
func (d *Dispatcher) TellNewCode(ctx context.Context, planID int64, seq int) (int, error) {
	v, err := d.st.DispatchVisitOf(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	last, err := d.st.LastRevocation(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	code, err := d.st.VisitCode(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	v.CodeURL = d.codeURL(code.Code)
	info := codeInfo{Code: code.Code, Generation: code.Generation, Reason: last.Reason, RevokedAt: last.RevokedAt}
	return d.writeAll(ctx, TypeDispatchCodeReplaced, CodeNotices(&v, info, d.loc, d.langs))
}
