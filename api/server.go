// Package api is InspectOnce's HTTP layer (echo): it decodes, authorises,
// validates, calls the store and encodes. It holds no SQL.
package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
	"inspectonce/web"
)

// Pinger answers whether a dependency is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server holds what the handlers need.
type Server struct {
	store    *store.Store
	redis    Pinger
	cfg      *configs.Config
	cal      *calendar.Calendar
	log      *slog.Logger
	now      func() time.Time
	registry *prometheus.Registry
	metrics  *httpMetrics
	plans    *planning.Service
	enqueue  func(ctx context.Context, planID int64) error
	failures DispatchFailures
	// queues and queueNames serve the admin queue view.
	queues     QueueInspector
	queueNames []string
	// limits are the per-client rate limits; pages renders their 429 page
	// on the HTML routes.
	limits *rateLimits
	pages  *web.Pages
	// conc are the per-class concurrency limits (http.concurrency).
	conc *concurrencyLimits
}

// Options configure New.
type Options struct {
	Store    *store.Store
	Redis    Pinger
	Config   *configs.Config
	Calendar *calendar.Calendar
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Registry receives the HTTP metrics; nil makes a new one with the Go
	// runtime collectors.
	Registry *prometheus.Registry
	// Planning runs plans; nil builds one on Store, Config, Calendar and Now.
	Planning *planning.Service
	// Enqueue hands a plan that POST /api/v1/plans started to whatever carries
	// it out: the worker pool (jobs.EnqueuePlanRun). nil runs it in a goroutine
	// of this process.
	Enqueue func(ctx context.Context, planID int64) error
	// DispatchFailures counts a plan's archived dispatch tasks for GET
	// /api/v1/plans/{id}/dispatch; nil reports them unknown.
	DispatchFailures DispatchFailures
	// Queues inspects the job queues for the admin queue view
	// (/api/v1/admin/queues): an *asynq.Inspector. nil makes those routes
	// answer 500.
	Queues QueueInspector
	// QueueNames are the configured queues (jobs.QueueNames()), listed even
	// before they hold a task.
	QueueNames []string
}

// New builds the echo application with every route.
func New(o Options) *echo.Echo {
	s := &Server{store: o.Store, redis: o.Redis, cfg: o.Config, cal: o.Calendar, log: o.Logger, now: o.Now, registry: o.Registry}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	s.metrics = newHTTPMetrics(s.registry)
	s.conc = newConcurrencyLimits(o.Config, s.registry)
	registerStoreMetrics(s.registry, o.Store, s.log)
	s.plans, s.enqueue, s.failures = o.Planning, o.Enqueue, o.DispatchFailures
	s.queues, s.queueNames = o.Queues, o.QueueNames
	if s.plans == nil && o.Store != nil {
		svc, err := planning.New(planning.Options{Store: o.Store, Config: o.Config, Calendar: o.Calendar, Now: o.Now})
		if err != nil {
			s.log.Error("plans cannot be run: the planning service could not be built", "err", err)
		}
		s.plans = svc
	}
	if s.enqueue == nil {
		s.enqueue = s.runInProcess
	}

	limits, err := newRateLimits(o.Config)
	if err != nil {
		s.log.Error("rate limits are off: they could not be built", "err", err)
		limits = &rateLimits{}
	}
	s.limits = limits

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if e.IPExtractor, err = ipExtractor(o.Config); err != nil {
		s.log.Error("http.trusted_proxies ignored: clients are keyed by their socket address", "err", err)
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.HTTPErrorHandler = s.handleError
	e.Binder = strictBinder{}
	e.Use(middleware.RequestID())
	e.Use(s.securityHeaders)
	e.Use(s.requestLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.Error("panic in handler", "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(s.metrics.middleware)
	e.Use(s.limitConcurrency)
	e.Use(s.limitAnonymous)
	e.Use(cleanParams)
	e.Use(s.requestDeadline)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	// With http.metrics_addr set, the metrics have a listener of their own
	// (cmd/inspectonce) and this one has none.
	if s.cfg.HTTP.MetricsAddr == "" {
		e.GET("/metrics", s.serveMetrics(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})), s.authenticate)
	}

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.yaml", serveOpenAPI)
	api := v1.Group("", middleware.BodyLimit(strconv.FormatInt(s.cfg.HTTP.BodyLimitBytes, 10)+"B"), s.authenticate, s.limitWrites, s.auditRejected)
	s.routes(api)
	// Published results (一公开): the open-data export needs no token.
	s.publicationRoutes(v1, api)
	// The draws of published plans (一公开): rules, commitments, and each
	// draw's records once it has closed. No token either.
	s.openDrawRoutes(v1)
	// Frame commitments and the value that fixes the draws (witness.go).
	s.witnessRoutes(api, v1)
	// Calendar feeds: no bearer token (calendar apps cannot send one); the
	// secret in the path is the credential.
	e.GET("/feeds/:file", s.getFeed, redactFeedSecret)
	imports := v1.Group("/imports", middleware.BodyLimit(strconv.FormatInt(s.cfg.HTTP.ImportLimitBytes, 10)+"B"), s.authenticate, s.limitWrites, s.auditRejected)
	imports.POST("/businesses", s.importBusinesses)
	imports.POST("/inspectors", s.importInspectors)
	imports.POST("/unavailability", s.importUnavailability)
	imports.POST("/closures", s.importClosures)

	s.pages = web.Register(e, web.Options{Store: o.Store, Config: o.Config, Calendar: o.Calendar, Logger: s.log, Now: s.now,
		Queues: o.Queues, QueueNames: o.QueueNames, Planning: s.plans,
		StartPlan: s.startPlan, EnterRandomness: s.enterRandomnessAndRun})
	s.pages.SetDemandIntake(s)
	// Every cookie-authenticated write (and the login form) must come from
	// this site; one check for every route, added after the routes is still
	// run before each of them.
	e.Use(s.pages.CheckOrigin)
	return e
}

// securityHeaders gives every answer (API, pages, static files, feeds) the
// headers no answer should go without, and makes every answer to a
// signed-in caller (bearer token or session) uncacheable. A handler may
// still set a stricter Referrer-Policy (the visit-code page and the feeds
// say no-referrer: their URLs are credentials).
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		// Decided when the answer is written: by then authentication has
		// run, and this overrides any caching the handler allowed.
		c.Response().Before(func() {
			if _, ok := c.Get(principalKey).(domain.Principal); ok || web.SignedIn(c) {
				h.Set(echo.HeaderCacheControl, "no-store")
			}
		})
		return next(c)
	}
}

