package scheduler_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"inspectonce/configs"
	"inspectonce/internal/logbuf"
	"inspectonce/scheduler"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestNextDueInShanghai: entry specs are read in the configured zone, whatever
// zone the clock reading is in.
func TestNextDueInShanghai(t *testing.T) {
	loc := shanghai(t)
	// Friday 2026-03-13 06:30 in Shanghai = Thursday 22:30 UTC.
	now := time.Date(2026, 3, 12, 22, 30, 0, 0, time.UTC)
	tests := []struct {
		spec string
		want time.Time
	}{
		{"0 7 * * *", time.Date(2026, 3, 13, 7, 0, 0, 0, loc)},     // daily_rosters: same Shanghai morning
		{"*/15 * * * *", time.Date(2026, 3, 13, 6, 45, 0, 0, loc)}, // reminder_scan
		{"0 2 * * 1", time.Date(2026, 3, 16, 2, 0, 0, 0, loc)},     // routine_demands: next Monday
		{"0 3 * * 5", time.Date(2026, 3, 20, 3, 0, 0, 0, loc)},     // weekly_planning: Friday 03:00 passed, so next week
		{"CRON_TZ=UTC 0 7 * * *", time.Date(2026, 3, 13, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		sched, err := cron.ParseStandard(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		got := scheduler.Next(sched, now, loc)
		if !got.Equal(tt.want) {
			t.Errorf("%s after %s: %s, want %s", tt.spec, now, got.In(loc), tt.want)
		}
	}
	// A UTC evening is already the next Shanghai day: 0 7 * * * after
	// 2026-03-13 23:30 UTC (07:30 on the 14th in Shanghai) is the 15th.
	sched, _ := cron.ParseStandard("0 7 * * *")
	if got := scheduler.Next(sched, time.Date(2026, 3, 13, 23, 30, 0, 0, time.UTC), loc); !got.Equal(time.Date(2026, 3, 15, 7, 0, 0, 0, loc)) {
		t.Errorf("day boundary: %s", got.In(loc))
	}
}

// recorder is a job that remembers its runs.
type recorder struct {
	mu      sync.Mutex
	runs    []scheduler.Run
	running atomic.Int32
	maxRun  atomic.Int32
	hold    time.Duration
}

func (r *recorder) job(ctx context.Context, run scheduler.Run) error {
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for {
		m := r.maxRun.Load()
		if n <= m || r.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	r.mu.Lock()
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	time.Sleep(r.hold)
	return nil
}

func (r *recorder) get() []scheduler.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]scheduler.Run(nil), r.runs...)
}

func newScheduler(t *testing.T, st *store.Store, holder string, logs io.Writer, entries ...scheduler.Entry) *scheduler.Scheduler {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	s, err := scheduler.New(scheduler.Options{Location: shanghai(t), LeaderRetry: 200 * time.Millisecond,
		LeaderCheck: 200 * time.Millisecond, Entries: entries, Store: st, Holder: holder,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(s *scheduler.Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCatchUpCollapsesMissedRuns: two hours without a leader miss eight
// quarter-hour reminder scans; the next leader runs the entry once, for the
// first missed due time, and goes on from the next due time after now.
func TestCatchUpCollapsesMissedRuns(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	loc := shanghai(t)
	sched, _ := cron.ParseStandard("*/15 * * * *")
	now := time.Now()
	firstMissed := scheduler.Next(sched, now.Add(-2*time.Hour), loc)
	wantMissed := 0
	for d := scheduler.Next(sched, firstMissed, loc); !d.After(now); d = scheduler.Next(sched, d, loc) {
		wantMissed++
	}

	// An earlier leader stored the entry, then every replica went away.
	l, err := st.AcquireSchedulerLeader(ctx, "gone")
	if err != nil || l == nil {
		t.Fatal(err)
	}
	if err := st.SyncCronEntries(ctx, l.Epoch(), []store.CronEntry{{Name: "reminder_scan", Spec: "*/15 * * * *", NextDue: firstMissed}}); err != nil {
		t.Fatal(err)
	}
	l.Release(ctx)

	rec := &recorder{}
	s := newScheduler(t, st, "back", nil, scheduler.Entry{Name: "reminder_scan", Spec: "*/15 * * * *", Job: rec.job})
	stop := start(s)
	waitFor(t, 5*time.Second, "the catch-up run", func() bool { return len(rec.get()) > 0 })
	time.Sleep(700 * time.Millisecond) // room for a wrong second run
	stop()

	runs := rec.get()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want one catch-up run: %+v", len(runs), runs)
	}
	// A quarter-hour may strike between counting above and the leader's own
	// count: then it rightly misses one more.
	maxMissed := 0
	for d := scheduler.Next(sched, firstMissed, loc); !d.After(time.Now()); d = scheduler.Next(sched, d, loc) {
		maxMissed++
	}
	if r := runs[0]; !r.Due.Equal(firstMissed) || r.Missed < wantMissed || r.Missed > maxMissed || r.Epoch != 2 || wantMissed < 7 {
		t.Fatalf("catch-up run %+v, want due %s missed %d to %d epoch 2", r, firstMissed, wantMissed, maxMissed)
	}
	wantMissed = runs[0].Missed
	stored, err := st.CronRuns(ctx, "reminder_scan")
	if err != nil || len(stored) != 1 || stored[0].Outcome != "ok" || stored[0].Missed != wantMissed {
		t.Fatalf("stored runs %+v %v", stored, err)
	}
	es, err := st.CronEntries(ctx)
	if err != nil || len(es) != 1 {
		t.Fatal(err)
	}
	if want := scheduler.Next(sched, stored[0].StartedAt, loc); !es[0].NextDue.Equal(want) || !es[0].NextDue.After(now) {
		t.Fatalf("next due %s, want %s", es[0].NextDue, want)
	}
}

// TestSkipIfStillRunningAndGracefulStop: a run that outlasts its interval is
// not started again; stopping waits for it, records it and frees the lock.
func TestSkipIfStillRunningAndGracefulStop(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	rec := &recorder{hold: 1500 * time.Millisecond}
	var logs logbuf.Buffer
	s := newScheduler(t, st, "slow", &logs, scheduler.Entry{Name: "slow", Spec: "@every 1s", Job: rec.job})
	stop := start(s)
	waitFor(t, 10*time.Second, "two runs", func() bool { return len(rec.get()) >= 2 })
	waitFor(t, 5*time.Second, "a run in flight", func() bool { return rec.running.Load() == 1 })
	stopped := time.Now()
	stop()
	if rec.running.Load() != 0 {
		t.Fatal("Run returned while an entry was still running")
	}
	if time.Since(stopped) < 100*time.Millisecond {
		t.Errorf("stop did not wait for the running entry (%s)", time.Since(stopped))
	}
	if m := rec.maxRun.Load(); m != 1 {
		t.Fatalf("%d runs of one entry at once", m)
	}
	runs, err := st.CronRuns(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(rec.get()) {
		t.Fatalf("%d stored runs, %d job runs", len(runs), len(rec.get()))
	}
	for _, r := range runs {
		if r.Outcome != "ok" || r.FinishedAt == nil {
			t.Fatalf("run left unfinished by a graceful stop: %+v", r)
		}
	}
	// The lock was released: another replica gets it at once.
	l, err := st.AcquireSchedulerLeader(ctx, "next")
	if err != nil || l == nil {
		t.Fatalf("lock not released: %v", err)
	}
	l.Release(ctx)
	if !bytes.Contains([]byte(logs.String()), []byte("skip")) {
		t.Errorf("no skip logged by SkipIfStillRunning:\n%s", logs.String())
	}
}

// TestLostConnectionHandsOver: when the leader's lock connection dies, the
// leader steps down at its next check and another replica leads within
// LeaderRetry; no due time is recorded twice.
func TestLostConnectionHandsOver(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	st2, err := store.Open(dsn, store.Options{MaxOpenConns: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	rec1, rec2 := &recorder{}, &recorder{}
	var logs1 logbuf.Buffer
	s1 := newScheduler(t, st, "one", &logs1, scheduler.Entry{Name: "tick", Spec: "@every 1s", Job: rec1.job})
	stop1 := start(s1)
	defer stop1()
	waitFor(t, 5*time.Second, "s1 leads", s1.IsLeader)
	s2 := newScheduler(t, st2, "two", nil, scheduler.Entry{Name: "tick", Spec: "@every 1s", Job: rec2.job})
	stop2 := start(s2)
	defer stop2()
	waitFor(t, 5*time.Second, "s1 fires", func() bool { return len(rec1.get()) >= 2 })
	if s2.IsLeader() || len(rec2.get()) != 0 {
		t.Fatal("two leaders")
	}

	// Cut the leader's lock connection from the server side.
	if err := st2.ExecForTest(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7310002 AND granted`); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	waitFor(t, 5*time.Second, "s2 leads", s2.IsLeader)
	waitFor(t, 5*time.Second, "s1 steps down", func() bool { return !s1.IsLeader() })
	if took := time.Since(cut); took > 2*time.Second {
		t.Errorf("takeover took %s", took)
	}
	waitFor(t, 5*time.Second, "s2 fires", func() bool { return len(rec2.get()) >= 2 })
	if !bytes.Contains([]byte(logs1.String()), []byte("scheduler lost leadership")) {
		t.Errorf("s1 did not log losing leadership:\n%s", logs1.String())
	}
	stop1()
	stop2()
	runs, err := st.CronRuns(ctx, "tick")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Time]bool{}
	for _, r := range runs {
		if seen[r.DueAt] {
			t.Fatalf("due %s recorded twice", r.DueAt)
		}
		seen[r.DueAt] = true
	}
	if n := len(rec1.get()) + len(rec2.get()); n != len(runs) {
		t.Fatalf("%d job runs for %d recorded runs", n, len(runs))
	}
}

// TestUnfinishedRunIsTakenOver: a leader that died between claiming a run and
// finishing it leaves the run unfinished; the next leader runs it again (the
// job is idempotent) and finishes it, once.
func TestUnfinishedRunIsTakenOver(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	loc := shanghai(t)
	sched, _ := cron.ParseStandard("0 7 * * *")
	now := time.Now().Truncate(time.Microsecond)
	due := scheduler.Next(sched, now.Add(-24*time.Hour), loc) // this morning's (or yesterday's) roster run
	l, err := st.AcquireSchedulerLeader(ctx, "died")
	if err != nil || l == nil {
		t.Fatal(err)
	}
	if err := st.SyncCronEntries(ctx, l.Epoch(), []store.CronEntry{{Name: "daily_rosters", Spec: "0 7 * * *", NextDue: due}}); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := st.ClaimCronRun(ctx, l.Epoch(), "daily_rosters", now, scheduler.Next(sched, now, loc), nil); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	l.Release(ctx) // died: never finished

	rec := &recorder{}
	s := newScheduler(t, st, "next", nil, scheduler.Entry{Name: "daily_rosters", Spec: "0 7 * * *", Job: rec.job})
	stop := start(s)
	waitFor(t, 5*time.Second, "the run taken over", func() bool { return len(rec.get()) > 0 })
	time.Sleep(500 * time.Millisecond)
	stop()
	runs := rec.get()
	if len(runs) != 1 || !runs[0].Due.Equal(due) || runs[0].Epoch != 2 {
		t.Fatalf("runs %+v, want the unfinished one once under epoch 2", runs)
	}
	stored, err := st.CronRuns(ctx, "daily_rosters")
	if err != nil || len(stored) != 1 || stored[0].Epoch != 2 || stored[0].Outcome != "ok" {
		t.Fatalf("stored %+v %v", stored, err)
	}
}

// TestConfigEntries: the default entries, env overrides, and a bad spec named
// by its key.
func TestConfigEntries(t *testing.T) {
	c, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Scheduler.EntryList()
	want := []configs.SchedulerEntry{{Name: "daily_rosters", Spec: "0 7 * * *"}, {Name: "reminder_scan", Spec: "*/15 * * * *"},
		{Name: "routine_demands", Spec: "0 2 * * 1"}, {Name: "weekly_planning", Spec: "0 3 * * 5"},
		{Name: "publish_results", Spec: "*/10 * * * *"}}
	if fmt.Sprint(got) != fmt.Sprint(want) || c.Scheduler.LeaderRetry != 2*time.Second {
		t.Fatalf("defaults %+v", c.Scheduler)
	}
	c, err = configs.Load("", []string{"INSPECTONCE_SCHEDULER_TEST_ENTRY=@every 1s", "INSPECTONCE_SCHEDULER_ENTRIES_REMINDER_SCAN="})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.Scheduler.EntryList()); got != "[{daily_rosters 0 7 * * *} {routine_demands 0 2 * * 1} {weekly_planning 0 3 * * 5} {publish_results */10 * * * *} {test_entry @every 1s}]" {
		t.Fatalf("overridden entries %s", got)
	}
	for env, key := range map[string]string{
		"INSPECTONCE_SCHEDULER_ENTRIES_DAILY_ROSTERS=0 25 * * *": "scheduler.entries.daily_rosters",
		"INSPECTONCE_SCHEDULER_TEST_ENTRY=soon":                  "scheduler.test_entry",
		"INSPECTONCE_SCHEDULER_LEADER_RETRY=0s":                  "scheduler.leader_retry",
	} {
		if _, err := configs.Load("", []string{env}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want it to name %s", env, err, key)
		}
	}
}
