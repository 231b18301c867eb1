package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"inspectonce/domain"
	"inspectonce/internal/netguard"
	"inspectonce/messages"
	"inspectonce/store"
)

// Task types of the dispatch of published plans (DESIGN.md §5).
const (
	// TypeDispatchVisits writes the notices of a batch of visits of a
	// published plan (DispatchVisitsPayload). The relay enqueues one per group
	// of outbox rows (task ID OutboxBatchTaskID): one task and a few set-based
	// statements for hundreds of visits, instead of a task and two statements
	// per visit.
	TypeDispatchVisits = "dispatch:visits"
	// TypeDispatchVisit writes the notices of one visit of a published plan.
	// The relay no longer enqueues it; its handler stays for the tasks older
	// relays left in the queues (and for an admin re-running an archived one).
	TypeDispatchVisit = "dispatch:visit"
	// TypeDispatchVisitMoved tells the people of a visit that it moved
	// (VisitMovedPayload). The relay enqueues one per visit_moved outbox row
	// that store.MoveVisit writes with the move (task ID MovedTaskID).
	TypeDispatchVisitMoved = "dispatch:visit_moved"
	// TypeCronReminderScan reminds the inspectors of tomorrow's visits (and
	// the businesses of announced ones). The scheduler enqueues it.
	TypeCronReminderScan = "cron:reminder_scan"
	// TypeCronDailyRosters writes each team's roster of today. The scheduler
	// enqueues it.
	TypeCronDailyRosters = "cron:daily_rosters"
)

// Queues and retry policy of the dispatch tasks. Retries back off (asynq's
// default, about n⁴ + 15 s with jitter); a task that spends them is archived,
// where the admin sees it (asynq Inspector) and may run it again.
const (
	DispatchQueue    = "critical"
	NoticeQueue      = "default"
	DispatchMaxRetry = 20
	DispatchTimeout  = 2 * time.Minute
	CronMaxRetry     = 5
	CronTimeout      = 10 * time.Minute
	// TaskRetention keeps a finished task's ID for a day, so enqueueing the
	// same task again within it is a conflict (counted as success), not a
	// second run.
	TaskRetention = 24 * time.Hour
)

// DispatchVisitPayload is version 1 of a dispatch:visit payload. The outbox
// row carries it as written by store.PublishPlan.
type DispatchVisitPayload struct {
	V        int   `json:"v"`
	PlanID   int64 `json:"plan_id"`
	VisitSeq int   `json:"visit_seq"`
}

// DispatchVisitsPayload is version 1 of a dispatch:visits payload, e.g.
// {"v":1,"plan_id":7,"seqs":[[1,250]]}: the plan and its visits as ascending,
// disjoint ranges [first, last] of visit seqs, so a batch of contiguous visits
// (the usual case) costs a few bytes whatever its size.
type DispatchVisitsPayload struct {
	V      int      `json:"v"`
	PlanID int64    `json:"plan_id"`
	Seqs   [][2]int `json:"seqs"`
}

// VisitMovedPayload is version 1 of a dispatch:visit_moved payload: the
// visit and the revision of its latest move when the task was made. The
// handler tells every move of the visit not told yet, so the revision only
// tells the tasks of successive moves apart.
type VisitMovedPayload struct {
	V        int   `json:"v"`
	PlanID   int64 `json:"plan_id"`
	VisitSeq int   `json:"visit_seq"`
	Revision int   `json:"revision"`
}

func (p VisitMovedPayload) check() error {
	if p.V != 1 {
		return fmt.Errorf("visit_moved payload version %d is not known", p.V)
	}
	if p.PlanID <= 0 || p.VisitSeq <= 0 || p.Revision <= 0 {
		return fmt.Errorf("visit_moved payload names plan %d visit %d revision %d", p.PlanID, p.VisitSeq, p.Revision)
	}
	return nil
}

// MaxDispatchBatch bounds the visits of one dispatch:visits task: its notices
// are written in one statement (so a batch is dispatched all at once or not at
// all), which must stay well inside DispatchTimeout.
const MaxDispatchBatch = 2000

// seqRanges packs visit seqs into the ascending ranges of a payload.
func seqRanges(seqs []int) [][2]int {
	s := slices.Clone(seqs)
	slices.Sort(s)
	s = slices.Compact(s)
	var out [][2]int
	for _, q := range s {
		if n := len(out); n > 0 && out[n-1][1] == q-1 {
			out[n-1][1] = q
			continue
		}
		out = append(out, [2]int{q, q})
	}
	return out
}

// visits checks a payload and returns its visit seqs, ascending.
func (p DispatchVisitsPayload) visits() ([]int, error) {
	if p.V != 1 {
		return nil, fmt.Errorf("dispatch payload version %d is not known", p.V)
	}
	if p.PlanID <= 0 || len(p.Seqs) == 0 {
		return nil, fmt.Errorf("dispatch payload names plan %d and %d visit ranges", p.PlanID, len(p.Seqs))
	}
	var out []int
	last := 0
	for _, r := range p.Seqs {
		if r[0] <= last || r[1] < r[0] || len(out)+r[1]-r[0]+1 > MaxDispatchBatch {
			return nil, fmt.Errorf("dispatch payload of plan %d: visit range %v is not ascending, disjoint and within %d visits",
				p.PlanID, r, MaxDispatchBatch)
		}
		for q := r[0]; q <= r[1]; q++ {
			out = append(out, q)
		}
		last = r[1]
	}
	return out, nil
}

// CronPayload is version 1 of the payload of a cron:<name> task: DueAt is
// the time the entry was due (a run that was missed and caught up keeps its
// own due time), which fixes the day the task works on.
type CronPayload struct {
	V     int       `json:"v"`
	DueAt time.Time `json:"due_at"`
}

// OutboxTaskID is the task ID of outbox row id, as relays before
// dispatch:visits gave it to the dispatch:visit task of the row.
func OutboxTaskID(id int64) string { return "outbox:" + strconv.FormatInt(id, 10) }

