package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"inspectonce/store"
)

// TypeCronPublishResults publishes confirmed visit results (一公开): the
// scheduler's publish_results entry enqueues it (scheduler.NewTask).
const TypeCronPublishResults = "cron:publish_results"

// PublisherActor is the actor of the publication audit entries.
const PublisherActor = "publisher"

// PublishOptions configure a Publisher.
type PublishOptions struct {
	Store *store.Store
	// BatchSize is how many reports one transaction publishes (default 500).
	BatchSize int
	Logger    *slog.Logger
}

// Publisher publishes confirmed visit reports. Results are made public as
// soon as a run after their confirmation finds them; the 20 working days of
// 一公开 are the upper bound the dashboard watches, not a delay.
type Publisher struct {
	st    *store.Store
	batch int
	log   *slog.Logger
}

// NewPublisher builds a Publisher.
func NewPublisher(o PublishOptions) *Publisher {
	p := &Publisher{st: o.Store, batch: o.BatchSize, log: o.Logger}
	if p.batch <= 0 {
		p.batch = 500
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p
}

// Register adds the publication handler to mux.
func (p *Publisher) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeCronPublishResults, p.HandlePublishResults)
}

// PublishProgress is what a publication run did: the reports waiting when
// it started and those it published (others may be published by a run
// alongside).
type PublishProgress struct {
	Pending   int `json:"pending"`
	Published int `json:"published"`
}

// HandlePublishResults is the handler of TypeCronPublishResults (see
// PublishResults). Its progress is logged per batch and written as the
// task's result, which the queue views show.
func (p *Publisher) HandlePublishResults(ctx context.Context, t *asynq.Task) error {
	w := t.ResultWriter()
	prog, err := p.PublishResults(ctx, func(pr PublishProgress) {
		if w == nil {
			return
		}
		if b, err := json.Marshal(pr); err == nil {
			_, _ = w.Write(b)
		}
	})
	if err != nil {
		return fmt.Errorf("publish results: %w", err)
	}
	p.log.Info("results published", "pending_at_start", prog.Pending, "published", prog.Published)
	return nil
}

// PublishResults publishes every confirmed, unpublished report, a batch per
// transaction, and calls progress after each batch. It is idempotent and
// safe to run twice at once: each report is published by exactly one run
// (store.PublishReports), and a run that finds nothing does nothing.
func (p *Publisher) PublishResults(ctx context.Context, progress func(PublishProgress)) (PublishProgress, error) {
	var pr PublishProgress
	n, err := p.st.UnpublishedReports(ctx)
	if err != nil {
		return pr, err
	}
	pr.Pending = n
	for {
		if err := ctx.Err(); err != nil {
			return pr, err
		}
		done, err := p.st.PublishReports(ctx, PublisherActor, p.batch)
		if err != nil {
			return pr, err
		}
		if done == 0 {
			return pr, nil
		}
		pr.Published += done
		p.log.Debug("publishing results", "published", pr.Published, "pending_at_start", pr.Pending)
		if progress != nil {
			progress(pr)
		}
	}
}
