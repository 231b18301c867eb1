-- +goose Up
-- Telling people of a moved visit, and of a roster that changed after it was
-- sent (jobs.Dispatcher).

-- A visit_moved notice tells the inspectors, the lead team and (for an
-- announced visit) the business that a published visit moved: old and new
-- date and the reason, one notice per recipient and move.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved'));

-- store.MoveVisit writes a 'visit_moved' outbox row in the move's own
-- transaction, so a move is told however the process dies after its commit:
-- the relay hands the row to a dispatch:visit_moved task, whose handler writes
-- the notices and queues their webhook deliveries like every other dispatch
-- task. The row is one per visit, as UNIQUE (plan_id, visit_seq, kind) (which
-- PublishPlan's ON CONFLICT names) wants: a later move re-arms it (new
-- payload, relayed_at back to NULL), and the handler tells every move of the
-- visit not told yet, each under an effect key of its own revision.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('dispatch_visit', 'visit_moved'));

-- A team-day's roster notices, latest first: the roster jobs compare the
-- roster as it stands with the last one sent, and send an updated roster only
-- when they differ. Rosters carry no plan, so notifications_plan_idx does not
-- find them; body->>'date' is the roster's day (jobs.rosterBody).
CREATE INDEX notifications_roster_idx ON notifications ((body ->> 'date'), recipient_id, id)
    WHERE kind = 'roster' AND recipient_kind = 'team';

-- +goose Down
DROP INDEX notifications_roster_idx;
DELETE FROM outbox WHERE kind = 'visit_moved';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('dispatch_visit'));
DELETE FROM notifications WHERE kind = 'visit_moved';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster'));