// OutboxBatchTaskID is the task ID of the task that carries exactly the
// outbox rows ids (any order): "outbox:<first>-<last>" when they are every id
// from the first to the last (the usual case), else
// "outbox:<first>-<last>-<FNV-1a of the ids, hex>". So two tasks share an ID
// only if they carry the same rows, which is what lets the relay take a
// task-ID conflict as "these rows are queued already" (see Relay).
func OutboxBatchTaskID(ids []int64) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return "outbox:none"
	}
	first, last := s[0], s[len(s)-1]
	id := "outbox:" + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10)
	if last-first+1 == int64(len(s)) {
		return id
	}
	h := fnv.New64a()
	var b [8]byte
	for _, x := range s {
		binary.BigEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	return id + "-" + strconv.FormatUint(h.Sum64(), 16)
}

// MovedTaskID is the task ID of the dispatch:visit_moved task of outbox row
// id armed for move revision: a row is re-armed by every move of its visit,
// so the revision keeps the task of a later move from taking the (retained)
// ID of an earlier one's, while a relay that claims the same arming again
// after a crash gets the same ID.
func MovedTaskID(id int64, revision int) string {
	return OutboxTaskID(id) + ":moved:" + strconv.Itoa(revision)
}

// NewVisitMoved builds the dispatch:visit_moved task of a visit whose latest
// move is revision. opts come after the defaults (queue DispatchQueue,
// DispatchMaxRetry, DispatchTimeout, TaskRetention) and override them.
func NewVisitMoved(planID int64, visitSeq, revision int, opts ...asynq.Option) (*asynq.Task, error) {
	return newsTask(TypeDispatchVisitMoved, VisitMovedPayload{V: 1, PlanID: planID, VisitSeq: visitSeq, Revision: revision}, opts...)
}

// NewDispatchVisit builds the dispatch:visit task of a visit. opts come
// after the defaults (queue DispatchQueue, DispatchMaxRetry, DispatchTimeout,
// TaskRetention) and override them.
func NewDispatchVisit(planID int64, visitSeq int, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(DispatchVisitPayload{V: 1, PlanID: planID, VisitSeq: visitSeq})
	if err != nil {
		return nil, err
	}
	return newDispatchTask(TypeDispatchVisit, b, opts...), nil
}

// NewDispatchVisits builds the dispatch:visits task of visits seqs of plan
// planID (at most MaxDispatchBatch). opts come after the defaults (queue
// DispatchQueue, DispatchMaxRetry, DispatchTimeout, TaskRetention) and
// override them.
func NewDispatchVisits(planID int64, seqs []int, opts ...asynq.Option) (*asynq.Task, error) {
	p := DispatchVisitsPayload{V: 1, PlanID: planID, Seqs: seqRanges(seqs)}
	if _, err := p.visits(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("dispatch payload: %w", err)
	}
	return newDispatchTask(TypeDispatchVisits, b, opts...), nil
}

func newDispatchTask(typ string, payload []byte, opts ...asynq.Option) *asynq.Task {
	all := append([]asynq.Option{asynq.Queue(DispatchQueue), asynq.MaxRetry(DispatchMaxRetry),
		asynq.Timeout(DispatchTimeout), asynq.Retention(TaskRetention)}, opts...)
	return asynq.NewTask(typ, payload, all...)
}

// NewCronTask builds the task of cron entry typ (TypeCronReminderScan,
// TypeCronDailyRosters) due at dueAt.
func NewCronTask(typ string, dueAt time.Time, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(CronPayload{V: 1, DueAt: dueAt})
	if err != nil {
		return nil, err
	}
	all := append([]asynq.Option{asynq.Queue(NoticeQueue), asynq.MaxRetry(CronMaxRetry), asynq.Timeout(CronTimeout)}, opts...)
	return asynq.NewTask(typ, b, all...), nil
}

// DispatchOptions configure a Dispatcher.
type DispatchOptions struct {
	Store *store.Store
	// Queue takes the webhook deliveries the handlers enqueue (*asynq.Client).
	Queue Enqueuer
	// Location is the time zone of days (reminders, rosters, announce dates).
	Location *time.Location
	Logger   *slog.Logger
	// HTTPClient sends webhooks; nil means a client with a 15 s timeout that
	// does not follow redirects and, unless AllowPrivateWebhooks, connects
	// only to public addresses (netguard.Transport).
	HTTPClient *http.Client
	// AllowPrivateWebhooks lets the default client deliver to loopback,
	// private and other internal addresses (configs webhooks.allow_private).
	AllowPrivateWebhooks bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// QueueName, when set, replaces the queue of every task enqueued (tests).
	QueueName string
	// Registry, when set, receives the dispatch metrics.
	Registry prometheus.Registerer
	// PublicBaseURL, when set, puts the URL of each visit's code page
	// (<PublicBaseURL>/v/<code>) into its assignments and notices.
	PublicBaseURL string
	// Languages are the languages of notices, by recipient kind (default:
	// Chinese for all).
	Languages NoticeLanguages
}

// Dispatcher handles the dispatch tasks: dispatch:visits (and the older
// dispatch:visit), dispatch:visit_moved, dispatch:code_replaced, the reminder scan,
// the daily rosters and webhook deliveries. Every handler writes its effects
// under unique keys (store.WriteNotifications), so a task delivered twice —
// asynq delivers at least once — has its effects once.
type Dispatcher struct {
	st      *store.Store
	q       Enqueuer
	loc     *time.Location
	log     *slog.Logger
	http    *http.Client
	now     func() time.Time
	queue   string
	base    string
	effects *prometheus.CounterVec
	hooks   *prometheus.CounterVec
	visits  *prometheus.CounterVec
	langs   NoticeLanguages
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(o DispatchOptions) *Dispatcher {
	d := &Dispatcher{st: o.Store, q: o.Queue, loc: o.Location, log: o.Logger, http: o.HTTPClient, now: o.Now, queue: o.QueueName,
		base: strings.TrimRight(o.PublicBaseURL, "/"), langs: o.Languages}
	if d.loc == nil {
		d.loc = time.Local
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if !o.AllowPrivateWebhooks {
			// Checked at every dial, not only at registration: a name's
			// address can change after the webhook was accepted.
			d.http.Transport = netguard.Transport()
		}
	}
	d.effects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inspectonce_dispatch_effects_total",
		Help: "Notifications written by the dispatch tasks (redelivered tasks write none)."}, []string{"task"})
	d.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inspectonce_webhook_attempts_total",
		Help: "Webhook delivery attempts by outcome."}, []string{"outcome"})
	d.visits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inspectonce_dispatch_visits_total",
		Help: "Visits handled by the dispatch tasks, by outcome: dispatched (notices written, now or by an earlier run) " +
			"or refused (unknown visit, no lead inspector, plan not published: its task is archived). " +
			"A redelivered task counts again."},
		[]string{"outcome"})
	if o.Registry != nil {
		o.Registry.MustRegister(d.effects, d.hooks, d.visits)
	}
	return d
}

