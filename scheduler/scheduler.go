// Package scheduler holds InspectOnce's cron entries (robfig/cron) in the
// configured time zone, fired by exactly one of several scheduler replicas.
//
// # Leadership
//
// Every replica runs the same loop: it tries pg_try_advisory_lock on a
// connection of its own (store.AcquireSchedulerLeader) every LeaderRetry. The
// one that gets it is the leader for as long as that connection lives; taking
// the lock increments the epoch in the scheduler_leader row, and that epoch is
// the leader's fencing token. The leader pings its lock connection and re-reads
// the epoch every LeaderCheck and steps down on any error.
//
// Takeover bound: when the leader process dies its kernel closes the connection,
// Postgres drops the session and its lock at once, and another replica takes the
// lock at its next attempt: within LeaderRetry (+ a round trip). When the
// leader's host or network vanishes instead, Postgres notices through TCP
// keepalives, which the lock connection sets to about 11 s: the bound is then
// ~11 s + LeaderRetry. A new leader runs whatever fell due meanwhile at once.
//
// # Entries and fencing
//
// robfig/cron never catches up missed runs, so the leader drives entries from
// Postgres rather than from cron's own timer: cron_entries keeps each entry's
// next due time. Whenever an entry's next_due ≤ now the leader claims the run
// in one transaction that (1) share-locks the leader row and checks its epoch
// is still the current one (a stale leader gets store.ErrNotLeader, records
// nothing and steps down), (2) inserts cron_runs (name, due_at = next_due,
// epoch), unique on (name, due_at), ON CONFLICT DO NOTHING — a due time is run
// at most once whoever claims it, and (3) moves next_due to the schedule's next
// time after now. Only then does it run the job.
//
// Catch-up: however many due times passed while no replica was leading, the
// entry runs ONCE, recorded under the first missed due time, with missed = the
// number of later due times it stands for; then it continues from the next due
// time after now. Missed runs are never replayed one by one.
//
// A run whose leader died after claiming it and before finishing it stays
// unfinished in cron_runs; the next leader takes it over (ReclaimCronRun) and
// runs it again, so jobs must be idempotent. The default job enqueues the
// asynq task cron:<name> with task ID cron:<name>:<due unix>, kept for
// TaskRetention after it completes, so running it twice enqueues once.
//
// Each entry's job is wrapped in cron.Recover and cron.SkipIfStillRunning: a
// panic is logged and recorded as a failed run, and an entry whose previous run
// is still going is not started again (its due time stays due and it runs once
// when the previous run ends).
//
// The health report is not a leader entry: every replica reports its own view
// of Postgres and Redis on robfig/cron's timer.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"

	"inspectonce/jobs"
	"inspectonce/store"
)

// Pinger answers whether a dependency is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Run is one run of an entry.
type Run struct {
	Entry string
	// Due is the due time the run stands for (the first missed one for a
	// catch-up run).
	Due time.Time
	// Missed counts the later due times collapsed into this run.
	Missed int
	Epoch  int64
}

// Entry is a cron entry fired by the leader.
type Entry struct {
	Name string
	// Spec is a robfig/cron standard spec ("0 7 * * *", "@every 1h"),
	// evaluated in Options.Location unless it starts with CRON_TZ=.
	Spec string
	// Job does one run; nil enqueues the task cron:<Name> (NewTask).
	Job func(ctx context.Context, r Run) error
}

// Options configure a Scheduler.
type Options struct {
	Location       *time.Location
	HealthInterval time.Duration
	// LeaderRetry is how often a non-leader tries to take the lock (default 2s).
	LeaderRetry time.Duration
	// LeaderCheck is how often the leader checks its lock connection (default 2s).
	LeaderCheck time.Duration
	Entries     []Entry
	Store       *store.Store
	Queue       *asynq.Client
	Postgres    Pinger
	Redis       Pinger
	Logger      *slog.Logger
	// Holder names this replica in the leader row; default host/pid.
	Holder string
}

// jobTimeout bounds one run of an entry.
const jobTimeout = 2 * time.Minute

// maxWait bounds the leader's sleep between looks at the entries.
const maxWait = 30 * time.Second

