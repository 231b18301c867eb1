package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"inspectonce/domain"
	"inspectonce/store"
)

// A visit's news — a move, a replaced code — reaches its people the same
// way: an outbox row written with the change, one task per arming of the row,
// and a handler that tells what has not been told yet. These are the parts
// the kinds share.

// visitNews is the payload of a task that tells the people of one visit
// something (VisitMovedPayload, CodeReplacedPayload).
type visitNews interface {
	check() error
	visit() (planID int64, seq int)
}

func (p VisitMovedPayload) visit() (int64, int)   { return p.PlanID, p.VisitSeq }
func (p CodeReplacedPayload) visit() (int64, int) { return p.PlanID, p.VisitSeq }

// newsTask builds a task of type typ from a checked payload.
func newsTask(typ string, p visitNews, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%s payload: %w", typ, err)
	}
	return newDispatchTask(typ, b, opts...), nil
}

// decodeNews reads the payload of an outbox row into p: it must be understood
// and name the row's own visit.
func decodeNews(row store.OutboxRow, p visitNews) error {
	if err := json.Unmarshal(row.Payload, p); err != nil {
		return fmt.Errorf("outbox row %d: %s payload: %w", row.ID, row.Kind, err)
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("outbox row %d: %w", row.ID, err)
	}
	if plan, seq := p.visit(); plan != row.PlanID || seq != row.VisitSeq {
		return fmt.Errorf("outbox row %d of plan %d visit %d carries plan %d visit %d",
			row.ID, row.PlanID, row.VisitSeq, plan, seq)
	}
	return nil
}

// taskOpts are the options of a relayed task with ID id.
func (r *Relay) taskOpts(id string) []asynq.Option {
	opts := []asynq.Option{asynq.TaskID(id)}
	if r.queue != "" {
		opts = append(opts, asynq.Queue(r.queue))
	}
	return opts
}

// handleNews decodes task t's payload into p and tells its visit's news
// with tell. A bad payload, an unknown visit or a plan that is not published
// is not retried (the task is archived); what names the news in logs and
// errors.
func (d *Dispatcher) handleNews(ctx context.Context, t *asynq.Task, p visitNews, what string,
	tell func(ctx context.Context, planID int64, seq int) (int, error)) error {
	if err := json.Unmarshal(t.Payload(), p); err != nil {
		return fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	plan, seq := p.visit()
	n, err := tell(ctx, plan, seq)
	if errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrConflict) {
		d.log.Error(what+" refused", "plan_id", plan, "visit_seq", seq, "err", err)
		return fmt.Errorf("%s of plan %d visit %d: %w: %w", what, plan, seq, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("%s of plan %d visit %d: %w", what, plan, seq, err)
	}
	d.log.Debug(what+" done", "plan_id", plan, "visit_seq", seq, "payload", string(t.Payload()), "written", n)
	return nil
}
