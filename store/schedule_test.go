package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestSchedulerLeaderLockAndEpochs: one leader at a time, each new leader gets
// the next epoch, and releasing the lock lets another take it.
func TestSchedulerLeaderLockAndEpochs(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	l1, err := st.AcquireSchedulerLeader(ctx, "a")
	if err != nil || l1 == nil {
		t.Fatalf("first acquire: %v %v", l1, err)
	}
	if l1.Epoch() != 1 {
		t.Fatalf("first epoch %d", l1.Epoch())
	}
	if l2, err := st.AcquireSchedulerLeader(ctx, "b"); err != nil || l2 != nil {
		t.Fatalf("second replica acquired a held lock: %v %v", l2, err)
	}
	if err := l1.Check(ctx); err != nil {
		t.Fatal(err)
	}
	l1.Release(ctx)
	l2, err := st.AcquireSchedulerLeader(ctx, "b")
	if err != nil || l2 == nil || l2.Epoch() != 2 {
		t.Fatalf("acquire after release: %v %v", l2, err)
	}
	info, ok, err := st.SchedulerLeaderInfo(ctx)
	if err != nil || !ok || info.Holder != "b" || info.Epoch != 2 {
		t.Fatalf("leader row %+v %v %v", info, ok, err)
	}
	// Someone bumping the epoch behind l2's back (it cannot happen while the
	// lock is held, but the check must see it) makes Check fail.
	if err := st.ExecForTest(ctx, `UPDATE scheduler_leader SET epoch = epoch + 1`); err != nil {
		t.Fatal(err)
	}
	if err := l2.Check(ctx); !errors.Is(err, store.ErrNotLeader) {
		t.Fatalf("check with a superseded epoch: %v", err)
	}
	l2.Release(ctx)
}

// TestCronRunFencing: a second leader epoch cannot record a run already
// recorded, and a stale epoch cannot record anything.
func TestCronRunFencing(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Microsecond)
	due := now.Add(-time.Minute).Truncate(time.Second)

	l1, err := st.AcquireSchedulerLeader(ctx, "a")
	if err != nil || l1 == nil {
		t.Fatal(err)
	}
	if err := st.SyncCronEntries(ctx, l1.Epoch(), []store.CronEntry{{Name: "reminder_scan", Spec: "*/15 * * * *", NextDue: due}}); err != nil {
		t.Fatal(err)
	}
	got, claimed, err := st.ClaimCronRun(ctx, l1.Epoch(), "reminder_scan", now, now.Add(time.Hour), nil)
	if err != nil || !claimed || !got.Equal(due) {
		t.Fatalf("epoch 1 claim: %v %v %v", got, claimed, err)
	}
	// The entry moved on: claiming again finds nothing due.
	if _, claimed, err := st.ClaimCronRun(ctx, l1.Epoch(), "reminder_scan", now, now.Add(time.Hour), nil); err != nil || claimed {
		t.Fatalf("second claim by the same epoch: %v %v", claimed, err)
	}

	// Epoch 1 dies without finishing; epoch 2 leads. Even if it believes the
	// same due time is due again, it cannot record it a second time.
	l1.Release(ctx)
	l2, err := st.AcquireSchedulerLeader(ctx, "b")
	if err != nil || l2 == nil || l2.Epoch() != 2 {
		t.Fatal(err)
	}
	if err := st.SetCronEntryNextDueForTest(ctx, "reminder_scan", due); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := st.ClaimCronRun(ctx, l2.Epoch(), "reminder_scan", now, now.Add(time.Hour), nil); err != nil || claimed {
		t.Fatalf("epoch 2 recorded a run already recorded: %v %v", claimed, err)
	}
	// The stale epoch cannot claim, reclaim or sync anything.
	if err := st.SetCronEntryNextDueForTest(ctx, "reminder_scan", due.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ClaimCronRun(ctx, l1.Epoch(), "reminder_scan", now, now.Add(time.Hour), nil); !errors.Is(err, store.ErrNotLeader) {
		t.Fatalf("stale epoch claim: %v", err)
	}
	if _, err := st.ReclaimCronRun(ctx, l1.Epoch(), "reminder_scan", due, now); !errors.Is(err, store.ErrNotLeader) {
		t.Fatalf("stale epoch reclaim: %v", err)
	}
	if err := st.SyncCronEntries(ctx, l1.Epoch(), nil); !errors.Is(err, store.ErrNotLeader) {
		t.Fatalf("stale epoch sync: %v", err)
	}

	// The run epoch 1 left unfinished is taken over by epoch 2, once; epoch
	// 1's late finish then changes nothing.
	un, err := st.UnfinishedCronRuns(ctx, l2.Epoch(), now.Add(-time.Hour))
	if err != nil || len(un) != 1 || !un[0].DueAt.Equal(due) || un[0].Epoch != 1 {
		t.Fatalf("unfinished runs %+v %v", un, err)
	}
	if ok, err := st.ReclaimCronRun(ctx, l2.Epoch(), "reminder_scan", due, now); err != nil || !ok {
		t.Fatalf("reclaim: %v %v", ok, err)
	}
	if ok, err := st.ReclaimCronRun(ctx, l2.Epoch(), "reminder_scan", due, now); err != nil || ok {
		t.Fatalf("reclaimed twice: %v %v", ok, err)
	}
	if ok, err := st.FinishCronRun(ctx, l1.Epoch(), "reminder_scan", due, nil); err != nil || ok {
		t.Fatalf("stale finish counted: %v %v", ok, err)
	}
	if ok, err := st.FinishCronRun(ctx, l2.Epoch(), "reminder_scan", due, errors.New("boom")); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	runs, err := st.CronRuns(ctx, "reminder_scan")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v %v", runs, err)
	}
	if r := runs[0]; r.Epoch != 2 || r.Outcome != "failed" || r.Error != "boom" || r.FinishedAt == nil {
		t.Fatalf("run %+v", r)
	}
	l2.Release(ctx)
}

// TestSyncCronEntriesKeepsMissedDue: re-syncing keeps a passed due time (so it
// still runs once), a changed spec takes the new time unless the old one passed.
func TestSyncCronEntriesKeepsMissedDue(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	l, err := st.AcquireSchedulerLeader(ctx, "a")
	if err != nil || l == nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	later := future.Add(time.Hour)
	if err := st.SyncCronEntries(ctx, l.Epoch(), []store.CronEntry{
		{Name: "a", Spec: "0 7 * * *", NextDue: past}, {Name: "b", Spec: "0 7 * * *", NextDue: future}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SyncCronEntries(ctx, l.Epoch(), []store.CronEntry{
		{Name: "a", Spec: "0 8 * * *", NextDue: later}, {Name: "b", Spec: "0 8 * * *", NextDue: later}}); err != nil {
		t.Fatal(err)
	}
	es, err := st.CronEntries(ctx)
	if err != nil || len(es) != 2 {
		t.Fatalf("%+v %v", es, err)
	}
	if !es[0].NextDue.Equal(past) || es[0].Spec != "0 8 * * *" {
		t.Errorf("a: missed due time lost: %+v", es[0])
	}
	if !es[1].NextDue.Equal(later) {
		t.Errorf("b: changed spec kept the old due time: %+v", es[1])
	}
}
