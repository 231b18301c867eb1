package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestSessionLifecycle: a session resolves to its token's principal (a
// planner's department included) until a deadline, DeleteSession or the
// token's revocation; ids that are not sessions resolve to nothing;
// PurgeSessions removes only expired sessions.
func TestSessionLifecycle(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	d := &domain.Department{Code: "SCJG", Name: "市场监管"}
	if err := st.CreateDepartment(ctx, "test", d); err != nil {
		t.Fatal(err)
	}
	tok, tokID, err := st.CreateToken(ctx, "test", "alice", domain.RolePlanner, "SCJG")
	if err != nil {
		t.Fatal(err)
	}
	times := store.SessionTimes{Idle: time.Hour, Absolute: 4 * time.Hour}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	id, err := st.CreateSession(ctx, tokID, t0, times)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.SessionPrincipal(ctx, id, t0.Add(time.Minute), times.Idle)
	if err != nil || p.TokenID != tokID || p.Role != domain.RolePlanner || p.DepartmentID != d.ID {
		t.Fatalf("principal %+v, %v", p, err)
	}
	for _, bad := range []string{"", tok, id + "x", strings.Repeat("A", len(id)), "\x00" + id[1:]} {
		if _, err := st.SessionPrincipal(ctx, bad, t0, times.Idle); !errors.Is(err, domain.ErrUnauthenticated) {
			t.Errorf("SessionPrincipal(%q): %v, want ErrUnauthenticated", bad, err)
		}
	}

	// A sign-in at t0+90m purges the first session (idle since t0+1m).
	other, err := st.CreateSession(ctx, tokID, t0.Add(90*time.Minute), times)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := st.SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("sessions after the second sign-in: %d %v, want 1", n, err)
	}
	if _, err := st.SessionPrincipal(ctx, other, t0.Add(2*time.Hour), times.Idle); err != nil {
		t.Fatalf("live session: %v", err)
	}
	if n, err := st.PurgeSessions(ctx, t0.Add(2*time.Hour+30*time.Minute), times.Idle); err != nil || n != 0 {
		t.Fatalf("purge at +2h30m: %d %v, want 0 (seen at +2h)", n, err)
	}
	if n, err := st.PurgeSessions(ctx, t0.Add(3*time.Hour), times.Idle); err != nil || n != 1 {
		t.Fatalf("purge at +3h: %d %v, want 1", n, err)
	}
	other, _ = st.CreateSession(ctx, tokID, t0.Add(2*time.Hour), times)

	// Logout, then revocation.
	third, _ := st.CreateSession(ctx, tokID, t0.Add(2*time.Hour), times)
	if err := st.DeleteSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SessionPrincipal(ctx, other, t0.Add(2*time.Hour), times.Idle); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("deleted session: %v", err)
	}
	if err := st.RevokeToken(ctx, "test", tokID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SessionPrincipal(ctx, third, t0.Add(2*time.Hour), times.Idle); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("session of a revoked token: %v", err)
	}
	if _, err := st.CreateSession(ctx, tokID, t0, store.SessionTimes{}); err == nil {
		t.Fatal("a session without lifetimes was created")
	}
}