// unfinishedWindow is how far back a new leader looks for runs its
// predecessor left unfinished.
const unfinishedWindow = 24 * time.Hour

type entry struct {
	name  string
	spec  string
	sched cron.Schedule
	job   func(ctx context.Context, r Run) error
	// wrapped is the claim-and-run, wrapped in Recover and SkipIfStillRunning.
	wrapped cron.Job
}

// Scheduler fires cron entries.
type Scheduler struct {
	cron        *cron.Cron
	client      *asynq.Client
	st          *store.Store
	db          Pinger
	redis       Pinger
	log         *slog.Logger
	name        string
	loc         *time.Location
	leaderRetry time.Duration
	leaderCheck time.Duration
	entries     []*entry
	byName      map[string]*entry

	epoch    atomic.Int64 // current leader epoch; 0 when not leading
	jobCtx   context.Context
	inflight sync.WaitGroup
	kick     chan struct{} // a run ended: look at the entries again
	lost     chan int64    // a claim found this epoch superseded
}

// New builds a scheduler with its entries and the health report.
func New(o Options) (*Scheduler, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	name := o.Holder
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	s := &Scheduler{client: o.Queue, st: o.Store, db: o.Postgres, redis: o.Redis, log: log, name: name, loc: loc,
		leaderRetry: o.LeaderRetry, leaderCheck: o.LeaderCheck, byName: map[string]*entry{},
		jobCtx: context.Background(), kick: make(chan struct{}, 1), lost: make(chan int64, 1)}
	if s.leaderRetry <= 0 {
		s.leaderRetry = 2 * time.Second
	}
	if s.leaderCheck <= 0 {
		s.leaderCheck = 2 * time.Second
	}
	if s.db == nil && o.Store != nil {
		s.db = o.Store
	}
	if len(o.Entries) > 0 && o.Store == nil {
		return nil, errors.New("scheduler: entries need a store")
	}
	chain := cron.NewChain(cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log}))
	for _, oe := range o.Entries {
		if _, dup := s.byName[oe.Name]; dup {
			return nil, fmt.Errorf("scheduler: entry %s given twice", oe.Name)
		}
		sched, err := cron.ParseStandard(oe.Spec)
		if err != nil {
			return nil, fmt.Errorf("scheduler entry %s: spec %q: %w", oe.Name, oe.Spec, err)
		}
		e := &entry{name: oe.Name, spec: oe.Spec, sched: sched, job: oe.Job}
		if e.job == nil {
			if o.Queue == nil {
				return nil, fmt.Errorf("scheduler entry %s: no job and no queue", oe.Name)
			}
			e.job = s.enqueue
		}
		e.wrapped = chain.Then(cron.FuncJob(func() { s.fire(e) }))
		s.entries = append(s.entries, e)
		s.byName[e.name] = e
	}
	s.cron = cron.New(cron.WithLocation(loc), cron.WithChain(
		cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log})))
	if o.HealthInterval > 0 {
		if _, err := s.cron.AddFunc(fmt.Sprintf("@every %s", o.HealthInterval), s.health); err != nil {
			return nil, fmt.Errorf("health entry: %w", err)
		}
	}
	return s, nil
}

// Next is the schedule's next time strictly after t, evaluated in loc (unless
// the spec names its own CRON_TZ).
func Next(sched cron.Schedule, t time.Time, loc *time.Location) time.Time {
	return sched.Next(t.In(loc))
}

func (e *entry) next(t time.Time, loc *time.Location) time.Time { return Next(e.sched, t, loc) }

// missed counts the due times after due up to now (capped).
func (e *entry) missed(due, now time.Time, loc *time.Location) int {
	n := 0
	for t := e.next(due, loc); !t.IsZero() && !t.After(now) && n < 1_000_000; t = e.next(t, loc) {
		n++
	}
	return n
}

func (s *Scheduler) health() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pg, rd := "ok", "ok"
	if err := s.db.Ping(ctx); err != nil {
		pg = err.Error()
	}
	if err := s.redis.Ping(ctx); err != nil {
		rd = err.Error()
	}
	if pg == "ok" && rd == "ok" {
		t, err := jobs.NewHeartbeat(s.name, time.Now())
		if err == nil {
			_, err = s.client.EnqueueContext(ctx, t)
		}
		if err != nil {
			rd = "enqueue: " + err.Error()
		}
	}
	lvl := slog.LevelInfo
	if pg != "ok" || rd != "ok" {
		lvl = slog.LevelWarn
	}
	s.log.Log(ctx, lvl, "scheduler health", "postgres", pg, "redis", rd, "leader", s.epoch.Load() != 0)
}

