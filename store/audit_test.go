package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// auditLockKey is the store's sequencer lock (store/audit.go), which every
// write took before issue 20.
const auditLockKey = 7_310_001

// TestAuditWritesTakeNoGlobalLock: a write that audits goes through while
// another session holds the audit lock (a chaining pass, or before issue 20 a
// writer on its way to COMMIT), so writers no longer queue on one lock.
func TestAuditWritesTakeNoGlobalLock(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	tx, err := st.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := st.CreateDepartment(wctx, "admin", &domain.Department{Code: "NOLOCK", Name: "dept"}); err != nil {
		t.Fatalf("write while the audit lock is held: %v", err)
	}
	if err := st.Audit(wctx, "admin", "test.append", "x/1", store.OutcomeOK, nil); err != nil {
		t.Fatalf("audit while the audit lock is held: %v", err)
	}
	lag, err := st.AuditLag(ctx)
	if err != nil || lag.Pending != 2 {
		t.Fatalf("lag while the sequencer is held off: %+v, %v; want 2 pending", lag, err)
	}
	// The background pass yields to the pass holding the lock.
	if n, err := st.ChainAudit(ctx, false); err != nil || n != 0 {
		t.Fatalf("pass while another holds the lock: chained %d, %v; want 0", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ChainAudit(ctx, false); err != nil || n != 2 {
		t.Fatalf("pass after: chained %d, %v; want 2", n, err)
	}
	if lag, err := st.AuditLag(ctx); err != nil || lag.Pending != 0 || lag.Oldest != 0 {
		t.Fatalf("lag after the pass: %+v, %v", lag, err)
	}
}

// insertUnchained appends an audit row as a writer does (no chain fields).
func insertUnchained(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, action string) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, object, outcome, detail)
		VALUES (now(), 'tester', $1, 'x/1', 'ok', '{}')`, action)
	return err
}

// TestAuditChainsInCommitOrder: a row inserted first but committed last is
// chained after the rows that committed before it, with no gap and no row
// chained twice, and the chain verifies.
func TestAuditChainsInCommitOrder(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	late, err := st.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback()
	if err := insertUnchained(ctx, late, "test.late"); err != nil {
		t.Fatal(err)
	}
	if err := insertUnchained(ctx, st.SQL(), "test.early"); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ChainAudit(ctx, false); err != nil || n != 1 {
		t.Fatalf("first pass: chained %d, %v; want 1 (the uncommitted row waits)", n, err)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	if lag, err := st.AuditLag(ctx); err != nil || lag.Pending != 1 {
		t.Fatalf("lag: %+v, %v; want 1 pending", lag, err)
	}
	n, brk, err := st.VerifyAudit(ctx)
	if err != nil || brk != nil || n != 2 {
		t.Fatalf("verify: n=%d break=%+v err=%v", n, brk, err)
	}
	entries, err := st.ListAudit(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%d:%s", e.Seq, e.Action))
	}
	if strings.Join(got, " ") != "1:test.early 2:test.late" {
		t.Fatalf("chain order %v, want the commit order", got)
	}
}

// TestAuditChainsABacklog: a backlog larger than one batch is chained
// whole, in insertion order, and verifies.
func TestAuditChainsABacklog(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	if err := st.ExecForTest(ctx, `INSERT INTO audit_log (at, actor, action, object, outcome, detail)
		SELECT now(), 'tester', 'test.backlog', 'x/' || i, 'ok', '{"i":' || i || '}' FROM generate_series(1, 2500) AS i`); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ChainAudit(ctx, false); err != nil || n != 2500 {
		t.Fatalf("chained %d, %v; want 2500", n, err)
	}
	if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil || n != 2500 {
		t.Fatalf("verify: n=%d break=%+v err=%v", n, brk, err)
	}
	entries, err := st.ListAudit(ctx, 1999, 2)
	if err != nil || len(entries) != 2 || entries[0].Object != "x/2000" || entries[1].Object != "x/2001" {
		t.Fatalf("entries after 1999: %+v %v", entries, err)
	}
}

// TestAuditUnchainedRowsAreAppendOnly: the one change the table takes is
// being chained; an unchained row's contents cannot be changed or removed.
func TestAuditUnchainedRowsAreAppendOnly(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	if err := st.Audit(ctx, "admin", "test.append", "x/1", store.OutcomeOK, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE audit_log SET actor = 'mallory' WHERE seq IS NULL",
		"UPDATE audit_log SET actor = 'mallory', seq = 1, prev_hash = '\\x00', hash = '\\x01' WHERE seq IS NULL",
		"DELETE FROM audit_log WHERE seq IS NULL",
	} {
		if err := st.ExecForTest(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
	if _, err := st.ChainAudit(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := st.ExecForTest(ctx, "UPDATE audit_log SET seq = 5 WHERE seq = 1"); err == nil {
		t.Error("a chained row took a new seq")
	}
}

// TestAuditVerifyCatchesTampering: with the sequencer, verify still names a
// changed, a removed and an inserted record.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	cases := []struct {
		name    string
		tamper  []string
		wantSeq int64
		reason  string
	}{
		{"changed", []string{"UPDATE audit_log SET detail = '{\"n\":9}' WHERE seq = 3"}, 3, "altered"},
		{"removed", []string{"DELETE FROM audit_log WHERE seq = 3"}, 4, "missing"},
		{"inserted", []string{
			"UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
			"UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
			`INSERT INTO audit_log (seq, at, actor, action, object, outcome, detail, prev_hash, hash)
				SELECT 3, at, 'mallory', 'demand.submit', 'demand/99', 'ok', '{}', hash, sha256(hash) FROM audit_log WHERE seq = 2`,
		}, 3, "altered"},
		{"last replaced", []string{
			"DELETE FROM audit_log WHERE seq = 5",
			`INSERT INTO audit_log (seq, at, actor, action, object, outcome, detail, prev_hash, hash)
				SELECT 5, now(), 'mallory', 'demand.submit', 'demand/99', 'ok', '{}', hash, sha256(hash) FROM audit_log WHERE seq = 4`,
		}, 5, "altered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, dsn := storetest.New(t)
			ctx := context.Background()
			for i := range 5 {
				if err := st.Audit(ctx, "admin", "test.append", "x/1", store.OutcomeOK, map[string]int{"n": i}); err != nil {
					t.Fatal(err)
				}
			}
			if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil || n != 5 {
				t.Fatalf("intact chain: n=%d break=%+v err=%v", n, brk, err)
			}
			raw, err := store.Open(dsn, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for _, q := range append([]string{"ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"}, tc.tamper...) {
				if err := raw.ExecForTest(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			// Writes after the tampering are chained on top; the break stays.
			if err := st.Audit(ctx, "admin", "test.after", "x/1", store.OutcomeOK, nil); err != nil {
				t.Fatal(err)
			}
			_, brk, err := st.VerifyAudit(ctx)
			if err != nil || brk == nil || brk.Seq != tc.wantSeq || !strings.Contains(brk.Reason, tc.reason) {
				t.Fatalf("tampered chain: break=%+v err=%v, want at %d (%s)", brk, err, tc.wantSeq, tc.reason)
			}
		})
	}
}

// TestAuditDownMigrationChains: going below migration 00023 chains the rows
// the sequencer had not reached, with the hash the Go code computes.
func TestAuditDownMigrationChains(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	if err := st.Audit(ctx, "admin", "test.chained", "x/1", store.OutcomeOK, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChainAudit(ctx, true); err != nil {
		t.Fatal(err)
	}
	for i, d := range []any{nil, map[string]string{"名": "值 \"q\""}, []int{1, 2}} {
		if err := st.Audit(ctx, "管理员", fmt.Sprintf("test.pending%d", i), "x/1", store.OutcomeOK, d); err != nil {
			t.Fatal(err)
		}
	}
	m, err := store.NewMigrator(st.SQL())
	if err != nil {
		t.Fatal(err)
	}
	// Down to before 00023 (the sequencer), whatever came after it.
	for {
		status, err := m.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		applied := int64(0)
		for _, x := range status {
			if x.Applied && x.Version > applied {
				applied = x.Version
			}
		}
		if applied < 23 {
			break
		}
		if err := m.Down(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if lag, err := st.AuditLag(ctx); err != nil || lag.Pending != 0 {
		t.Fatalf("lag after down and up: %+v, %v", lag, err)
	}
	if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil || n != 4 {
		t.Fatalf("verify after down and up: n=%d break=%+v err=%v", n, brk, err)
	}
}

// TestAuditSequencerRuns: the background loop chains what writers append.
func TestAuditSequencerRuns(t *testing.T) {
	st, _ := storetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.RunAuditSequencer(ctx, 10*time.Millisecond, nil) }()
	if err := st.Audit(ctx, "admin", "test.append", "x/1", store.OutcomeOK, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		lag, err := st.AuditLag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if lag.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending after 10 s: %+v", lag)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAuditedWritesParallel runs audited writes (a department each, in
// its own transaction) from many goroutines at once. Before issue 20 every
// one took the audit lock and held it through COMMIT, so they ran one at a
// time; now they run side by side and the sequencer chains after.
func BenchmarkAuditedWritesParallel(b *testing.B) {
	st, _ := storetest.New(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := &domain.Department{Code: fmt.Sprintf("B%d", n.Add(1)), Name: "dept"}
			if err := st.CreateDepartment(ctx, "admin", d); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if _, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil {
		b.Fatalf("verify: %+v %v", brk, err)
	}
}

// TestWarmOpensConnections: Warm leaves n checked connections idle in the
// pool, so the first requests after a start do not connect.
func TestWarmOpensConnections(t *testing.T) {
	_, dsn := storetest.New(t)
	st, err := store.Open(dsn, store.Options{MaxOpenConns: 8, MaxIdleConns: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Warm(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	if s := st.SQL().Stats(); s.OpenConnections != 5 || s.Idle != 5 {
		t.Fatalf("after warming 5: open %d idle %d", s.OpenConnections, s.Idle)
	}
}
