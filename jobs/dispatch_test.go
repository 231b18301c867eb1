package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
	"inspectonce/uscc"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestVisitNotices(t *testing.T) {
	v := store.DispatchVisit{PlanID: 4, Seq: 9, Date: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), USCC: "91330922000000001X",
		BusinessName: "店", TeamID: 2, TeamName: "队",
		Inspectors: []store.VisitPerson{{ID: 11, Role: "lead"}, {ID: 12, Role: "member"}},
		Leaders:    []store.VisitPerson{{ID: 11}, {ID: 30}},
		Items:      []store.VisitItem{{ItemID: 1, DemandID: 1, AnnounceDays: 5}, {ItemID: 2, DemandID: 2, AnnounceDays: 3}}}
	ns := VisitNotices(&v, shanghai, NoticeLanguages{})
	var keys []string
	for _, n := range ns {
		keys = append(keys, n.EffectKey)
	}
	want := []string{
		"visit:4:9:inspector:11:assignment", "visit:4:9:inspector:12:assignment",
		"visit:4:9:inspector:11:team_visit", "visit:4:9:inspector:30:team_visit",
		"visit:4:9:business:91330922000000001X:visit_notice",
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("effect keys\n got %v\nwant %v", keys, want)
	}
	// The least announce_days (3), from midnight in the configured zone.
	if vf := ns[4].VisibleFrom; !vf.Equal(time.Date(2026, 3, 7, 0, 0, 0, 0, shanghai)) {
		t.Fatalf("business notice visible from %v", vf)
	}
	for _, n := range ns[:4] {
		if !n.VisibleFrom.IsZero() {
			t.Fatalf("inspector notice %s delayed", n.EffectKey)
		}
	}
	// Chinese by default; each recipient kind in its configured language.
	// The machine-readable body fields are the same in both.
	if got, want := ns[0].Title, "检查任务：2026年3月10日 检查店（主办）"; got != want {
		t.Fatalf("default title %q, want %q", got, want)
	}
	if got, want := ns[4].Title, "检查通知：2026年3月10日 到贵单位检查"; got != want {
		t.Fatalf("business title %q, want %q", got, want)
	}
	en := VisitNotices(&v, shanghai, NoticeLanguages{Inspector: messages.EN})
	if got, want := en[0].Title, "Visit 店 on 2026-03-10 (lead)"; got != want {
		t.Fatalf("English title %q, want %q", got, want)
	}
	if en[4].Title != ns[4].Title {
		t.Fatalf("the business's notice changed language with the inspectors': %q", en[4].Title)
	}
	zhBody, enBody := ns[0].Body.(visitBody), en[0].Body.(visitBody)
	if zhBody.Role != "lead" || enBody.Role != "lead" || !strings.HasPrefix(enBody.Text, "Visit 店 on 2026-03-10 (lead). Address:") ||
		!strings.HasPrefix(zhBody.Text, ns[0].Title+"。地址：") {
		t.Fatalf("bodies: zh %+v\nen %+v", zhBody, enBody)
	}
	zhBody.Text, enBody.Text = "", ""
	if fmt.Sprint(zhBody) != fmt.Sprint(enBody) {
		t.Fatalf("machine fields differ by language:\n%+v\n%+v", zhBody, enBody)
	}
	// One unannounced demand makes the visit unannounced.
	v.Items = append(v.Items, store.VisitItem{ItemID: 3, DemandID: 3, AnnounceDays: 0})
	if ns := VisitNotices(&v, shanghai, NoticeLanguages{}); len(ns) != 4 {
		t.Fatalf("unannounced visit told the business: %d notices", len(ns))
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"id":1}`)
	sig := Sign("s3cret-s3cret-16", "1700000000", body)
	if err := VerifySignature("s3cret-s3cret-16", "1700000000", body, sig); err != nil {
		t.Fatal(err)
	}
	// HMAC-SHA256("s3cret-s3cret-16", "1700000000.{\"id\":1}"), computed independently (Python hmac).
	if sig != "sha256=5bb7ab2d1dd211409753164ae0df25d0b897fb82123c1775eb478fb2a88efd5d" {
		t.Fatalf("signature %s does not follow the documented scheme", sig)
	}
	for name, c := range map[string][4]string{
		"other body":   {"s3cret-s3cret-16", "1700000000", `{"id":2}`, sig},
		"other time":   {"s3cret-s3cret-16", "1700000001", string(body), sig},
		"other secret": {"another-secret-1", "1700000000", string(body), sig},
		"no prefix":    {"s3cret-s3cret-16", "1700000000", string(body), sig[7:]},
		"not hex":      {"s3cret-s3cret-16", "1700000000", string(body), "sha256=zz"},
		"bad time":     {"s3cret-s3cret-16", "soon", string(body), sig},
	} {
		if err := VerifySignature(c[0], c[1], []byte(c[2]), c[3]); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// ---- integration

// dispatchFixture is a registry for dispatch tests: a team with four
// inspectors (the first is its leader), businesses, and three demands:
// announced 3 days ahead (A), 5 days (B), unannounced (C).
type dispatchFixture struct {
	team       int64
	inspectors []int64
	biz        []string
	deptA      int64
	itemA      int64
	deptB      int64
	itemB      int64
	demA       int64
	demB       int64
	demC       int64
}

func bizCode(n int) string {
	c, err := uscc.Complete(fmt.Sprintf("91330922%09d", n))
	if err != nil {
		panic(err)
	}
	return c
}

func newDispatchFixture(t testing.TB, st *store.Store, businesses int) dispatchFixture {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var f dispatchFixture
	a := &domain.Department{Code: "SCJG", Name: "市场监管"}
	b := &domain.Department{Code: "XFJY", Name: "消防"}
	must(st.CreateDepartment(ctx, "test", a))
	must(st.CreateDepartment(ctx, "test", b))
	ia := &domain.Item{Code: "SCJG-01", DepartmentID: a.ID, Name: "食品", Domain: "food_safety", Minutes: 30, LegalBasis: "食品安全法"}
	ib := &domain.Item{Code: "XFJY-01", DepartmentID: b.ID, Name: "消防", Domain: "fire_safety", Minutes: 20, LegalBasis: "消防法"}
	must(st.CreateItem(ctx, "test", ia))
	must(st.CreateItem(ctx, "test", ib))
	f.deptA, f.deptB, f.itemA, f.itemB = a.ID, b.ID, ia.ID, ib.ID
	county := &domain.Region{Code: "C", Name: "县", Level: domain.LevelCounty}
	must(st.CreateRegion(ctx, "test", county))
	town := &domain.Region{Code: "C-T", Name: "镇", Level: domain.LevelTownship, ParentID: &county.ID}
	must(st.CreateRegion(ctx, "test", town))
	grid := &domain.Region{Code: "C-T-G", Name: "网格", Level: domain.LevelGrid, ParentID: &town.ID}
	must(st.CreateRegion(ctx, "test", grid))
	team := &domain.Team{Code: "T1", Name: "队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 960, RegionIDs: []int64{town.ID}, ContactPhone: "0580-1234567"}
	must(st.CreateTeam(ctx, "test", team))
	f.team = team.ID
	for i := range 4 {
		in := &domain.Inspector{Code: fmt.Sprintf("I%d", i), Name: fmt.Sprintf("人%d", i), TeamID: team.ID,
			Domains: []string{"food_safety", "fire_safety"}, IsLeader: i == 0}
		must(st.CreateInspector(ctx, "test", in))
		f.inspectors = append(f.inspectors, in.ID)
	}
	for i := range businesses {
		bz := &domain.Business{USCC: bizCode(i + 1), Name: fmt.Sprintf("店%d", i), RegionID: grid.ID, IndustryCode: "H6210",
			Lat: 30.7 + float64(i%100)/1000, Lng: 122.4, Address: fmt.Sprintf("路%d号", i), RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
		must(st.CreateBusiness(ctx, "test", bz))
		f.biz = append(f.biz, bz.USCC)
	}
	from := time.Now().AddDate(0, 0, -1)
	to := time.Now().AddDate(0, 3, 0)
	for i, c := range []struct {
		dept, item int64
		days       int
		id         *int64
	}{{a.ID, ia.ID, 3, &f.demA}, {b.ID, ib.ID, 5, &f.demB}, {b.ID, ib.ID, 0, &f.demC}} {
		d := &domain.Demand{DepartmentID: c.dept, ItemIDs: []int64{c.item}, TargetKind: domain.TargetList, Businesses: f.biz[:1],
			WindowFrom: from, WindowTo: to, Priority: 3, Source: domain.SourceRoutine, AnnounceDays: c.days, Title: fmt.Sprint("d", i)}
		_, err := st.CreateDemand(ctx, "test", nil, d)
		must(err)
		*c.id = d.ID
	}
	return f
}

// visitDays are the days the fixture's visits fall on: tomorrow (in
// Shanghai) and then every few days; the business notices of the early ones
// are visible now, of the late ones not yet.
func visitDay(i int) planner.Day {
	now := time.Now().In(shanghai)
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1+(i%4)*4)
	return planner.DayOf(d)
}

// fixturePlan is n visits over the fixture's businesses, by the team, two
// inspectors each (lead first), with tasks of demand A alone (announced 3
// days ahead), A and B (announced 3 days ahead), or A and C (unannounced).
func fixturePlan(f dispatchFixture, n int) *planner.Plan {
	p := &planner.Plan{}
	from, to := planner.DayOf(time.Now().AddDate(0, 0, -1)), planner.DayOf(time.Now().AddDate(0, 3, 0))
	route := map[planner.Day]int{}
	for i := range n {
		b := f.biz[i%len(f.biz)]
		day := visitDay(i)
		route[day]++
		ta := planner.Task{DemandID: f.demA, DepartmentID: f.deptA, USCC: b, ItemID: f.itemA, From: from, To: to, Priority: 3}
		tasks := []planner.Task{ta}
		depts := []int64{f.deptA}
		switch i % 3 {
		case 1:
			tasks = append(tasks, planner.Task{DemandID: f.demB, DepartmentID: f.deptB, USCC: b, ItemID: f.itemB, From: from, To: to, Priority: 3})
			depts = append(depts, f.deptB)
		case 2:
			tasks = append(tasks, planner.Task{DemandID: f.demC, DepartmentID: f.deptB, USCC: b, ItemID: f.itemB, From: from, To: to, Priority: 3})
			depts = append(depts, f.deptB)
		}
		lead := f.inspectors[i%4]
		member := f.inspectors[(i+1)%4]
		p.Visits = append(p.Visits, planner.Visit{USCC: b, Date: day, TeamID: f.team, InspectorIDs: []int64{lead, member},
			Tasks: tasks, DepartmentIDs: depts, DurationMinutes: 30, TravelMinutes: 5, RouteOrder: route[day]})
	}
	p.Stats = planner.Stats{Tasks: n, NaiveVisits: n, LowerBound: n, Visits: n}
	return p
}

// publishFixturePlan stores and publishes a plan of n visits.
func publishFixturePlan(t testing.TB, st *store.Store, f dispatchFixture, n int) store.Plan {
	t.Helper()
	ctx := context.Background()
	year := time.Now().Year()
	if _, err := st.YearKey(ctx, "test", year); err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	p, err := st.CreatePlan(ctx, "test", store.NewPlan{From: time.Now(), To: time.Now().AddDate(0, 1, 0),
		Mode: store.ModeCoordinated, Year: year, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SavePlanResult(ctx, p.ID, fixturePlan(f, n)); err != nil {
		t.Fatal(err)
	}
	pub, err := st.PublishPlan(ctx, "test", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// expectedKeys are the effect keys dispatching the fixture plan must write.
func expectedKeys(planID int64, f dispatchFixture, n int) map[string]bool {
	keys := map[string]bool{}
	for i := range n {
		seq := i + 1
		for _, in := range []int64{f.inspectors[i%4], f.inspectors[(i+1)%4]} {
			keys[store.VisitEffectKey(planID, seq, "inspector", strconv.FormatInt(in, 10), "assignment")] = true
		}
		keys[store.VisitEffectKey(planID, seq, "inspector", strconv.FormatInt(f.inspectors[0], 10), "team_visit")] = true
		if i%3 != 2 {
			keys[store.VisitEffectKey(planID, seq, "business", f.biz[i%len(f.biz)], "visit_notice")] = true
		}
	}
	return keys
}

// receiver is a webhook endpoint on loopback that records what it gets.
type receiver struct {
	srv    *httptest.Server
	secret string
	fail   bool
	mu     sync.Mutex
	got    map[int64]int // notification id -> deliveries
	bad    []string
}

func newReceiver(t *testing.T, secret string, fail bool) *receiver {
	r := &receiver{secret: secret, fail: fail, got: map[int64]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.fail {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := VerifySignature(r.secret, req.Header.Get(HeaderTimestamp), body, req.Header.Get(HeaderSignature)); err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ts, _ := strconv.ParseInt(req.Header.Get(HeaderTimestamp), 10, 64)
		if d := time.Since(time.Unix(ts, 0)); d > SignatureTolerance || d < -SignatureTolerance {
			r.bad = append(r.bad, "stale timestamp")
		}
		var n store.Notification
		if err := json.Unmarshal(body, &n); err != nil {
			r.bad = append(r.bad, err.Error())
		}
		if req.Header.Get(HeaderDelivery) == "" || req.Header.Get(HeaderEvent) != n.Kind {
			r.bad = append(r.bad, "delivery headers missing")
		}
		if n.VisibleFrom.After(time.Now()) {
			r.bad = append(r.bad, fmt.Sprintf("notification %d sent before it is visible", n.ID))
		}
		r.got[n.ID]++
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) snapshot() (map[int64]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := make(map[int64]int, len(r.got))
	for k, v := range r.got {
		got[k] = v
	}
	return got, append([]string(nil), r.bad...)
}

// dispatchEnv runs a worker with the Dispatcher and a relay on a queue of the
// test's own.
type dispatchEnv struct {
	st     *store.Store
	opt    asynq.RedisConnOpt
	queue  string
	client *asynq.Client
	disp   *Dispatcher
	relay  *Relay
	// repairs, when set, runs calendar repairs in the worker.
	repairs Repairer
}

func newDispatchEnv(t *testing.T, st *store.Store) *dispatchEnv {
	opt, queue := testQueue(t)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	log := slog.New(slog.DiscardHandler)
	e := &dispatchEnv{st: st, opt: opt, queue: queue, client: client}
	e.disp = NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Queue: client, Location: shanghai, Logger: log, QueueName: queue})
	e.relay = NewRelay(RelayOptions{Store: st, Queue: client, Logger: log, QueueName: queue, Interval: 50 * time.Millisecond})
	return e
}

// start runs the worker and the relay until the test ends.
func (e *dispatchEnv) start(t *testing.T) {
	w := NewWorker(e.opt, WorkerOptions{Concurrency: 10, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Queues: map[string]int{e.queue: 1}, Dispatch: e.disp, Repairs: e.repairs})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	wg.Go(func() { _ = e.relay.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitDispatched polls the plan's dispatch status until every visit is dispatched.
func waitDispatched(t *testing.T, st *store.Store, planID int64, timeout time.Duration) store.DispatchStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s, err := st.PlanDispatchStatus(context.Background(), planID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Dispatched == s.Visits && s.Pending == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("dispatch not done after %v: %+v", timeout, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seqRange is the visit seqs from first to last.
func seqRange(first, last int) []int {
	var out []int
	for q := first; q <= last; q++ {
		out = append(out, q)
	}
	return out
}

// allKeys lists every notification by effect key, failing on a key twice.
func allNotifications(t *testing.T, st *store.Store) map[string]store.Notification {
	t.Helper()
	out := map[string]store.Notification{}
	p := store.Page{Limit: store.MaxLimit}
	for {
		page, err := st.ListNotifications(context.Background(), store.NotificationFilter{}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page.Items {
			if _, dup := out[n.EffectKey]; dup {
				t.Fatalf("effect %s written twice", n.EffectKey)
			}
			out[n.EffectKey] = n
		}
		if page.Next == "" {
			return out
		}
		p.After = page.Next
	}
}

func TestDispatchEndToEnd(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 7)
	const n = 40
	e := newDispatchEnv(t, st)

	good := newReceiver(t, "good-secret-0123456789", false)
	down := newReceiver(t, "down-secret-0123456789", true)
	biz := newReceiver(t, "biz-secret-01234567890", false)
	hookGood, err := st.CreateWebhook(ctx, "test", store.RecipientInspector, good.srv.URL, good.secret)
	if err != nil {
		t.Fatal(err)
	}
	hookDown, _ := st.CreateWebhook(ctx, "test", store.RecipientInspector, down.srv.URL, down.secret)
	hookBiz, _ := st.CreateWebhook(ctx, "test", store.RecipientBusiness, biz.srv.URL, biz.secret)

	// Published before any worker runs: the outbox holds the dispatch.
	p := publishFixturePlan(t, st, f, n)
	if s, _ := st.PlanDispatchStatus(ctx, p.ID); s.Outbox != n || s.PendingRelay != n || s.Dispatched != 0 {
		t.Fatalf("before the worker: %+v", s)
	}
	e.start(t)
	s := waitDispatched(t, st, p.ID, 60*time.Second)

	want := expectedKeys(p.ID, f, n)
	got := allNotifications(t, st)
	if len(got) != len(want) {
		t.Errorf("%d notifications, want %d", len(got), len(want))
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if s.Notifications != int64(len(want)) || s.NotificationsByKind["team_visit"] != n {
		t.Errorf("status %+v", s)
	}
	// Business notices: from (visit day − 3) at midnight in Shanghai.
	now := time.Now()
	visibleBiz := map[int64]bool{}
	for i := range n {
		if i%3 == 2 {
			continue
		}
		nt := got[store.VisitEffectKey(p.ID, i+1, "business", f.biz[i%len(f.biz)], "visit_notice")]
		vd := visitDay(i).Time()
		if wantVF := time.Date(vd.Year(), vd.Month(), vd.Day()-3, 0, 0, 0, 0, shanghai); !nt.VisibleFrom.Equal(wantVF) {
			t.Fatalf("visit %d: business notice visible from %v, want %v", i+1, nt.VisibleFrom, wantVF)
		}
		if !nt.VisibleFrom.After(now) {
			visibleBiz[nt.ID] = true
		}
	}
	if len(visibleBiz) == 0 || len(visibleBiz) == 2*n/3 {
		t.Fatalf("fixture: %d business notices visible now; want some but not all", len(visibleBiz))
	}

	// Webhooks: the good receiver sees each inspector notice once, signed;
	// the failing one does not hold it up; the business receiver sees only
	// the notices already visible.
	inspectorNotices := map[int64]bool{}
	for _, nt := range got {
		if nt.RecipientKind == "inspector" {
			inspectorNotices[nt.ID] = true
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, bad := good.snapshot()
		b, badB := biz.snapshot()
		if len(bad)+len(badB) > 0 {
			t.Fatalf("receiver complaints: %v %v", bad, badB)
		}
		if len(g) == len(inspectorNotices) && len(b) == len(visibleBiz) {
			for id, c := range g {
				if c != 1 || !inspectorNotices[id] {
					t.Fatalf("good receiver got notification %d %d times", id, c)
				}
			}
			for id, c := range b {
				if c != 1 || !visibleBiz[id] {
					t.Fatalf("business receiver got notification %d %d times", id, c)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks: good got %d of %d, business %d of %d", len(g), len(inspectorNotices), len(b), len(visibleBiz))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The receiver has answered every delivery; the worker records each one
	// just after the answer arrives, so give the last records a moment.
	for deadline := time.Now().Add(15 * time.Second); ; {
		dd, _ := st.WebhookDeliveries(ctx, hookGood.ID)
		pending := 0
		for id, status := range dd {
			switch status {
			case store.DeliveryDelivered:
			case store.DeliveryPending:
				pending++
			default:
				t.Fatalf("good delivery %d is %s", id, status)
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d good deliveries still pending after the receiver saw them all", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	downAttempted := func() int {
		c := 0
		for id := range inspectorNotices {
			j, err := st.DeliveryJobOf(ctx, id, hookDown.ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != store.DeliveryPending {
				t.Fatalf("failing webhook delivery %d is %s", id, j.Status)
			}
			if j.Attempts > 0 {
				c++
			}
		}
		return c
	}
	for deadline := time.Now().Add(20 * time.Second); downAttempted() < len(inspectorNotices); {
		if time.Now().After(deadline) {
			t.Fatalf("the failing webhook was tried for %d of %d notices", downAttempted(), len(inspectorNotices))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every business notice has its delivery; those not visible yet wait in
	// the queue as scheduled tasks, due at their visible_from.
	bd, _ := st.WebhookDeliveries(ctx, hookBiz.ID)
	later := 0
	for id, status := range bd {
		switch {
		case visibleBiz[id] && status != store.DeliveryDelivered, !visibleBiz[id] && status != store.DeliveryPending:
			t.Fatalf("business delivery %d is %s (visible now: %v)", id, status, visibleBiz[id])
		case !visibleBiz[id]:
			later++
		}
	}
	if len(bd) != int(s.NotificationsByKind["visit_notice"]) || later == 0 {
		t.Fatalf("%d business deliveries (%d later) for %d notices", len(bd), later, s.NotificationsByKind["visit_notice"])
	}
	insp := asynq.NewInspector(e.opt)
	defer insp.Close()
	if sched, err := insp.ListScheduledTasks(e.queue, asynq.PageSize(1000)); err != nil || len(sched) != later {
		t.Fatalf("%d scheduled deliveries, want %d: %v", len(sched), later, err)
	}

	// The relay made dispatch:visits tasks only: all 40 visits in one.
	ins := asynq.NewInspector(e.opt)
	defer ins.Close()
	done, err := ins.ListCompletedTasks(e.queue, asynq.PageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	var dispatchTasks []*asynq.TaskInfo
	for _, ti := range done {
		if strings.HasPrefix(ti.Type, "dispatch:") {
			dispatchTasks = append(dispatchTasks, ti)
		}
	}
	if len(dispatchTasks) != 1 || dispatchTasks[0].Type != TypeDispatchVisits ||
		string(dispatchTasks[0].Payload) != fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[1,%d]]}`, p.ID, n) {
		t.Fatalf("dispatch tasks relayed: %+v", dispatchTasks)
	}

	// Redelivery changes nothing: the same dispatch tasks again under other
	// task IDs — the batch and, as an older relay made them, one per visit —
	// and the handlers called directly.
	again, err := NewDispatchVisits(p.ID, seqRange(1, n), asynq.Queue(e.queue), asynq.TaskID(fmt.Sprintf("again:%d", p.ID)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Enqueue(again); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		task, err := NewDispatchVisit(p.ID, i+1, asynq.Queue(e.queue), asynq.TaskID(fmt.Sprintf("again:%d:%d", p.ID, i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := e.disp.DispatchVisit(ctx, p.ID, 1); err != nil || w != 0 {
		t.Fatalf("direct redelivery wrote %d: %v", w, err)
	}
	if r, err := e.disp.DispatchVisits(ctx, p.ID, []int{3, 1, 2}); err != nil || r.Written != 0 || r.Dispatched != 3 || len(r.Refused) != 0 {
		t.Fatalf("direct batch redelivery: %+v %v", r, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		qi, err := ins.GetQueueInfo(e.queue)
		if err == nil && qi.Pending == 0 && qi.Active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redelivered tasks not done: %+v %v", qi, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if again := allNotifications(t, st); len(again) != len(got) {
		t.Fatalf("redelivery: %d notifications, had %d", len(again), len(got))
	}
	time.Sleep(500 * time.Millisecond)
	if g, _ := good.snapshot(); len(g) != len(inspectorNotices) {
		t.Fatalf("redelivery: good receiver got %d notifications", len(g))
	}
	for id, c := range func() map[int64]int { g, _ := good.snapshot(); return g }() {
		if c != 1 {
			t.Fatalf("redelivery: notification %d delivered %d times", id, c)
		}
	}

	// A bad payload or an unknown visit is archived at once, not retried.
	for _, payload := range []string{`{"v":1,`, `{"v":2,"plan_id":1,"visit_seq":1}`, fmt.Sprintf(`{"v":1,"plan_id":%d,"visit_seq":9999}`, p.ID)} {
		if err := e.disp.HandleDispatchVisit(ctx, asynq.NewTask(TypeDispatchVisit, []byte(payload))); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: %v", payload, err)
		}
	}
	for _, payload := range []string{`{"v":1,`, `{"v":2,"plan_id":1,"seqs":[[1,1]]}`,
		fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[]}`, p.ID), fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[5,3]]}`, p.ID),
		fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[1,5],[3,8]]}`, p.ID), fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[0,2]]}`, p.ID),
		fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[1,100000]]}`, p.ID), `{"v":1,"plan_id":0,"seqs":[[1,1]]}`,
		// every visit unknown: nothing to set apart, this task is archived
		fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[9990,9999]]}`, p.ID)} {
		if err := e.disp.HandleDispatchVisits(ctx, asynq.NewTask(TypeDispatchVisits, []byte(payload))); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: %v", payload, err)
		}
	}
}

