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
	// Batch is how many rows one transaction claims (default 2000), rounded
	// up to a multiple of PerTask so that claims cut no group in two.
	Batch int
	// PerTask is how many visits one dispatch:visits task carries at most
	// (default DefaultPerTask, at most MaxDispatchBatch).
	PerTask int
	// Interval is how long an idle relay waits before looking again (default 1 s).
	Interval time.Duration
	// Parallel is how many enqueues of a batch run at once (default 8).
	Parallel int
	// Claimers is how many claims run at once (default 2). A claim spends
	// most of its time waiting — for a connection, for Postgres, for Redis —
	// while workers busy with the previous claims load the database: a second
	// claim in flight keeps the queue fed (BenchmarkDispatch100k on a loaded
	// 2-core machine: the relay took about 30 s with one, 8 to 17 s with two).
	// Claims skip each other's rows (SKIP LOCKED) and take whole blocks, so
	// the tasks are the same.
	Claimers int
	// QueueName, when set, replaces the queue of every task relayed (tests).
	QueueName string
	// Registry, when set, receives the relay metrics (backlog and lag).
	Registry prometheus.Registerer
}

// DefaultPerTask is how many visits a dispatch:visits task carries unless
// RelayOptions.PerTask says otherwise: enough that the queue and the
// statements of a task cost little per visit (4 notices a visit make about a
// thousand rows per INSERT), few enough that a worker's batch takes well under
// a second and the tasks of a large plan spread over every worker.
const DefaultPerTask = 250

// Relay moves outbox rows into the queue. Each round claims a batch of
// unrelayed rows in a transaction (FOR UPDATE SKIP LOCKED, so several relays
// share the work), groups them into dispatch:visits tasks, enqueues those,
// and marks the rows of the tasks enqueued relayed in that same transaction.
// A visit_moved row (store.MoveVisit) is a dispatch:visit_moved task of its
// own, under MovedTaskID: the row's id and the move it was armed for.
//
// A group is the rows of one plan whose visit seqs fall in the same block of
// PerTask ((seq-1)/PerTask): a property of the rows, not of the claim, so rows
// claimed again after a crash group as before. The task ID is derived from
// exactly the rows it carries (OutboxBatchTaskID), so a task ID already taken
// (asynq.ErrTaskIDConflict) means a task carrying those same rows was enqueued
// before — by a relay that died before its commit — and counts as enqueued.
//
// So a crash anywhere loses nothing: rows stay unrelayed until a commit says
// otherwise, and a conflict is only ever taken for the very rows enqueued
// before (an ID names its rows, never a subset or superset of them). Nor does
// it double anything that matters: rows that regroup differently after a
// crash (other PerTask, a claim cut elsewhere by a concurrent relay) get
// another task ID and their visits are dispatched twice, but the handlers
// write each effect under a unique key (visit × recipient × kind), so the
// notices and webhook deliveries exist once. A task ID is kept for
// TaskRetention after its task ran.
type Relay struct {
	st       *store.Store
	q        Enqueuer
	log      *slog.Logger
	batch    int
	perTask  int
	interval time.Duration
	parallel int
	claimers int
	queue    string
	lag      prometheus.Gauge
	backlog  prometheus.Gauge
	relayed  prometheus.Counter
	tasks    prometheus.Counter
}

// NewRelay builds a Relay.
func NewRelay(o RelayOptions) *Relay {
	r := &Relay{st: o.Store, q: o.Queue, log: o.Logger, batch: o.Batch, perTask: o.PerTask, interval: o.Interval,
		parallel: o.Parallel, claimers: o.Claimers, queue: o.QueueName}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.perTask <= 0 {
		r.perTask = DefaultPerTask
	}
	r.perTask = min(r.perTask, MaxDispatchBatch)
	if r.batch <= 0 {
		r.batch = 2000
	}
	r.batch = (r.batch + r.perTask - 1) / r.perTask * r.perTask
	if r.interval <= 0 {
		r.interval = time.Second
	}
	if r.parallel <= 0 {
		r.parallel = 8
	}
	if r.claimers <= 0 {
		r.claimers = 2
	}
	r.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "inspectonce_outbox_relay_lag_seconds",
		Help: "Age of the oldest outbox row not yet relayed to the queue (0 when none)."})
	r.backlog = prometheus.NewGauge(prometheus.GaugeOpts{Name: "inspectonce_outbox_unrelayed",
		Help: "Outbox rows not yet relayed to the queue."})
	r.relayed = prometheus.NewCounter(prometheus.CounterOpts{Name: "inspectonce_outbox_relayed_total",
		Help: "Outbox rows relayed to the queue."})
	r.tasks = prometheus.NewCounter(prometheus.CounterOpts{Name: "inspectonce_outbox_tasks_total",
		Help: "Dispatch tasks the relay enqueued (one per group of outbox rows; a task ID conflict included)."})
	if o.Registry != nil {
		o.Registry.MustRegister(r.lag, r.backlog, r.relayed, r.tasks)
	}
	return r
}

