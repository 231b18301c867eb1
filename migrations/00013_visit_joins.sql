-- +goose Up
-- Joins (DESIGN.md §4a, issue 16): a plan may add new tasks to visits already
-- on the calendar (published by an earlier plan) instead of knocking again.

-- A draft's joins, one row per amended visit: the target visit (a visit of
-- an earlier published plan), what the join adds to it (minutes, inspectors)
-- and whether any joined item is unannounced. Like the other plan rows it has
-- no foreign keys (see 00003): SavePlanResult checks the targets set-wise
-- under the plan's row lock. Once the plan is published the rows are the
-- record of the amendment: published_visits adds their minutes to the
-- target's duration and counts them in amendments (the calendar SEQUENCE).
CREATE TABLE plan_joins (
    plan_id              bigint NOT NULL,
    -- numbers the plan's joins from 1 (the list's cursor)
    seq                  integer NOT NULL CHECK (seq > 0),
    target_plan_id       bigint NOT NULL,
    target_visit_seq     integer NOT NULL CHECK (target_visit_seq > 0),
    uscc                 char(18) NOT NULL,
    -- the target's effective date when the plan was made
    date                 date NOT NULL,
    added_minutes        integer NOT NULL CHECK (added_minutes >= 0),
    -- the target's time on site with the joined items
    duration_minutes     integer NOT NULL CHECK (duration_minutes >= 0),
    -- inspectors added by a recorded draw (plan_draws, visit_key "…/join:…")
    added_inspector_ids  bigint[] NOT NULL DEFAULT '{}',
    -- some joined item is unannounced: the business is not told of it before the day
    unannounced          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (plan_id, seq),
    UNIQUE (plan_id, target_plan_id, target_visit_seq),
    CHECK (target_plan_id <> plan_id)
);
CREATE INDEX plan_joins_target_idx ON plan_joins (target_plan_id, target_visit_seq);

CREATE TRIGGER plan_joins_frozen BEFORE UPDATE OR DELETE ON plan_joins
    FOR EACH ROW EXECUTE FUNCTION plan_rows_frozen();

-- A task is in exactly one of: a visit of its plan (visit_seq), a join
-- (join_plan_id, join_visit_seq: the target visit), or unplaced
-- (unplaced_reason). On publication the joined tasks are copied into the
-- target plan as tasks of the target visit, with added_by_plan_id naming the
-- joining plan: every reader of a visit's tasks reads (plan_id, visit_seq),
-- so the added items show wherever the visit's items do. Inserting into a
-- published plan's rows is allowed (plan_rows_frozen checks updates and
-- deletes only), and nothing existing changes.
ALTER TABLE plan_tasks ADD COLUMN join_plan_id bigint;
ALTER TABLE plan_tasks ADD COLUMN join_visit_seq integer;
ALTER TABLE plan_tasks ADD COLUMN added_by_plan_id bigint;
ALTER TABLE plan_tasks DROP CONSTRAINT IF EXISTS plan_tasks_check;
ALTER TABLE plan_tasks DROP CONSTRAINT IF EXISTS plan_tasks_check1;
ALTER TABLE plan_tasks ADD CONSTRAINT plan_tasks_one_place
    CHECK (num_nonnulls(visit_seq, join_plan_id, unplaced_reason) = 1);
ALTER TABLE plan_tasks ADD CONSTRAINT plan_tasks_join_target
    CHECK ((join_plan_id IS NULL) = (join_visit_seq IS NULL));
ALTER TABLE plan_tasks ADD CONSTRAINT plan_tasks_placed_named
    CHECK ((visit_seq IS NULL AND join_plan_id IS NULL) OR (uscc IS NOT NULL AND item_id IS NOT NULL));
ALTER TABLE plan_tasks ADD CONSTRAINT plan_tasks_added_placed
    CHECK (added_by_plan_id IS NULL OR visit_seq IS NOT NULL);
CREATE INDEX plan_tasks_added_idx ON plan_tasks (added_by_plan_id) WHERE added_by_plan_id IS NOT NULL;

-- An inspector added to a visit by a join, like its tasks.
ALTER TABLE plan_assignments ADD COLUMN added_by_plan_id bigint;

-- A visit_amended notice tells the inspectors of an amended visit (an added
-- one included), its lead team and (for announced added items only) the
-- business what a later plan added to it: one notice per recipient and
-- joining plan. PublishPlan writes a 'visit_amended' outbox row per amended
-- visit in the publication's transaction, one row per visit as with moves (a
-- later amendment re-arms it).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved', 'code_replaced',
        'visit_amended'));
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('dispatch_visit', 'visit_moved', 'code_revoked', 'visit_amended'));

-- What ON DELETE CASCADE would do, now with the joins.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION plans_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM plan_assignments WHERE plan_id = OLD.id;
    DELETE FROM plan_tasks WHERE plan_id = OLD.id;
    DELETE FROM plan_visits WHERE plan_id = OLD.id;
    DELETE FROM plan_draws WHERE plan_id = OLD.id;
    DELETE FROM plan_joins WHERE plan_id = OLD.id;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd

