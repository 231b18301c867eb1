package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"inspectonce/api"
	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/jobs"
	"inspectonce/planning"
	"inspectonce/scheduler"
	"inspectonce/store"
)

func openStore(cfg *configs.Config) (*store.Store, error) {
	return store.Open(cfg.Database.URL, store.Options{MaxOpenConns: cfg.Database.MaxOpenConns, MaxIdleConns: cfg.Database.MaxIdleConns})
}

// redisPinger adapts go-redis to the Ping(ctx) error shape readiness checks use.
type redisPinger struct{ c *redis.Client }

func (p redisPinger) Ping(ctx context.Context) error { return p.c.Ping(ctx).Err() }

// runService runs serve, worker, scheduler or all three until ctx ends.
func runService(ctx context.Context, cfg *configs.Config, log *slog.Logger, which string) error {
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ropt, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	qopt, err := asynq.ParseRedisURI(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		return err
	}
	if err := st.Ping(ctx); err != nil {
		log.Warn("postgres is not reachable yet; /readyz reports it until it is", "err", err)
	} else if err := st.Warm(ctx, cfg.Database.WarmConns); err != nil {
		log.Warn("the database pool could not be warmed; the first requests connect", "err", err)
	}

	// A stored draft's independent counterpart is a job of its own
	// (plan:compare), queued by whichever process ran the plan.
	compareQueue := asynq.NewClient(qopt)
	defer compareQueue.Close()
	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal,
		EnqueueComparison: func(ctx context.Context, planID int64) error {
			return jobs.EnqueuePlanCompare(ctx, compareQueue, planID)
		}})
	if err != nil {
		return err
	}

	// The process's metrics; the API serves them at /metrics (serve, all), a
	// worker-only process at worker.metrics_addr.
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var parts []func(context.Context) error
	// Every process runs the audit log's sequencer; the passes of all
	// replicas take turns on one lock (store.ChainAudit).
	parts = append(parts, func(ctx context.Context) error {
		return st.RunAuditSequencer(ctx, cfg.Audit.ChainInterval, log)
	})
	if which == "serve" || which == "all" {
		// Plan runs go through the queue in every mode: in "all" this process's
		// worker takes them, in "serve" the worker processes do.
		queue := asynq.NewClient(qopt)
		defer queue.Close()
		enqueue := func(ctx context.Context, planID int64) error { return jobs.EnqueuePlanRun(ctx, queue, planID) }
		inspector := asynq.NewInspector(qopt)
		defer inspector.Close()
		// Queue depth, latency and failures, read from Redis on each scrape.
		metrics.MustRegister(jobs.NewQueueCollector(inspector, jobs.QueueNames()))
		e := api.New(api.Options{Store: st, Redis: redisPinger{rdb}, Config: cfg, Calendar: cal, Logger: log,
			Planning: plans, Enqueue: enqueue, Registry: metrics, Queues: inspector, QueueNames: jobs.QueueNames(), DispatchFailures: func(_ context.Context, planID int64) (int, error) {
				return jobs.ArchivedDispatches(inspector, planID, "")
			}})
		// http.metrics_addr: the metrics on a listener of their own, with no
		// token (the API's /metrics is then gone, see api.New).
		if cfg.HTTP.MetricsAddr != "" {
			serve, err := metricsServer("http.metrics_addr", cfg.HTTP.MetricsAddr, metrics, log)
			if err != nil {
				return err
			}
			parts = append(parts, serve)
		}
		srv := &http.Server{Addr: cfg.HTTP.Addr, Handler: e, ReadTimeout: cfg.HTTP.ReadTimeout, WriteTimeout: cfg.HTTP.WriteTimeout,
			ReadHeaderTimeout: 10 * time.Second}
		// Listen before anything starts, so a taken port stops start-up with
		// the variable that moves it rather than a worker running headless.
		l, err := listenHTTP(cfg.HTTP.Addr)
		if err != nil {
			return err
		}
		parts = append(parts, func(ctx context.Context) error {
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(l) }()
			log.Info("api listening", "addr", l.Addr().String())
			select {
			case err := <-errc:
				return fmt.Errorf("api: %w", err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("api shutdown: %w", err)
			}
			log.Info("api stopped")
			return nil
		})
	}
	if which == "worker" || which == "all" {
		// The worker dispatches published plans: the relay moves outbox rows
		// into the queue, the dispatcher handles them (and reminders, rosters,
		// webhooks).
		queue := asynq.NewClient(qopt)
		defer queue.Close()
		disp := jobs.NewDispatcher(jobs.DispatchOptions{Store: st, Queue: queue, Location: cfg.Location(), Logger: log, Registry: metrics,
			PublicBaseURL: cfg.HTTP.PublicBaseURL, AllowPrivateWebhooks: cfg.Webhooks.AllowPrivate,
			Languages: jobs.NoticeLanguages{Inspector: configs.Lang(cfg.Notifications.Language.Inspector),
				Team: configs.Lang(cfg.Notifications.Language.Team), Business: configs.Lang(cfg.Notifications.Language.Business)}})
		// Routine demands and the weekly draft plan (its run goes through the
		// queue as plan:run, like the API's).
		planner := jobs.NewPlanner(jobs.PlanningOptions{Store: st, Planning: plans, Config: cfg, Queue: queue, Logger: log})
		w := jobs.NewWorker(qopt, jobs.WorkerOptions{Concurrency: cfg.Worker.Concurrency, ShutdownTimeout: cfg.Worker.ShutdownTimeout, Logger: log,
			Plans: plans, Comparisons: plans, Repairs: plans, Dispatch: disp, Planning: planner, Registry: metrics,
			Publication: jobs.NewPublisher(jobs.PublishOptions{Store: st, Logger: log})})
		relay := jobs.NewRelay(jobs.RelayOptions{Store: st, Queue: queue, Logger: log, Registry: metrics})
		parts = append(parts, w.Run, relay.Run)
		// A worker-only process has no API to serve /metrics: it serves them
		// itself, with the queue collector the API would have (in "all" the
		// API serves this same registry).
		if which == "worker" && cfg.Worker.MetricsAddr != "" {
			inspector := asynq.NewInspector(qopt)
			defer inspector.Close()
			metrics.MustRegister(jobs.NewQueueCollector(inspector, jobs.QueueNames()))
			serve, err := metricsServer("worker.metrics_addr", cfg.Worker.MetricsAddr, metrics, log)
			if err != nil {
				return err
			}
			parts = append(parts, serve)
		}
	}
	if which == "scheduler" || which == "all" {
		client := asynq.NewClient(qopt)
		defer client.Close()
		var entries []scheduler.Entry
		for _, e := range cfg.Scheduler.EntryList() {
			entries = append(entries, scheduler.Entry{Name: e.Name, Spec: e.Spec})
		}
		sch, err := scheduler.New(scheduler.Options{Location: cfg.Location(), HealthInterval: cfg.Scheduler.HealthInterval,
			LeaderRetry: cfg.Scheduler.LeaderRetry, LeaderCheck: cfg.Scheduler.LeaderCheck, Entries: entries,
			Store: st, Queue: client, Postgres: st, Redis: redisPinger{rdb}, Logger: log})
		if err != nil {
			return err
		}
		parts = append(parts, sch.Run)
	}

	// The first part to fail stops the others; a signal stops all of them.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Go(func() {
			errs[i] = p(ctx)
			cancel()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// listenHTTP listens on the API's address. A port already taken is the usual
// first-run failure (another service on :8080), so its error says which
// settings to change instead of only "address already in use".
func listenHTTP(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("http.addr %s is already in use by another process: set INSPECTONCE_HTTP_ADDR to a free address "+
			"(e.g. INSPECTONCE_HTTP_ADDR=:8081) and INSPECTONCE_HTTP_PUBLIC_BASE_URL to match (http://localhost:8081): %w", addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("http.addr %s: %w", addr, err)
	}
	return l, nil
}

// metricsServer listens on addr at once (so a port taken stops start-up,
// naming the key, rather than a worker running unobserved) and returns the
// part that serves reg's metrics at /metrics until ctx ends.
func metricsServer(key, addr string, reg *prometheus.Registry, log *slog.Logger) (func(context.Context) error, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	// Profiles for the operator, on the private listener only (never on the
	// public one): where the CPU of a loaded replica goes.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	return func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(l) }()
		log.Info("metrics listening", "key", key, "addr", l.Addr().String())
		select {
		case err := <-errc:
			return fmt.Errorf("%s: %w", key, err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%s shutdown: %w", key, err)
		}
		return nil
	}, nil
}