func (s *Server) routes(g *echo.Group) {
	g.GET("/me", s.me)

	g.GET("/departments", s.listDepartments)
	g.POST("/departments", s.createDepartment)
	g.GET("/departments/:id", s.getDepartment)
	g.PUT("/departments/:id", s.updateDepartment)

	g.GET("/items", s.listItems)
	g.POST("/items", s.createItem)
	g.GET("/items/:id", s.getItem)
	g.PUT("/items/:id", s.updateItem)

	g.GET("/scenarios", s.listScenarios)
	g.POST("/scenarios", s.createScenario)
	g.GET("/scenarios/:id", s.getScenario)
	g.PUT("/scenarios/:id", s.updateScenario)

	g.GET("/regions", s.listRegions)
	g.POST("/regions", s.createRegion)
	g.GET("/regions/:id", s.getRegion)
	g.PUT("/regions/:id", s.updateRegion)

	g.GET("/teams", s.listTeams)
	g.POST("/teams", s.createTeam)
	g.GET("/teams/:id", s.getTeam)
	g.PUT("/teams/:id", s.updateTeam)
	g.GET("/teams/:id/rosters/:date", s.getRoster)
	g.POST("/teams/:id/feed", s.rotateTeamFeed)

	g.GET("/inspectors", s.listInspectors)
	g.POST("/inspectors", s.createInspector)
	g.GET("/inspectors/:id", s.getInspector)
	g.PUT("/inspectors/:id", s.updateInspector)
	g.POST("/inspectors/:id/feed", s.rotateInspectorFeed)
	g.GET("/inspectors/:id/visits", s.listInspectorVisits)
	g.GET("/inspectors/:id/unavailability", s.listUnavailability)
	g.POST("/inspectors/:id/unavailability", s.createUnavailability)
	g.DELETE("/inspectors/:id/unavailability/:uid", s.deleteUnavailability)

	g.GET("/closures", s.listClosures)
	g.POST("/closures", s.createClosure)
	g.DELETE("/closures/:id", s.deleteClosure)
	g.GET("/repairs", s.listRepairs)
	g.GET("/repairs/:id", s.getRepair)
	g.GET("/repairs/:id/problems", s.listRepairProblems)
	g.GET("/repairs/:id/verify", s.verifyRepair)
	g.POST("/repairs/:id/restore", s.restoreRepair)
	g.GET("/repair-problems", s.listRepairProblems)

	g.GET("/businesses", s.listBusinesses)
	g.POST("/businesses", s.createBusiness)
	g.GET("/businesses/:uscc", s.getBusiness)
	g.PUT("/businesses/:uscc", s.updateBusiness)
	g.GET("/businesses/:uscc/risk-history", s.getRiskHistory)
	g.GET("/businesses/:uscc/schedule", s.getBusinessSchedule)
	g.POST("/businesses/:uscc/feed", s.rotateBusinessFeed)

	g.GET("/imports/:id", s.getImport)

	g.GET("/demands", s.listDemands)
	g.GET("/demands/population", s.demandPopulation)
	g.POST("/demands", s.submitDemand)
	g.GET("/demands/:id", s.getDemand)
	g.POST("/demands/:id/cancel", s.cancelDemand)
	g.POST("/demands/:id/place-now", s.placeDemandNow)

	g.GET("/webhooks", s.listWebhooks)
	g.POST("/webhooks", s.createWebhook)
	g.PUT("/webhooks/:id/active", s.setWebhookActive)

	g.POST("/tokens", s.createToken)
	g.DELETE("/tokens/:id", s.revokeToken)

	g.GET("/plans", s.listPlans)
	g.POST("/plans", s.createPlan)
	g.GET("/plans/:id", s.getPlan)
	g.GET("/plans/:id/visits", s.listPlanVisits)
	g.GET("/plans/:id/unplaced", s.listPlanUnplaced)
	g.GET("/plans/:id/joins", s.listPlanJoins)
	g.GET("/plans/:id/draws", s.listPlanDraws)
	g.POST("/plans/:id/publish", s.publishPlan)
	g.GET("/plans/:id/approvals", s.getPlanApprovals)
	g.POST("/plans/:id/approvals", s.recordPlanApproval)
	g.POST("/plans/:id/discard", s.discardPlan)
	g.GET("/plans/:id/dispatch", s.getPlanDispatch)
	g.POST("/plans/:id/visits/:seq/move", s.moveVisit)
	g.GET("/plans/:id/visits/:seq/door", s.getDoorVisit)
	g.POST("/plans/:id/visits/:seq/check-ins", s.recordCheckIn)
	g.PUT("/plans/:id/visits/:seq/tasks/:task/result", s.recordResult)
	g.POST("/plans/:id/visits/:seq/confirm", s.confirmVisit)
	g.GET("/plans/:id/visits/:seq/code", s.getVisitCode)
	g.POST("/plans/:id/visits/:seq/code/revoke", s.revokeVisitCode)

	g.GET("/notifications", s.listNotifications)

	g.GET("/audit", s.listAudit)
	g.GET("/audit/verify", s.verifyAudit)

	g.GET("/admin/queues", s.listQueues)
	g.GET("/admin/queues/:queue/archived", s.listArchivedTasks)
	g.POST("/admin/queues/:queue/archived/:task_id/retry", s.retryArchivedTask)
	g.DELETE("/admin/queues/:queue/archived/:task_id", s.deleteArchivedTask)
}