// RelayTask is a task of a group of outbox rows, with the rows' ids.
type RelayTask struct {
	Task *asynq.Task
	IDs  []int64
}

// TasksOf groups outbox rows into their tasks, in the order of their first
// rows: dispatch_visit rows by plan and block of visit seqs into
// dispatch:visits tasks, each visit_moved row into a dispatch:visit_moved
// task of its own (MovedTaskID), and each code_revoked row into a
// dispatch:code_replaced task of its own (CodeTaskID). Rows of a kind no task carries, or whose
// payload is not understood, are left out, named in the error.
func (r *Relay) TasksOf(rows []store.OutboxRow) ([]RelayTask, error) {
	type key struct {
		plan  int64
		block int
		own   int64 // the row id of a row with a task of its own (visit news); 0 for a block of dispatch_visit rows
	}
	var (
		order  []key
		groups = map[key][]store.OutboxRow{}
		bad    []error
	)
	for _, row := range rows {
		var k key
		switch {
		case row.Kind == store.OutboxDispatchVisit && row.VisitSeq > 0:
			k = key{plan: row.PlanID, block: (row.VisitSeq - 1) / r.perTask}
		case row.Kind == store.OutboxVisitMoved || row.Kind == store.OutboxCodeRevoked || row.Kind == store.OutboxVisitAmended ||
			row.Kind == store.OutboxVisitRestaffed || row.Kind == store.OutboxCalendarRepair:
			k = key{plan: row.PlanID, own: row.ID}
		default:
			bad = append(bad, fmt.Errorf("outbox row %d has kind %q (visit %d), which no task carries", row.ID, row.Kind, row.VisitSeq))
			continue
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], row)
	}
	out := make([]RelayTask, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if k.own != 0 {
			t, err := r.newsTaskOf(g[0])
			if err != nil {
				bad = append(bad, err)
				continue
			}
			out = append(out, RelayTask{Task: t, IDs: []int64{g[0].ID}})
			continue
		}
		ids, seqs := make([]int64, len(g)), make([]int, len(g))
		for i, row := range g {
			ids[i], seqs[i] = row.ID, row.VisitSeq
		}
		opts := []asynq.Option{asynq.TaskID(OutboxBatchTaskID(ids))}
		if r.queue != "" {
			opts = append(opts, asynq.Queue(r.queue))
		}
		t, err := NewDispatchVisits(k.plan, seqs, opts...)
		if err != nil {
			bad = append(bad, fmt.Errorf("outbox rows %s: %w", OutboxBatchTaskID(ids), err))
			continue
		}
		out = append(out, RelayTask{Task: t, IDs: ids})
	}
	return out, errors.Join(bad...)
}

// newsTaskOf is the task of a visit_moved (dispatch:visit_moved),
// code_revoked (dispatch:code_replaced) or visit_amended
// (dispatch:visit_amended) outbox row, from its payload (the
// row's plan and visit must be the payload's).
func (r *Relay) newsTaskOf(row store.OutboxRow) (*asynq.Task, error) {
	switch row.Kind {
	case store.OutboxCalendarRepair:
		return r.repairTaskOf(row)
	case store.OutboxVisitRestaffed:
		var p VisitRestaffedPayload
		if err := decodeNews(row, &p); err != nil {
			return nil, err
		}
		return NewVisitRestaffed(p.PlanID, p.VisitSeq, p.Substitutions, r.taskOpts(RestaffedTaskID(row.ID, p.Substitutions))...)
	}
	if row.Kind == store.OutboxVisitAmended {
		var p VisitAmendedPayload
		if err := decodeNews(row, &p); err != nil {
			return nil, err
		}
		return NewVisitAmended(p.PlanID, p.VisitSeq, p.Amendments, r.taskOpts(AmendedTaskID(row.ID, p.Amendments))...)
	}
	if row.Kind == store.OutboxCodeRevoked {
		var p CodeReplacedPayload
		if err := decodeNews(row, &p); err != nil {
			return nil, err
		}
		return NewCodeReplaced(p.PlanID, p.VisitSeq, p.Generation, r.taskOpts(CodeTaskID(row.ID, p.Generation))...)
	}
	var p VisitMovedPayload
	if err := decodeNews(row, &p); err != nil {
		return nil, err
	}
	return NewVisitMoved(p.PlanID, p.VisitSeq, p.Revision, r.taskOpts(MovedTaskID(row.ID, p.Revision))...)
}

