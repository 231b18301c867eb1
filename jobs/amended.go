package jobs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/store"
)

// Telling people that a later plan's joins amended a published visit
// (DESIGN.md §4a): PublishPlan writes a visit_amended outbox row per amended
// visit in the publication's transaction, the relay makes it a
// dispatch:visit_amended task, and this handler writes the notices (once per
// recipient and joining plan), queues their webhook deliveries and sends an
// updated roster to a lead team whose roster of the day went out already —
// the same path as a move (moved.go).

// TypeDispatchVisitAmended tells the people of a visit what later plans'
// joins added to it.
const TypeDispatchVisitAmended = "dispatch:visit_amended"

// VisitAmendedPayload is version 1 of a dispatch:visit_amended payload: the
// visit and how many published amendments it had when the task was made. The
// handler tells every amendment not told yet, so the count only tells the
// tasks of successive amendments apart.
type VisitAmendedPayload struct {
	V          int   `json:"v"`
	PlanID     int64 `json:"plan_id"`
	VisitSeq   int   `json:"visit_seq"`
	Amendments int   `json:"amendments"`
}

func (p VisitAmendedPayload) check() error {
	if p.V != 1 {
		return fmt.Errorf("visit_amended payload version %d is not known", p.V)
	}
	if p.PlanID <= 0 || p.VisitSeq <= 0 || p.Amendments <= 0 {
		return fmt.Errorf("visit_amended payload names plan %d visit %d amendments %d", p.PlanID, p.VisitSeq, p.Amendments)
	}
	return nil
}

func (p VisitAmendedPayload) visit() (int64, int) { return p.PlanID, p.VisitSeq }

// AmendedTaskID is the task ID of the dispatch:visit_amended task of outbox
// row id armed for its n-th amendment: the row is re-armed by each later
// join, so n keeps a later amendment's task from colliding with the
// (retained) task of an earlier one.
func AmendedTaskID(id int64, n int) string {
	return OutboxTaskID(id) + ":amended:" + strconv.Itoa(n)
}

// NewVisitAmended builds the dispatch:visit_amended task of visit visitSeq of
// plan planID, whose amendments so far are n.
func NewVisitAmended(planID int64, visitSeq, n int, opts ...asynq.Option) (*asynq.Task, error) {
	return newsTask(TypeDispatchVisitAmended, VisitAmendedPayload{V: 1, PlanID: planID, VisitSeq: visitSeq, Amendments: n}, opts...)
}

// amendInfo is what a visit_amended notice says of the amendment.
type amendInfo struct {
	ByPlanID          int64             `json:"by_plan_id"`
	AddedMinutes      int               `json:"added_minutes"`
	AddedInspectorIDs []int64           `json:"added_inspector_ids"`
	AddedItems        []store.VisitItem `json:"added_items"`
	PublishedAt       time.Time         `json:"published_at"`
}

type amendBody struct {
	visitBody
	Amendment amendInfo `json:"amendment"`
}

// businessAmendBody tells the business the announced items added to its
// visit; the visit's items (Items) are those it may see.
type businessAmendBody struct {
	businessBody
	AddedItems []businessItem `json:"added_items"`
}

