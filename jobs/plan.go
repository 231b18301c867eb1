package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/domain"
	"inspectonce/planning"
)

// TypePlanRun carries out a running plan: POST /api/v1/plans records the plan
// and its seed commitment, then enqueues this task with the plan's id.
const TypePlanRun = "plan:run"

// Defaults of a plan run task. A run is retried only when it could not even
// record its own failure (the database was away); a run that failed cleanly
// marked its plan failed, and its retry finds the plan no longer running.
const (
	PlanRunQueue    = "default"
	PlanRunMaxRetry = 3
	PlanRunTimeout  = 30 * time.Minute
)

// PlanRunPayload is version 1 of a plan run's payload.
type PlanRunPayload struct {
	V      int   `json:"v"`
	PlanID int64 `json:"plan_id"`
}

// PlanRunTaskID is the task ID of plan's run: one per plan, so that enqueueing
// it again (a retried request, a crash between the two) never runs it twice.
func PlanRunTaskID(planID int64) string { return fmt.Sprintf("plan:run:%d", planID) }

// NewPlanRun builds the task that carries out the running plan planID. opts
// come after the defaults (queue "default", PlanRunMaxRetry retries,
// PlanRunTimeout, task ID PlanRunTaskID) and override them.
func NewPlanRun(planID int64, opts ...asynq.Option) (*asynq.Task, error) {
	if planID <= 0 {
		return nil, fmt.Errorf("plan run: plan id must be positive, got %d", planID)
	}
	b, err := json.Marshal(PlanRunPayload{V: 1, PlanID: planID})
	if err != nil {
		return nil, fmt.Errorf("plan run payload: %w", err)
	}
	all := append([]asynq.Option{asynq.Queue(PlanRunQueue), asynq.MaxRetry(PlanRunMaxRetry),
		asynq.Timeout(PlanRunTimeout), asynq.TaskID(PlanRunTaskID(planID))}, opts...)
	return asynq.NewTask(TypePlanRun, b, all...), nil
}

// Enqueuer puts tasks on a queue; *asynq.Client is one.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// EnqueuePlanRun queues the run of planID. A run already queued under the
// same task ID counts as queued.
func EnqueuePlanRun(ctx context.Context, q Enqueuer, planID int64, opts ...asynq.Option) error {
	t, err := NewPlanRun(planID, opts...)
	if err != nil {
		return err
	}
	if _, err := q.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue run of plan %d: %w", planID, err)
	}
	return nil
}

// PlanRunner carries out a running plan (*planning.Service is one).
type PlanRunner interface {
	Execute(ctx context.Context, planID int64) (*planning.Result, error)
}

// HandlePlanRun returns the handler of TypePlanRun. It runs the plan with the
// task's context (a cancelled or timed-out run stops). Execute marks a plan
// that fails as failed; the handler then returns the error, and asynq retries
// only if the plan is still running (Execute could not record the failure).
// A plan that is no longer running (saved by an earlier delivery, discarded,
// failed) is done; an unknown plan or a bad payload is not retried.
func HandlePlanRun(runner PlanRunner, log *slog.Logger) asynq.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, t *asynq.Task) error {
		var p PlanRunPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("plan run payload: %v: %w", err, asynq.SkipRetry)
		}
		if p.V != 1 {
			return fmt.Errorf("plan run payload version %d is not known: %w", p.V, asynq.SkipRetry)
		}
		if p.PlanID <= 0 {
			return fmt.Errorf("plan run payload names plan %d: %w", p.PlanID, asynq.SkipRetry)
		}
		start := time.Now()
		res, err := runner.Execute(ctx, p.PlanID)
		var ve *domain.ValidationError
		switch {
		case err == nil && res.Awaiting:
			log.Info("plan run: frames committed, awaiting the value that fixes the draws", "plan_id", p.PlanID)
			return nil
		case err == nil:
			log.Info("plan run done", "plan_id", p.PlanID, "visits", res.Stats.Visits, "naive_visits", res.Stats.NaiveVisits,
				"unplaced", res.Stats.Unplaced, "duration_ms", time.Since(start).Milliseconds())
			return nil
		case errors.Is(err, domain.ErrConflict):
			log.Info("plan run skipped: the plan is not running", "plan_id", p.PlanID, "reason", err.Error())
			return nil
		case errors.Is(err, domain.ErrNotFound), errors.As(err, &ve):
			log.Error("plan run refused", "plan_id", p.PlanID, "err", err)
			return fmt.Errorf("plan %d: %w: %w", p.PlanID, err, asynq.SkipRetry)
		}
		log.Error("plan run failed", "plan_id", p.PlanID, "err", err, "duration_ms", time.Since(start).Milliseconds())
		return fmt.Errorf("plan %d: %w", p.PlanID, err)
	}
}

