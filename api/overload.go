package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"inspectonce/configs"
	"inspectonce/web"
)

// Concurrency limits (http.concurrency): each route class has a fixed number
// of slots in this process. A request takes one for as long as it runs; when
// its class is full it waits at most queue_wait (writes and bulk:
// write_queue_wait), then is refused with 503 and
// Retry-After at once. Past the knee, the requests served keep their latency
// and the rest are told to come back, instead of all of them queueing on the
// database pool until clients time out.

// Route classes, as http.concurrency names them and the metrics label them.
const (
	classPublic = "public"
	classReads  = "reads"
	classWrites = "writes"
	classBulk   = "bulk"
)

// slots is one class's limit: a buffered channel holding a token per request
// in flight.
type slots chan struct{}

// acquire takes a slot, waiting at most wait for one.
func (s slots) acquire(wait time.Duration) bool {
	select {
	case s <- struct{}{}:
		return true
	default:
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (s slots) release() { <-s }

// concurrencyLimits are the classes' slots; a nil class has no limit.
type concurrencyLimits struct {
	classes    map[string]slots
	wait       map[string]time.Duration
	retryAfter int
	inFlight   *prometheus.GaugeVec
	refused    *prometheus.CounterVec
}

func newConcurrencyLimits(cfg *configs.Config, reg prometheus.Registerer) *concurrencyLimits {
	l := &concurrencyLimits{classes: map[string]slots{}, retryAfter: 1,
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "inspectonce_http_in_flight", Help: "Requests being served, by route class (http.concurrency).",
		}, []string{"class"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inspectonce_http_overload_refused_total", Help: "Requests refused with 503 because their route class was at its concurrency limit (http.concurrency).",
		}, []string{"class"}),
	}
	reg.MustRegister(l.inFlight, l.refused)
	if cfg == nil {
		return l
	}
	cc := cfg.HTTP.Concurrency
	for class, n := range map[string]int{classPublic: cc.Public, classReads: cc.Reads, classWrites: cc.Writes, classBulk: cc.Bulk} {
		if n > 0 {
			l.classes[class] = make(slots, n)
		}
	}
	l.wait = map[string]time.Duration{classPublic: cc.QueueWait, classReads: cc.QueueWait,
		classWrites: cc.WriteQueueWait, classBulk: cc.WriteQueueWait}
	l.retryAfter = max(int(cc.RetryAfter/time.Second), 1)
	return l
}

// routeClass is the class of a request, by method and route pattern; ""
// for the probes, metrics and static files, which are never limited (a load
// balancer must still see a busy replica as alive).
func routeClass(r *http.Request, route string) string {
	switch {
	case route == "/healthz", route == "/readyz", route == "/metrics", strings.HasPrefix(route, "/static/"):
		return ""
	case strings.HasPrefix(route, "/api/v1/imports"), route == "/imports", strings.HasPrefix(route, "/imports/"),
		strings.HasSuffix(route, ".csv"), strings.HasSuffix(route, ".xlsx"), strings.HasSuffix(route, "/publish"),
		r.URL.Query().Get("format") == "xlsx", r.URL.Query().Get("format") == "csv":
		return classBulk
	case strings.HasPrefix(route, "/v/"), strings.HasPrefix(route, "/api/v1/open-data/"), route == "/results",
		strings.HasPrefix(route, "/feeds/"), route == "/login", route == "/api/v1/openapi.yaml":
		return classPublic
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return classReads
	}
	return classWrites
}

// errOverloaded is a refusal by a concurrency limit; problemFor makes it a
// 503 whose detail is already in the reader's language.
type errOverloaded struct {
	class  string
	detail string
}

func (e *errOverloaded) Error() string {
	return fmt.Sprintf("overloaded: the %s class is at its concurrency limit", e.class)
}

// limitConcurrency holds a slot of the request's class while the request
// runs, or refuses it at once. It runs after routing and before
// authentication, so a refusal costs no database work.
func (s *Server) limitConcurrency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		class := routeClass(c.Request(), c.Path())
		sl := s.conc.classes[class]
		if sl == nil {
			return next(c)
		}
		if !sl.acquire(s.conc.wait[class]) {
			return s.overloaded(c, class)
		}
		g := s.conc.inFlight.WithLabelValues(class)
		g.Inc()
		defer func() {
			g.Dec()
			sl.release()
		}()
		return next(c)
	}
}

// overloaded answers 503 with Retry-After: problem+json on the API and the
// feeds, a small page on the HTML routes, in the reader's language.
func (s *Server) overloaded(c echo.Context, class string) error {
	secs := s.conc.retryAfter
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	s.conc.refused.WithLabelValues(class).Inc()
	if route := c.Path(); s.pages != nil && !strings.HasPrefix(route, "/api/") && !strings.HasPrefix(route, "/feeds/") &&
		!strings.HasPrefix(route, "/inspect/") {
		return s.pages.Overloaded(c, secs)
	}
	lang := web.RequestLang(c.Request())
	c.Response().Header().Add("Vary", "Accept-Language")
	return &errOverloaded{class: class, detail: lang.T("overload.detail", lang.T("overload.class."+class), secs)}
}
