package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// fakeClock is a settable clock for the token cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestTokenCacheTTL: a checked token is served from memory until its entry's
// deadline (DefaultTokenCacheTTL after the check), then read again. The
// token's name is changed behind the store's back (no revocation, so no
// notification): the cached answer shows until the TTL is over, and not a
// moment longer.
func TestTokenCacheTTL(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	clock := &fakeClock{t: time.Now()}
	store.SetTokenClock(st, clock.now)
	tok, id, err := st.CreateToken(ctx, "test", "alice", domain.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := st.Authenticate(ctx, tok); err != nil || p.Name != "alice" || p.TokenID != id {
		t.Fatalf("first check: %+v, %v", p, err)
	}
	// The listener forgets everything when its LISTEN takes effect: check
	// again after that.
	waitListening(t, st)
	if _, err := st.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.ExecForTest(ctx, fmt.Sprintf(`UPDATE api_tokens SET name = 'bob' WHERE id = %d`, id)); err != nil {
		t.Fatal(err)
	}
	clock.add(store.DefaultTokenCacheTTL - time.Millisecond)
	if p, err := st.Authenticate(ctx, tok); err != nil || p.Name != "alice" {
		t.Errorf("within the TTL: %+v, %v; want the cached principal (alice)", p, err)
	}
	clock.add(time.Millisecond)
	if p, err := st.Authenticate(ctx, tok); err != nil || p.Name != "bob" {
		t.Errorf("at the TTL: %+v, %v; want the stored principal (bob)", p, err)
	}
}

// TestTokenCacheNoNegatives: a refusal is not remembered, so a token that
// appears (created on another replica) works at once.
func TestTokenCacheNoNegatives(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	tok := store.TokenPrefix + "not-issued-yet-0123456789abcdefghijklmnopq"
	if _, err := st.Authenticate(ctx, tok); !errors.Is(err, domain.ErrUnauthenticated) {
		t.Fatalf("unknown token: %v, want ErrUnauthenticated", err)
	}
	h := sha256.Sum256([]byte(tok))
	if err := st.ExecForTest(ctx, fmt.Sprintf(`INSERT INTO api_tokens (name, role, scope, token_hash) VALUES ('new', 'admin', '', '\x%x')`, h[:])); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Authenticate(ctx, tok); err != nil || p.Name != "new" {
		t.Errorf("token created since the refusal: %+v, %v; want it accepted at once", p, err)
	}
}

// TestTokenRevocationReachesReplicas: a second Store on the same database
// (another replica) whose cache would trust a token for an hour refuses it
// within a second of its revocation, whether by RevokeToken on the first
// replica or by hand in SQL (the trigger's NOTIFY), also after its listener's
// connection was killed and came back. The replica that revokes refuses at
// once.
func TestTokenRevocationReachesReplicas(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	other, err := store.Open(dsn, store.Options{MaxOpenConns: 4, TokenCacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })

	waitListening := func() { t.Helper(); waitListening(t, other) }
	// refusedWithin polls the second replica until it refuses tok.
	refusedWithin := func(tok string, bound time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			_, err := other.Authenticate(ctx, tok)
			if errors.Is(err, domain.ErrUnauthenticated) {
				return time.Since(start)
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > bound {
				t.Fatalf("the second replica still accepts a revoked token after %v", bound)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	revokes := []struct {
		name   string
		revoke func(id int64) error
	}{
		{"RevokeToken", func(id int64) error { return st.RevokeToken(ctx, "test", id) }},
		{"SQL", func(id int64) error {
			return st.ExecForTest(ctx, fmt.Sprintf(`UPDATE api_tokens SET revoked_at = now() WHERE id = %d`, id))
		}},
		{"SQL delete", func(id int64) error {
			return st.ExecForTest(ctx, fmt.Sprintf(`DELETE FROM api_tokens WHERE id = %d`, id))
		}},
		{"after the listener reconnects", func(id int64) error {
			if err := st.ExecForTest(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN api_token_revoked%'`); err != nil {
				return err
			}
			deadline := time.Now().Add(10 * time.Second)
			for store.TokenListening(other) { // until it notices
				if time.Now().After(deadline) {
					return errors.New("the listener did not notice its connection was killed")
				}
				time.Sleep(5 * time.Millisecond)
			}
			waitListening()
			// Cached again on the new connection, then revoked.
			if _, err := other.Authenticate(ctx, tokenOf[id]); err != nil {
				return err
			}
			return st.RevokeToken(ctx, "test", id)
		}},
	}
	for _, r := range revokes {
		t.Run(r.name, func(t *testing.T) {
			tok, id, err := st.CreateToken(ctx, "test", r.name, domain.RoleAdmin, "")
			if err != nil {
				t.Fatal(err)
			}
			tokenOf[id] = tok
			if _, err := other.Authenticate(ctx, tok); err != nil {
				t.Fatal(err)
			}
			waitListening()
			if _, err := other.Authenticate(ctx, tok); err != nil { // cached now
				t.Fatal(err)
			}
			if _, err := st.Authenticate(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if err := r.revoke(id); err != nil {
				t.Fatal(err)
			}
			if r.name == "RevokeToken" {
				if _, err := st.Authenticate(ctx, tok); !errors.Is(err, domain.ErrUnauthenticated) {
					t.Errorf("the revoking replica: %v, want refused at once", err)
				}
			}
			d := refusedWithin(tok, time.Second)
			t.Logf("refused by the other replica %v after the revocation", d)
		})
	}
}

// tokenOf remembers the secrets of the tokens TestTokenRevocationReachesReplicas issues.
var tokenOf = map[int64]string{}

// waitListening waits until st's revocation listener is LISTENing.
func waitListening(t testing.TB, st *store.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !store.TokenListening(st) {
		if time.Now().After(deadline) {
			t.Fatal("the revocation listener never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