// Register adds the dispatch handlers to mux.
func (d *Dispatcher) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeDispatchVisits, d.HandleDispatchVisits)
	mux.HandleFunc(TypeDispatchVisit, d.HandleDispatchVisit)
	mux.HandleFunc(TypeDispatchVisitMoved, d.HandleVisitMoved)
	mux.HandleFunc(TypeDispatchCodeReplaced, d.HandleCodeReplaced)
	mux.HandleFunc(TypeDispatchVisitAmended, d.HandleVisitAmended)
	mux.HandleFunc(TypeDispatchVisitRestaffed, d.HandleVisitRestaffed)
	mux.HandleFunc(TypeCronReminderScan, d.HandleReminderScan)
	mux.HandleFunc(TypeCronDailyRosters, d.HandleDailyRosters)
	mux.HandleFunc(TypeWebhookDeliver, d.HandleWebhook)
}

func (d *Dispatcher) opts(defaults ...asynq.Option) []asynq.Option {
	if d.queue != "" {
		return append(defaults, asynq.Queue(d.queue))
	}
	return defaults
}

// visitBody is the body of the notices of a visit to inspectors.
type visitBody struct {
	PlanID   int64  `json:"plan_id"`
	VisitSeq int    `json:"visit_seq"`
	Date     string `json:"date"`
	// OriginalDate (the plan's) and Revision (moves so far) of a moved visit.
	OriginalDate    string              `json:"original_date,omitempty"`
	Revision        int                 `json:"revision,omitempty"`
	Role            string              `json:"role,omitempty"`
	USCC            string              `json:"uscc"`
	Business        string              `json:"business"`
	Address         string              `json:"address"`
	Lat             float64             `json:"lat"`
	Lng             float64             `json:"lng"`
	RouteOrder      int                 `json:"route_order"`
	DurationMinutes int                 `json:"duration_minutes"`
	Team            teamRef             `json:"team"`
	Inspectors      []store.VisitPerson `json:"inspectors"`
	Items           []store.VisitItem   `json:"items"`
	// CodeURL is the visit's code page (行政行为码), to show at the door.
	CodeURL string `json:"code_url,omitempty"`
	// Text is the notice in a sentence, in its recipient's language
	// (NoticeLanguages): the title, then the details above in words.
	Text string `json:"text"`
}

type teamRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// businessBody is what a business is told of an announced visit: when, by
// whom (the team and its phone) and what will be checked.
type businessBody struct {
	PlanID   int64          `json:"plan_id"`
	VisitSeq int            `json:"visit_seq"`
	Date     string         `json:"date"`
	USCC     string         `json:"uscc"`
	Business string         `json:"business"`
	Team     teamRef        `json:"team"`
	Items    []businessItem `json:"items"`
	// CodeURL is the visit's code page: the business opens it, or scans the
	// inspectors' code, to check the visit is real.
	CodeURL string `json:"code_url,omitempty"`
	// Text is the notice in a sentence, in the business's language.
	Text string `json:"text"`
}

type businessItem struct {
	Name       string `json:"name"`
	Department string `json:"department"`
	LegalBasis string `json:"legal_basis"`
}

func bodyOf(v *store.DispatchVisit, role string) visitBody {
	b := visitBody{PlanID: v.PlanID, VisitSeq: v.Seq, Date: v.Date.Format(time.DateOnly), Role: role, USCC: v.USCC,
		Business: v.BusinessName, Address: v.Address, Lat: v.Lat, Lng: v.Lng, RouteOrder: v.RouteOrder,
		DurationMinutes: v.DurationMinutes, Team: teamRef{v.TeamID, v.TeamName, v.TeamPhone},
		Inspectors: v.Inspectors, Items: v.Items, CodeURL: v.CodeURL}
	if v.Revision > 0 {
		b.OriginalDate, b.Revision = v.OriginalDate.Format(time.DateOnly), v.Revision
	}
	if b.Inspectors == nil {
		b.Inspectors = []store.VisitPerson{}
	}
	if b.Items == nil {
		b.Items = []store.VisitItem{}
	}
	return b
}

// localDay is the civil date d (UTC midnight, as stored) at midnight in loc.
func localDay(d time.Time, loc *time.Location) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// announcedFrom is when the business of visit v, announced days ahead, may
// first hear of it: the earliest date the visit was ever set for less days,
// at midnight in loc — when store.BusinessSchedule starts listing it. The
// earliest date, not the current one: a business told of a visit is told of
// its moves too, even to a later day.
func announcedFrom(v *store.DispatchVisit, days int, loc *time.Location) time.Time {
	d := v.Date
	if !v.EarliestDate.IsZero() && v.EarliestDate.Before(d) {
		d = v.EarliestDate
	}
	return localDay(d, loc).AddDate(0, 0, -days)
}

