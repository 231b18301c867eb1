package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"inspectonce/store"
)

// RelayOptions configure a Relay.
type RelayOptions struct {
	Store *store.Store
	// Queue takes the tasks (*asynq.Client).
	Queue  Enqueuer
	Logger *slog.Logger
	// Batch is how many rows one transaction claims (default 500).
	Batch int
	// Interval is how long an idle relay waits before looking again (default 1 s).
	Interval time.Duration
	// Parallel is how many enqueues of a batch run at once (default 8).
	Parallel int
	// QueueName, when set, replaces the queue of every task relayed (tests).
	QueueName string
	// Registry, when set, receives the relay metrics (backlog and lag).
	Registry prometheus.Registerer
}

// Relay moves outbox rows into the queue. Each round claims a batch of
// unrelayed rows in a transaction (FOR UPDATE SKIP LOCKED, so several relays
// share the work), enqueues each row as a task with the task ID
// "outbox:<id>", and marks the rows relayed in that same transaction. A task
// ID already taken (asynq.ErrTaskIDConflict) means the row was enqueued
// before — by a relay that died before its commit — and counts as enqueued.
// So a crash anywhere loses nothing (the rows stay unrelayed until a commit
// says otherwise) and doubles nothing that matters (the task ID is kept for
// TaskRetention after the task ran, and the handlers are idempotent anyway).
type Relay struct {
	st       *store.Store
	q        Enqueuer
	log      *slog.Logger
	batch    int
	interval time.Duration
	parallel int
	queue    string
	lag      prometheus.Gauge
	backlog  prometheus.Gauge
	relayed  prometheus.Counter
	observed time.Time
}

// NewRelay builds a Relay.
func NewRelay(o RelayOptions) *Relay {
	r := &Relay{st: o.Store, q: o.Queue, log: o.Logger, batch: o.Batch, interval: o.Interval, parallel: o.Parallel, queue: o.QueueName}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.batch <= 0 {
		r.batch = 500
	}
	if r.interval <= 0 {
		r.interval = time.Second
	}
	if r.parallel <= 0 {
		r.parallel = 8
	}
	r.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "inspectonce_outbox_relay_lag_seconds",
		Help: "Age of the oldest outbox row not yet relayed to the queue (0 when none)."})
	r.backlog = prometheus.NewGauge(prometheus.GaugeOpts{Name: "inspectonce_outbox_unrelayed",
		Help: "Outbox rows not yet relayed to the queue."})
	r.relayed = prometheus.NewCounter(prometheus.CounterOpts{Name: "inspectonce_outbox_relayed_total",
		Help: "Outbox rows relayed to the queue."})
	if o.Registry != nil {
		o.Registry.MustRegister(r.lag, r.backlog, r.relayed)
	}
	return r
}

// TaskOf is the task of an outbox row.
func (r *Relay) TaskOf(row store.OutboxRow) (*asynq.Task, error) {
	switch row.Kind {
	case store.OutboxDispatchVisit:
		opts := []asynq.Option{asynq.TaskID(OutboxTaskID(row.ID))}
		if r.queue != "" {
			opts = append(opts, asynq.Queue(r.queue))
		}
		return newDispatchTask(row.Payload, opts...), nil
	}
	return nil, fmt.Errorf("outbox row %d has kind %q, which no task carries", row.ID, row.Kind)
}

// RelayOnce relays one batch and returns how many rows it marked relayed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	n, err := r.st.RelayOutbox(ctx, r.batch, r.enqueue)
	r.relayed.Add(float64(n))
	return n, err
}

// enqueue enqueues rows, Parallel at a time, and returns the ids enqueued
// (a task-ID conflict included) with the first error.
func (r *Relay) enqueue(ctx context.Context, rows []store.OutboxRow) ([]int64, error) {
	var (
		mu    sync.Mutex
		done  = make([]int64, 0, len(rows))
		first error
		wg    sync.WaitGroup
		next  = make(chan store.OutboxRow)
	)
	for range min(r.parallel, len(rows)) {
		wg.Go(func() {
			for row := range next {
				err := r.enqueueRow(ctx, row)
				mu.Lock()
				if err == nil {
					done = append(done, row.ID)
				} else if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, row := range rows {
		next <- row
	}
	close(next)
	wg.Wait()
	return done, first
}

func (r *Relay) enqueueRow(ctx context.Context, row store.OutboxRow) error {
	t, err := r.TaskOf(row)
	if err != nil {
		return err
	}
	if _, err := r.q.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("relay outbox row %d: %w", row.ID, err)
	}
	return nil
}

// observe refreshes the backlog metrics, at most once a second.
func (r *Relay) observe(ctx context.Context) {
	if time.Since(r.observed) < time.Second {
		return
	}
	r.observed = time.Now()
	b, err := r.st.OutboxBacklog(ctx)
	if err != nil {
		r.log.Debug("outbox backlog unknown", "err", err)
		return
	}
	r.backlog.Set(float64(b.Unrelayed))
	r.lag.Set(b.OldestAge.Seconds())
}

// Run relays until ctx ends. A batch in progress when ctx ends is finished
// (enqueued and committed) first. Errors (database or Redis away) are logged
// and retried with back-off up to 30 s.
func (r *Relay) Run(ctx context.Context) error {
	r.log.Info("outbox relay started", "batch", r.batch)
	backoff := r.interval
	for ctx.Err() == nil {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		n, err := r.RelayOnce(bctx)
		r.observe(bctx)
		cancel()
		pause := r.interval
		switch {
		case err != nil:
			r.log.Warn("outbox relay failed; retrying", "relayed", n, "err", err, "retry_in", backoff)
			pause, backoff = backoff, min(2*backoff, 30*time.Second)
		case n >= r.batch:
			backoff = r.interval
			continue // more may be waiting
		default:
			backoff = r.interval
			if n > 0 {
				r.log.Debug("outbox relayed", "rows", n)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	r.log.Info("outbox relay stopped")
	return nil
}

// ArchivedDispatches counts the dispatch:visit tasks of plan planID that
// spent their retries and were archived in queue ("" = DispatchQueue): the
// visits whose dispatch failed. An admin may run them again from the queue
// view (asynq Inspector RunTask).
func ArchivedDispatches(ins *asynq.Inspector, planID int64, queue string) (int, error) {
	if queue == "" {
		queue = DispatchQueue
	}
	n := 0
	for page := 1; ; page++ {
		tasks, err := ins.ListArchivedTasks(queue, asynq.Page(page), asynq.PageSize(1000))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return 0, nil
		}
		if err != nil {
			return n, fmt.Errorf("archived tasks of queue %s: %w", queue, err)
		}
		for _, t := range tasks {
			if t.Type != TypeDispatchVisit {
				continue
			}
			var p DispatchVisitPayload
			if json.Unmarshal(t.Payload, &p) == nil && p.PlanID == planID {
				n++
			}
		}
		if len(tasks) < 1000 {
			return n, nil
		}
	}
}