// Run fires entries until ctx is cancelled. On the way out it stops firing,
// waits for running entries, releases the leader lock and stops the health
// report.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.db != nil && s.redis != nil && s.client != nil {
		s.health()
	}
	s.cron.Start()
	s.log.Info("scheduler started", "entries", len(s.entries), "holder", s.name)
	if len(s.entries) > 0 {
		s.campaign(ctx)
		s.inflight.Wait() // runs started under a leadership lost earlier
	} else {
		<-ctx.Done()
	}
	<-s.cron.Stop().Done()
	s.log.Info("scheduler stopped")
	return nil
}

// IsLeader reports whether this replica leads now.
func (s *Scheduler) IsLeader() bool { return s.epoch.Load() != 0 }

// campaign tries to lead every leaderRetry until ctx ends.
func (s *Scheduler) campaign(ctx context.Context) {
	warned := false
	for {
		l, err := s.st.AcquireSchedulerLeader(ctx, s.name)
		switch {
		case err != nil && ctx.Err() == nil:
			if !warned {
				s.log.Warn("scheduler cannot try the leader lock; retrying", "err", err, "every", s.leaderRetry)
			}
			warned = true
		case err == nil:
			warned = false
			if l != nil {
				s.leadAs(ctx, l)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.leaderRetry):
		}
	}
}

// leadAs fires entries while l holds the lock.
func (s *Scheduler) leadAs(ctx context.Context, l *store.SchedulerLeader) {
	epoch := l.Epoch()
	s.log.Info("scheduler became leader", "epoch", epoch, "holder", s.name)
	s.epoch.Store(epoch)
	defer func() {
		s.epoch.Store(0)
		if ctx.Err() != nil {
			// Graceful stop: let running entries finish while the lock is
			// still held, so that no successor takes their runs over.
			s.inflight.Wait()
		}
		l.Release(context.Background())
		s.log.Info("scheduler left leadership", "epoch", epoch)
	}()

	specs := make([]store.CronEntry, len(s.entries))
	now := time.Now()
	for i, e := range s.entries {
		specs[i] = store.CronEntry{Name: e.name, Spec: e.spec, NextDue: e.next(now, s.loc)}
	}
	if err := s.st.SyncCronEntries(ctx, epoch, specs); err != nil {
		if ctx.Err() == nil {
			s.log.Error("scheduler cannot store its entries; stepping down", "err", err)
		}
		return
	}
	s.reclaim(ctx, epoch)

	check := time.NewTicker(s.leaderCheck)
	defer check.Stop()
	wake := time.NewTimer(0)
	defer wake.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case lost := <-s.lost:
			if lost != epoch {
				continue // signalled under an earlier leadership of ours
			}
			s.log.Warn("scheduler lost leadership: a newer epoch leads", "epoch", epoch)
			return
		case <-check.C:
			cctx, cancel := context.WithTimeout(ctx, s.leaderCheck)
			err := l.Check(cctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("scheduler lost leadership", "epoch", epoch, "err", err)
				}
				return
			}
			continue
		case <-s.kick:
		case <-wake.C:
		}
		wake.Reset(s.fireDue(ctx))
	}
}

// fireDue starts every entry that is due and returns how long to sleep until
// the next one is.
func (s *Scheduler) fireDue(ctx context.Context) time.Duration {
	rows, err := s.st.CronEntries(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("scheduler cannot read its entries", "err", err)
		}
		return s.leaderCheck
	}
	now := time.Now()
	wait := maxWait
	for _, row := range rows {
		e := s.byName[row.Name]
		if e == nil {
			continue // stored but no longer configured
		}
		next := row.NextDue
		if !next.After(now) {
			s.inflight.Add(1)
			go func() {
				defer s.inflight.Done()
				e.wrapped.Run()
			}()
			next = e.next(now, s.loc)
		}
		if next.IsZero() {
			continue
		}
		wait = min(wait, next.Sub(now))
	}
	return max(wait, time.Millisecond)
}

