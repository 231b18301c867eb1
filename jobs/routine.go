package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// Task types of the planning cron entries (DESIGN.md §5). The scheduler
// enqueues them (scheduler.NewTask) with a CronPayload.
const (
	// TypeCronRoutineDemands turns the risk policy (risk.routine_interval_days)
	// into routine list demands.
	TypeCronRoutineDemands = "cron:routine_demands"
	// TypeCronWeeklyPlanning starts the draft plan of the next horizon.
	TypeCronWeeklyPlanning = "cron:weekly_planning"
	// SchedulerActor is the actor of what the cron entries create (demands,
	// plans, audit entries) and the name of its internal token.
	SchedulerActor = "scheduler"
)

// PlanningOptions configure a Planner.
type PlanningOptions struct {
	Store    *store.Store
	Planning *planning.Service
	Config   *configs.Config
	// Queue takes the plan:run of the weekly plan; nil runs it in the
	// handler (Execute).
	Queue Enqueuer
	// QueueName, when set, replaces the queue of the plan runs enqueued (tests).
	QueueName string
	Logger    *slog.Logger
}

// Planner handles the planning cron tasks: routine demands and weekly
// planning. Both are idempotent per due time, so a redelivered or
// re-enqueued run changes nothing.
type Planner struct {
	st    *store.Store
	plans *planning.Service
	cfg   *configs.Config
	q     Enqueuer
	queue string
	log   *slog.Logger
}

// NewPlanner builds a Planner.
func NewPlanner(o PlanningOptions) *Planner {
	p := &Planner{st: o.Store, plans: o.Planning, cfg: o.Config, q: o.Queue, queue: o.QueueName, log: o.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p
}

// Register adds the planning cron handlers to mux.
func (p *Planner) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeCronRoutineDemands, p.HandleRoutineDemands)
	mux.HandleFunc(TypeCronWeeklyPlanning, p.HandleWeeklyPlanning)
}

// cronDue reads a cron payload: the due time (now when the payload has none).
func (p *Planner) cronDue(t *asynq.Task) (time.Time, error) {
	var c CronPayload
	if len(t.Payload()) > 0 {
		if err := json.Unmarshal(t.Payload(), &c); err != nil {
			return time.Time{}, fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
		}
		if c.V != 1 {
			return time.Time{}, fmt.Errorf("%s payload version %d is not known: %w", t.Type(), c.V, asynq.SkipRetry)
		}
	}
	if c.DueAt.IsZero() {
		return p.plans.Today().Add(12 * time.Hour), nil
	}
	return c.DueAt, nil
}

