package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestRelayTasksOfCodeRows(t *testing.T) {
	r := NewRelay(RelayOptions{PerTask: 10, QueueName: "q"})
	code := func(id int64, payload string) store.OutboxRow {
		return store.OutboxRow{ID: id, PlanID: 7, VisitSeq: 3, Kind: store.OutboxCodeRevoked, Payload: []byte(payload)}
	}
	tasks, err := r.TasksOf([]store.OutboxRow{
		{ID: 1, PlanID: 7, VisitSeq: 1, Kind: store.OutboxDispatchVisit},
		code(5, `{"v":1,"plan_id":7,"visit_seq":3,"generation":2}`),
	})
	if err != nil || len(tasks) != 2 {
		t.Fatalf("%d tasks: %v", len(tasks), err)
	}
	var p CodeReplacedPayload
	ct := tasks[1]
	if ct.Task.Type() != TypeDispatchCodeReplaced || fmt.Sprint(ct.IDs) != "[5]" || json.Unmarshal(ct.Task.Payload(), &p) != nil ||
		p != (CodeReplacedPayload{V: 1, PlanID: 7, VisitSeq: 3, Generation: 2}) {
		t.Fatalf("code task %s %v %s", ct.Task.Type(), ct.IDs, ct.Task.Payload())
	}
	if CodeTaskID(5, 2) != "outbox:5:code:2" || CodeTaskID(5, 2) == CodeTaskID(5, 3) || CodeTaskID(5, 2) == MovedTaskID(5, 2) {
		t.Fatalf("task IDs %s %s", CodeTaskID(5, 2), CodeTaskID(5, 3))
	}
	for _, bad := range []string{`{"v":2,"plan_id":7,"visit_seq":3,"generation":1}`, `{"v":1,"plan_id":7,"visit_seq":4,"generation":1}`,
		`{"v":1,"plan_id":7,"visit_seq":3,"generation":0}`, `nope`} {
		tasks, err := r.TasksOf([]store.OutboxRow{code(9, bad)})
		if err == nil || len(tasks) != 0 || !strings.Contains(err.Error(), "outbox row 9") {
			t.Errorf("%s: %d tasks, %v", bad, len(tasks), err)
		}
	}
}

// TestRevokedCodeIsToldThroughTheOutbox: revoking a dispatched visit's code
// tells its inspectors, its lead team and (announced visits only) its
// business the code that replaced it, through the outbox and a real worker,
// once per recipient and revocation, webhooks included; what they are told
// verifies at the door, and the revoked code does not.
func TestRevokedCodeIsToldThroughTheOutbox(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 5)
	const n = 6
	e := newDispatchEnv(t, st)
	e.disp = NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Queue: e.client, Location: shanghai, Logger: slog.New(slog.DiscardHandler),
		QueueName: e.queue, PublicBaseURL: "https://inspect.example.gov.cn"})
	bizHook := newReceiver(t, "biz-secret-01234567890", false)
	if _, err := st.CreateWebhook(ctx, "test", store.RecipientBusiness, bizHook.srv.URL, bizHook.secret); err != nil {
		t.Fatal(err)
	}
	p := publishFixturePlan(t, st, f, n)
	e.start(t)
	waitDispatched(t, st, p.ID, 60*time.Second)
	team := strconv.FormatInt(f.team, 10)
	// want are the code notice keys of visit i (seq i+1; announced unless i%3 == 2).
	want := func(i, gen int) []string {
		seq := i + 1
		ks := []string{
			store.CodeEffectKey(p.ID, seq, store.RecipientInspector, strconv.FormatInt(f.inspectors[i%4], 10), gen),
			store.CodeEffectKey(p.ID, seq, store.RecipientInspector, strconv.FormatInt(f.inspectors[(i+1)%4], 10), gen),
			store.CodeEffectKey(p.ID, seq, store.RecipientTeam, team, gen),
		}
		if i%3 != 2 {
			ks = append(ks, store.CodeEffectKey(p.ID, seq, store.RecipientBusiness, f.biz[i%len(f.biz)], gen))
		}
		return ks
	}
	waitTold := func(keys []string) map[string]store.Notification {
		t.Helper()
		return waitNotices(t, st, store.NoticeCodeReplaced, keys)
	}
	old, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeVisitCode(ctx, "admin", p.ID, 1, "通知书遗失"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeVisitCode(ctx, "admin", p.ID, 3, "二维码被翻拍"); err != nil {
		t.Fatal(err)
	}
	keys := append(want(0, 1), want(2, 1)...)
	if len(keys) != 7 {
		t.Fatalf("fixture: %d keys", len(keys))
	}
	told := waitTold(keys)
	cur, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil || cur.Generation != 1 || cur.Code == old.Code {
		t.Fatalf("current code %+v (old %s) %v", cur, old.Code, err)
	}
	var ib codeBody
	if err := json.Unmarshal(told[want(0, 1)[0]].Body, &ib); err != nil || ib.NewCode.Code != cur.Code || ib.NewCode.Generation != 1 ||
		ib.NewCode.Reason != "通知书遗失" || ib.CodeURL != "https://inspect.example.gov.cn/v/"+cur.Code || ib.Role == "" {
		t.Fatalf("inspector's code notice %+v %v", ib, err)
	}
	var bb businessCodeBody
	if err := json.Unmarshal(told[want(0, 1)[3]].Body, &bb); err != nil || bb.NewCode.Code != cur.Code ||
		bb.CodeURL != ib.CodeURL || len(bb.Items) == 0 || bb.Date != visitDay(0).String() {
		t.Fatalf("business's code notice %+v %v", bb, err)
	}
	// What they are told verifies; what they held says it is revoked.
	for code, outcome := range map[string]string{cur.Code: store.CodeValid, old.Code: store.CodeRevoked} {
		if c, err := st.VerifyVisitCode(ctx, code, "test"); err != nil || c.Outcome != outcome {
			t.Errorf("code %s: %+v %v, want %s", code, c, err, outcome)
		}
	}

	// A second revocation is told again, under its own generation; the
	// first's notices are not written again.
	if _, err := st.RevokeVisitCode(ctx, "admin", p.ID, 1, "又遗失了"); err != nil {
		t.Fatal(err)
	}
	told = waitTold(append(keys, want(0, 2)...))
	// The business's webhook got each of its notices once.
	var bizIDs []int64
	for _, nt := range told {
		if nt.RecipientKind == store.RecipientBusiness {
			bizIDs = append(bizIDs, nt.ID)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		got, bad := bizHook.snapshot()
		if len(bad) > 0 {
			t.Fatalf("business hook: %v", bad)
		}
		if !slices.ContainsFunc(bizIDs, func(id int64) bool { return got[id] == 0 }) {
			for _, id := range bizIDs {
				if got[id] != 1 {
					t.Fatalf("business hook got notice %d %d times", id, got[id])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("business hook got %v, want %v", got, bizIDs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(bizIDs) != 2 {
		t.Fatalf("%d business code notices, want 2 (visit 1, twice)", len(bizIDs))
	}
}
