package api

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"inspectonce/configs"
)

// Rate limits (http.rate_limits): one token bucket per client and class, in
// this process's memory. Anonymous routes are keyed by the client address
// (clientKey), token-authenticated writes by the token. Each replica counts
// on its own, so N replicas allow up to N times the configured rates; a
// limiter shared through Redis could replace keyedLimiter if that matters.

// Limit classes, as http.rate_limits names them and the
// inspectonce_http_rate_limited_total metric labels them.
const (
	limitCodePage = "code_page"
	limitOpenData = "open_data"
	limitLogin    = "login"
	limitWrites   = "writes"
)

// keyedLimiter is a token bucket per key. The buckets live in an LRU cache
// of bounded size, so a flood of distinct keys costs bounded memory: the key
// seen least recently is dropped and starts again with a full bucket.
type keyedLimiter struct {
	limit   rate.Limit
	burst   int
	clients *lru.Cache[string, *rate.Limiter]
}

// newKeyedLimiter returns nil (no limit) when l is off.
func newKeyedLimiter(l configs.RateLimit, maxClients int) (*keyedLimiter, error) {
	if !l.Enabled() {
		return nil, nil
	}
	clients, err := lru.New[string, *rate.Limiter](max(maxClients, 1))
	if err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	return &keyedLimiter{limit: rate.Limit(l.Rate), burst: l.Burst, clients: clients}, nil
}

func (k *keyedLimiter) bucket(key string) *rate.Limiter {
	if b, ok := k.clients.Get(key); ok {
		return b
	}
	b := rate.NewLimiter(k.limit, k.burst)
	if prev, ok, _ := k.clients.PeekOrAdd(key, b); ok {
		return prev
	}
	return b
}

// take charges key one request at now. It answers 0 if the request may
// go ahead, else how long until it could (and charges nothing).
func (k *keyedLimiter) take(key string, now time.Time) time.Duration {
	r := k.bucket(key).ReserveN(now, 1)
	if !r.OK() {
		return time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// wait answers, charging nothing, how long until key may make a request: 0
// when it may now.
func (k *keyedLimiter) wait(key string, now time.Time) time.Duration {
	t := k.bucket(key).TokensAt(now)
	if t >= 1 {
		return 0
	}
	return time.Duration((1 - t) / float64(k.limit) * float64(time.Second))
}

// charge takes one request from key's bucket after the fact (a failed
// sign-in); an empty bucket stays empty.
func (k *keyedLimiter) charge(key string, now time.Time) { k.bucket(key).AllowN(now, 1) }

// rateLimits holds the limiter of each class; a nil limiter is off.
type rateLimits struct {
	codePage, openData, login, writes *keyedLimiter
}

func newRateLimits(cfg *configs.Config) (*rateLimits, error) {
	if cfg == nil {
		return &rateLimits{}, nil
	}
	rl := cfg.HTTP.RateLimits
	var out rateLimits
	var err error
	for _, x := range []struct {
		dst **keyedLimiter
		cfg configs.RateLimit
	}{{&out.codePage, rl.CodePage}, {&out.openData, rl.OpenData}, {&out.login, rl.Login}, {&out.writes, rl.Writes}} {
		if *x.dst, err = newKeyedLimiter(x.cfg, rl.MaxClients); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// ipExtractor is how c.RealIP() finds the client: the socket peer, unless
// http.trusted_proxies names proxies whose X-Forwarded-For is believed (then
// the nearest address in it that is not a trusted proxy). echo's default
// would believe X-Forwarded-For from anyone, so a forged header would get a
// fresh bucket per request.
func ipExtractor(cfg *configs.Config) (echo.IPExtractor, error) {
	if cfg == nil || len(cfg.HTTP.TrustedProxies) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range cfg.HTTP.TrustedProxies {
		n, err := configs.ParseTrustedProxy(p)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %w", err)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// clientKey is the bucket key of a client address: the address itself for
// IPv4, its /64 for IPv6 (one subscriber's prefix, within which it may pick
// any address).
func clientKey(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return "ip:" + ip
	case parsed.To4() != nil:
		return "ip:" + parsed.To4().String()
	}
	return "ip:" + parsed.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// anonymousClass is the limit of an anonymous route, by method and route
// pattern (prefixes, so that a new route under them is covered). chargeIf,
// when not nil, charges only answers whose status it accepts: failed
// sign-ins (an office behind one NAT signs in every morning), and QR images
// of codes this service did not sign (a roster shows one per stop).
func (s *Server) anonymousClass(method, route string) (lim *keyedLimiter, class string, chargeIf func(status int) bool) {
	switch {
	case route == "/v/:code/qr.png":
		return s.limits.codePage, limitCodePage, func(status int) bool { return status >= 400 }
	case strings.HasPrefix(route, "/v/"):
		return s.limits.codePage, limitCodePage, nil
	case strings.HasPrefix(route, "/api/v1/open-data/"), route == "/results", strings.HasPrefix(route, "/feeds/"):
		return s.limits.openData, limitOpenData, nil
	case method == http.MethodPost && route == "/login":
		return s.limits.login, limitLogin, func(status int) bool { return status == http.StatusUnauthorized }
	}
	return nil, "", nil
}

// limitAnonymous applies the per-address limits of the anonymous routes.
// It runs after routing (c.Path() is the route).
func (s *Server) limitAnonymous(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lim, class, chargeIf := s.anonymousClass(c.Request().Method, c.Path())
		if lim == nil {
			return next(c)
		}
		key, now := clientKey(c.RealIP()), time.Now()
		if chargeIf == nil {
			if d := lim.take(key, now); d > 0 {
				return s.tooManyRequests(c, class, d)
			}
			return next(c)
		}
		if d := lim.wait(key, now); d > 0 {
			return s.tooManyRequests(c, class, d)
		}
		if err := next(c); err != nil {
			c.Error(err)
		}
		if chargeIf(c.Response().Status) {
			lim.charge(key, time.Now())
		}
		return nil
	}
}

// limitWrites applies the per-token limit of POST, PUT and DELETE under
// /api/v1. It runs after authenticate and before auditRejected: a refused
// flood must not write an audit row per request.
func (s *Server) limitWrites(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if s.limits.writes == nil {
			return next(c)
		}
		key := "token:" + strconv.FormatInt(principal(c).TokenID, 10)
		if d := s.limits.writes.take(key, time.Now()); d > 0 {
			return s.tooManyRequests(c, limitWrites, d)
		}
		return next(c)
	}
}

// errTooManyRequests is a refusal by a rate limit; problemFor makes it a 429.
type errTooManyRequests struct {
	class      string
	retryAfter int
}

func (e *errTooManyRequests) Error() string {
	return fmt.Sprintf("too many requests (%s limit): retry after %d seconds", e.class, e.retryAfter)
}

// tooManyRequests answers 429 with Retry-After (whole seconds, at least 1):
// problem+json on the API and the feeds, a small page on the HTML routes.
func (s *Server) tooManyRequests(c echo.Context, class string, wait time.Duration) error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	s.metrics.limited.WithLabelValues(class).Inc()
	if route := c.Path(); s.pages != nil && !strings.HasPrefix(route, "/api/") && !strings.HasPrefix(route, "/feeds/") {
		return s.pages.TooManyRequests(c, secs)
	}
	return &errTooManyRequests{class: class, retryAfter: secs}
}
