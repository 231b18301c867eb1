package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// publishedHandPlan saves and publishes handPlan on a fresh fixture.
func publishedHandPlan(t *testing.T, st *store.Store) (store.Plan, planFixture) {
	t.Helper()
	ctx := context.Background()
	f := newPlanFixture(t, st)
	if _, err := st.YearKey(ctx, "tester", 2026); err != nil {
		t.Fatal(err)
	}
	p, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, p.ID, handPlan(f)); err != nil {
		t.Fatal(err)
	}
	if rows, _, err := st.OutboxRows(ctx, p.ID); err != nil || len(rows) != 0 {
		t.Fatalf("a draft has outbox rows: %d %v", len(rows), err)
	}
	pub, err := st.PublishPlan(ctx, "admin", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return pub, f
}

func TestPublishWritesOutboxInItsTransaction(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	rows, relayed, err := st.OutboxRows(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d outbox rows, want one per visit (3)", len(rows))
	}
	for i, r := range rows {
		if r.PlanID != p.ID || r.VisitSeq != i+1 || r.Kind != store.OutboxDispatchVisit || relayed[i] != nil {
			t.Fatalf("row %d: %+v relayed %v", i, r, relayed[i])
		}
		// now() is the transaction's start: the same instant as published_at
		// only if the row was written by the publishing transaction.
		if !r.CreatedAt.Equal(*p.PublishedAt) {
			t.Errorf("row %d created at %v, plan published at %v: not the same transaction", i, r.CreatedAt, *p.PublishedAt)
		}
		want := fmt.Sprintf(`{"v": 1, "plan_id": %d, "visit_seq": %d}`, p.ID, i+1)
		if string(r.Payload) != want {
			t.Errorf("payload %s, want %s", r.Payload, want)
		}
	}
	// A failed publication writes nothing: publishing again is a conflict and
	// leaves the rows as they were.
	if _, err := st.PublishPlan(ctx, "admin", p.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second publish: %v", err)
	}
	if again, _, _ := st.OutboxRows(ctx, p.ID); len(again) != 3 {
		t.Fatalf("%d rows after a refused publish", len(again))
	}
	st2, err := st.PlanDispatchStatus(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Visits != 3 || st2.Outbox != 3 || st2.PendingRelay != 3 || st2.Pending != 3 || st2.Dispatched != 0 {
		t.Fatalf("status %+v", st2)
	}
	if _, err := st.PlanDispatchStatus(ctx, 99999); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("status of an unknown plan: %v", err)
	}
}