// VisitNotices are the effects of dispatching visit v: an assignment notice
// to each of its inspectors (the lead first), a team_visit notice to each
// leader of the lead team, and — when every demand of the visit is announced
// (announce_days > 0) — a visit_notice to the business, visible from
// announcedFrom. The date told is the visit's effective one: a visit moved
// before its dispatch is told at its new date (and its move besides).
// Titles and texts are in each recipient kind's language (langs).
func VisitNotices(v *store.DispatchVisit, loc *time.Location, langs NoticeLanguages) []store.NewNotification {
	date := v.Date.Format(time.DateOnly)
	var out []store.NewNotification
	li := langs.For(store.RecipientInspector)
	for _, in := range v.Inspectors {
		id := strconv.FormatInt(in.ID, 10)
		b := bodyOf(v, in.Role)
		title := li.T("notice.assignment.title", v.BusinessName, li.Date(date), roleText(li, in.Role))
		b.Text = noticeText(li, title, visitDetail(li, b))
		out = append(out, store.NewNotification{
			EffectKey:     store.VisitEffectKey(v.PlanID, v.Seq, store.RecipientInspector, id, store.NoticeAssignment),
			RecipientKind: store.RecipientInspector, RecipientID: id, Kind: store.NoticeAssignment,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
		})
	}
	for _, l := range v.Leaders {
		id := strconv.FormatInt(l.ID, 10)
		b := bodyOf(v, "")
		title := li.T("notice.team_visit.title", v.TeamName, v.BusinessName, li.Date(date))
		b.Text = noticeText(li, title, visitDetail(li, b))
		out = append(out, store.NewNotification{
			EffectKey:     store.VisitEffectKey(v.PlanID, v.Seq, store.RecipientInspector, id, store.NoticeTeamVisit),
			RecipientKind: store.RecipientInspector, RecipientID: id, Kind: store.NoticeTeamVisit,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
		})
	}
	if days := v.AnnounceDays(); days > 0 {
		lb := langs.For(store.RecipientBusiness)
		b := businessBodyOf(v, date)
		title := lb.T("notice.visit_notice.title", lb.Date(date))
		b.Text = noticeText(lb, title, businessDetail(lb, b))
		out = append(out, store.NewNotification{
			EffectKey:     store.VisitEffectKey(v.PlanID, v.Seq, store.RecipientBusiness, v.USCC, store.NoticeVisit),
			RecipientKind: store.RecipientBusiness, RecipientID: v.USCC, Kind: store.NoticeVisit,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
			VisibleFrom: announcedFrom(v, days, loc),
		})
	}
	return out
}

// LateNotices keeps, of the notices ns of visit v, what is still worth
// telling on today (a civil date): all of them while the visit is today or
// later; once its date has passed (a plan dispatched late, or the demo
// county's past), only the inspectors' assignments. They are the
// inspectors' record of the visit, and what the dispatch status counts; but
// telling the business of a visit after it took place, or the team's leaders
// of one their roster of that day already showed, is news nobody can act
// on, and would flood their inboxes and webhooks with a plan's history.
func LateNotices(ns []store.NewNotification, v *store.DispatchVisit, today time.Time) []store.NewNotification {
	if !v.Date.Before(today) {
		return ns
	}
	out := ns[:0:0]
	for _, n := range ns {
		if n.Kind == store.NoticeAssignment {
			out = append(out, n)
		}
	}
	return out
}

// today is the dispatcher's civil date in its time zone (midnight UTC, as
// visit dates are stored).
func (d *Dispatcher) today() time.Time {
	y, m, dd := d.now().In(d.loc).Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

// HandleDispatchVisit is the handler of TypeDispatchVisit. It writes the
// visit's notices (VisitNotices) in one transaction under their effect keys,
// then queues the webhook deliveries still pending. A redelivered task writes
// nothing new and queues only what is still pending (under the same task
// IDs). A bad payload, an unknown visit or a visit without inspectors is not
// retried (the task is archived).
func (d *Dispatcher) HandleDispatchVisit(ctx context.Context, t *asynq.Task) error {
	var p DispatchVisitPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("dispatch payload: %v: %w", err, asynq.SkipRetry)
	}
	if p.V != 1 {
		return fmt.Errorf("dispatch payload version %d is not known: %w", p.V, asynq.SkipRetry)
	}
	if p.PlanID <= 0 || p.VisitSeq <= 0 {
		return fmt.Errorf("dispatch payload names plan %d visit %d: %w", p.PlanID, p.VisitSeq, asynq.SkipRetry)
	}
	n, err := d.DispatchVisit(ctx, p.PlanID, p.VisitSeq)
	if errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrConflict) || errors.Is(err, errNoLead) {
		d.visits.WithLabelValues("refused").Inc()
		d.log.Error("dispatch refused", "plan_id", p.PlanID, "visit_seq", p.VisitSeq, "err", err)
		return fmt.Errorf("dispatch plan %d visit %d: %w: %w", p.PlanID, p.VisitSeq, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("dispatch plan %d visit %d: %w", p.PlanID, p.VisitSeq, err)
	}
	d.log.Debug("visit dispatched", "plan_id", p.PlanID, "visit_seq", p.VisitSeq, "written", n)
	return nil
}

var errNoLead = errors.New("the visit has no lead inspector")

// DispatchVisit writes the notices of a visit and queues their pending
// webhook deliveries; it returns how many notices it wrote (0 when a
// previous run wrote them).
func (d *Dispatcher) DispatchVisit(ctx context.Context, planID int64, seq int) (int, error) {
	v, err := d.st.DispatchVisitOf(ctx, planID, seq)
	if err != nil {
		return 0, err
	}
	if len(v.Inspectors) == 0 || v.Inspectors[0].Role != "lead" {
		return 0, errNoLead
	}
	vs := []store.DispatchVisit{v}
	if err := d.attachCodes(ctx, vs); err != nil {
		return 0, err
	}
	v = vs[0]
	w, err := d.st.WriteNotifications(ctx, LateNotices(VisitNotices(&v, d.loc, d.langs), &v, d.today()))
	if err != nil {
		return 0, err
	}
	d.effects.WithLabelValues(TypeDispatchVisit).Add(float64(w.Inserted))
	d.visits.WithLabelValues("dispatched").Inc()
	if err := d.enqueueDeliveries(ctx, w.Deliveries); err != nil {
		return w.Inserted, err
	}
	_, err = d.refreshRosters(ctx, TypeDispatchVisit, teamDays{}.add(v.TeamID, v.Date))
	return w.Inserted, err
}