func TestRemindersAndRosters(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 5)
	const n = 12
	p := publishFixturePlan(t, st, f, n)
	e := newDispatchEnv(t, st)

	// Due at 01:00 today in Shanghai: reminders are for tomorrow's visits.
	now := time.Now().In(shanghai)
	due := time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, shanghai)
	task, err := NewCronTask(TypeCronReminderScan, due)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.disp.HandleReminderScan(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	tomorrow := visitDay(0)
	var tomorrowVisits []int
	for i := range n {
		if visitDay(i) == tomorrow {
			tomorrowVisits = append(tomorrowVisits, i)
		}
	}
	got := allNotifications(t, st)
	want := map[string]bool{}
	for _, i := range tomorrowVisits {
		for _, in := range []int64{f.inspectors[i%4], f.inspectors[(i+1)%4]} {
			want[store.VisitEffectKey(p.ID, i+1, "inspector", strconv.FormatInt(in, 10), "reminder")] = true
		}
		if i%3 != 2 {
			want[store.VisitEffectKey(p.ID, i+1, "business", f.biz[i%len(f.biz)], "reminder")] = true
		}
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%d reminders, want %d", len(got), len(want))
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Fatalf("missing reminder %s", k)
		}
	}

	// Rosters: one per team-day, for the task's due day, however often it runs.
	rt, _ := NewCronTask(TypeCronDailyRosters, tomorrow.Time().Add(-7*time.Hour)) // 01:00 Shanghai on that day
	for range 2 {
		if err := e.disp.HandleDailyRosters(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	got = allNotifications(t, st)
	r, ok := got[store.RosterEffectKey(f.team, tomorrow.Time())]
	if !ok || len(got) != len(want)+1 || r.RecipientKind != "team" || r.RecipientID != strconv.FormatInt(f.team, 10) {
		t.Fatalf("roster: %+v (%d notifications)", r, len(got))
	}
	var body rosterBody
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Visits) != len(tomorrowVisits) || !sort.SliceIsSorted(body.Visits, func(a, b int) bool {
		return body.Visits[a].RouteOrder < body.Visits[b].RouteOrder
	}) || len(body.Visits[0].Items) == 0 || body.Visits[0].Items[0].LegalBasis == "" || len(body.Visits[0].Inspectors) != 2 {
		t.Fatalf("roster body %+v", body)
	}
	if err := e.disp.HandleDailyRosters(ctx, asynq.NewTask(TypeCronDailyRosters, []byte(`{"v":7}`))); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("unknown version: %v", err)
	}
	// A cancelled handler stops and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.disp.HandleReminderScan(cctx, task); err == nil {
		t.Fatal("a cancelled reminder scan succeeded")
	}
}