// startDay is the first working day after the due day (in the configured
// time zone), or after today when the run is caught up late: plans and
// demand windows never start in the past.
func (p *Planner) startDay(due time.Time) time.Time {
	l := due.In(p.cfg.Location())
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	if today := p.plans.Today(); d.Before(today) {
		d = today
	}
	cal := p.plans.Calendar()
	d = d.AddDate(0, 0, 1)
	for i := 0; i < 366 && !cal.IsWorkingDay(d); i++ {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// ---- weekly planning

// HandleWeeklyPlanning is the handler of TypeCronWeeklyPlanning (see
// WeeklyPlanning). A request the planning service refuses (a horizon in a
// closed year …) is not retried.
func (p *Planner) HandleWeeklyPlanning(ctx context.Context, t *asynq.Task) error {
	due, err := p.cronDue(t)
	if err != nil {
		return err
	}
	plan, started, err := p.WeeklyPlanning(ctx, due)
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		p.log.Error("weekly planning refused", "due_at", due, "err", err)
		return fmt.Errorf("weekly planning: %w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("weekly planning: %w", err)
	}
	p.log.Info("weekly planning done", "due_at", due, "plan_id", plan.ID, "from", plan.From, "to", plan.To,
		"started", started, "status", plan.Status)
	return nil
}

// WeeklyPlanning starts the coordinated plan of all regions over
// planning.weekly_horizon_days from the first working day after due, as
// SchedulerActor, and has it carried out (plan:run on the queue, or at once
// without one). If SchedulerActor already has a running, draft or published
// plan starting that day it starts none (started = false); a running one is
// queued again (the plan:run task ID makes that harmless), so a run that died
// between Start and the enqueue is not stranded.
//
// The plan is left a draft: no plan, no inspection (无计划不检查) — what
// businesses are visited is decided when a coordinator reviews and publishes
// the draft, never by the clock.
func (p *Planner) WeeklyPlanning(ctx context.Context, due time.Time) (plan store.Plan, started bool, err error) {
	from := p.startDay(due)
	days := min(p.cfg.Planning.WeeklyHorizonDays, p.cfg.Planning.MaxHorizonDays)
	if days < 1 {
		days = min(28, max(p.cfg.Planning.MaxHorizonDays, 1))
	}
	plan, found, err := p.st.PlanStartedBy(ctx, SchedulerActor, from)
	if err != nil {
		return plan, false, err
	}
	if !found {
		plan, err = p.plans.Start(ctx, SchedulerActor, planning.Request{From: from, To: from.AddDate(0, 0, days-1)})
		if err != nil {
			return plan, false, err
		}
		started = true
	}
	if plan.Status != store.PlanRunning {
		return plan, started, nil
	}
	if p.q != nil {
		var opts []asynq.Option
		if p.queue != "" {
			opts = append(opts, asynq.Queue(p.queue))
		}
		return plan, started, EnqueuePlanRun(ctx, p.q, plan.ID, opts...)
	}
	res, err := p.plans.Execute(ctx, plan.ID)
	if errors.Is(err, domain.ErrConflict) {
		err = nil // carried out meanwhile by someone else
	}
	if err != nil {
		return plan, started, err
	}
	if res != nil {
		plan = res.Plan
	}
	return plan, started, nil
}

// ---- routine demands

// RoutineReport counts what a routine demands run did.
type RoutineReport struct {
	// Created and Replayed count demands written now and demands an earlier
	// delivery of the same run wrote.
	Created, Replayed int
	// Businesses counts the due businesses put in demands (once per scenario).
	Businesses int
	// Unmatched counts the due businesses no scenario applies to (skipped).
	Unmatched int
}

// HandleRoutineDemands is the handler of TypeCronRoutineDemands (see
// RoutineDemands).
func (p *Planner) HandleRoutineDemands(ctx context.Context, t *asynq.Task) error {
	due, err := p.cronDue(t)
	if err != nil {
		return err
	}
	rep, err := p.RoutineDemands(ctx, due)
	if err != nil {
		return fmt.Errorf("routine demands: %w", err)
	}
	p.log.Info("routine demands done", "due_at", due, "created", rep.Created, "replayed", rep.Replayed,
		"businesses", rep.Businesses, "skipped_no_scenario", rep.Unmatched)
	return nil
}

// RoutineKey is the idempotency key of one routine demand of the run due at
// due: risk code × scenario × department × chunk of the business list.
func RoutineKey(due time.Time, risk string, scenarioID, departmentID int64, chunk int) string {
	return fmt.Sprintf("routine:%d:%s:%d:%d:%d", due.Unix(), risk, scenarioID, departmentID, chunk)
}

// RoutineDemands generates the routine demands of the risk policy for the
// run due at due. For each risk code with risk.routine_interval_days > 0 it
// takes the businesses of that code not on the leave-alone list whose last
// published visit is more than the interval before the due day (or that were
// never visited), and that are not already named by an open routine demand of
// an earlier run (store.RoutineDue). For each scenario whose industries hold
// a business's industry, and each department owning items of that scenario,
// it writes one list demand: that department's items of the scenario, the
// businesses (split at demands.max_list_targets), the window from the first
// working day after the due day to + the interval (capped at
// demands.max_window_days), routine.priorities[code], routine.announce_days,
// source routine, created by SchedulerActor. Businesses no scenario applies
// to get nothing (counted in Unmatched).
//
// Each demand is written with store.CreateDemand under the idempotency key
// RoutineKey, held by SchedulerActor's internal token
// (store.InternalTokenID: a revoked admin row that cannot authenticate). The
// request hash is the key's own hash, so a redelivery always replays what the
// first delivery wrote, even if the registry changed in between.
func (p *Planner) RoutineDemands(ctx context.Context, due time.Time) (RoutineReport, error) {
	var rep RoutineReport
	token, err := p.st.InternalTokenID(ctx, SchedulerActor)
	if err != nil {
		return rep, err
	}
	l := due.In(p.cfg.Location())
	dueDay := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	from := p.startDay(due)
	maxList := max(p.cfg.Demands.MaxListTargets, 1)
	for _, risk := range []string{domain.RiskRed, domain.RiskYellow, domain.RiskGreen} {
		interval := p.cfg.Risk.RoutineIntervalDays[risk]
		if interval <= 0 {
			continue
		}
		prio, ok := p.cfg.Routine.Priorities[risk]
		if !ok {
			prio = 3
		}
		to := from.AddDate(0, 0, min(interval, p.cfg.Demands.MaxWindowDays))
		groups, unmatched, err := p.st.RoutineDue(ctx, store.RoutineQuery{RiskCode: risk,
			VisitedSince: dueDay.AddDate(0, 0, -interval), Today: p.plans.Today(), WindowFrom: from, Actor: SchedulerActor})
		if err != nil {
			return rep, err
		}
		rep.Unmatched += unmatched
		for _, g := range groups {
			rep.Businesses += len(g.Businesses)
			chunks := (len(g.Businesses) + maxList - 1) / maxList
			for _, dept := range g.Departments {
				for c := range chunks {
					if err := ctx.Err(); err != nil {
						return rep, err
					}
					sid := g.ScenarioID
					biz := g.Businesses[c*maxList : min((c+1)*maxList, len(g.Businesses))]
					lang := configs.Lang(p.cfg.Language)
					title := lang.T("demand.routine.title", lang.T("risk.code."+risk), interval, g.ScenarioCode)
					if chunks > 1 {
						title = lang.T("demand.routine.part", title, c+1, chunks)
					}
					d := &domain.Demand{DepartmentID: dept.DepartmentID, Title: title, ItemIDs: dept.ItemIDs,
						TargetKind: domain.TargetList, Businesses: biz, WindowFrom: from, WindowTo: to, Priority: prio,
						Source: domain.SourceRoutine, ScenarioID: &sid, AnnounceDays: p.cfg.Routine.AnnounceDays,
						CreatedBy: SchedulerActor}
					key := RoutineKey(due, risk, g.ScenarioID, dept.DepartmentID, c)
					hash := sha256.Sum256([]byte(key))
					replayed, err := p.st.CreateDemand(ctx, SchedulerActor, &store.Idempotency{TokenID: token, Key: key, RequestHash: hash[:]}, d)
					if err != nil {
						return rep, fmt.Errorf("demand %s: %w", key, err)
					}
					if replayed {
						rep.Replayed++
					} else {
						rep.Created++
					}
				}
			}
		}
	}
	return rep, nil
}
