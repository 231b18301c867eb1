package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// confirmVisits writes, with plain SQL, what a confirmed visit leaves: a
// compliant result per task and the visit's report, dated the plan's date,
// due 20 days later.
func confirmVisits(t *testing.T, st *store.Store, planID int64, seqs ...int) {
	t.Helper()
	ctx := context.Background()
	for _, seq := range seqs {
		if _, err := st.SQL().ExecContext(ctx, `INSERT INTO task_results (plan_id, task_seq, visit_seq, uscc, demand_id,
			department_id, item_id, outcome, recorded_by, client_id)
			SELECT t.plan_id, t.seq, t.visit_seq, t.uscc, t.demand_id, t.department_id, t.item_id, 'compliant',
				(SELECT a.inspector_id FROM plan_assignments a WHERE a.plan_id = t.plan_id AND a.visit_seq = t.visit_seq AND a.ord = 0),
				gen_random_uuid()
			FROM plan_tasks t WHERE t.plan_id = $1 AND t.visit_seq = $2`, planID, seq); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SQL().ExecContext(ctx, `INSERT INTO visit_reports (plan_id, visit_seq, uscc, visit_date, team_id,
			department_ids, performed_tasks, not_done_tasks, publish_due)
			SELECT v.plan_id, v.seq, v.uscc, v.date, v.team_id, v.department_ids,
				(SELECT count(*) FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq), 0, v.date + 28
			FROM plan_visits v WHERE v.plan_id = $1 AND v.seq = $2`, planID, seq); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPublishResultsJob: the cron task publishes every confirmed report,
// once, however many runs go at once (two tasks in the worker and one run
// called directly), and leaves unconfirmed visits alone; a run with nothing
// to do publishes nothing.
func TestPublishResultsJob(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 10)
	p := publishFixturePlan(t, st, f, 8)
	confirmVisits(t, st, p.ID, 1, 2, 3, 5, 8)

	opt, queue := testQueue(t)
	pub := NewPublisher(PublishOptions{Store: st, BatchSize: 2, Logger: slog.New(slog.DiscardHandler)})
	w := NewWorker(opt, WorkerOptions{Concurrency: 4, ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
		Queues: map[string]int{queue: 1}, Publication: pub})
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(wctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	due := time.Now().Truncate(time.Minute)
	var ids []string
	for i := range 2 {
		// What scheduler.NewTask("publish_results", …) enqueues.
		task := cronTask(TypeCronPublishResults, due.Add(time.Duration(i)*10*time.Minute))
		info, err := client.EnqueueContext(ctx, task, asynq.Queue(queue), asynq.Retention(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	direct, err := pub.PublishResults(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	ins := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = ins.Close() })
	deadline := time.Now().Add(20 * time.Second)
	published := direct.Published
	for _, id := range ids {
		for {
			ti, err := ins.GetTaskInfo(queue, id)
			if err == nil && ti.State == asynq.TaskStateCompleted {
				var pr PublishProgress
				if len(ti.Result) > 0 {
					if err := json.Unmarshal(ti.Result, &pr); err != nil {
						t.Fatalf("task result %q: %v", ti.Result, err)
					}
				}
				published += pr.Published
				break
			}
			if err == nil && (ti.State == asynq.TaskStateArchived || ti.State == asynq.TaskStateRetry) {
				t.Fatalf("task %s: %s (%s)", id, ti.State, ti.LastErr)
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s not completed: %+v %v", id, ti, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if published != 5 {
		t.Fatalf("the runs published %d reports in all, want 5", published)
	}
	var reports, unpublished, audited int
	if err := st.SQL().QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM visit_reports`).
		Scan(&reports, &unpublished); err != nil {
		t.Fatal(err)
	}
	if err := st.SQL().QueryRowContext(ctx, `SELECT coalesce(sum((detail::jsonb->>'published')::int), 0) FROM audit_log
		WHERE action = 'results.publish'`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if reports != 5 || unpublished != 0 || audited != 5 {
		t.Fatalf("%d reports, %d unpublished, %d audited as published", reports, unpublished, audited)
	}
	res, err := st.PublishedResults(ctx, store.ResultFilter{}, "", 100)
	if err != nil || len(res.Items) != 5 {
		t.Fatalf("public list: %d %v", len(res.Items), err)
	}
	again, err := pub.PublishResults(ctx, nil)
	if err != nil || again.Pending != 0 || again.Published != 0 {
		t.Fatalf("a run with nothing to do: %+v %v", again, err)
	}
}
