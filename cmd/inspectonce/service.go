package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hibiken/asynq"
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
	}

	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal})
	if err != nil {
		return err
	}

	var parts []func(context.Context) error
	if which == "serve" || which == "all" {
		// Plan runs go through the queue in every mode: in "all" this process's
		// worker takes them, in "serve" the worker processes do.
		queue := asynq.NewClient(qopt)
		defer queue.Close()
		enqueue := func(ctx context.Context, planID int64) error { return jobs.EnqueuePlanRun(ctx, queue, planID) }
		e := api.New(api.Options{Store: st, Redis: redisPinger{rdb}, Config: cfg, Calendar: cal, Logger: log,
			Planning: plans, Enqueue: enqueue})
		srv := &http.Server{Addr: cfg.HTTP.Addr, Handler: e, ReadTimeout: cfg.HTTP.ReadTimeout, WriteTimeout: cfg.HTTP.WriteTimeout,
			ReadHeaderTimeout: 10 * time.Second}
		parts = append(parts, func(ctx context.Context) error {
			errc := make(chan error, 1)
			go func() { errc <- srv.ListenAndServe() }()
			log.Info("api listening", "addr", cfg.HTTP.Addr)
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
		w := jobs.NewWorker(qopt, jobs.WorkerOptions{Concurrency: cfg.Worker.Concurrency, ShutdownTimeout: cfg.Worker.ShutdownTimeout, Logger: log,
			Plans: plans})
		parts = append(parts, w.Run)
	}
	if which == "scheduler" || which == "all" {
		client := asynq.NewClient(qopt)
		defer client.Close()
		sch, err := scheduler.New(scheduler.Options{Location: cfg.Location(), HealthInterval: cfg.Scheduler.HealthInterval,
			Queue: client, Postgres: st, Redis: redisPinger{rdb}, Logger: log})
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