func TestRelayOutboxClaimsOnceAndMarksWhatWasEnqueued(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)

	// enqueue fails part-way: only what it returns is marked.
	n, err := st.RelayOutbox(ctx, 10, func(_ context.Context, rows []store.OutboxRow) ([]int64, error) {
		return []int64{rows[0].ID}, errors.New("redis away")
	})
	if n != 1 || err == nil {
		t.Fatalf("partial relay: %d %v", n, err)
	}
	// A relay that dies before its commit (here: its context ends) marks nothing.
	cctx, cancel := context.WithCancel(ctx)
	_, err = st.RelayOutbox(cctx, 10, func(_ context.Context, rows []store.OutboxRow) ([]int64, error) {
		cancel()
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		return ids, nil
	})
	if err == nil {
		t.Fatal("a relay whose transaction could not commit reported success")
	}
	if b, _ := st.OutboxBacklog(ctx); b.Unrelayed != 2 || b.OldestAge <= 0 {
		t.Fatalf("backlog %+v, want 2 rows", b)
	}

	// The cancelled relay's connection was closed, not rolled back politely:
	// its backend may hold the row locks a moment longer. Wait until both rows
	// can be claimed again, so the next part tests the relays, not that.
	for deadline := time.Now().Add(10 * time.Second); ; {
		tx, err := st.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var free int
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT id FROM outbox WHERE relayed_at IS NULL FOR UPDATE SKIP LOCKED) x`).Scan(&free)
		_ = tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		if free == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 2 outbox rows free 10 s after the cancelled relay", free)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Two relays at once never claim the same row.
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			_, err := st.RelayOutbox(ctx, 1, func(_ context.Context, rows []store.OutboxRow) ([]int64, error) {
				<-gate // both hold their claim at once
				mu.Lock()
				defer mu.Unlock()
				var ids []int64
				for _, r := range rows {
					seen[r.ID]++
					ids = append(ids, r.ID)
				}
				return ids, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	close(gate)
	wg.Wait()
	if len(seen) != 2 {
		t.Fatalf("concurrent relays claimed %v, want the two rows once each", seen)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("row %d claimed %d times", id, c)
		}
	}
	if b, _ := st.OutboxBacklog(ctx); b.Unrelayed != 0 || b.OldestAge != 0 {
		t.Fatalf("backlog %+v after relaying all", b)
	}
	s, _ := st.PlanDispatchStatus(ctx, p.ID)
	if s.Relayed != 3 || s.PendingRelay != 0 || s.PendingTasks != 3 || s.Pending != 3 {
		t.Fatalf("status %+v", s)
	}
}

func TestNotificationsOncePerEffectKey(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)

	v, err := st.DispatchVisitOf(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.USCC != f.biz[0] || v.BusinessName != "店0" || len(v.Inspectors) != 2 || v.Inspectors[0].ID != f.inspectors[1] ||
		v.Inspectors[0].Role != "lead" || len(v.Items) != 2 || v.Date.Format(time.DateOnly) != "2026-03-03" || v.AnnounceDays() != 0 {
		t.Fatalf("visit %+v", v)
	}
	if _, err := st.DispatchVisitOf(ctx, p.ID, 99); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown visit: %v", err)
	}
	dv, _ := st.DayVisits(ctx, day("2026-03-03"))
	if len(dv) != 2 || dv[0].RouteOrder != 1 || dv[1].RouteOrder != 2 || len(dv[1].Inspectors) != 2 {
		t.Fatalf("day visits %+v", dv)
	}

	hook, err := st.CreateWebhook(ctx, "admin", store.RecipientInspector, "http://127.0.0.1:1/hook", "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Microsecond)
	ns := []store.NewNotification{
		{EffectKey: store.VisitEffectKey(p.ID, 1, "inspector", "7", "assignment"), RecipientKind: "inspector", RecipientID: "7",
			Kind: "assignment", PlanID: p.ID, VisitSeq: 1, Title: "a", Body: map[string]int{"x": 1}},
		{EffectKey: store.VisitEffectKey(p.ID, 1, "business", f.biz[0], "visit_notice"), RecipientKind: "business",
			RecipientID: f.biz[0], Kind: "visit_notice", PlanID: p.ID, VisitSeq: 1, Title: "b", VisibleFrom: later},
		{EffectKey: store.RosterEffectKey(5, day("2026-03-03")), RecipientKind: "team", RecipientID: "5", Kind: "roster", Title: "r"},
	}
	w, err := st.WriteNotifications(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if w.Inserted != 3 || len(w.Deliveries) != 1 || w.Deliveries[0].WebhookID != hook.ID || w.Deliveries[0].PlanID != p.ID {
		t.Fatalf("first write %+v", w)
	}
	ns[0].Title = "changed"
	w2, err := st.WriteNotifications(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Inserted != 0 || len(w2.Deliveries) != 1 || w2.Deliveries[0] != w.Deliveries[0] {
		t.Fatalf("second write %+v (the pending delivery must come back, nothing else)", w2)
	}
	all, err := st.ListNotifications(ctx, store.NotificationFilter{}, store.Page{})
	if err != nil || len(all.Items) != 3 || all.Items[0].Title != "a" || string(all.Items[0].Body) != `{"x": 1}` ||
		all.Items[2].PlanID != nil || *all.Items[0].VisitSeq != 1 {
		t.Fatalf("notifications %+v %v", all.Items, err)
	}
	biz, _ := st.ListNotifications(ctx, store.NotificationFilter{RecipientKind: "business", RecipientID: f.biz[0], VisibleAt: time.Now()}, store.Page{})
	if len(biz.Items) != 0 {
		t.Fatalf("a notice not visible yet is listed: %+v", biz.Items)
	}
	biz, _ = st.ListNotifications(ctx, store.NotificationFilter{RecipientKind: "business", RecipientID: f.biz[0], VisibleAt: later}, store.Page{})
	if len(biz.Items) != 1 || !biz.Items[0].VisibleFrom.Equal(later) {
		t.Fatalf("business inbox at visible_from: %+v", biz.Items)
	}
	page, _ := st.ListNotifications(ctx, store.NotificationFilter{}, store.Page{Limit: 2})
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("page %+v", page)
	}

	// Deliveries: pending → delivered, and then left alone.
	nid := w.Deliveries[0].NotificationID
	job, err := st.DeliveryJobOf(ctx, nid, hook.ID)
	if err != nil || job.Status != store.DeliveryPending || job.Webhook.Secret != "0123456789abcdef" || job.Notification.ID != nid {
		t.Fatalf("delivery job %+v %v", job, err)
	}
	if err := st.RecordDelivery(ctx, nid, hook.ID, store.DeliveryPending, "503"); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordDelivery(ctx, nid, hook.ID, store.DeliveryDelivered, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordDelivery(ctx, nid, hook.ID, store.DeliveryFailed, "late"); err != nil {
		t.Fatal(err)
	}
	job, _ = st.DeliveryJobOf(ctx, nid, hook.ID)
	if job.Status != store.DeliveryDelivered || job.Attempts != 2 {
		t.Fatalf("delivery after attempts: %+v", job)
	}
	if w3, _ := st.WriteNotifications(ctx, ns); len(w3.Deliveries) != 0 {
		t.Fatalf("a delivered notice is pending again: %+v", w3)
	}
	s, _ := st.PlanDispatchStatus(ctx, p.ID)
	if s.Dispatched != 1 || s.Notifications != 2 || s.NotificationsByKind["visit_notice"] != 1 || s.Webhooks["delivered"] != 1 {
		t.Fatalf("status %+v", s)
	}
	if _, err := st.CreateWebhook(ctx, "admin", "nobody", "http://x", "0123456789abcdef"); !errors.As(err, new(*domain.ValidationError)) {
		t.Fatalf("webhook for an unknown recipient kind: %v", err)
	}
}

// TestDispatchVisitsOfMatchesOneByOne: the set-based read of a batch gives
// each visit exactly what DispatchVisitOf gives it (leaders included), in seq
// order, leaves unknown visits out, and refuses a plan not published.
func TestDispatchVisitsOfMatchesOneByOne(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	// Two leaders of the team, so there is something to read.
	if _, err := st.SQL().ExecContext(ctx, `UPDATE inspectors SET is_leader = true WHERE id = ANY($1)`,
		pq.Int64Array{f.inspectors[0], f.inspectors[2]}); err != nil {
		t.Fatal(err)
	}
	vs, err := st.DispatchVisitsOf(ctx, p.ID, []int{3, 99, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("%d visits, want 3 (99 left out)", len(vs))
	}
	for i, v := range vs {
		one, err := st.DispatchVisitOf(ctx, p.ID, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Leaders) != 2 || len(v.Inspectors) != 2 || len(v.Items) == 0 {
			t.Fatalf("visit %d: %+v", i+1, v)
		}
		if got, want := fmt.Sprintf("%+v", v), fmt.Sprintf("%+v", one); got != want {
			t.Fatalf("visit %d\n batch %s\n  one  %s", i+1, got, want)
		}
	}
	if vs, err := st.DispatchVisitsOf(ctx, p.ID, []int{98, 99}); err != nil || len(vs) != 0 {
		t.Fatalf("unknown visits: %v %v", vs, err)
	}
	draft, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, draft.ID, handPlan(f)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DispatchVisitsOf(ctx, draft.ID, []int{1}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a draft's visits: %v", err)
	}
}

// TestNoticeKindsMatchTheSchema: every kind the API accepts as a filter is one
// the table takes, and no other, so a filter can neither miss a kind nor
// accept one that cannot exist.
func TestNoticeKindsMatchTheSchema(t *testing.T) {
	st, _ := storetest.New(t)
	var def string
	if err := st.SQL().QueryRow(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'notifications_kind_check'`).
		Scan(&def); err != nil {
		t.Fatal(err)
	}
	var inSchema []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(def, -1) {
		inSchema = append(inSchema, m[1])
	}
	want := slices.Clone(store.NoticeKinds)
	slices.Sort(want)
	slices.Sort(inSchema)
	if !slices.Equal(inSchema, want) {
		t.Fatalf("the schema allows %v, store.NoticeKinds has %v", inSchema, want)
	}
}
