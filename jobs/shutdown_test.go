package jobs

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/planning"
)

// slowRunner is a plan run that takes its time: it finishes after d, or
// returns when its context is cancelled first.
type slowRunner struct {
	d        time.Duration
	started  chan int64
	finished chan int64
}

func (s *slowRunner) Execute(ctx context.Context, planID int64) (*planning.Result, error) {
	s.started <- planID
	select {
	case <-time.After(s.d):
		s.finished <- planID
		return &planning.Result{PlanID: planID}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestWorkerShutdown stops a worker while a task is in flight: a task that
// finishes within ShutdownTimeout completes; one that does not is handed
// back to the queue (pending again, not failed, not lost) and a new worker
// runs it.
func TestWorkerShutdown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		work     time.Duration
		timeout  time.Duration
		complete bool
	}{
		{"finishes within the timeout", 500 * time.Millisecond, 8 * time.Second, true},
		{"returned to the queue", time.Minute, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, queue := testQueue(t)
			r := &slowRunner{d: tc.work, started: make(chan int64, 2), finished: make(chan int64, 2)}
			w := NewWorker(opt, WorkerOptions{Concurrency: 1, ShutdownTimeout: tc.timeout, Logger: slog.New(slog.DiscardHandler),
				Plans: r, Queues: map[string]int{queue: 1}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			client := asynq.NewClient(opt)
			defer client.Close()
			if err := EnqueuePlanRun(context.Background(), client, 21, asynq.Queue(queue)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-r.started:
			case <-time.After(20 * time.Second):
				t.Fatal("the worker never started the task")
			}
			cancel() // what SIGTERM does to `inspectonce worker`
			if err := <-done; err != nil {
				t.Fatal(err)
			}

			ins := asynq.NewInspector(opt)
			defer ins.Close()
			info, err := ins.GetTaskInfo(queue, PlanRunTaskID(21))
			if tc.complete {
				// A task that completed is gone (no retention is set).
				if !errors.Is(err, asynq.ErrTaskNotFound) && (err != nil || info.State != asynq.TaskStateCompleted) {
					t.Fatalf("after shutdown: %+v, %v; want the task completed", info, err)
				}
				select {
				case <-r.finished:
				default:
					t.Fatal("the handler did not finish")
				}
				return
			}
			if err != nil {
				t.Fatalf("after shutdown the task is gone: %v", err)
			}
			if info.State != asynq.TaskStatePending || info.Retried != 0 {
				t.Fatalf("after shutdown the task is %s (retried %d), want pending with no retry spent", info.State, info.Retried)
			}

			// A new worker picks it up.
			r2 := &slowRunner{d: 10 * time.Millisecond, started: make(chan int64, 2), finished: make(chan int64, 2)}
			w2 := NewWorker(opt, WorkerOptions{Concurrency: 1, ShutdownTimeout: time.Second, Logger: slog.New(slog.DiscardHandler),
				Plans: r2, Queues: map[string]int{queue: 1}})
			ctx2, cancel2 := context.WithCancel(context.Background())
			done2 := make(chan error, 1)
			go func() { done2 <- w2.Run(ctx2) }()
			defer func() { cancel2(); <-done2 }()
			select {
			case id := <-r2.finished:
				if id != 21 {
					t.Fatalf("ran plan %d, want 21", id)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the returned task was never run again")
			}
		})
	}
}
