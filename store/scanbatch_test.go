package store_test

import (
	"context"
	"testing"
	"time"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestScanOffRequest: the /v/ check does not write its scan on the request.
// While another transaction holds visit_code_scans locked against writes,
// checks of a valid code and of a made-up one still answer at once; their
// scans are written once the lock is gone, with the user agent and the
// time of the check.
func TestScanOffRequest(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	c, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := unknownScans(t, st)
	conn, err := st.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE visit_code_scans, visit_code_unknown_scans IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, code := range []string{c.Code, "made-up"} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := st.VerifyVisitCode(cctx, code, "agent/1")
		cancel()
		if err != nil {
			t.Errorf("check of %q while the scans are locked: %v; want an answer without waiting for the write", code, err)
		}
	}
	checked := time.Now()
	t.Logf("two checks in %v with the scan tables locked", checked.Sub(start))
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	scans, err := st.VisitCodeScans(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 1 || scans[0].Outcome != store.CodeValid || scans[0].UserAgent != "agent/1" ||
		scans[0].ScannedAt.Before(start.Add(-time.Second)) || scans[0].ScannedAt.After(checked.Add(time.Second)) {
		t.Errorf("scans %+v, want the one valid scan at the time of the check", scans)
	}
	if n := unknownScans(t, st); n != before+1 {
		t.Errorf("%d made-up scans counted, want 1", n-before)
	}
}

// TestScansWrittenAtClose: a replica that closes writes the scans it still
// buffers.
func TestScansWrittenAtClose(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	c, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(dsn, store.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for range n {
		if _, err := other.VerifyVisitCode(ctx, c.Code, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if s := other.ScanStats(); s.Recorded != n || s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("stats %+v, want %d recorded", s, n)
	}
	scans, err := st.VisitCodeScans(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != n {
		t.Errorf("%d scans written, want %d", len(scans), n)
	}
}

// TestScanBufferFull: when the buffer is full (here: a buffer of 2 that
// nothing drains), a check still answers, and its scan is counted as
// dropped instead of waited for.
func TestScanBufferFull(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	store.StallScans(st, 2)
	for range 5 {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := st.VerifyVisitCode(cctx, "made-up", "")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := st.ScanStats(); s.Dropped != 3 {
		t.Errorf("stats %+v, want 3 dropped", s)
	}
}