// AmendNotices are the notices of the amendments of visit v: for each, a
// visit_amended notice to each inspector of the visit as it stands (an added
// one included), to the lead team, and — when the visit is announced and the
// amendment added announced items — to the business, listing only those,
// visible from the later of the visit's own notice and the added items'
// (the visit's date less their least announce_days). Unannounced added items are never in a business's notice: the
// business learns of them at the door. Effect key: visit × recipient ×
// "amended" × joining plan (store.AmendEffectKey).
func AmendNotices(v *store.DispatchVisit, amends []store.VisitAmendment, loc *time.Location, langs NoticeLanguages) []store.NewNotification {
	var out []store.NewNotification
	li, lt, lb := langs.For(store.RecipientInspector), langs.For(store.RecipientTeam), langs.For(store.RecipientBusiness)
	days := v.AnnounceDays()
	earliest := v.EarliestDate
	if earliest.IsZero() {
		earliest = v.Date
	}
	date := v.Date.Format(time.DateOnly)
	for _, a := range amends {
		info := amendInfo{ByPlanID: a.ByPlanID, AddedMinutes: a.AddedMinutes, AddedInspectorIDs: a.AddedInspectorIDs,
			AddedItems: a.Items, PublishedAt: a.PublishedAt}
		if info.AddedInspectorIDs == nil {
			info.AddedInspectorIDs = []int64{}
		}
		if info.AddedItems == nil {
			info.AddedItems = []store.VisitItem{}
		}
		for _, in := range v.Inspectors {
			id := strconv.FormatInt(in.ID, 10)
			role := roleText(li, in.Role)
			if slices.Contains(a.AddedInspectorIDs, in.ID) {
				role = li.T("notice.role.added", role)
			}
			b := amendBody{visitBody: bodyOf(v, in.Role), Amendment: info}
			title := li.T("notice.visit_amended.title", v.BusinessName, li.Date(date), len(a.Items), role)
			b.Text = noticeText(li, title, li.T("notice.detail.added", itemNames(li, a.Items)), visitDetail(li, b.visitBody))
			out = append(out, store.NewNotification{
				EffectKey:     store.AmendEffectKey(v.PlanID, v.Seq, store.RecipientInspector, id, a.ByPlanID),
				RecipientKind: store.RecipientInspector, RecipientID: id, Kind: store.NoticeVisitAmended,
				PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
			})
		}
		team := strconv.FormatInt(v.TeamID, 10)
		tb := amendBody{visitBody: bodyOf(v, ""), Amendment: info}
		tTitle := lt.T("notice.visit_amended.team", v.TeamName, v.BusinessName, lt.Date(date), len(a.Items))
		tb.Text = noticeText(lt, tTitle, lt.T("notice.detail.added", itemNames(lt, a.Items)), visitDetail(lt, tb.visitBody))
		out = append(out, store.NewNotification{
			EffectKey:     store.AmendEffectKey(v.PlanID, v.Seq, store.RecipientTeam, team, a.ByPlanID),
			RecipientKind: store.RecipientTeam, RecipientID: team, Kind: store.NoticeVisitAmended,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: tTitle, Body: tb,
		})
		if days <= 0 {
			continue // an unannounced visit: the business is not told of it before it happens
		}
		var told []businessItem
		least := 0
		for _, it := range a.Items {
			if it.AnnounceDays > 0 {
				told = append(told, businessItem{Name: it.Name, Department: it.Department, LegalBasis: it.LegalBasis})
				if least == 0 || it.AnnounceDays < least {
					least = it.AnnounceDays
				}
			}
		}
		if len(told) == 0 {
			continue
		}
		// Not before the business may know of the visit, nor before the
		// added items' own notice.
		visible := localDay(earliest, loc).AddDate(0, 0, -days)
		if own := localDay(v.Date, loc).AddDate(0, 0, -least); own.After(visible) {
			visible = own
		}
		bb := businessAmendBody{businessBody: businessBodyOf(v, date), AddedItems: told}
		bTitle := lb.T("notice.visit_amended.business", lb.Date(date), len(told))
		toldNames := make([]string, 0, len(told))
		for _, it := range told {
			toldNames = append(toldNames, it.Name)
		}
		bb.Text = noticeText(lb, bTitle, lb.T("notice.detail.added", lb.List(toldNames)), businessDetail(lb, bb.businessBody))
		out = append(out, store.NewNotification{
			EffectKey:     store.AmendEffectKey(v.PlanID, v.Seq, store.RecipientBusiness, v.USCC, a.ByPlanID),
			RecipientKind: store.RecipientBusiness, RecipientID: v.USCC, Kind: store.NoticeVisitAmended,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: bTitle, Body: bb,
			VisibleFrom: visible,
		})
	}
	return out
}

// HandleVisitAmended is the handler of TypeDispatchVisitAmended: it tells
// the amendments of the visit (TellAmendments). A bad payload, an unknown
// visit or a plan that is not published is not retried.
func (d *Dispatcher) HandleVisitAmended(ctx context.Context, t *asynq.Task) error {
	return d.handleNews(ctx, t, &VisitAmendedPayload{}, "tell amendments", d.TellAmendments)
}

// TellAmendments writes the notices of every amendment of visit seq of plan
// planID (AmendNotices; those told before are not written again), queues
// their webhook deliveries, and re-checks the lead team's roster of the
// visit's day if it has gone out. It returns how many notices it wrote.
func (d *Dispatcher) TellAmendments(ctx context.Context, planID int64, seq int) (int, error) {
	v, err := d.newsVisit(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	amends, err := d.st.VisitAmendments(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	if len(amends) == 0 {
		return 0, nil
	}
	inserted, err := d.sendNews(ctx, TypeDispatchVisitAmended, &v, AmendNotices(&v, amends, d.loc, d.langs))
	if err != nil {
		return inserted, err
	}
	_, err = d.refreshRosters(ctx, TypeDispatchVisitAmended, teamDays{}.add(v.TeamID, v.Date))
	return inserted, err
}