// HandleDispatchVisits is the handler of TypeDispatchVisits. It reads the
// batch's visits set-based (store.DispatchVisitsOf), writes all their notices
// (VisitNotices) in one statement under their effect keys, then queues the
// webhook deliveries still pending. A redelivered task writes nothing new and
// queues only what is still pending (under the same task IDs).
//
// A bad payload or a plan that is not published is not retried (the task is
// archived). A visit the handler refuses (unknown, or without a lead
// inspector) must not hold up the others: they are written, and the refused
// visits go on to a dispatch:visits task of their own (refusedTaskID), which
// fails at once and is archived with the reason. So an archived task carries
// only visits that were not dispatched, and counting the visits of archived
// tasks (ArchivedDispatches) counts the failed ones; an admin who fixes the
// data can run that task again from the queue view.
func (d *Dispatcher) HandleDispatchVisits(ctx context.Context, t *asynq.Task) error {
	var p DispatchVisitsPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("dispatch payload: %v: %w", err, asynq.SkipRetry)
	}
	seqs, err := p.visits()
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	r, err := d.DispatchVisits(ctx, p.PlanID, seqs)
	if errors.Is(err, domain.ErrConflict) {
		d.visits.WithLabelValues("refused").Add(float64(len(seqs)))
		d.log.Error("dispatch refused", "plan_id", p.PlanID, "visits", len(seqs), "err", err)
		return fmt.Errorf("dispatch plan %d visits %s: %w: %w", p.PlanID, rangesText(p.Seqs), err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("dispatch plan %d visits %s: %w", p.PlanID, rangesText(p.Seqs), err)
	}
	if len(r.Refused) == 0 {
		d.log.Debug("visits dispatched", "plan_id", p.PlanID, "visits", r.Dispatched, "written", r.Written)
		return nil
	}
	d.log.Error("dispatch refused", "plan_id", p.PlanID, "refused", len(r.Refused), "dispatched", r.Dispatched, "err", r.Reason())
	if r.Dispatched == 0 {
		// Every visit here is refused: this task is the one to archive (and
		// the one to count them, not the batch that set them apart).
		d.visits.WithLabelValues("refused").Add(float64(len(r.Refused)))
		return fmt.Errorf("dispatch plan %d: %s: %w", p.PlanID, r.Reason(), asynq.SkipRetry)
	}
	refused := make([]int, 0, len(r.Refused))
	for _, x := range r.Refused {
		refused = append(refused, x.Seq)
	}
	opts := []asynq.Option{asynq.TaskID(refusedTaskID(p.PlanID, refused))}
	if q, ok := asynq.GetQueueName(ctx); ok {
		opts = append(opts, asynq.Queue(q))
	}
	task, err := NewDispatchVisits(p.PlanID, refused, d.opts(opts...)...)
	if err != nil {
		return fmt.Errorf("dispatch plan %d: %w: %w", p.PlanID, err, asynq.SkipRetry)
	}
	if d.q == nil {
		return fmt.Errorf("dispatch plan %d: %s, and the dispatcher has no queue to set them apart: %w", p.PlanID, r.Reason(), asynq.SkipRetry)
	}
	if _, err := d.q.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("dispatch plan %d: set refused visits apart: %w", p.PlanID, err)
	}
	return nil
}

// refusedTaskID is the task ID of the dispatch:visits task that carries the
// visits seqs of plan planID a batch refused: derived from them, so a batch
// run twice sets them apart once.
func refusedTaskID(planID int64, seqs []int) string {
	h := fnv.New64a()
	var b [8]byte
	for _, q := range seqRanges(seqs) {
		binary.BigEndian.PutUint32(b[:4], uint32(q[0]))
		binary.BigEndian.PutUint32(b[4:], uint32(q[1]))
		h.Write(b[:])
	}
	return fmt.Sprintf("dispatch:%d:refused:%x", planID, h.Sum64())
}