// TestRelayCrashBetweenEnqueueAndCommit: a relay that enqueued its batch
// tasks but died before marking the rows leaves them unrelayed; the next
// relay claims them again. Grouped as before (same PerTask, whatever the
// claim size), they get the same task IDs (a conflict, taken as success), so
// each visit has exactly one task. Grouped otherwise (another PerTask), they
// get other IDs: some visits ride in two tasks, none in none, and the notices
// are still written once each.
func TestRelayCrashBetweenEnqueueAndCommit(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 3)
	const n = 25
	p := publishFixturePlan(t, st, f, n)
	e := newDispatchEnv(t, st)
	ins := asynq.NewInspector(e.opt)
	defer ins.Close()
	discard := slog.New(slog.DiscardHandler)

	// crash runs one claim of r that enqueues its tasks, then "the process
	// dies": its transaction cannot commit.
	crash := func(r *Relay) {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		_, err := st.RelayOutbox(cctx, r.batch, func(ctx context.Context, rows []store.OutboxRow) ([]int64, error) {
			ids, err := r.enqueue(context.WithoutCancel(ctx), rows)
			cancel()
			return ids, err
		})
		if err == nil {
			t.Fatal("the crashed batch committed")
		}
		// Its connection was closed, not rolled back politely: the backend
		// may hold the row locks a moment longer, and a claim meanwhile would
		// skip those rows and cut the groups elsewhere. Wait until every
		// unrelayed row can be claimed, so the restart sees what a real one does.
		for deadline := time.Now().Add(10 * time.Second); ; {
			var free, all int
			tx, err := st.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (SELECT id FROM outbox WHERE relayed_at IS NULL
				FOR UPDATE SKIP LOCKED) x), (SELECT count(*) FROM outbox WHERE relayed_at IS NULL)`).Scan(&free, &all)
			_ = tx.Rollback()
			if err != nil {
				t.Fatal(err)
			}
			if free == all {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d outbox rows still locked 10 s after the crash", all-free, all)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	relayAll := func(r *Relay) {
		t.Helper()
		for {
			k, err := r.RelayOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				return
			}
		}
	}
	// queued maps the plan's visits to the IDs of the pending tasks carrying them.
	queued := func(planID int64) (map[int][]string, map[string]bool) {
		t.Helper()
		tasks, err := ins.ListPendingTasks(e.queue, asynq.PageSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		by, ids := map[int][]string{}, map[string]bool{}
		for _, ti := range tasks {
			if ti.Type != TypeDispatchVisits || ti.MaxRetry != DispatchMaxRetry || ti.Retention != TaskRetention {
				t.Fatalf("task %+v", ti)
			}
			for _, q := range dispatchedVisits(ti.Type, ti.Payload, planID) {
				by[q] = append(by[q], ti.ID)
				ids[ti.ID] = true
			}
		}
		return by, ids
	}
	rows, _, err := st.OutboxRows(ctx, p.ID)
	if err != nil || len(rows) != n {
		t.Fatalf("%d outbox rows: %v", len(rows), err)
	}
	first := rows[0].ID

	crash(NewRelay(RelayOptions{Store: st, Queue: e.client, QueueName: e.queue, Batch: 20, PerTask: 10, Logger: discard}))
	if s, _ := st.PlanDispatchStatus(ctx, p.ID); s.Relayed != 0 {
		t.Fatalf("after the crash: %+v", s)
	}
	if by, ids := queued(p.ID); len(ids) != 2 || len(by) != 20 {
		t.Fatalf("the crashed claim queued %d tasks for %d visits, want 2 for 20", len(ids), len(by))
	}
	// Restarted with the same grouping but another claim size.
	relayAll(NewRelay(RelayOptions{Store: st, Queue: e.client, QueueName: e.queue, Batch: 30, PerTask: 10, Logger: discard}))
	if s, _ := st.PlanDispatchStatus(ctx, p.ID); s.Relayed != n || s.PendingRelay != 0 || s.PendingTasks != n {
		t.Fatalf("after the restart: %+v", s)
	}
	by, ids := queued(p.ID)
	want := map[string]bool{
		fmt.Sprintf("outbox:%d-%d", first, first+9):     true,
		fmt.Sprintf("outbox:%d-%d", first+10, first+19): true,
		fmt.Sprintf("outbox:%d-%d", first+20, first+24): true,
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("task IDs %v, want %v", ids, want)
	}
	for q := 1; q <= n; q++ {
		if len(by[q]) != 1 {
			t.Fatalf("visit %d is in tasks %v, want exactly one", q, by[q])
		}
	}

	// A second plan: the relay comes back with 7 visits a task instead of 10.
	p2 := publishFixturePlan(t, st, f, n)
	crash(NewRelay(RelayOptions{Store: st, Queue: e.client, QueueName: e.queue, Batch: 20, PerTask: 10, Logger: discard}))
	relayAll(NewRelay(RelayOptions{Store: st, Queue: e.client, QueueName: e.queue, Batch: 21, PerTask: 7, Logger: discard}))
	by2, ids2 := queued(p2.ID)
	if len(ids2) != 2+4 {
		t.Fatalf("plan 2: %d tasks, want the crashed 2 and 4 regrouped", len(ids2))
	}
	for q := 1; q <= n; q++ {
		if wantN := map[bool]int{true: 2, false: 1}[q <= 20]; len(by2[q]) != wantN {
			t.Fatalf("plan 2: visit %d is in tasks %v, want %d", q, by2[q], wantN)
		}
	}

	// The worker then dispatches every visit of both plans, each effect once
	// (allNotifications fails on an effect key seen twice).
	e.start(t)
	waitDispatched(t, st, p.ID, 60*time.Second)
	waitDispatched(t, st, p2.ID, 60*time.Second)
	for deadline := time.Now().Add(30 * time.Second); ; {
		qi, err := ins.GetQueueInfo(e.queue)
		if err == nil && qi.Pending+qi.Active+qi.Retry == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v %v", qi, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, want := len(allNotifications(t, st)), len(expectedKeys(p.ID, f, n))+len(expectedKeys(p2.ID, f, n)); got != want {
		t.Fatalf("%d notifications, want %d", got, want)
	}
	for _, id := range []int64{p.ID, p2.ID} {
		if failed, err := ArchivedDispatches(ins, id, e.queue); failed != 0 || err != nil {
			t.Fatalf("plan %d: archived %d %v", id, failed, err)
		}
	}
}

// BenchmarkDispatchVisit measures the dispatch:visit handler's work (read the
// visit, write its notices) without the queue, 4 visits per CPU at once.
func BenchmarkDispatchVisit(b *testing.B) {
	st, _ := storetest.New(b)
	f := newDispatchFixture(b, st, 50)
	n := max(b.N, 100)
	p := publishFixturePlan(b, st, f, n)
	d := NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Location: shanghai, Logger: slog.New(slog.DiscardHandler)})
	var next sync.Mutex
	seq := 0
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			seq++
			s := seq
			next.Unlock()
			if _, err := d.DispatchVisit(context.Background(), p.ID, s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestWebhookDeliveryOutcomes drives the webhook handler directly: a delivery
// whose retries are spent is recorded failed and never sent again; an
// inactive webhook's delivery is skipped; a notice not visible yet is not
// sent, and its retry waits until it is, without counting as a failure.
func TestWebhookDeliveryOutcomes(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	down := newReceiver(t, "down-secret-0123456789", true)
	good := newReceiver(t, "good-secret-0123456789", false)
	hDown, err := st.CreateWebhook(ctx, "test", store.RecipientTeam, down.srv.URL, down.secret)
	if err != nil {
		t.Fatal(err)
	}
	hBiz, _ := st.CreateWebhook(ctx, "test", store.RecipientBusiness, good.srv.URL, good.secret)
	later := time.Now().Add(1500 * time.Millisecond)
	w, err := st.WriteNotifications(ctx, []store.NewNotification{
		{EffectKey: "roster:team:1:2030-01-01", RecipientKind: "team", RecipientID: "1", Kind: "roster", Title: "r"},
		{EffectKey: "visit:1:1:business:X:visit_notice", RecipientKind: "business", RecipientID: "X", Kind: "visit_notice",
			Title: "b", VisibleFrom: later},
	})
	if err != nil || len(w.Deliveries) != 2 {
		t.Fatalf("%+v %v", w, err)
	}
	d := NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Logger: slog.New(slog.DiscardHandler)})
	task := func(nid, wid int64) *asynq.Task {
		b, _ := json.Marshal(WebhookPayload{V: 1, NotificationID: nid, WebhookID: wid})
		return asynq.NewTask(TypeWebhookDeliver, b)
	}
	roster, notice := w.Deliveries[0].NotificationID, w.Deliveries[1].NotificationID

	// Retries left: still pending, the error returned (asynq retries).
	if err := d.HandleWebhook(ctx, task(roster, hDown.ID)); err == nil {
		t.Fatal("a failed delivery reported success")
	}
	if j, _ := st.DeliveryJobOf(ctx, roster, hDown.ID); j.Status != store.DeliveryPending || j.Attempts != 1 ||
		!strings.Contains(j.LastError, "503") {
		t.Fatalf("after a failure: %+v", j)
	}
	// The last attempt: failed for good, and not sent again.
	orig := lastAttempt
	lastAttempt = func(context.Context) bool { return true }
	defer func() { lastAttempt = orig }()
	if err := d.HandleWebhook(ctx, task(roster, hDown.ID)); err == nil {
		t.Fatal("a failed delivery reported success")
	}
	if j, _ := st.DeliveryJobOf(ctx, roster, hDown.ID); j.Status != store.DeliveryFailed || j.Attempts != 2 {
		t.Fatalf("after the last attempt: %+v", j)
	}
	if err := d.HandleWebhook(ctx, task(roster, hDown.ID)); err != nil {
		t.Fatalf("a delivery given up was tried again: %v", err)
	}

	// Not visible yet: not sent; retried when visible, not a failure.
	err = d.HandleWebhook(ctx, task(notice, hBiz.ID))
	var ny notYet
	if !errors.As(err, &ny) || !ny.until.Equal(w.Deliveries[1].VisibleFrom) {
		t.Fatalf("early delivery: %v", err)
	}
	if delay := retryDelay(0, err, nil); delay < time.Second || delay > 1500*time.Millisecond {
		t.Fatalf("retried in %v, want when visible", delay)
	}
	if big := retryDelay(0, notYet{time.Now().Add(3 * time.Hour)}, nil); big < 2*time.Hour || big > 3*time.Hour {
		t.Fatalf("retried in %v, want in 3 h", big)
	}
	if g, _ := good.snapshot(); len(g) != 0 {
		t.Fatalf("sent before visible: %v", g)
	}
	// Once visible it goes, signed; an inactive webhook's delivery is skipped.
	time.Sleep(time.Until(later))
	if err := d.HandleWebhook(ctx, task(notice, hBiz.ID)); err != nil {
		t.Fatal(err)
	}
	if g, bad := good.snapshot(); len(g) != 1 || g[notice] != 1 || len(bad) > 0 {
		t.Fatalf("visible delivery: %v %v", g, bad)
	}
	w2, _ := st.WriteNotifications(ctx, []store.NewNotification{
		{EffectKey: "roster:team:1:2030-01-02", RecipientKind: "team", RecipientID: "1", Kind: "roster", Title: "r2"}})
	if err := st.SetWebhookActive(ctx, "test", hDown.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := d.HandleWebhook(ctx, task(w2.Deliveries[0].NotificationID, hDown.ID)); err != nil {
		t.Fatal(err)
	}
	if j, _ := st.DeliveryJobOf(ctx, w2.Deliveries[0].NotificationID, hDown.ID); j.Status != store.DeliverySkipped {
		t.Fatalf("inactive webhook: %+v", j)
	}
	if err := d.HandleWebhook(ctx, task(999999, hDown.ID)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("unknown delivery: %v", err)
	}
}