// TypePlanCompare builds the independent counterpart of a stored coordinated
// draft (the comparison its dashboard shows): queued by the plan run once the
// draft is stored, so the draft does not wait for it.
const TypePlanCompare = "plan:compare"

// Defaults of a comparison task: a report, so it waits behind dispatch work.
const (
	PlanCompareQueue    = "low"
	PlanCompareMaxRetry = 3
	PlanCompareTimeout  = 30 * time.Minute
)

// PlanComparePayload is version 1 of a comparison's payload.
type PlanComparePayload struct {
	V      int   `json:"v"`
	PlanID int64 `json:"plan_id"`
}

// PlanCompareTaskID is the task ID of plan's comparison: one per plan.
func PlanCompareTaskID(planID int64) string { return fmt.Sprintf("plan:compare:%d", planID) }

// EnqueuePlanCompare queues the comparison of planID (a task already queued
// under the same ID counts as queued). opts come after the defaults.
func EnqueuePlanCompare(ctx context.Context, q Enqueuer, planID int64, opts ...asynq.Option) error {
	if planID <= 0 {
		return fmt.Errorf("plan comparison: plan id must be positive, got %d", planID)
	}
	b, err := json.Marshal(PlanComparePayload{V: 1, PlanID: planID})
	if err != nil {
		return fmt.Errorf("plan comparison payload: %w", err)
	}
	all := append([]asynq.Option{asynq.Queue(PlanCompareQueue), asynq.MaxRetry(PlanCompareMaxRetry),
		asynq.Timeout(PlanCompareTimeout), asynq.TaskID(PlanCompareTaskID(planID))}, opts...)
	if _, err := q.EnqueueContext(ctx, asynq.NewTask(TypePlanCompare, b, all...)); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue comparison of plan %d: %w", planID, err)
	}
	return nil
}

// PlanComparer builds a draft's independent counterpart (*planning.Service is one).
type PlanComparer interface {
	Compare(ctx context.Context, planID int64) error
}

// HandlePlanCompare returns the handler of TypePlanCompare. A plan no longer
// waiting for its comparison (discarded, compared already) is done; an
// unknown plan or a bad payload is not retried; other failures are recorded
// on the plan by Compare and retried.
func HandlePlanCompare(c PlanComparer, log *slog.Logger) asynq.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, t *asynq.Task) error {
		var p PlanComparePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("plan comparison payload: %v: %w", err, asynq.SkipRetry)
		}
		if p.V != 1 || p.PlanID <= 0 {
			return fmt.Errorf("plan comparison payload v%d for plan %d is not known: %w", p.V, p.PlanID, asynq.SkipRetry)
		}
		start := time.Now()
		err := c.Compare(ctx, p.PlanID)
		switch {
		case err == nil:
			log.Info("plan comparison done", "plan_id", p.PlanID, "duration_ms", time.Since(start).Milliseconds())
			return nil
		case errors.Is(err, domain.ErrConflict):
			log.Info("plan comparison skipped", "plan_id", p.PlanID, "reason", err.Error())
			return nil
		case errors.Is(err, domain.ErrNotFound):
			return fmt.Errorf("plan %d: %w: %w", p.PlanID, err, asynq.SkipRetry)
		}
		log.Error("plan comparison failed", "plan_id", p.PlanID, "err", err, "duration_ms", time.Since(start).Milliseconds())
		return fmt.Errorf("plan %d comparison: %w", p.PlanID, err)
	}
}
