-- +goose Up
-- Telling people a visit's code was revoked, with the code that replaces it
-- (jobs.Dispatcher.TellNewCode).

-- A code_replaced notice tells the inspectors, the lead team and (for an
-- announced visit) the business that the code they were given no longer
-- verifies, and gives the current one: one notice per recipient and code
-- generation.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved', 'code_replaced'));

-- store.RevokeVisitCode writes a 'code_revoked' outbox row in the
-- revocation's own transaction, so a revocation is told however the process
-- dies after its commit. One row per visit, as with moves: a later
-- revocation re-arms it with its generation, and the task tells the code
-- current when it runs.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('dispatch_visit', 'visit_moved', 'code_revoked'));

-- +goose Down
DELETE FROM outbox WHERE kind = 'code_revoked';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('dispatch_visit', 'visit_moved'));
DELETE FROM notifications WHERE kind = 'code_replaced';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved'));
