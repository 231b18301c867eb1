package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store/storetest"
)

// fakeRunner records the plans it is asked to run and answers with err.
type fakeRunner struct {
	mu    sync.Mutex
	ids   []int64
	err   error
	ctxOK bool // the context it got was not done
	ran   chan int64
}

func (f *fakeRunner) Execute(ctx context.Context, planID int64) (*planning.Result, error) {
	f.mu.Lock()
	f.ids = append(f.ids, planID)
	f.ctxOK = ctx.Err() == nil
	f.mu.Unlock()
	if f.ran != nil {
		f.ran <- planID
	}
	if f.err != nil {
		return nil, f.err
	}
	return &planning.Result{PlanID: planID}, nil
}

func TestNewPlanRun(t *testing.T) {
	task, err := NewPlanRun(42)
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != TypePlanRun || string(task.Payload()) != `{"v":1,"plan_id":42}` {
		t.Fatalf("task %s %s", task.Type(), task.Payload())
	}
	if PlanRunTaskID(42) != "plan:run:42" {
		t.Fatalf("task id %q", PlanRunTaskID(42))
	}
	if _, err := NewPlanRun(0); err == nil {
		t.Fatal("a plan run without a plan was built")
	}
}

func TestHandlePlanRun(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	payload := func(s string) *asynq.Task { return asynq.NewTask(TypePlanRun, []byte(s)) }
	good := payload(`{"v":1,"plan_id":7}`)
	cases := []struct {
		name      string
		task      *asynq.Task
		err       error
		wantErr   bool
		skipRetry bool
		ran       bool
	}{
		{"done", good, nil, false, false, true},
		{"not running any more", good, fmt.Errorf("plan#7 is draft, not running: %w", domain.ErrConflict), false, false, true},
		{"unknown plan", good, fmt.Errorf("plan#7: %w", domain.ErrNotFound), true, true, true},
		{"refused", good, domain.Invalid("horizon", "is empty"), true, true, true},
		{"database away", good, errors.New("dial tcp: connection refused"), true, false, true},
		{"bad payload", payload(`{"v":1,`), nil, true, true, false},
		{"unknown version", payload(`{"v":2,"plan_id":7}`), nil, true, true, false},
		{"no plan", payload(`{"v":1}`), nil, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRunner{err: tc.err}
			err := HandlePlanRun(f, log)(context.Background(), tc.task)
			if (err != nil) != tc.wantErr || errors.Is(err, asynq.SkipRetry) != tc.skipRetry {
				t.Fatalf("err = %v; want error %v, skip retry %v", err, tc.wantErr, tc.skipRetry)
			}
			if ran := len(f.ids) == 1 && f.ids[0] == 7; ran != tc.ran {
				t.Fatalf("ran %v, want %v", f.ids, tc.ran)
			}
			if tc.err != nil && !errors.Is(err, tc.err) && tc.wantErr {
				t.Errorf("the run's error is lost: %v", err)
			}
		})
	}

	// The run gets the task's context: a cancelled task cancels the run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeRunner{err: context.Canceled}
	if err := HandlePlanRun(f, log)(ctx, good); !errors.Is(err, context.Canceled) || f.ctxOK {
		t.Fatalf("cancelled run: err %v, context not done: %v", err, f.ctxOK)
	}
}

// testQueue returns a Redis connection and a queue of the test's own, deleted
// when the test ends, so that no other worker on the test Redis takes its tasks.
func testQueue(t *testing.T) (asynq.RedisConnOpt, string) {
	t.Helper()
	storetest.RequireServers(t)
	opt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	queue := "test-jobs-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ins := asynq.NewInspector(opt)
		defer ins.Close()
		_ = ins.DeleteQueue(queue, true)
		dropQueueKeys(opt, queue)
	})
	return opt, queue
}

func TestEnqueuePlanRunOnce(t *testing.T) {
	opt, queue := testQueue(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	ctx := context.Background()
	for range 2 {
		if err := EnqueuePlanRun(ctx, client, 9, asynq.Queue(queue)); err != nil {
			t.Fatal(err)
		}
	}
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	tasks, err := ins.ListPendingTasks(queue)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 {
		t.Fatalf("%d tasks pending, want 1", len(tasks))
	}
	ti := tasks[0]
	if ti.ID != "plan:run:9" || ti.Type != TypePlanRun || ti.MaxRetry != PlanRunMaxRetry || ti.Timeout != PlanRunTimeout ||
		string(ti.Payload) != `{"v":1,"plan_id":9}` {
		t.Fatalf("task %+v", ti)
	}
	// Another failure is reported.
	bad := enqueuerFunc(func(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
		return nil, errors.New("redis: connection refused")
	})
	if err := EnqueuePlanRun(ctx, bad, 9); err == nil {
		t.Fatal("a failed enqueue was not reported")
	}
}

type enqueuerFunc func(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)

func (f enqueuerFunc) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	return f(ctx, task, opts...)
}

func TestWorkerRunsPlans(t *testing.T) {
	opt, queue := testQueue(t)
	f := &fakeRunner{ran: make(chan int64, 4)}
	w := NewWorker(opt, WorkerOptions{Concurrency: 1, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Plans: f, Queues: map[string]int{queue: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	client := asynq.NewClient(opt)
	defer client.Close()
	if err := EnqueuePlanRun(context.Background(), client, 11, asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-f.ran:
		if id != 11 {
			t.Fatalf("ran plan %d, want 11", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker never ran the plan")
	}
}

// dropQueueKeys deletes what asynq keeps of a deleted queue (its counters).
func dropQueueKeys(opt asynq.RedisConnOpt, queue string) {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return
	}
	defer c.Close()
	ctx := context.Background()
	keys, _ := c.Keys(ctx, "asynq:{"+queue+"}:*").Result()
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
	c.SRem(ctx, "asynq:queues", queue)
}
