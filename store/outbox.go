package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// OutboxDispatchVisit is the kind of the outbox row that dispatches one visit
// of a published plan. The relay groups such rows, by plan and block of visit
// seqs, into dispatch:visits tasks (jobs.Relay).
const OutboxDispatchVisit = "dispatch_visit"

// OutboxRow is one row of the outbox: something to hand to the queue.
type OutboxRow struct {
	ID        int64
	PlanID    int64
	VisitSeq  int
	Kind      string
	Payload   []byte // versioned JSON, the task's payload
	CreatedAt time.Time
}

// writeDispatchOutbox adds a dispatch_visit row per visit of plan id, set-based,
// in tx: PublishPlan calls it in the transaction that publishes the plan, so a
// published plan always has its dispatch recorded and an unpublished one never.
// The payload is version 1 of jobs.DispatchVisitPayload (one visit); the relay
// reads the plan and visit from their columns.
func writeDispatchOutbox(tx *gorm.DB, id int64) error {
	err := tx.Exec(`INSERT INTO outbox (plan_id, visit_seq, kind, payload)
		SELECT plan_id, seq, ?, jsonb_build_object('v', 1, 'plan_id', plan_id, 'visit_seq', seq)
		FROM plan_visits WHERE plan_id = ? ORDER BY seq
		ON CONFLICT (plan_id, visit_seq, kind) DO NOTHING`, OutboxDispatchVisit, id).Error
	return translate(err, "outbox of "+planObject(id))
}

// armVisitOutbox writes, in tx, the outbox row of kind that tells the people
// of a visit its news, or re-arms it (new payload, relayed_at back to NULL):
// a visit has one row per kind, UNIQUE (plan_id, visit_seq, kind). The
// payload is version 1 of the kind's task payload, naming the visit and
// field = n (a move's revision, a code's generation). The relay's claim locks
// the row (FOR UPDATE), so a change made while it is being relayed waits,
// then re-arms it.
func armVisitOutbox(tx *gorm.DB, planID int64, seq int, kind, field string, n int) error {
	err := tx.Exec(`INSERT INTO outbox (plan_id, visit_seq, kind, payload)
		VALUES (?, ?, ?, jsonb_build_object('v', 1, 'plan_id', ?::bigint, 'visit_seq', ?::int, ?::text, ?::int))
		ON CONFLICT (plan_id, visit_seq, kind) DO UPDATE
			SET payload = excluded.payload, created_at = now(), relayed_at = NULL`,
		planID, seq, kind, planID, seq, field, n).Error
	return translate(err, visitObject(planID, seq)+" "+kind+" outbox")
}

// RelayOutbox claims up to limit unrelayed outbox rows, oldest first, skipping
// rows another relay has claimed (FOR UPDATE SKIP LOCKED), and hands them to
// enqueue. The ids enqueue returns are marked relayed in the same transaction,
// which then commits; RelayOutbox returns how many were marked and enqueue's
// error. Rows enqueue did not return stay unrelayed and are claimed again
// later, as are all of them if the process dies before the commit: enqueue
// must therefore be idempotent (a task ID derived from the row).
func (s *Store) RelayOutbox(ctx context.Context, limit int, enqueue func(ctx context.Context, rows []OutboxRow) ([]int64, error)) (int, error) {
	if limit <= 0 {
		limit = 500
	}
	relayed := 0
	var enqErr error
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// The claim must walk outbox_unrelayed_idx in id order and stop after
		// limit rows. The planner does not always see that: just after a large
		// plan is published its statistics still say (from when everything
		// was relayed) that hardly any row is unrelayed, and it reads every
		// unrelayed row and sorts them all, under FOR UPDATE a full sort (on
		// disk for 100,000 rows) — per claim, so a large dispatch went
		// quadratic (700 ms a claim instead of 10). No sort, no such plan.
		if err := tx.Exec(`SET LOCAL enable_sort = off`).Error; err != nil {
			return translate(err, "outbox")
		}
		var rows []OutboxRow
		if err := tx.Raw(`SELECT id, plan_id, visit_seq, kind, payload, created_at FROM outbox
			WHERE relayed_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, limit).Scan(&rows).Error; err != nil {
			return translate(err, "outbox")
		}
		if len(rows) == 0 {
			return nil
		}
		done, err := enqueue(ctx, rows)
		enqErr = err
		if len(done) == 0 {
			return nil
		}
		res := tx.Exec(`UPDATE outbox SET relayed_at = now() WHERE id = ANY(?::bigint[]) AND relayed_at IS NULL`, pq.Int64Array(done))
		if res.Error != nil {
			return translate(res.Error, "outbox")
		}
		relayed = int(res.RowsAffected)
		return nil
	})
	if err != nil {
		return 0, errors.Join(err, enqErr)
	}
	return relayed, enqErr
}

// OutboxBacklog is what the relay has not moved yet.
type OutboxBacklog struct {
	Unrelayed int64
	// OldestAge is the age of the oldest unrelayed row (0 when none): the relay lag.
	OldestAge time.Duration
}

// OutboxBacklog counts the unrelayed rows and the age of the oldest.
func (s *Store) OutboxBacklog(ctx context.Context) (OutboxBacklog, error) {
	var r struct {
		N   int64
		Age float64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
		FROM outbox WHERE relayed_at IS NULL`).Scan(&r).Error
	if err != nil {
		return OutboxBacklog{}, translate(err, "outbox")
	}
	return OutboxBacklog{Unrelayed: r.N, OldestAge: time.Duration(r.Age * float64(time.Second))}, nil
}