// rangesText writes visit ranges for an error message: "1-250, 300".
func rangesText(rs [][2]int) string {
	parts := make([]string, 0, min(len(rs), 20))
	for i, r := range rs {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("… (%d ranges)", len(rs)))
			break
		}
		if r[0] == r[1] {
			parts = append(parts, strconv.Itoa(r[0]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ", ")
}

// RefusedVisit is a visit a dispatch batch did not dispatch, and why.
type RefusedVisit struct {
	Seq int
	Err error
}

// BatchResult is what DispatchVisits did.
type BatchResult struct {
	// Dispatched counts the visits whose notices are written (now or before).
	Dispatched int
	// Written counts the notices written now (0 when an earlier run wrote them).
	Written int
	// Refused are the visits not dispatched, in seq order: unknown
	// (domain.ErrNotFound) or without a lead inspector.
	Refused []RefusedVisit
}

// Reason tells why the refused visits were refused, e.g. "visits 3, 9: not
// found; visit 5: the visit has no lead inspector".
func (r BatchResult) Reason() string {
	var order []string
	by := map[string][][2]int{}
	for _, x := range r.Refused {
		why := "not found"
		if !errors.Is(x.Err, domain.ErrNotFound) {
			why = x.Err.Error()
		}
		if _, ok := by[why]; !ok {
			order = append(order, why)
		}
		by[why] = append(by[why], [2]int{x.Seq, x.Seq})
	}
	parts := make([]string, 0, len(order))
	for _, why := range order {
		rs := by[why]
		word := "visits "
		if len(rs) == 1 {
			word = "visit "
		}
		parts = append(parts, word+rangesText(seqRanges(flatten(rs)))+": "+why)
	}
	return strings.Join(parts, "; ")
}

func flatten(rs [][2]int) []int {
	out := make([]int, 0, len(rs))
	for _, r := range rs {
		for q := r[0]; q <= r[1]; q++ {
			out = append(out, q)
		}
	}
	return out
}

// DispatchVisits writes the notices of visits seqs of plan planID in one
// statement and queues their pending webhook deliveries. Visits it cannot
// dispatch are returned in Refused, not as an error; a plan that is not
// published is domain.ErrConflict. All or none of the batch's notices are
// written, so a visit is dispatched with all its notices or not at all (what
// store.PlanDispatchStatus counts on).
func (d *Dispatcher) DispatchVisits(ctx context.Context, planID int64, seqs []int) (BatchResult, error) {
	var r BatchResult
	vs, err := d.st.DispatchVisitsOf(ctx, planID, seqs)
	if err != nil {
		return r, err
	}
	if err := d.attachCodes(ctx, vs); err != nil {
		return r, err
	}
	found := make(map[int]bool, len(vs))
	ns := make([]store.NewNotification, 0, 5*len(vs))
	today := d.today()
	for i := range vs {
		v := &vs[i]
		found[v.Seq] = true
		if len(v.Inspectors) == 0 || v.Inspectors[0].Role != "lead" {
			r.Refused = append(r.Refused, RefusedVisit{Seq: v.Seq, Err: errNoLead})
			continue
		}
		ns = append(ns, LateNotices(VisitNotices(v, d.loc, d.langs), v, today)...)
		r.Dispatched++
	}
	for _, q := range seqs {
		if !found[q] {
			r.Refused = append(r.Refused, RefusedVisit{Seq: q,
				Err: fmt.Errorf("visit %d of plan %d: %w", q, planID, domain.ErrNotFound)})
		}
	}
	slices.SortFunc(r.Refused, func(a, b RefusedVisit) int { return a.Seq - b.Seq })
	// Reading took a while; a worker shutting down should not start the write.
	if err := ctx.Err(); err != nil {
		return BatchResult{}, err
	}
	w, err := d.st.WriteNotifications(ctx, ns)
	if err != nil {
		return BatchResult{}, err
	}
	r.Written = w.Inserted
	d.effects.WithLabelValues(TypeDispatchVisits).Add(float64(w.Inserted))
	d.visits.WithLabelValues("dispatched").Add(float64(r.Dispatched))
	if err := d.enqueueDeliveries(ctx, w.Deliveries); err != nil {
		return r, err
	}
	// A plan published after a team-day's roster went out changes that
	// roster: re-check the team-days of these visits that have one (one
	// query when none has, the usual case of a plan published ahead).
	days := teamDays{}
	for i := range vs {
		days.add(vs[i].TeamID, vs[i].Date)
	}
	_, err = d.refreshRosters(ctx, TypeDispatchVisits, days)
	return r, err
}

// cronDay reads a cron payload and returns the local day it is due on.
func (d *Dispatcher) cronDay(t *asynq.Task) (time.Time, error) {
	var p CronPayload
	if len(t.Payload()) > 0 {
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return time.Time{}, fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
		}
		if p.V != 1 {
			return time.Time{}, fmt.Errorf("%s payload version %d is not known: %w", t.Type(), p.V, asynq.SkipRetry)
		}
	}
	due := p.DueAt
	if due.IsZero() {
		due = d.now()
	}
	due = due.In(d.loc)
	return time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, time.UTC), nil
}

// HandleReminderScan is the handler of TypeCronReminderScan: for every visit
// of a published plan whose effective date (a moved visit's new one) is the
// day after the task's due day (in the configured time zone), a reminder to
// each of its inspectors, and to the business when the visit is announced.
// Effect key: visit × recipient × "reminder" × revision
// (store.ReminderEffectKey), so a visit moved after its reminder went out is
// reminded again the day before its new date, and a scan run again writes
// nothing new.
func (d *Dispatcher) HandleReminderScan(ctx context.Context, t *asynq.Task) error {
	today, err := d.cronDay(t)
	if err != nil {
		return err
	}
	n, err := d.RemindFor(ctx, today.AddDate(0, 0, 1))
	if err != nil {
		return fmt.Errorf("reminder scan: %w", err)
	}
	d.log.Info("reminder scan done", "day", today.AddDate(0, 0, 1).Format(time.DateOnly), "written", n)
	return nil
}

// RemindFor writes the reminders of the visits on day (effective dates) and
// returns how many it wrote.
func (d *Dispatcher) RemindFor(ctx context.Context, day time.Time) (int, error) {
	visits, err := d.st.DayVisits(ctx, day)
	if err != nil {
		return 0, err
	}
	if err := d.attachCodes(ctx, visits); err != nil {
		return 0, err
	}
	var ns []store.NewNotification
	for i := range visits {
		ns = append(ns, ReminderNotices(&visits[i], d.langs)...)
	}
	return d.writeAll(ctx, TypeCronReminderScan, ns)
}

// ReminderNotices are the reminders of visit v, the day before its
// (effective) date: one to each of its inspectors and, when the visit is
// announced, one to the business. Titles and texts are in each recipient
// kind's language (langs).
func ReminderNotices(v *store.DispatchVisit, langs NoticeLanguages) []store.NewNotification {
	date := v.Date.Format(time.DateOnly)
	var ns []store.NewNotification
	li := langs.For(store.RecipientInspector)
	for _, in := range v.Inspectors {
		id := strconv.FormatInt(in.ID, 10)
		b := bodyOf(v, in.Role)
		title := li.T("notice.reminder.title", v.BusinessName, roleText(li, in.Role))
		b.Text = noticeText(li, title, visitDetail(li, b))
		ns = append(ns, store.NewNotification{
			EffectKey:     store.ReminderEffectKey(v.PlanID, v.Seq, store.RecipientInspector, id, v.Revision),
			RecipientKind: store.RecipientInspector, RecipientID: id, Kind: store.NoticeReminder,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
		})
	}
	if v.AnnounceDays() > 0 {
		lb := langs.For(store.RecipientBusiness)
		b := businessBodyOf(v, date)
		title := lb.T("notice.reminder.business", lb.Date(date))
		b.Text = noticeText(lb, title, businessDetail(lb, b))
		ns = append(ns, store.NewNotification{
			EffectKey:     store.ReminderEffectKey(v.PlanID, v.Seq, store.RecipientBusiness, v.USCC, v.Revision),
			RecipientKind: store.RecipientBusiness, RecipientID: v.USCC, Kind: store.NoticeReminder,
			PlanID: v.PlanID, VisitSeq: v.Seq, Title: title, Body: b,
		})
	}
	return ns
}