-- published_visits (00006) with the published joins: the duration grows by
-- their added minutes, and amendments counts them. revision stays the number
-- of moves (rosters, move notices and reminders key on it); a calendar
-- event's SEQUENCE is revision + amendments, so an amended visit is updated
-- in calendar apps.
CREATE OR REPLACE VIEW published_visits AS
    SELECT pv.plan_id, pv.seq, pv.uscc, pv.date, pv.date AS original_date, 0 AS revision, pv.date AS earliest_date,
        pv.team_id, pv.duration_minutes + coalesce(a.minutes, 0)::integer AS duration_minutes, pv.travel_minutes,
        pv.route_order, pv.department_ids,
        p.published_at AS changed_at, coalesce(a.n, 0)::integer AS amendments
    FROM plan_visits pv JOIN plans p ON p.id = pv.plan_id
        LEFT JOIN LATERAL (SELECT sum(j.added_minutes) AS minutes, count(*) AS n
            FROM plan_joins j JOIN plans jp ON jp.id = j.plan_id AND jp.status = 'published'
            WHERE j.target_plan_id = pv.plan_id AND j.target_visit_seq = pv.seq) a ON true
    WHERE p.status = 'published'
        AND NOT EXISTS (SELECT 1 FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq)
    UNION ALL
    SELECT pv.plan_id, pv.seq, pv.uscc, m.to_date AS date, pv.date AS original_date, m.seq AS revision,
        least(pv.date, (SELECT min(a.to_date) FROM visit_moves a WHERE a.plan_id = m.plan_id AND a.visit_seq = m.visit_seq))
            AS earliest_date,
        pv.team_id, pv.duration_minutes + coalesce(a.minutes, 0)::integer AS duration_minutes, pv.travel_minutes,
        pv.route_order, pv.department_ids,
        m.moved_at AS changed_at, coalesce(a.n, 0)::integer AS amendments
    FROM visit_moves m JOIN plan_visits pv ON pv.plan_id = m.plan_id AND pv.seq = m.visit_seq
        JOIN plans p ON p.id = pv.plan_id
        LEFT JOIN LATERAL (SELECT sum(j.added_minutes) AS minutes, count(*) AS n
            FROM plan_joins j JOIN plans jp ON jp.id = j.plan_id AND jp.status = 'published'
            WHERE j.target_plan_id = pv.plan_id AND j.target_visit_seq = pv.seq) a ON true
    WHERE p.status = 'published'
        AND NOT EXISTS (SELECT 1 FROM visit_moves l WHERE l.plan_id = m.plan_id AND l.visit_seq = m.visit_seq AND l.seq > m.seq);

-- +goose Down
DELETE FROM outbox WHERE kind = 'visit_amended';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('dispatch_visit', 'visit_moved', 'code_revoked'));
DELETE FROM notifications WHERE kind = 'visit_amended';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved', 'code_replaced'));
DROP VIEW published_visits;
CREATE VIEW published_visits AS
    SELECT pv.plan_id, pv.seq, pv.uscc, pv.date, pv.date AS original_date, 0 AS revision, pv.date AS earliest_date,
        pv.team_id, pv.duration_minutes, pv.travel_minutes, pv.route_order, pv.department_ids,
        p.published_at AS changed_at
    FROM plan_visits pv JOIN plans p ON p.id = pv.plan_id
    WHERE p.status = 'published'
        AND NOT EXISTS (SELECT 1 FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq)
    UNION ALL
    SELECT pv.plan_id, pv.seq, pv.uscc, m.to_date AS date, pv.date AS original_date, m.seq AS revision,
        least(pv.date, (SELECT min(a.to_date) FROM visit_moves a WHERE a.plan_id = m.plan_id AND a.visit_seq = m.visit_seq))
            AS earliest_date,
        pv.team_id, pv.duration_minutes, pv.travel_minutes, pv.route_order, pv.department_ids,
        m.moved_at AS changed_at
    FROM visit_moves m JOIN plan_visits pv ON pv.plan_id = m.plan_id AND pv.seq = m.visit_seq
        JOIN plans p ON p.id = pv.plan_id
    WHERE p.status = 'published'
        AND NOT EXISTS (SELECT 1 FROM visit_moves l WHERE l.plan_id = m.plan_id AND l.visit_seq = m.visit_seq AND l.seq > m.seq);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION plans_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM plan_assignments WHERE plan_id = OLD.id;
    DELETE FROM plan_tasks WHERE plan_id = OLD.id;
    DELETE FROM plan_visits WHERE plan_id = OLD.id;
    DELETE FROM plan_draws WHERE plan_id = OLD.id;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd
-- The amendments' copies in published plans go (the record's own trigger is
-- bypassed for it), and the joined tasks with them.
ALTER TABLE plan_tasks DISABLE TRIGGER plan_tasks_frozen;
ALTER TABLE plan_assignments DISABLE TRIGGER plan_assignments_frozen;
DELETE FROM plan_tasks WHERE added_by_plan_id IS NOT NULL OR join_plan_id IS NOT NULL;
DELETE FROM plan_assignments WHERE added_by_plan_id IS NOT NULL;
ALTER TABLE plan_tasks ENABLE TRIGGER plan_tasks_frozen;
ALTER TABLE plan_assignments ENABLE TRIGGER plan_assignments_frozen;
ALTER TABLE plan_assignments DROP COLUMN added_by_plan_id;
DROP INDEX plan_tasks_added_idx;
ALTER TABLE plan_tasks DROP CONSTRAINT plan_tasks_added_placed;
ALTER TABLE plan_tasks DROP CONSTRAINT plan_tasks_placed_named;
ALTER TABLE plan_tasks DROP CONSTRAINT plan_tasks_join_target;
ALTER TABLE plan_tasks DROP CONSTRAINT plan_tasks_one_place;
ALTER TABLE plan_tasks DROP COLUMN added_by_plan_id;
ALTER TABLE plan_tasks DROP COLUMN join_visit_seq;
ALTER TABLE plan_tasks DROP COLUMN join_plan_id;
ALTER TABLE plan_tasks ADD CONSTRAINT plan_tasks_check CHECK ((visit_seq IS NULL) <> (unplaced_reason IS NULL));
ALTER TABLE plan_tasks ADD CONSTRAINT plan_tasks_check1 CHECK (visit_seq IS NULL OR (uscc IS NOT NULL AND item_id IS NOT NULL));
DROP TABLE plan_joins;