// serveMetrics answers GET /metrics on the main listener: admin tokens only,
// since the metrics name routes, queues and volumes.
func (s *Server) serveMetrics(h http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := allow(c, "read metrics", adminOnly...); err != nil {
			return err
		}
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is false while Postgres or Redis is unreachable, so a load balancer
// stops sending requests that could not be served.
func (s *Server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		checks["postgres"], status = err.Error(), http.StatusServiceUnavailable
	}
	if s.redis == nil {
		checks["redis"], status = "not configured", http.StatusServiceUnavailable
	} else if err := s.redis.Ping(ctx); err != nil {
		checks["redis"], status = err.Error(), http.StatusServiceUnavailable
	}
	return c.JSON(status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
}

func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		lvl := slog.LevelInfo
		if c.Response().Status >= 500 {
			lvl = slog.LevelError
		}
		s.log.Log(c.Request().Context(), lvl, "request",
			"method", c.Request().Method, "path", c.Request().URL.Path, "route", c.Path(),
			"status", c.Response().Status, "bytes", c.Response().Size,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limited  *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inspectonce_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inspectonce_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inspectonce_http_rate_limited_total", Help: "Requests refused with 429 by a rate limit (http.rate_limits), by class.",
		}, []string{"class"}),
	}
	reg.MustRegister(m.requests, m.duration, m.limited)
	return m
}

func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
		m.duration.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
		return nil
	}
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// requestDeadline bounds how long a request may wait (http.request_timeout).
// A PostgreSQL that refuses connections answers at once, but one that hangs
// (stopped, a half-open network) would hold every request, and the pool with
// it, forever; with a deadline the store's query is cancelled and the answer
// is 503 with Retry-After like any outage. Bulk imports and the open-data CSV
// stream the whole of a long file, and publishing a plan writes all its
// visits in one transaction, so these keep only the server's write timeout.
func (s *Server) requestDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		d := s.cfg.HTTP.RequestTimeout
		path := c.Request().URL.Path
		if d <= 0 || strings.HasPrefix(path, "/api/v1/imports") || path == "/imports" || path == "/api/v1/open-data/results.csv" ||
			strings.HasSuffix(path, "/publish") {
			return next(c)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), d)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}
