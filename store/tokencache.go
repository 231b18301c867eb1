package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
)

// Token cache. Every API request names a token; looking each one up in
// PostgreSQL cost a round trip per request (issue 20). A replica therefore
// keeps the principals of the tokens it has checked, by the token's SHA-256,
// for at most DefaultTokenCacheTTL, and forgets them all:
//
//   - at once on the replica that revokes a token (RevokeToken);
//   - within milliseconds on every other replica: a trigger on api_tokens
//     (migration 00026) sends NOTIFY api_token_revoked when a token is
//     revoked, deleted or has its hash, role or scope changed, whatever the
//     path, and each replica LISTENs on a connection of its own;
//   - when that connection breaks or (re)connects, since a notification may
//     have been missed.
//
// So a revoked token is refused everywhere within the notification's delay,
// and never later than the TTL after the revocation even while a replica's
// listener is down. Tokens have no expiry of their own (api_tokens has no
// such column); a cached entry's own deadline is checked on every hit.
// Refusals are not cached: a token created on another replica works there
// at once.

// DefaultTokenCacheTTL is how long a replica trusts a token it has checked
// without asking PostgreSQL again: the bound on a revocation's delay when
// the replica's notification listener is down.
const DefaultTokenCacheTTL = 5 * time.Second

// maxCachedTokens bounds the cache's memory: past it, an arbitrary entry
// makes room (tokens are few; a flood of distinct valid tokens is not a
// real load).
const maxCachedTokens = 10000

// tokenRevokedChannel is the NOTIFY channel of migration 00026.
const tokenRevokedChannel = "api_token_revoked"

type tokenEntry struct {
	p        domain.Principal
	deadline time.Time
}

// tokenCache maps token hashes to principals. gen counts the purges, so a
// lookup that raced with a revocation (read the row before the revocation
// committed, stores after the purge) does not store its stale answer.
type tokenCache struct {
	mu  sync.Mutex
	m   map[[32]byte]tokenEntry
	gen uint64
	ttl time.Duration
	now func() time.Time

	// listening is true while the listener's LISTEN is in effect.
	listening atomic.Bool

	// The listener's lifetime: started by the first lookup, ended by Close.
	start  sync.Once
	cancel context.CancelFunc
	done   chan struct{}
}

func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl <= 0 {
		ttl = DefaultTokenCacheTTL
	}
	return &tokenCache{m: map[[32]byte]tokenEntry{}, ttl: ttl, now: time.Now}
}

// get returns the cached principal of hash if its entry is still live, and
// the generation to pass to put when it is not.
func (c *tokenCache) get(hash [32]byte) (domain.Principal, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if ok && c.now().Before(e.deadline) {
		return e.p, c.gen, true
	}
	if ok {
		delete(c.m, hash)
	}
	return domain.Principal{}, c.gen, false
}

// put caches p under hash unless a purge happened since gen was read.
func (c *tokenCache) put(hash [32]byte, p domain.Principal, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedTokens {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[hash] = tokenEntry{p: p, deadline: c.now().Add(c.ttl)}
}

// purge forgets every cached token.
func (c *tokenCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// startListener starts, once, the goroutine that purges the cache on every
// notification of a revoked token. It needs the database URL; without one
// (a Store not opened by URL) only the TTL bounds a revocation's delay.
func (c *tokenCache) startListener(url string) {
	c.start.Do(func() {
		if url == "" {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		c.cancel, c.done = cancel, make(chan struct{})
		go c.listen(ctx, url)
	})
}

// stop ends the listener, if it runs, and waits for it.
func (c *tokenCache) stop() {
	c.start.Do(func() {}) // no listener may start after Close
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
}

// listen keeps a LISTEN connection up until ctx ends, reconnecting with a
// growing pause (at most the TTL: the cache is bounded by it meanwhile).
func (c *tokenCache) listen(ctx context.Context, url string) {
	defer close(c.done)
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		listened, err := c.listenOnce(ctx, url)
		c.purge()
		if listened {
			pause = 100 * time.Millisecond
		}
		if ctx.Err() != nil {
			return
		}
		slog.Warn("token revocation listener lost its connection; cached tokens live at most their TTL meanwhile",
			"err", err, "retry_in", pause, "ttl", c.ttl)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, c.ttl)
	}
}

// listenOnce listens on one connection until it fails; listened says LISTEN
// took effect.
func (c *tokenCache) listenOnce(ctx context.Context, url string) (listened bool, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+tokenRevokedChannel); err != nil {
		return false, err
	}
	// Whatever was cached before LISTEN took effect may have missed a
	// revocation.
	c.purge()
	c.listening.Store(true)
	defer c.listening.Store(false)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return true, nil
			}
			return true, err
		}
		c.purge()
	}
}
