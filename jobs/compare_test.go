package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/domain"
)

// comparerFunc is a PlanComparer.
type comparerFunc func(ctx context.Context, planID int64) error

func (f comparerFunc) Compare(ctx context.Context, planID int64) error { return f(ctx, planID) }

func TestHandlePlanCompare(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	task := func(s string) *asynq.Task { return asynq.NewTask(TypePlanCompare, []byte(s)) }
	good := task(`{"v":1,"plan_id":7}`)
	cases := []struct {
		name               string
		task               *asynq.Task
		err                error
		wantErr, skipRetry bool
		ran                bool
	}{
		{"done", good, nil, false, false, true},
		{"not waiting any more", good, fmt.Errorf("plan#7 is discarded: %w", domain.ErrConflict), false, false, true},
		{"unknown plan", good, fmt.Errorf("plan#7: %w", domain.ErrNotFound), true, true, true},
		{"database away", good, errors.New("dial tcp: connection refused"), true, false, true},
		{"bad payload", task(`{"v":1,`), nil, true, true, false},
		{"unknown version", task(`{"v":2,"plan_id":7}`), nil, true, true, false},
		{"no plan", task(`{"v":1}`), nil, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ids []int64
			f := comparerFunc(func(_ context.Context, id int64) error { ids = append(ids, id); return tc.err })
			err := HandlePlanCompare(f, log)(context.Background(), tc.task)
			if (err != nil) != tc.wantErr || errors.Is(err, asynq.SkipRetry) != tc.skipRetry {
				t.Fatalf("err = %v; want error %v, skip retry %v", err, tc.wantErr, tc.skipRetry)
			}
			if ran := len(ids) == 1 && ids[0] == 7; ran != tc.ran {
				t.Fatalf("compared %v, want %v", ids, tc.ran)
			}
		})
	}
}

// TestWorkerRunsComparisons: a comparison is queued once per plan and a
// worker given a PlanComparer carries it out.
func TestWorkerRunsComparisons(t *testing.T) {
	opt, queue := testQueue(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	ctx := context.Background()
	for range 2 {
		if err := EnqueuePlanCompare(ctx, client, 12, asynq.Queue(queue)); err != nil {
			t.Fatal(err)
		}
	}
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	tasks, err := ins.ListPendingTasks(queue)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].ID != "plan:compare:12" || tasks[0].Type != TypePlanCompare ||
		string(tasks[0].Payload) != `{"v":1,"plan_id":12}` || tasks[0].MaxRetry != PlanCompareMaxRetry {
		t.Fatalf("pending %+v", tasks)
	}
	ran := make(chan int64, 2)
	w := NewWorker(opt, WorkerOptions{Concurrency: 1, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Comparisons: comparerFunc(func(_ context.Context, id int64) error { ran <- id; return nil }), Queues: map[string]int{queue: 1}})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case id := <-ran:
		if id != 12 {
			t.Fatalf("compared plan %d, want 12", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker never ran the comparison")
	}
	if err := EnqueuePlanCompare(ctx, client, 0); err == nil {
		t.Fatal("a comparison without a plan was queued")
	}
}