// RelayOnce relays one batch and returns how many rows it marked relayed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	n, err := r.st.RelayOutbox(ctx, r.batch, r.enqueue)
	r.relayed.Add(float64(n))
	return n, err
}

// enqueue groups rows into tasks, enqueues them Parallel at a time, and
// returns the ids of the rows enqueued (a task-ID conflict included) with the
// first error.
func (r *Relay) enqueue(ctx context.Context, rows []store.OutboxRow) ([]int64, error) {
	tasks, groupErr := r.TasksOf(rows)
	var (
		mu    sync.Mutex
		done  = make([]int64, 0, len(rows))
		first = groupErr
		wg    sync.WaitGroup
		next  = make(chan RelayTask)
	)
	for range min(r.parallel, len(tasks)) {
		wg.Go(func() {
			for t := range next {
				_, err := r.q.EnqueueContext(ctx, t.Task)
				if errors.Is(err, asynq.ErrTaskIDConflict) {
					err = nil
				}
				mu.Lock()
				if err == nil {
					done = append(done, t.IDs...)
					r.tasks.Inc()
				} else if first == nil {
					first = fmt.Errorf("relay outbox rows %s: %w", OutboxBatchTaskID(t.IDs), err)
				}
				mu.Unlock()
			}
		})
	}
	for _, t := range tasks {
		next <- t
	}
	close(next)
	wg.Wait()
	return done, first
}

// observe refreshes the backlog metrics every second until ctx ends. It runs
// beside the claims, not between them: counting a large backlog takes a while
// on a busy database, and the claims should not wait for a gauge.
func (r *Relay) observe(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		b, err := r.st.OutboxBacklog(qctx)
		cancel()
		if err == nil {
			r.backlog.Set(float64(b.Unrelayed))
			r.lag.Set(b.OldestAge.Seconds())
		} else if ctx.Err() == nil {
			r.log.Debug("outbox backlog unknown", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Run relays until ctx ends. A batch in progress when ctx ends is finished
// (enqueued and committed) first. Errors (database or Redis away) are logged
// and retried with back-off up to 30 s.
func (r *Relay) Run(ctx context.Context) error {
	r.log.Info("outbox relay started", "batch", r.batch, "per_task", r.perTask, "claimers", r.claimers)
	var wg sync.WaitGroup
	wg.Go(func() { r.observe(ctx) })
	for range r.claimers {
		wg.Go(func() { r.claimLoop(ctx) })
	}
	wg.Wait()
	r.log.Info("outbox relay stopped")
	return nil
}

// claimLoop claims and relays until ctx ends, at once while claims come back
// full, else every Interval.
func (r *Relay) claimLoop(ctx context.Context) {
	backoff := r.interval
	for ctx.Err() == nil {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		n, err := r.RelayOnce(bctx)
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
}

// ArchivedDispatches counts the visits of plan planID whose dispatch task
// (dispatch:visits, or an older dispatch:visit) spent its retries, or was
// refused, and was archived in queue ("" = DispatchQueue): the visits whose
// dispatch failed. A visit is counted once however many archived tasks carry
// it. An admin may run those tasks again from the queue view (asynq Inspector
// RunTask).
func ArchivedDispatches(ins *asynq.Inspector, planID int64, queue string) (int, error) {
	if queue == "" {
		queue = DispatchQueue
	}
	failed := map[int]bool{}
	for page := 1; ; page++ {
		tasks, err := ins.ListArchivedTasks(queue, asynq.Page(page), asynq.PageSize(1000))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return 0, nil
		}
		if err != nil {
			return len(failed), fmt.Errorf("archived tasks of queue %s: %w", queue, err)
		}
		for _, t := range tasks {
			for _, q := range dispatchedVisits(t.Type, t.Payload, planID) {
				failed[q] = true
			}
		}
		if len(tasks) < 1000 {
			return len(failed), nil
		}
	}
}

// dispatchedVisits are the visits of plan planID a dispatch task carries
// (none for another plan, another task type or a payload not understood).
func dispatchedVisits(typ string, payload []byte, planID int64) []int {
	switch typ {
	case TypeDispatchVisit:
		var p DispatchVisitPayload
		if json.Unmarshal(payload, &p) == nil && p.PlanID == planID && p.VisitSeq > 0 {
			return []int{p.VisitSeq}
		}
	case TypeDispatchVisits:
		var p DispatchVisitsPayload
		if json.Unmarshal(payload, &p) == nil && p.PlanID == planID {
			seqs, _ := p.visits()
			return seqs
		}
	}
	return nil
}
