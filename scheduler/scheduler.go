// Package scheduler holds InspectOnce's cron entries (robfig/cron) in the
// configured time zone.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"

	"inspectonce/jobs"
)

// Pinger answers whether a dependency is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Scheduler fires cron entries.
type Scheduler struct {
	cron   *cron.Cron
	client *asynq.Client
	db     Pinger
	redis  Pinger
	log    *slog.Logger
	name   string
}

// Options configure a Scheduler.
type Options struct {
	Location       *time.Location
	HealthInterval time.Duration
	Queue          *asynq.Client
	Postgres       Pinger
	Redis          Pinger
	Logger         *slog.Logger
}

// New builds a scheduler with its entries. The only entry so far is the health
// report, which also sends a heartbeat task through the queue.
func New(o Options) (*Scheduler, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	s := &Scheduler{client: o.Queue, db: o.Postgres, redis: o.Redis, log: log, name: fmt.Sprintf("%s/%d", host, os.Getpid())}
	s.cron = cron.New(cron.WithLocation(o.Location), cron.WithChain(
		cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log})))
	if _, err := s.cron.AddFunc(fmt.Sprintf("@every %s", o.HealthInterval), s.health); err != nil {
		return nil, fmt.Errorf("health entry: %w", err)
	}
	return s, nil
}

func (s *Scheduler) health() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pg, rd := "ok", "ok"
	if err := s.db.Ping(ctx); err != nil {
		pg = err.Error()
	}
	if err := s.redis.Ping(ctx); err != nil {
		rd = err.Error()
	}
	if pg == "ok" && rd == "ok" {
		t, err := jobs.NewHeartbeat(s.name, time.Now())
		if err == nil {
			_, err = s.client.EnqueueContext(ctx, t)
		}
		if err != nil {
			rd = "enqueue: " + err.Error()
		}
	}
	lvl := slog.LevelInfo
	if pg != "ok" || rd != "ok" {
		lvl = slog.LevelWarn
	}
	s.log.Log(ctx, lvl, "scheduler health", "postgres", pg, "redis", rd)
}

// Run fires entries until ctx is cancelled, then waits for running entries.
func (s *Scheduler) Run(ctx context.Context) error {
	s.health()
	s.cron.Start()
	s.log.Info("scheduler started", "entries", len(s.cron.Entries()))
	<-ctx.Done()
	<-s.cron.Stop().Done()
	s.log.Info("scheduler stopped")
	return nil
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug(msg, append(kv, "component", "cron")...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error(msg, append(kv, "err", err, "component", "cron")...)
}
