package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/configs"
	"inspectonce/jobs"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestNotificationInbox(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	insp, team := fmt.Sprint(v.inspector.ID), fmt.Sprint(v.team.ID)
	past, future := testToday.Add(-time.Hour), testToday.Add(72*time.Hour)
	note := func(key, kind, id, what string, at time.Time) store.NewNotification {
		return store.NewNotification{EffectKey: key, RecipientKind: kind, RecipientID: id, Kind: what, Title: key,
			Body: map[string]any{"x": 1}, VisibleFrom: at}
	}
	if _, err := v.st.WriteNotifications(ctx, []store.NewNotification{
		note("mine", "inspector", insp, "assignment", past),
		note("other-inspector", "inspector", "999999", "assignment", past),
		note("biz-now", "business", v.bizA.USCC, "visit_notice", past),
		note("biz-later", "business", v.bizA.USCC, "visit_notice", future),
		note("other-biz", "business", v.bizB.USCC, "visit_notice", past),
		note("roster", "team", team, "roster", past),
		note("biz-code", "business", v.bizA.USCC, "code_replaced", past),
	}); err != nil {
		t.Fatal(err)
	}
	titles := func(who, query string) []string {
		t.Helper()
		r := v.do(who, "GET", "/api/v1/notifications"+query, nil)
		expect(t, r, 200, "inbox of "+who)
		var page listResponse[store.Notification]
		r.json(t, &page)
		var out []string
		for _, n := range page.Items {
			out = append(out, n.Title)
		}
		return out
	}
	for _, c := range []struct {
		who, query string
		want       []string
	}{
		{"inspector", "", []string{"mine"}},
		{"business", "", []string{"biz-now", "biz-code"}}, // biz-later is not visible yet
		{"business", "?kind=code_replaced", []string{"biz-code"}},
		{"business", "?kind=visit_notice", []string{"biz-now"}},
		{"team_leader", "", []string{"roster"}},
		{"admin", "", []string{"mine", "other-inspector", "biz-now", "biz-later", "other-biz", "roster", "biz-code"}},
		{"admin", "?kind=assignment", []string{"mine", "other-inspector"}},
		{"admin", "?recipient_kind=business&recipient_id=" + v.bizA.USCC, []string{"biz-now", "biz-later", "biz-code"}},
		{"admin", "?recipient_kind=team", []string{"roster"}},
		{"admin", "?limit=2", []string{"mine", "other-inspector"}},
	} {
		if got := titles(c.who, c.query); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %v, want %v", c.who, c.query, got, c.want)
		}
	}
	r := v.do("admin", "GET", "/api/v1/notifications?limit=4", nil)
	var page listResponse[store.Notification]
	r.json(t, &page)
	if page.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	if got := titles("admin", "?limit=4&after="+page.NextCursor); !slices.Equal(got, []string{"other-biz", "roster", "biz-code"}) {
		t.Fatalf("second page %v", got)
	}
	expect(t, v.do("planner", "GET", "/api/v1/notifications", nil), 403, "planner inbox")
	for _, q := range []string{"?recipient_kind=team", "?recipient_id=" + insp} {
		r := v.do("inspector", "GET", "/api/v1/notifications"+q, nil)
		expect(t, r, 422, "inspector choosing an inbox")
	}
	r = v.do("admin", "GET", "/api/v1/notifications?recipient_kind=planner", nil)
	expect(t, r, 422, "unknown recipient kind")
	if f := fieldsOf(t, r); !slices.Equal(f, []string{"recipient_kind"}) {
		t.Fatalf("fields %v", f)
	}
	r = v.do("business", "GET", "/api/v1/notifications?kind=moved", nil)
	expect(t, r, 422, "unknown notice kind")
	if f := fieldsOf(t, r); !slices.Equal(f, []string{"kind"}) {
		t.Fatalf("fields %v", f)
	}
}

// TestPlanDispatchThroughAPI publishes a plan through the API, dispatches it
// with the worker's relay and handlers, and reads the figures back.
func TestPlanDispatchThroughAPI(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	v.submit("planner", v.itemA.ID, v.bizA.USCC, v.bizB.USCC)
	v.submit("plannerB", v.itemB.ID, v.bizA.USCC)
	p := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	path := fmt.Sprintf("/api/v1/plans/%d/dispatch", p.ID)

	var ds dispatchStatus
	r := v.do("planner", "GET", path, nil)
	expect(t, r, 200, "dispatch of a draft")
	r.json(t, &ds)
	if ds.PlanStatus != store.PlanDraft || ds.Visits != 2 || ds.Outbox != 0 || ds.Pending != 0 {
		t.Fatalf("draft dispatch %+v", ds)
	}
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil), 200, "publish")
	r = v.do("admin", "GET", path, nil)
	r.json(t, &ds)
	if ds.Outbox != 2 || ds.PendingRelay != 2 || ds.Pending != 2 || ds.Dispatched != 0 || ds.FailedNote == "" {
		t.Fatalf("published, not dispatched: %+v", ds)
	}
	expect(t, v.do("admin", "GET", "/api/v1/plans/999999/dispatch", nil), 404, "unknown plan")

	// The worker side: relay and handlers on a queue of the test's own.
	opt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	queue := "test-dispatch-" + hex.EncodeToString(b[:])
	client := asynq.NewClient(opt)
	log := slog.New(slog.DiscardHandler)
	disp := jobs.NewDispatcher(jobs.DispatchOptions{Store: v.st, AllowPrivateWebhooks: true, Queue: client, Location: time.UTC, Logger: log, QueueName: queue})
	w := jobs.NewWorker(opt, jobs.WorkerOptions{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: log,
		Queues: map[string]int{queue: 1}, Dispatch: disp})
	relay := jobs.NewRelay(jobs.RelayOptions{Store: v.st, Queue: client, Logger: log, QueueName: queue, Interval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = w.Run(ctx); done <- struct{}{} }()
	go func() { _ = relay.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		_ = client.Close()
		ins := asynq.NewInspector(opt)
		defer ins.Close()
		_ = ins.DeleteQueue(queue, true)
		dropQueueKeys(opt, queue)
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r = v.do("admin", "GET", path, nil)
		r.json(t, &ds)
		if ds.Dispatched == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not dispatched: %+v", ds)
		}
	}
	if ds.Pending != 0 || ds.Relayed != 2 || ds.NotificationsByKind["assignment"] < 2 || ds.Notifications < 2 {
		t.Fatalf("dispatched: %+v", ds)
	}

	// With the queue inspected, failed is counted.
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Store: v.st, Config: cfg, Logger: log, Now: func() time.Time { return testToday },
		DispatchFailures: func(context.Context, int64) (int, error) { return 3, nil }})
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+v.tokens["admin"])
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	v.rc.checkRecorder(t, req, nil, rec)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	ds = dispatchStatus{}
	resp{Status: rec.Code, Body: rec.Body.Bytes()}.json(t, &ds)
	if ds.Failed != 3 || ds.FailedNote != "" {
		t.Fatalf("with failures: %+v", ds)
	}
}
