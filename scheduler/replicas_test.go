package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/internal/logbuf"
	"inspectonce/scheduler"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

type replica struct {
	cmd  *exec.Cmd
	logs *logbuf.Buffer
	done chan error
}

// TestThreeSchedulerProcesses is the done-when test of DESIGN.md §5's cron:
// three `inspectonce scheduler` processes share Postgres and Redis with an
// entry due every second. Each tick fires exactly once (one leader, one
// cron_runs row and one asynq task per due time, no gap that the catch-up rule
// does not explain); after the leader is SIGKILLed another process fires the
// next ticks within the documented bound (leader_retry + a round trip); after
// the next leader is SIGTERMed it stops cleanly and the last one takes over.
func TestThreeSchedulerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn := storetest.NewURL(t)
	redisURL := os.Getenv(storetest.EnvRedisURL)
	bin := filepath.Join(t.TempDir(), "inspectonce")
	if out, err := exec.Command("go", "build", "-o", bin, "inspectonce/cmd/inspectonce").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const leaderRetry = 2 * time.Second // the default: the documented bound is tested as shipped
	env := append(os.Environ(),
		"INSPECTONCE_DATABASE_URL="+dsn,
		"INSPECTONCE_REDIS_URL="+redisURL,
		"INSPECTONCE_LOG_LEVEL=debug",
		"INSPECTONCE_SCHEDULER_HEALTH_INTERVAL=1m",
		"INSPECTONCE_SCHEDULER_LEADER_RETRY="+leaderRetry.String(),
		"INSPECTONCE_SCHEDULER_LEADER_CHECK=1s",
		"INSPECTONCE_SCHEDULER_TEST_ENTRY=@every 1s",
		// The real entries stay off: they would enqueue real work.
		"INSPECTONCE_SCHEDULER_ENTRIES_DAILY_ROSTERS=",
		"INSPECTONCE_SCHEDULER_ENTRIES_REMINDER_SCAN=",
		"INSPECTONCE_SCHEDULER_ENTRIES_ROUTINE_DEMANDS=",
		"INSPECTONCE_SCHEDULER_ENTRIES_WEEKLY_PLANNING=",
	)
	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	st, err := store.Open(dsn, store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()

	replicas := map[int]*replica{}
	startReplica := func() *replica {
		r := &replica{cmd: exec.Command(bin, "scheduler"), logs: &logbuf.Buffer{}, done: make(chan error, 1)}
		r.cmd.Env = env
		r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.done <- r.cmd.Wait() }()
		replicas[r.cmd.Process.Pid] = r
		return r
	}
	for range 3 {
		startReplica()
	}
	defer func() {
		for _, r := range replicas {
			_ = r.cmd.Process.Kill()
		}
		if t.Failed() {
			for pid, r := range replicas {
				t.Logf("--- replica %d:\n%s", pid, r.logs.String())
			}
		}
	}()

	// leaderOf waits for epoch and returns the replica holding it.
	leaderOf := func(epoch int64, within time.Duration) *replica {
		t.Helper()
		var info store.SchedulerLeaderRow
		waitFor(t, within, fmt.Sprintf("leader epoch %d", epoch), func() bool {
			row, ok, err := st.SchedulerLeaderInfo(ctx)
			info = row
			return err == nil && ok && row.Epoch >= epoch
		})
		if info.Epoch != epoch {
			t.Fatalf("epoch %d, want %d (%s)", info.Epoch, epoch, info.Holder)
		}
		pid, err := strconv.Atoi(info.Holder[strings.LastIndex(info.Holder, "/")+1:])
		if err != nil || replicas[pid] == nil {
			t.Fatalf("leader %q is none of the replicas", info.Holder)
		}
		return replicas[pid]
	}
	runsOf := func(epoch int64) []store.CronRun {
		t.Helper()
		runs, err := st.CronRuns(ctx, "test_entry")
		if err != nil {
			t.Fatal(err)
		}
		var out []store.CronRun
		for _, r := range runs {
			if epoch == 0 || r.Epoch == epoch {
				out = append(out, r)
			}
		}
		return out
	}

	// Epoch 1: one leader fires every tick.
	first := leaderOf(1, 15*time.Second)
	waitFor(t, 15*time.Second, "five ticks", func() bool { return len(runsOf(1)) >= 5 })

	// SIGKILL the leader: no unlock, no finish; its connection just closes.
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-first.done
	delete(replicas, first.cmd.Process.Pid)
	second := leaderOf(2, 10*time.Second)
	if info, _, err := st.SchedulerLeaderInfo(ctx); err == nil {
		took := info.AcquiredAt.Sub(killed)
		t.Logf("takeover after SIGKILL: lock taken %s after the kill", took)
		if took > leaderRetry+time.Second {
			t.Errorf("lock taken %s after the kill, beyond leader_retry %s + 1s", took, leaderRetry)
		}
	}
	waitFor(t, 10*time.Second, "ticks of epoch 2", func() bool { return len(runsOf(2)) >= 3 })
	after := runsOf(2)
	firstOfEpoch2 := after[0].StartedAt
	for _, r := range after {
		if r.StartedAt.Before(firstOfEpoch2) {
			firstOfEpoch2 = r.StartedAt
		}
	}
	takeover := firstOfEpoch2.Sub(killed)
	t.Logf("takeover after SIGKILL: first tick of the new leader %s after the kill (bound: leader_retry %s + round trip, or the next due time if later)", takeover, leaderRetry)
	if takeover > leaderRetry+time.Second {
		t.Errorf("takeover took %s, beyond leader_retry %s + 1s", takeover, leaderRetry)
	}

	// SIGTERM the second leader: it stops cleanly, releasing the lock, and the
	// third replica leads at its next try.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termed := time.Now()
	select {
	case err := <-second.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second leader did not stop after SIGTERM")
	}
	delete(replicas, second.cmd.Process.Pid)
	if logs := second.logs.String(); !strings.Contains(logs, "scheduler stopped") || !strings.Contains(logs, "scheduler left leadership") {
		t.Errorf("second leader's logs lack a clean stop:\n%s", logs)
	}
	third := leaderOf(3, 10*time.Second)
	waitFor(t, 10*time.Second, "ticks of epoch 3", func() bool { return len(runsOf(3)) >= 2 })
	if d := time.Since(termed); d > 10*time.Second {
		t.Errorf("graceful handover took %s", d)
	}
	if err := third.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-third.done; err != nil {
		t.Fatalf("third exit: %v", err)
	}
	delete(replicas, third.cmd.Process.Pid)

	// No replica for 3.5 s: three or four ticks are missed. A replica that
	// comes back runs them ONCE, as one catch-up run, then goes on.
	time.Sleep(3500 * time.Millisecond)
	fourth := startReplica()
	if leaderOf(4, 15*time.Second) != fourth {
		t.Fatal("the only replica is not the leader")
	}
	waitFor(t, 10*time.Second, "ticks of epoch 4", func() bool { return len(runsOf(4)) >= 2 })
	if err := fourth.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-fourth.done; err != nil {
		t.Fatalf("fourth exit: %v", err)
	}
	delete(replicas, fourth.cmd.Process.Pid)
	downtimeCatchUp := runsOf(4)[0]
	if downtimeCatchUp.Missed < 2 {
		t.Errorf("the run after 3.5 s without a replica stands for %d missed ticks, want >= 2: %+v", downtimeCatchUp.Missed, downtimeCatchUp)
	}

	// Every tick once: consecutive runs are exactly 1 s apart unless a run
	// was a catch-up run, whose missed count then explains the gap exactly.
	runs := runsOf(0)
	var caughtUp int // by takeovers
	for i, r := range runs {
		if r.FinishedAt == nil || r.Outcome != "ok" {
			t.Errorf("run %s (epoch %d) left %q / unfinished", r.DueAt, r.Epoch, r.Outcome)
		}
		if r.Missed > 0 {
			if !r.DueAt.Equal(downtimeCatchUp.DueAt) {
				caughtUp += r.Missed
			}
			t.Logf("catch-up run: due %s, epoch %d, started %s, missed %d", r.DueAt.Format(time.TimeOnly), r.Epoch,
				r.StartedAt.Format("15:04:05.000"), r.Missed)
		}
		if i == 0 {
			continue
		}
		prev := runs[i-1]
		if want := prev.DueAt.Add(time.Duration(prev.Missed+1) * time.Second); !r.DueAt.Equal(want) {
			t.Errorf("run due %s follows %s (missed %d): want due %s", r.DueAt, prev.DueAt, prev.Missed, want)
		}
	}
	// Only takeovers may miss ticks, each by about leader_retry at most.
	if caughtUp > 2*int(leaderRetry/time.Second+1) {
		t.Errorf("%d ticks collapsed into catch-up runs; only the two takeovers may collapse any", caughtUp)
	}
	t.Logf("%d runs over epochs 1-4, %d ticks collapsed by catch-up at takeovers", len(runs), caughtUp)

	// One asynq task per run, under the run's task ID.
	qopt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(qopt)
	defer insp.Close()
	for _, r := range runs {
		id := scheduler.TaskID("test_entry", r.DueAt)
		info, err := insp.GetTaskInfo(scheduler.TaskQueue, id)
		if err != nil {
			t.Errorf("no task %s for the run due %s: %v", id, r.DueAt, err)
			continue
		}
		if info.Type != scheduler.TaskTestEntry {
			t.Errorf("task %s has type %s", id, info.Type)
		}
		_ = insp.DeleteTask(scheduler.TaskQueue, id)
	}
}