// fire claims the entry's due run under the current epoch and runs it.
func (s *Scheduler) fire(e *entry) {
	epoch := s.epoch.Load()
	if epoch == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(s.jobCtx, jobTimeout)
	defer cancel()
	now := time.Now().Truncate(time.Microsecond)
	missed := 0
	due, claimed, err := s.st.ClaimCronRun(ctx, epoch, e.name, now, e.next(now, s.loc),
		func(due time.Time) int { missed = e.missed(due, now, s.loc); return missed })
	if err != nil {
		if errors.Is(err, store.ErrNotLeader) {
			select {
			case s.lost <- epoch:
			default:
			}
		}
		s.log.Warn("cron entry not claimed", "entry", e.name, "err", err)
		return
	}
	if !claimed {
		return
	}
	r := Run{Entry: e.name, Due: due, Missed: missed, Epoch: epoch}
	s.execute(ctx, e, r)
}

// execute runs a claimed run and records its outcome; a panic is recorded as
// a failure and passed on to cron.Recover.
func (s *Scheduler) execute(ctx context.Context, e *entry, r Run) {
	start := time.Now()
	var err error
	defer func() {
		p := recover()
		if p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		fctx, cancel := context.WithTimeout(s.jobCtx, 10*time.Second)
		defer cancel()
		if ok, ferr := s.st.FinishCronRun(fctx, r.Epoch, r.Entry, r.Due, err); ferr != nil {
			s.log.Warn("cron run outcome not recorded", "entry", r.Entry, "due", r.Due, "err", ferr)
		} else if !ok {
			s.log.Warn("cron run was taken over by a newer leader", "entry", r.Entry, "due", r.Due, "epoch", r.Epoch)
		}
		attrs := []any{"entry", r.Entry, "due", r.Due.In(s.loc), "missed", r.Missed, "epoch", r.Epoch, "took", time.Since(start)}
		if err != nil {
			s.log.Error("cron entry failed", append(attrs, "err", err)...)
		} else {
			s.log.Info("cron entry fired", attrs...)
		}
		select {
		case s.kick <- struct{}{}:
		default:
		}
		if p != nil {
			panic(p)
		}
	}()
	err = e.job(ctx, r)
}

// reclaim takes over the runs an earlier leader left unfinished and runs them
// again.
func (s *Scheduler) reclaim(ctx context.Context, epoch int64) {
	runs, err := s.st.UnfinishedCronRuns(ctx, epoch, time.Now().Add(-unfinishedWindow))
	if err != nil {
		s.log.Warn("scheduler cannot list unfinished runs", "err", err)
		return
	}
	for _, cr := range runs {
		e := s.byName[cr.Name]
		if e == nil {
			continue
		}
		ok, err := s.st.ReclaimCronRun(ctx, epoch, cr.Name, cr.DueAt, time.Now().Truncate(time.Microsecond))
		if err != nil || !ok {
			if err != nil {
				s.log.Warn("scheduler cannot take over an unfinished run", "entry", cr.Name, "due", cr.DueAt, "err", err)
			}
			continue
		}
		s.log.Info("scheduler runs again what its predecessor left unfinished", "entry", cr.Name, "due", cr.DueAt, "old_epoch", cr.Epoch)
		func() {
			defer func() { _ = recover() }() // execute logs and records it
			jctx, cancel := context.WithTimeout(s.jobCtx, jobTimeout)
			defer cancel()
			s.execute(jctx, e, Run{Entry: cr.Name, Due: cr.DueAt, Missed: cr.Missed, Epoch: epoch})
		}()
	}
}

// enqueue is the default job: the asynq task cron:<entry> for the run's due
// time. Enqueueing a run twice is a task-ID conflict, which is success.
func (s *Scheduler) enqueue(ctx context.Context, r Run) error {
	t, err := NewTask(r.Entry, r.Due, r.Missed)
	if err != nil {
		return err
	}
	if _, err := s.client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", TaskType(r.Entry), err)
	}
	return nil
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug(msg, append(kv, "component", "cron")...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error(msg, append(kv, "err", err, "component", "cron")...)
}
