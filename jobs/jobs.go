// Package jobs holds InspectOnce's asynq task types, their payloads and handlers,
// and the worker that runs them.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Task type names.
const (
	// TypeHeartbeat proves the queue round trip works: the scheduler enqueues
	// one, a worker handles it.
	TypeHeartbeat = "system:heartbeat"
)

// Queue names with their priority weights (asynq weighted priority).
var Queues = map[string]int{
	"critical": 6,
	"default":  3,
	"low":      1,
}

// HeartbeatPayload is version 1 of the heartbeat payload.
type HeartbeatPayload struct {
	V      int       `json:"v"`
	SentAt time.Time `json:"sent_at"`
	From   string    `json:"from"`
}

// NewHeartbeat builds a heartbeat task.
func NewHeartbeat(from string, at time.Time) (*asynq.Task, error) {
	b, err := json.Marshal(HeartbeatPayload{V: 1, SentAt: at, From: from})
	if err != nil {
		return nil, fmt.Errorf("heartbeat payload: %w", err)
	}
	return asynq.NewTask(TypeHeartbeat, b, asynq.Queue("low"), asynq.MaxRetry(1), asynq.Timeout(10*time.Second)), nil
}

// Worker runs task handlers from Redis.
type Worker struct {
	srv *asynq.Server
	mux *asynq.ServeMux
	log *slog.Logger
}

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Plans carries out plan runs (TypePlanRun); nil leaves them to workers
	// that have one.
	Plans PlanRunner
	// Comparisons build the independent counterparts of stored drafts
	// (TypePlanCompare); nil leaves them to workers that have one.
	Comparisons PlanComparer
	// Repairs runs the repairs of the calendar (TypeCalendarRepair); nil
	// leaves them to workers that have one.
	Repairs Repairer
	// Queues overrides the queues served, with their priority weights; nil
	// means Queues.
	Queues map[string]int
	// Dispatch handles the dispatch tasks (dispatch:visits and dispatch:visit,
	// dispatch:visit_moved, the reminder scan, the daily rosters, webhook
	// deliveries); nil leaves
	// them to workers that have one.
	Dispatch *Dispatcher
	// Planning handles the planning cron tasks (routine demands, weekly
	// planning); nil leaves them to workers that have one.
	Planning *Planner
	// Publication publishes confirmed visit results (TypeCronPublishResults);
	// nil leaves them to workers that have one.
	Publication *Publisher
	// Registry, when set, receives the task metrics: runs by task type and
	// outcome, and how long they took.
	Registry prometheus.Registerer
}

// NewWorker connects a worker pool to Redis.
func NewWorker(redis asynq.RedisConnOpt, o WorkerOptions) *Worker {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	queues := o.Queues
	if queues == nil {
		queues = Queues
	}
	srv := asynq.NewServer(redis, asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          queues,
		ShutdownTimeout: o.ShutdownTimeout,
		Logger:          slogAdapter{log},
		HealthCheckFunc: func(err error) {
			if err != nil {
				log.Warn("worker cannot reach redis", "err", err)
			}
		},
		HealthCheckInterval: 15 * time.Second,
		RetryDelayFunc:      retryDelay,
		IsFailure:           func(err error) bool { return !errors.As(err, new(notYet)) },
	})
	mux := asynq.NewServeMux()
	if o.Registry != nil {
		mux.Use(taskMetrics(o.Registry))
	}
	w := &Worker{srv: srv, mux: mux, log: log}
	mux.HandleFunc(TypeHeartbeat, w.handleHeartbeat)
	if o.Plans != nil {
		mux.Handle(TypePlanRun, HandlePlanRun(o.Plans, log))
	}
	if o.Comparisons != nil {
		mux.Handle(TypePlanCompare, HandlePlanCompare(o.Comparisons, log))
	}
	if o.Repairs != nil {
		mux.Handle(TypeCalendarRepair, HandleCalendarRepair(o.Repairs, log))
	}
	if o.Dispatch != nil {
		o.Dispatch.Register(mux)
	}
	if o.Planning != nil {
		o.Planning.Register(mux)
	}
	if o.Publication != nil {
		o.Publication.Register(mux)
	}
	return w
}

// taskMetrics counts the task runs of this worker by type and outcome (ok;
// error: asynq retries or archives it; deferred: a webhook delivery tried
// before its notice is visible) and times them. The queue collector tells
// what waits in Redis; these tell what this worker did with it.
func taskMetrics(reg prometheus.Registerer) asynq.MiddlewareFunc {
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inspectonce_task_runs_total",
		Help: "Task runs of this worker by task type and outcome (ok, error, deferred)."}, []string{"type", "outcome"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "inspectonce_task_duration_seconds",
		Help:    "How long the task runs of this worker took, by task type.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"type"})
	reg.MustRegister(runs, took)
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			err := next.ProcessTask(ctx, t)
			took.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
			outcome := "ok"
			switch {
			case errors.As(err, new(notYet)):
				outcome = "deferred"
			case err != nil:
				outcome = "error"
			}
			runs.WithLabelValues(t.Type(), outcome).Inc()
			return err
		})
	}
}

// retryDelay is asynq's back-off, except for a task whose worker died (its
// lease expired: retried at once, it has not failed) and a webhook delivery
// tried before its notice is visible (retried then).
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	var ny notYet
	switch {
	case errors.As(err, &ny):
		return max(time.Until(ny.until), time.Second)
	case errors.Is(err, asynq.ErrLeaseExpired):
		return time.Second
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

func (w *Worker) handleHeartbeat(ctx context.Context, t *asynq.Task) error {
	var p HeartbeatPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("heartbeat payload: %v: %w", err, asynq.SkipRetry)
	}
	w.log.Debug("heartbeat", "from", p.From, "lag", time.Since(p.SentAt))
	return ctx.Err()
}

// Run processes tasks until ctx is cancelled, then shuts down: handlers in
// flight get ShutdownTimeout to finish, and unfinished tasks go back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.srv.Start(w.mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	w.log.Info("worker started")
	<-ctx.Done()
	w.srv.Shutdown()
	w.log.Info("worker stopped")
	return nil
}

// slogAdapter lets asynq log through log/slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
