package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestOutboxBatchTaskID(t *testing.T) {
	for _, c := range []struct {
		ids  []int64
		want string
	}{
		{[]int64{7}, "outbox:7-7"},
		{[]int64{3, 1, 2}, "outbox:1-3"},
		{[]int64{1, 2, 2, 3}, "outbox:1-3"},
		{[]int64{101, 102, 103, 104}, "outbox:101-104"},
	} {
		if got := OutboxBatchTaskID(c.ids); got != c.want {
			t.Errorf("%v: %s, want %s", c.ids, got, c.want)
		}
	}
	// Rows with a hole are not the full range: another ID, and two sets with
	// the same ends and size still differ.
	full := OutboxBatchTaskID([]int64{1, 2, 3, 4})
	a, b := OutboxBatchTaskID([]int64{1, 2, 4}), OutboxBatchTaskID([]int64{1, 3, 4})
	if a == full || b == full || a == b || !strings.HasPrefix(a, "outbox:1-4-") {
		t.Fatalf("ids with holes: %s %s (full %s)", a, b, full)
	}
	if a != OutboxBatchTaskID([]int64{4, 2, 1}) {
		t.Fatal("the ID of a set of rows depends on their order")
	}
}

func TestDispatchVisitsPayload(t *testing.T) {
	task, err := NewDispatchVisits(7, []int{5, 1, 2, 3, 9, 10, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(task.Payload()); got != `{"v":1,"plan_id":7,"seqs":[[1,3],[5,5],[9,10]]}` {
		t.Fatalf("payload %s", got)
	}
	var p DispatchVisitsPayload
	if err := json.Unmarshal(task.Payload(), &p); err != nil {
		t.Fatal(err)
	}
	if seqs, err := p.visits(); err != nil || fmt.Sprint(seqs) != "[1 2 3 5 9 10]" {
		t.Fatalf("visits %v %v", seqs, err)
	}
	// A batch of 250 contiguous visits stays a few bytes.
	big, _ := NewDispatchVisits(7, seqRange(1, 250))
	if len(big.Payload()) > 40 {
		t.Fatalf("payload of 250 visits: %s", big.Payload())
	}
	if _, err := NewDispatchVisits(7, seqRange(1, MaxDispatchBatch+1)); err == nil {
		t.Fatal("a task over MaxDispatchBatch visits was built")
	}
	if _, err := NewDispatchVisits(7, nil); err == nil {
		t.Fatal("a task of no visits was built")
	}
	refused := BatchResult{Refused: []RefusedVisit{{3, errNoLead}, {4, errNoLead}, {7, fmt.Errorf("visit 7: %w", domain.ErrNotFound)},
		{9, errNoLead}}}
	if got := refused.Reason(); got != "visits 3-4, 9: the visit has no lead inspector; visit 7: not found" {
		t.Fatalf("reason %q", got)
	}
}

// TestTasksOfGroupsRows: the relay groups a claim by plan and block of
// PerTask visit seqs — blocks counted from the plan's first visit, so rows
// group the same whatever claim brought them.
func TestTasksOfGroupsRows(t *testing.T) {
	r := NewRelay(RelayOptions{PerTask: 3, Batch: 7, QueueName: "q"})
	if r.batch != 9 {
		t.Fatalf("claim size %d, want 7 rounded up to 9 (3 tasks of 3)", r.batch)
	}
	row := func(id, plan int64, seq int) store.OutboxRow {
		return store.OutboxRow{ID: id, PlanID: plan, VisitSeq: seq, Kind: store.OutboxDispatchVisit}
	}
	// Plan 1's visits 2..7 (rows 11..16) interleaved with plan 2's 1..2
	// (rows 17, 18), a row of a kind no task carries (19).
	rows := []store.OutboxRow{row(11, 1, 2), row(12, 1, 3), row(13, 1, 4), row(14, 1, 5), row(15, 1, 6),
		row(16, 1, 7), row(17, 2, 1), row(18, 2, 2), {ID: 19, PlanID: 3, VisitSeq: 1, Kind: "mystery"}}
	tasks, err := r.TasksOf(rows)
	if err == nil || !strings.Contains(err.Error(), "outbox row 19") {
		t.Fatalf("the unknown kind: %v", err)
	}
	var got []string
	for _, x := range tasks {
		if x.Task.Type() != TypeDispatchVisits {
			t.Fatalf("task type %s", x.Task.Type())
		}
		got = append(got, fmt.Sprintf("%v %s", x.IDs, x.Task.Payload()))
	}
	want := []string{
		`[11 12] {"v":1,"plan_id":1,"seqs":[[2,3]]}`,
		`[13 14 15] {"v":1,"plan_id":1,"seqs":[[4,6]]}`,
		`[16] {"v":1,"plan_id":1,"seqs":[[7,7]]}`,
		`[17 18] {"v":1,"plan_id":2,"seqs":[[1,2]]}`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tasks\n got %v\nwant %v", got, want)
	}
	// The same rows claimed in two halves group the same.
	a, _ := r.TasksOf(rows[:4])
	b, _ := r.TasksOf(rows[4:8])
	if len(a)+len(b) != 5 { // block [4,6] is cut in two by the claims
		t.Fatalf("%d + %d tasks", len(a), len(b))
	}
	if fmt.Sprint(a[0].IDs) != "[11 12]" || fmt.Sprint(b[len(b)-1].IDs) != "[17 18]" {
		t.Fatalf("halves: %v / %v", a, b)
	}
}

// TestDispatchBatchRedeliveredWritesNothingNew dispatches a plan through the
// relay and a worker, then delivers its batch tasks again — under the same
// task IDs (refused by asynq as conflicts: the relay's "already queued"),
// under new IDs through the worker, and straight to the handler — and checks
// that nothing new is written or sent.
func TestDispatchBatchRedeliveredWritesNothingNew(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 5)
	const n = 30
	e := newDispatchEnv(t, st)
	e.relay = NewRelay(RelayOptions{Store: st, Queue: e.client, Logger: slog.New(slog.DiscardHandler), QueueName: e.queue,
		Interval: 50 * time.Millisecond, PerTask: 10})
	good := newReceiver(t, "good-secret-0123456789", false)
	if _, err := st.CreateWebhook(ctx, "test", store.RecipientInspector, good.srv.URL, good.secret); err != nil {
		t.Fatal(err)
	}
	p := publishFixturePlan(t, st, f, n)
	e.start(t)
	waitDispatched(t, st, p.ID, 60*time.Second)
	before := allNotifications(t, st)
	inspectorNotices := 0
	for _, nt := range before {
		if nt.RecipientKind == store.RecipientInspector {
			inspectorNotices++
		}
	}
	waitDelivered := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			g, bad := good.snapshot()
			if len(bad) > 0 {
				t.Fatalf("receiver complaints: %v", bad)
			}
			if len(g) == inspectorNotices {
				for id, c := range g {
					if c != 1 {
						t.Fatalf("notification %d delivered %d times", id, c)
					}
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("webhook got %d of %d notices", len(g), inspectorNotices)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitDelivered()
	written := counterValue(t, e.disp.effects.WithLabelValues(TypeDispatchVisits))
	if written != float64(len(before)) {
		t.Fatalf("effects counter %v, %d notices", written, len(before))
	}

	// The relay's own tasks again: their IDs are taken.
	rows, _, err := st.OutboxRows(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := e.relay.TasksOf(rows)
	if err != nil || len(tasks) != 3 {
		t.Fatalf("%d tasks: %v", len(tasks), err)
	}
	for _, x := range tasks {
		if _, err := e.client.EnqueueContext(ctx, x.Task); !errorsIsConflict(err) {
			t.Fatalf("task %s enqueued again: %v", OutboxBatchTaskID(x.IDs), err)
		}
		// The same payload under a new ID runs again through the worker…
		again := asynq.NewTask(TypeDispatchVisits, x.Task.Payload(), asynq.Queue(e.queue), asynq.TaskID("again:"+OutboxBatchTaskID(x.IDs)))
		if _, err := e.client.EnqueueContext(ctx, again); err != nil {
			t.Fatal(err)
		}
		// …and straight through the handler, twice at once.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if err := e.disp.HandleDispatchVisits(ctx, x.Task); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	ins := asynq.NewInspector(e.opt)
	defer ins.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		qi, err := ins.GetQueueInfo(e.queue)
		if err == nil && qi.Pending+qi.Active+qi.Retry == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redelivered tasks not done: %+v %v", qi, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := allNotifications(t, st)
	if len(after) != len(before) {
		t.Fatalf("redelivery: %d notifications, had %d", len(after), len(before))
	}
	for k, nt := range before {
		if a := after[k]; a.ID != nt.ID || !a.CreatedAt.Equal(nt.CreatedAt) {
			t.Fatalf("notice %s rewritten: %+v, was %+v", k, a, nt)
		}
	}
	if w := counterValue(t, e.disp.effects.WithLabelValues(TypeDispatchVisits)); w != written {
		t.Fatalf("redelivery wrote %v notices", w-written)
	}
	time.Sleep(300 * time.Millisecond) // a delivery sent twice would arrive by now
	waitDelivered()
	if s, _ := st.PlanDispatchStatus(ctx, p.ID); s.Dispatched != n || s.Pending != 0 || s.Webhooks[store.DeliveryDelivered] != int64(inspectorNotices) {
		t.Fatalf("status %+v", s)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func errorsIsConflict(err error) bool {
	return err != nil && strings.Contains(err.Error(), asynq.ErrTaskIDConflict.Error())
}

// TestDispatchFailureShowsInQueue runs real workers over dispatch batches that
// fail, and checks what the admin sees: the archived task with its last error
// (asynq Inspector, what the admin queue view lists) and the failed count of
// the plan's dispatch (ArchivedDispatches, what `dispatch status` and the API
// report).
func TestDispatchFailureShowsInQueue(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 4)
	const n = 12
	// Visit 5 has no inspectors: the handler refuses it.
	plan := fixturePlan(f, n)
	plan.Visits[4].InspectorIDs = nil
	year := time.Now().Year()
	if _, err := st.YearKey(ctx, "test", year); err != nil {
		t.Fatal(err)
	}
	draft, err := st.CreatePlan(ctx, "test", store.NewPlan{From: time.Now(), To: time.Now().AddDate(0, 1, 0),
		Mode: store.ModeCoordinated, Year: year, Seed: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SavePlanResult(ctx, draft.ID, plan); err != nil {
		t.Fatal(err)
	}
	p, err := st.PublishPlan(ctx, "test", draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	e := newDispatchEnv(t, st)
	e.start(t)
	ins := asynq.NewInspector(e.opt)
	defer ins.Close()
	archived := func(queue string) []*asynq.TaskInfo {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			tasks, err := ins.ListArchivedTasks(queue)
			if err == nil && len(tasks) > 0 {
				return tasks
			}
			if time.Now().After(deadline) {
				t.Fatalf("nothing archived in %s after 30 s: %v", queue, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// The batch dispatches the other 11 visits and sets visit 5 apart in a
	// task of its own, which fails at once and is archived with the reason.
	tasks := archived(e.queue)
	if len(tasks) != 1 || tasks[0].Type != TypeDispatchVisits || string(tasks[0].Payload) != fmt.Sprintf(`{"v":1,"plan_id":%d,"seqs":[[5,5]]}`, p.ID) ||
		!strings.Contains(tasks[0].LastErr, "visit 5: the visit has no lead inspector") || tasks[0].ID != refusedTaskID(p.ID, []int{5}) {
		t.Fatalf("archived: %+v", tasks)
	}
	if failed, err := ArchivedDispatches(ins, p.ID, e.queue); failed != 1 || err != nil {
		t.Fatalf("failed %d %v, want visit 5", failed, err)
	}
	s, err := st.PlanDispatchStatus(ctx, p.ID)
	if err != nil || s.Dispatched != n-1 || s.Pending != 1 || s.PendingTasks != 1 {
		t.Fatalf("status %+v %v", s, err)
	}
	if got := len(allNotifications(t, st)); got != len(expectedKeys(p.ID, f, n))-4 { // visit 5: 0 notices, not 2+1+1
		t.Fatalf("%d notifications", got)
	}

	// A worker whose database is gone fails the whole batch; with no retries
	// left it is archived, and every visit in it counts as failed.
	opt2, queue2 := testQueue(t)
	dead, err := store.Open(dsn, store.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = dead.Close()
	log := slog.New(slog.DiscardHandler)
	client2 := asynq.NewClient(opt2)
	defer client2.Close()
	w := NewWorker(opt2, WorkerOptions{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: log, Queues: map[string]int{queue2: 1},
		Dispatch: NewDispatcher(DispatchOptions{Store: dead, AllowPrivateWebhooks: true, Queue: client2, Logger: log, QueueName: queue2})})
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(wctx) })
	defer func() { cancel(); wg.Wait() }()
	task, err := NewDispatchVisits(p.ID, seqRange(1, 4), asynq.Queue(queue2), asynq.MaxRetry(0), asynq.TaskID("doomed"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client2.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	tasks = archived(queue2)
	if len(tasks) != 1 || tasks[0].ID != "doomed" || !strings.Contains(tasks[0].LastErr, "database is closed") ||
		!strings.Contains(tasks[0].LastErr, fmt.Sprintf("dispatch plan %d visits 1-4", p.ID)) {
		t.Fatalf("archived: %+v", tasks)
	}
	if failed, err := ArchivedDispatches(ins, p.ID, queue2); failed != 4 || err != nil {
		t.Fatalf("failed %d %v, want the 4 visits of the batch", failed, err)
	}
	if failed, _ := ArchivedDispatches(ins, p.ID+1000, queue2); failed != 0 {
		t.Fatalf("another plan counts %d failed", failed)
	}
}

// BenchmarkDispatchVisits measures the dispatch:visits handler's work (read a
// batch of DefaultPerTask visits, write their notices) without the queue, 4
// batches per CPU at once; compare its ns/op per visit with
// BenchmarkDispatchVisit's.
func BenchmarkDispatchVisits(b *testing.B) {
	st, _ := storetest.New(b)
	f := newDispatchFixture(b, st, 50)
	n := max(b.N, 4) * DefaultPerTask
	p := publishFixturePlan(b, st, f, n)
	d := NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Location: shanghai, Logger: slog.New(slog.DiscardHandler)})
	var next sync.Mutex
	batch := 0
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			k := batch
			batch++
			next.Unlock()
			r, err := d.DispatchVisits(context.Background(), p.ID, seqRange(k*DefaultPerTask+1, (k+1)*DefaultPerTask))
			if err != nil || r.Dispatched != DefaultPerTask {
				b.Error(r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*DefaultPerTask), "ns/visit")
}

// FuzzDispatchedVisits feeds arbitrary payloads (what Redis hands back is not
// trusted) to the reader of dispatch tasks: it never panics, and what it
// accepts is an ascending list of distinct positive visit numbers, at most
// MaxDispatchBatch of them.
func FuzzDispatchedVisits(f *testing.F) {
	f.Add([]byte(`{"v":1,"plan_id":7,"seqs":[[1,250]]}`))
	f.Add([]byte(`{"v":1,"plan_id":7,"seqs":[[3,3],[5,9]]}`))
	f.Add([]byte(`{"v":1,"plan_id":7,"seqs":[[5,9],[3,3]]}`))
	f.Add([]byte(`{"v":1,"plan_id":7,"seqs":[[1,9223372036854775807]]}`))
	f.Add([]byte(`{"v":2,"plan_id":7,"seqs":[[1,2]]}`))
	f.Add([]byte(`{"v":1,"plan_id":7,"visit_seq":3}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, typ := range []string{TypeDispatchVisits, TypeDispatchVisit} {
			seqs := dispatchedVisits(typ, payload, 7)
			if len(seqs) > MaxDispatchBatch {
				t.Fatalf("%s %q: %d visits, more than %d", typ, payload, len(seqs), MaxDispatchBatch)
			}
			for i, q := range seqs {
				if q <= 0 || (i > 0 && q <= seqs[i-1]) {
					t.Fatalf("%s %q: visits %v are not ascending, distinct and positive", typ, payload, seqs)
				}
			}
		}
	})
}