// businessBodyOf is what the business is told of visit v on date (a moved
// visit's new date), with the code page to check the inspectors by.
//
// An unannounced item a later plan's join added is left out: the business
// learns of it at the door, never from a notice or reminder.
func businessBodyOf(v *store.DispatchVisit, date string) businessBody {
	items := make([]businessItem, 0, len(v.Items))
	for _, it := range v.Items {
		if it.AddedByPlanID != 0 && it.AnnounceDays <= 0 {
			continue
		}
		items = append(items, businessItem{Name: it.Name, Department: it.Department, LegalBasis: it.LegalBasis})
	}
	return businessBody{PlanID: v.PlanID, VisitSeq: v.Seq, Date: date, USCC: v.USCC, Business: v.BusinessName,
		Team: teamRef{v.TeamID, v.TeamName, v.TeamPhone}, Items: items, CodeURL: v.CodeURL}
}

// rosterBody is a team's roster of a day: its visits in route order (visits
// moved in after the planned route), each with the business, where it is,
// the checklist and the inspectors. Digest names the visit list (rosterDigest);
// Updated marks a roster sent again because the team-day changed.
type rosterBody struct {
	TeamID  int64         `json:"team_id"`
	Team    string        `json:"team"`
	Date    string        `json:"date"`
	Digest  string        `json:"digest,omitempty"`
	Updated bool          `json:"updated,omitempty"`
	Visits  []rosterVisit `json:"visits"`
	// Text is the roster in a sentence, in the team's language.
	Text string `json:"text"`
}

type rosterVisit struct {
	PlanID     int64 `json:"plan_id"`
	VisitSeq   int   `json:"visit_seq"`
	RouteOrder int   `json:"route_order"`
	// OriginalDate (the plan's) and Revision of a visit moved to this day.
	OriginalDate    string              `json:"original_date,omitempty"`
	Revision        int                 `json:"revision,omitempty"`
	USCC            string              `json:"uscc"`
	Business        string              `json:"business"`
	Address         string              `json:"address"`
	Lat             float64             `json:"lat"`
	Lng             float64             `json:"lng"`
	DurationMinutes int                 `json:"duration_minutes"`
	Inspectors      []store.VisitPerson `json:"inspectors"`
	Items           []store.VisitItem   `json:"items"`
}