// DispatchStatus tells how far the dispatch of a published plan has got.
//
// A visit is dispatched once the handler of its task (dispatch:visits, or an
// older dispatch:visit) has committed its effects: the handler writes all the
// notices of a task's visits in one statement, and a visit's always include
// the lead inspector's assignment notice, so Dispatched counts the plan's
// visits that have an assignment notice. Pending counts the visits not
// dispatched yet: PendingRelay outbox rows the relay has not enqueued, plus
// PendingTasks rows enqueued whose handler has not committed (queued,
// running, retrying, or archived after spending its retries or being refused;
// the archived ones are what jobs reports as failed).
type DispatchStatus struct {
	PlanID              int64            `json:"plan_id"`
	PlanStatus          string           `json:"plan_status"`
	Visits              int64            `json:"visits"`
	Outbox              int64            `json:"outbox"`
	Relayed             int64            `json:"relayed"`
	Dispatched          int64            `json:"dispatched"`
	Notifications       int64            `json:"notifications"`
	NotificationsByKind map[string]int64 `json:"notifications_by_kind"`
	Pending             int64            `json:"pending"`
	PendingRelay        int64            `json:"pending_relay"`
	PendingTasks        int64            `json:"pending_tasks"`
	// Webhooks counts the deliveries of the plan's notifications by status
	// (pending, delivered, failed, skipped).
	Webhooks map[string]int64 `json:"webhooks"`
}

// PlanDispatchStatus returns the dispatch figures of a plan (a plan that is
// not published has none yet, all zero but its visits).
func (s *Store) PlanDispatchStatus(ctx context.Context, planID int64) (DispatchStatus, error) {
	p, err := s.GetPlan(ctx, planID)
	if err != nil {
		return DispatchStatus{}, err
	}
	st := DispatchStatus{PlanID: planID, PlanStatus: p.Status, NotificationsByKind: map[string]int64{},
		Webhooks: map[string]int64{}}
	db := s.db.WithContext(ctx)
	var c struct {
		Visits, Outbox, Relayed, Dispatched, PendingTasks int64
	}
	err = db.Raw(`SELECT
		(SELECT count(*) FROM plan_visits WHERE plan_id = @p) AS visits,
		(SELECT count(*) FROM outbox WHERE plan_id = @p AND kind = @o) AS outbox,
		(SELECT count(*) FROM outbox WHERE plan_id = @p AND kind = @o AND relayed_at IS NOT NULL) AS relayed,
		(SELECT count(DISTINCT visit_seq) FROM notifications WHERE plan_id = @p AND kind = @k) AS dispatched,
		(SELECT count(*) FROM outbox o WHERE o.plan_id = @p AND o.kind = @o AND o.relayed_at IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM notifications n WHERE n.plan_id = o.plan_id AND n.visit_seq = o.visit_seq AND n.kind = @k)) AS pending_tasks`,
		// Only the dispatch rows, one per visit: a moved visit's 'visit_moved'
		// row is the move's news, not the plan's dispatch.
		map[string]any{"p": planID, "k": NoticeAssignment, "o": OutboxDispatchVisit}).Scan(&c).Error
	if err != nil {
		return st, translate(err, "dispatch of "+planObject(planID))
	}
	st.Visits, st.Outbox, st.Relayed, st.Dispatched, st.PendingTasks = c.Visits, c.Outbox, c.Relayed, c.Dispatched, c.PendingTasks
	st.PendingRelay = c.Outbox - c.Relayed
	st.Pending = st.PendingRelay + st.PendingTasks
	var kinds []struct {
		Kind string
		N    int64
	}
	if err := db.Raw(`SELECT kind, count(*) AS n FROM notifications WHERE plan_id = ? GROUP BY kind`, planID).Scan(&kinds).Error; err != nil {
		return st, translate(err, "notifications of "+planObject(planID))
	}
	for _, k := range kinds {
		st.NotificationsByKind[k.Kind] = k.N
		st.Notifications += k.N
	}
	var hooks []struct {
		Status string
		N      int64
	}
	if err := db.Raw(`SELECT d.status, count(*) AS n FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id
		WHERE n.plan_id = ? GROUP BY d.status`, planID).Scan(&hooks).Error; err != nil {
		return st, translate(err, "webhook deliveries of "+planObject(planID))
	}
	for _, h := range hooks {
		st.Webhooks[h.Status] = h.N
	}
	return st, nil
}

// OutboxRows lists a plan's outbox rows (tests and tools).
func (s *Store) OutboxRows(ctx context.Context, planID int64) ([]OutboxRow, []*time.Time, error) {
	var rows []struct {
		OutboxRow
		RelayedAt *time.Time
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT id, plan_id, visit_seq, kind, payload, created_at, relayed_at FROM outbox
		WHERE plan_id = ? ORDER BY id`, planID).Scan(&rows).Error; err != nil {
		return nil, nil, translate(err, "outbox of "+planObject(planID))
	}
	out := make([]OutboxRow, len(rows))
	at := make([]*time.Time, len(rows))
	for i, r := range rows {
		out[i], at[i] = r.OutboxRow, r.RelayedAt
	}
	return out, at, nil
}

// errNotPublished is a dispatch asked of a plan that is not published.
func errNotPublished(planID int64, status string) error {
	return fmt.Errorf("%s is %s, not published: %w", planObject(planID), status, domain.ErrConflict)
}
