package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
	"inspectonce/visitcode"
)

func TestVisitCodeValidScanRecorded(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	if err := st.ExecForTest(ctx, `UPDATE items SET legal_basis = '《食品安全法》第八十七条' WHERE code = 'SCJG-01'`); err != nil {
		t.Fatal(err)
	}
	c, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Generation != 0 || c.PlanID != p.ID || c.VisitSeq != 1 {
		t.Fatalf("code %+v", c)
	}
	// Another replica on the same database signs with the same key.
	other, err := store.Open(dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if c2, err := other.VisitCode(ctx, p.ID, 1); err != nil || c2.Code != c.Code {
		t.Fatalf("second store's code %q, %v; want %q", c2.Code, err, c.Code)
	}

	got, err := st.VerifyVisitCode(ctx, c.Code, "Mozilla/5.0 (iPhone) MicroMessenger")
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != store.CodeValid || got.Visit == nil {
		t.Fatalf("outcome %+v", got)
	}
	v := got.Visit
	if v.Date != "2026-03-03" || v.USCC != f.biz[0] || v.BusinessName != "店0" || v.TeamName != "队" {
		t.Errorf("visit %+v", v)
	}
	if strings.Join(v.Departments, ",") != "市场监管,消防" {
		t.Errorf("departments %v", v.Departments)
	}
	if len(v.Items) != 2 || v.Items[0].LegalBasis != "《食品安全法》第八十七条" || v.Items[0].Department != "市场监管" {
		t.Errorf("items %+v", v.Items)
	}
	// handPlan lists inspectors[1] first: the lead.
	if len(v.Inspectors) != 2 || v.Inspectors[0].Name != "人1" || v.Inspectors[0].CertNo != "I1" ||
		v.Inspectors[0].Role != "lead" || v.Inspectors[1].CertNo != "I0" {
		t.Errorf("inspectors %+v", v.Inspectors)
	}
	scans, err := st.VisitCodeScans(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 1 || scans[0].Outcome != store.CodeValid || scans[0].UserAgent != "Mozilla/5.0 (iPhone) MicroMessenger" ||
		scans[0].Generation != 0 {
		t.Fatalf("scans %+v", scans)
	}

	// After a move the code shows the effective date.
	if _, err := st.MoveVisit(ctx, "admin", p.ID, 1, day("2026-03-10"), "业户停业装修", store.MoveRules{Today: day("2026-03-02")}); err != nil {
		t.Fatal(err)
	}
	got, err = st.VerifyVisitCode(ctx, c.Code, "")
	if err != nil || got.Outcome != store.CodeValid || got.Visit.Date != "2026-03-10" || got.Visit.OriginalDate != "2026-03-03" {
		t.Fatalf("after move: %+v %v", got.Visit, err)
	}
}

func TestVisitCodeRevoke(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	old, err := st.VisitCode(ctx, p.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"", "   ", strings.Repeat("理", 1001)} {
		_, err := st.RevokeVisitCode(ctx, "admin", p.ID, 2, reason)
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Field != "reason" {
			t.Errorf("reason %.10q: %v, want a validation error on reason", reason, err)
		}
	}
	if n := countRows(t, st, "visit_code_revocations"); n != 0 {
		t.Fatalf("refused revocations wrote %d rows", n)
	}
	if _, err := st.RevokeVisitCode(ctx, "admin", p.ID, 99, "lost"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown visit: %v", err)
	}
	r, err := st.RevokeVisitCode(ctx, "admin", p.ID, 2, "  告知书遗失  ")
	if err != nil {
		t.Fatal(err)
	}
	if r.Generation != 0 || r.Reason != "告知书遗失" || r.Current.Generation != 1 || r.Current.Code == old.Code {
		t.Fatalf("revocation %+v", r)
	}
	cur, err := st.VisitCode(ctx, p.ID, 2)
	if err != nil || cur.Code != r.Current.Code {
		t.Fatalf("current code %+v %v, want %q", cur, err, r.Current.Code)
	}
	got, err := st.VerifyVisitCode(ctx, old.Code, "ua")
	if err != nil || got.Outcome != store.CodeRevoked || got.Visit != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(r.RevokedAt) {
		t.Fatalf("old code: %+v %v", got, err)
	}
	got, err = st.VerifyVisitCode(ctx, cur.Code, "ua")
	if err != nil || got.Outcome != store.CodeValid || got.Visit == nil || got.Visit.VisitSeq != 2 {
		t.Fatalf("new code: %+v %v", got, err)
	}
	// A second revocation moves on again; the first new code is now revoked.
	r2, err := st.RevokeVisitCode(ctx, "admin", p.ID, 2, "再次遗失")
	if err != nil || r2.Generation != 1 || r2.Current.Generation != 2 {
		t.Fatalf("second revocation %+v %v", r2, err)
	}
	if got, _ := st.VerifyVisitCode(ctx, cur.Code, ""); got.Outcome != store.CodeRevoked {
		t.Errorf("generation 1 after second revocation: %s", got.Outcome)
	}
	entries, err := st.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "visit_code.revoke" && e.Actor == "admin" && strings.HasSuffix(e.Object, "/visit/2") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d visit_code.revoke audit entries, want 2", n)
	}
	scans, _ := st.VisitCodeScans(ctx, p.ID, 2)
	if len(scans) != 3 || scans[0].Outcome != store.CodeRevoked || scans[1].Outcome != store.CodeValid {
		t.Errorf("scans %+v", scans)
	}
}

func TestVisitCodeUnknownAndTampered(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	good, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(good.Code)
	if tampered[5] == 'Q' {
		tampered[5] = 'R'
	} else {
		tampered[5] = 'Q'
	}
	foreign, err := visitcode.Sign(bytes.Repeat([]byte{7}, visitcode.KeySize), visitcode.Code{PlanID: p.ID, VisitSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := countRows(t, st, "visit_code_scans")
	counted := unknownScans(t, st)
	bad := []string{string(tampered), foreign, "", "not-a-code", strings.Repeat("A", 5000), strings.ToLower(good.Code)}
	for _, text := range bad {
		got, err := st.VerifyVisitCode(ctx, text, "bad\x00agent\xff"+strings.Repeat("x", 900))
		if err != nil {
			t.Fatalf("%.20q: %v", text, err)
		}
		if got.Outcome != store.CodeUnknown || got.Visit != nil || got.RevokedAt != nil {
			t.Errorf("%.20q: %+v, want unknown and nothing else", text, got)
		}
	}
	// Codes this service did not sign are counted, not kept one row each:
	// anyone can make them up. Scans are written in batches: write them now.
	if err := st.FlushScans(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, st, "visit_code_scans"); n != before {
		t.Errorf("%d scan rows for codes this service did not sign, want none", n-before)
	}
	if n := unknownScans(t, st); n != counted+int64(len(bad)) {
		t.Errorf("%d unsigned scans counted, want %d", n-counted, len(bad))
	}
	hours, err := st.UnknownCodeScans(ctx, time.Now().Add(-2*time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, h := range hours {
		sum += h.Scans
		if h.Hour.Minute() != 0 || h.Hour.Second() != 0 || time.Since(h.Hour) > 2*time.Hour || time.Since(h.LastAt) > time.Minute {
			t.Errorf("hourly count %+v: not an hour's start, or not recent", h)
		}
	}
	if len(hours) == 0 || len(hours) > 2 || sum != int64(len(bad)) {
		t.Errorf("hourly counts %+v, want %d scans in this hour (or the last)", hours, len(bad))
	}
	// Signed by this store but naming no visit: unknown too, recorded with
	// what it named (only this service can make such a code).
	if _, err := st.VisitCode(ctx, p.ID, 42); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("VisitCode of an unknown visit: %v", err)
	}
	var key []byte
	if err := st.SQL().QueryRow(`SELECT key FROM signing_keys WHERE purpose = 'visit_code'`).Scan(&key); err != nil {
		t.Fatal(err)
	}
	ghost, err := visitcode.Sign(key, visitcode.Code{PlanID: p.ID, VisitSeq: 42})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.VerifyVisitCode(ctx, ghost, "x"); err != nil || got.Outcome != store.CodeUnknown {
		t.Fatalf("signed code of no visit: %+v %v", got, err)
	}
	if scans, err := st.VisitCodeScans(ctx, p.ID, 42); err != nil || len(scans) != 1 || scans[0].Outcome != store.CodeUnknown {
		t.Errorf("scans of the signed code of no visit: %+v %v", scans, err)
	}
}

func TestVisitCodeDraftNotPublished(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newPlanFixture(t, st)
	if _, err := st.YearKey(ctx, "tester", 2026); err != nil {
		t.Fatal(err)
	}
	p, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, p.ID, handPlan(f)); err != nil {
		t.Fatal(err)
	}
	c, err := st.VisitCode(ctx, p.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.VerifyVisitCode(ctx, c.Code, "")
	if err != nil || got.Outcome != store.CodeNotPublished || got.Visit != nil {
		t.Fatalf("draft: %+v %v", got, err)
	}
	if _, err := st.RevokeVisitCode(ctx, "admin", p.ID, 1, "lost"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("revoking a draft's code: %v, want ErrNotFound", err)
	}
	if _, err := st.DiscardPlan(ctx, "admin", p.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.VerifyVisitCode(ctx, c.Code, ""); got.Outcome != store.CodeNotPublished {
		t.Errorf("discarded: %s", got.Outcome)
	}
	scans, _ := st.VisitCodeScans(ctx, p.ID, 1)
	if len(scans) != 2 || scans[0].Outcome != store.CodeNotPublished {
		t.Errorf("scans %+v", scans)
	}
}

// unknownScans is the number of scans of unsigned codes counted so far.
func unknownScans(t testing.TB, st *store.Store) int64 {
	t.Helper()
	if err := st.FlushScans(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := st.SQL().QueryRow(`SELECT coalesce(sum(scans), 0) FROM visit_code_unknown_scans`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUnknownScanMigration: the scans of unsigned codes recorded one row each
// before migration 00012 become hourly counts, and the rows go.
func TestUnknownScanMigration(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	m, err := store.NewMigrator(st.SQL())
	if err != nil {
		t.Fatal(err)
	}
	// Down to the schema before the counts (whatever came after it).
	for {
		var exists bool
		if err := st.SQL().QueryRow(`SELECT to_regclass('visit_code_unknown_scans') IS NOT NULL`).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			break
		}
		if err := m.Down(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ExecForTest(ctx, fmt.Sprintf(`INSERT INTO visit_code_scans (plan_id, visit_seq, generation, outcome, scanned_at) VALUES
		(NULL, NULL, NULL, 'unknown', '2026-03-02T01:10:00Z'), (NULL, NULL, NULL, 'unknown', '2026-03-02T01:50:00Z'),
		(NULL, NULL, NULL, 'unknown', '2026-03-02T02:05:00Z'), (%d, 1, 0, 'valid', '2026-03-02T01:20:00Z')`, p.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	hours, err := st.UnknownCodeScans(ctx, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 2 || !hours[0].Hour.Equal(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)) || hours[0].Scans != 2 ||
		!hours[0].LastAt.Equal(time.Date(2026, 3, 2, 1, 50, 0, 0, time.UTC)) || hours[1].Scans != 1 {
		t.Errorf("hourly counts %+v, want 2 at 01:00 and 1 at 02:00", hours)
	}
	if n := countRows(t, st, "visit_code_scans"); n != 1 {
		t.Errorf("%d scan rows left, want the signed one", n)
	}
}