// rosterDigest is a short digest of a roster's visit list: which visits
// (plan, seq), in which order, at which route order. It is what tells a
// changed roster from the same one: a team-day changes when a visit comes (a
// plan published, a visit moved in) or goes (moved away), which changes the
// list, or when a later plan's join adds items or inspectors to a visit on
// it, which changes their counts.
// It is computed from a notice's body as well as from the day's visits, so
// rosters sent before it existed compare too.
func rosterDigest(vs []rosterVisit) string {
	h := sha256.New()
	for _, v := range vs {
		fmt.Fprintf(h, "%d:%d:%d;", v.PlanID, v.VisitSeq, v.RouteOrder)
		// A later plan's join adds items (and maybe an inspector) to a
		// visit on the list: that changes the roster too. Both sides of a
		// comparison are digested here, so rosters sent before this line
		// compare the same when nothing was added.
		fmt.Fprintf(h, "%d:%d;", len(v.Items), len(v.Inspectors))
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// HandleDailyRosters is the handler of TypeCronDailyRosters: the roster of
// each team with visits on the task's due day (effective dates), to the team
// (read by its team leader), and an updated roster to each team whose day
// changed since its roster was sent (RostersFor). A run again writes nothing
// new.
func (d *Dispatcher) HandleDailyRosters(ctx context.Context, t *asynq.Task) error {
	today, err := d.cronDay(t)
	if err != nil {
		return err
	}
	n, err := d.RostersFor(ctx, today)
	if err != nil {
		return fmt.Errorf("daily rosters: %w", err)
	}
	d.log.Info("daily rosters done", "day", today.Format(time.DateOnly), "written", n)
	return nil
}

// RostersFor writes the rosters of day and returns how many it wrote: to a
// team not sent one yet its roster (effect key store.RosterEffectKey), to a
// team whose day changed since its latest roster notice (the visit list's
// digest differs) an updated roster (store.RosterUpdateEffectKey), including
// an empty one when every visit moved away; to a team whose roster is as sent,
// nothing.
//
// Rosters are checked here (the daily run, for its day) and, for team-days
// whose roster went out already, when a publication's dispatch or a move
// changes them (refreshRosters): the day's roster goes out in the morning, and
// a change later that day reaches the team at once. A team-day whose roster
// has not gone out needs no re-check: its daily run sends it as it stands.
func (d *Dispatcher) RostersFor(ctx context.Context, day time.Time) (int, error) {
	return d.rosters(ctx, TypeCronDailyRosters, day, nil)
}

// rosters brings the roster notices of day up to date for teams (nil: every
// team; else only teams already sent a roster of day get one) and queues
// their webhook deliveries.
func (d *Dispatcher) rosters(ctx context.Context, task string, day time.Time, teams []int64) (int, error) {
	w, err := d.st.RefreshRosters(ctx, day, teams, func(rd store.RosterDay) ([]store.NewNotification, error) {
		return rosterNotices(rd, teams == nil, d.langs), nil
	})
	if err != nil {
		return 0, err
	}
	d.effects.WithLabelValues(task).Add(float64(w.Inserted))
	return w.Inserted, d.enqueueDeliveries(ctx, w.Deliveries)
}

// rosterNotices are the roster notices that bring rd's team-days up to date:
// for each team with visits or a roster notice, its roster when it has none
// yet (only when first, the daily run) or an updated roster when its visit
// list differs from the latest notice's.
func rosterNotices(rd store.RosterDay, first bool, langs NoticeLanguages) []store.NewNotification {
	date := rd.Day.Format(time.DateOnly)
	lt := langs.For(store.RecipientTeam)
	var order []int64
	bodies := map[int64]*rosterBody{}
	for i := range rd.Visits {
		v := &rd.Visits[i]
		body, ok := bodies[v.TeamID]
		if !ok {
			body = &rosterBody{TeamID: v.TeamID, Team: v.TeamName, Date: date, Visits: []rosterVisit{}}
			bodies[v.TeamID] = body
			order = append(order, v.TeamID)
		}
		b := bodyOf(v, "")
		body.Visits = append(body.Visits, rosterVisit{PlanID: v.PlanID, VisitSeq: v.Seq, RouteOrder: v.RouteOrder,
			OriginalDate: b.OriginalDate, Revision: b.Revision, USCC: v.USCC, Business: v.BusinessName, Address: v.Address,
			Lat: v.Lat, Lng: v.Lng, DurationMinutes: v.DurationMinutes, Inspectors: b.Inspectors, Items: b.Items})
	}
	// A team sent a roster whose visits all moved away: its roster is now
	// empty, which it must hear too.
	for team, l := range rd.Latest {
		if _, ok := bodies[team]; ok {
			continue
		}
		var was rosterBody
		_ = json.Unmarshal(l.Body, &was) // the team's name only; a body not understood leaves it ""
		bodies[team] = &rosterBody{TeamID: team, Team: was.Team, Date: date, Visits: []rosterVisit{}}
		order = append(order, team)
	}
	slices.Sort(order)
	var ns []store.NewNotification
	for _, team := range order {
		body := bodies[team]
		body.Digest = rosterDigest(body.Visits)
		id := strconv.FormatInt(team, 10)
		n := store.NewNotification{RecipientKind: store.RecipientTeam, RecipientID: id, Kind: store.NoticeRoster, Body: body}
		latest, sent := rd.Latest[team]
		switch {
		case !sent && !first:
			continue // its daily run sends it
		case !sent:
			n.EffectKey = store.RosterEffectKey(team, rd.Day)
			n.Title = lt.T("notice.roster.title", body.Team, lt.Date(date), len(body.Visits))
		default:
			var was rosterBody
			if json.Unmarshal(latest.Body, &was) == nil && rosterDigest(was.Visits) == body.Digest {
				continue // as sent
			}
			body.Updated = true
			n.EffectKey = store.RosterUpdateEffectKey(team, rd.Day, latest.Sent+1, body.Digest)
			n.Title = lt.T("notice.roster.updated", body.Team, lt.Date(date), len(body.Visits))
		}
		body.Text = noticeText(lt, n.Title, rosterDetail(lt, body.Visits))
		ns = append(ns, n)
	}
	return ns
}

// rosterDetail lists a roster's stops in words.
func rosterDetail(l messages.Lang, vs []rosterVisit) string {
	if len(vs) == 0 {
		return l.T("notice.detail.roster_no")
	}
	stops := make([]string, 0, len(vs))
	for i, v := range vs {
		stops = append(stops, l.T("notice.stop", i+1, v.Business, v.Address))
	}
	return l.T("notice.detail.roster", l.List(stops))
}

// teamDays are team-days to re-check, by day.
type teamDays map[time.Time][]int64

func (td teamDays) add(team int64, day time.Time) teamDays {
	// One key per civil date, however the date was made (read or parsed).
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	if !slices.Contains(td[day], team) {
		td[day] = append(td[day], team)
	}
	return td
}

// refreshRosters re-checks the rosters of the team-days td whose roster
// notice has gone out already (see RostersFor), a day at a time, and returns
// how many updated rosters it wrote.
func (d *Dispatcher) refreshRosters(ctx context.Context, task string, td teamDays) (int, error) {
	days := make([]time.Time, 0, len(td))
	var teams []int64
	for day, ts := range td {
		days = append(days, day)
		for _, t := range ts {
			if !slices.Contains(teams, t) {
				teams = append(teams, t)
			}
		}
	}
	if len(days) == 0 {
		return 0, nil
	}
	sent, err := d.st.RosteredTeams(ctx, days, teams)
	if err != nil {
		return 0, fmt.Errorf("re-check rosters: %w", err)
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	total := 0
	for _, day := range days {
		var check []int64
		for _, t := range td[day] {
			if slices.Contains(sent[day.Format(time.DateOnly)], t) {
				check = append(check, t)
			}
		}
		if len(check) == 0 {
			continue
		}
		n, err := d.rosters(ctx, task, day, check)
		total += n
		if err != nil {
			return total, fmt.Errorf("re-check rosters of %s: %w", day.Format(time.DateOnly), err)
		}
	}
	return total, nil
}

// writeAll writes notices in batches, honouring ctx between them, and queues
// their webhook deliveries.
func (d *Dispatcher) writeAll(ctx context.Context, task string, ns []store.NewNotification) (int, error) {
	const batch = 500
	total := 0
	for start := 0; start < len(ns); start += batch {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		w, err := d.st.WriteNotifications(ctx, ns[start:min(start+batch, len(ns))])
		if err != nil {
			return total, err
		}
		total += w.Inserted
		d.effects.WithLabelValues(task).Add(float64(w.Inserted))
		if err := d.enqueueDeliveries(ctx, w.Deliveries); err != nil {
			return total, err
		}
	}
	return total, nil
}

// attachCodes sets the code page URL of each visit (one query for all), when
// the public base URL is configured.
func (d *Dispatcher) attachCodes(ctx context.Context, vs []store.DispatchVisit) error {
	if d.base == "" || len(vs) == 0 {
		return nil
	}
	keys := make([]store.VisitKey, len(vs))
	for i, v := range vs {
		keys[i] = store.VisitKey{PlanID: v.PlanID, VisitSeq: v.Seq}
	}
	codes, err := d.st.VisitCodes(ctx, keys)
	if err != nil {
		return fmt.Errorf("visit codes: %w", err)
	}
	for i := range vs {
		vs[i].CodeURL = d.codeURL(codes[keys[i]].Code)
	}
	return nil
}

// codeURL is the public page of a visit code, "" when the public base URL is
// not configured.
func (d *Dispatcher) codeURL(code string) string {
	if d.base == "" {
		return ""
	}
	return d.base + "/v/" + code
}
