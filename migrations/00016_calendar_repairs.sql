-- +goose Up
-- A calendar that repairs itself (issue 17 part 2). Each new inspector
-- unavailability or closure is a repair: the published visits it hits are
-- mended with the least change (planner.Repair), visit by visit, each in
-- its own transaction, so a worker killed part-way resumes where it stopped
-- and a visit is never repaired twice for the same cause.

CREATE TABLE calendar_repairs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- what caused it; the cause row may be deleted later (leave withdrawn,
    -- closure lifted), which changes nothing already repaired
    cause         text NOT NULL CHECK (cause IN ('unavailability', 'closure')),
    cause_id      bigint NOT NULL,
    -- the cause's reason, told to everyone a repair changes things for
    reason        text NOT NULL,
    from_date     date NOT NULL,
    to_date       date NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done')),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    -- visits the repair looked at (set when it starts); the changes made so
    -- far are counted from visit_moves, visit_substitutions and
    -- repair_problems, so progress shows while it runs
    visits        integer,
    attempts      integer NOT NULL DEFAULT 0,
    UNIQUE (cause, cause_id)
);
CREATE INDEX calendar_repairs_status_idx ON calendar_repairs (status, id);

-- A move made by a repair names it: at most one move per repair and visit.
ALTER TABLE visit_moves ADD COLUMN repair_id bigint REFERENCES calendar_repairs (id);
CREATE UNIQUE INDEX visit_moves_repair_idx ON visit_moves (repair_id, plan_id, visit_seq) WHERE repair_id IS NOT NULL;

-- An inspector replaced on a published visit: from this row on, position ord
-- of the visit (0 = the lead) is held by inspector_id instead of whoever held
-- it before (the plan's assignment or an earlier substitution). Append-only
-- like visit_moves. The draw that picked the replacement is recorded whole
-- (planner.Draw as JSON), seeded from the year key and the repair, so that
-- `draw verify` replays it once the year key is revealed.
CREATE TABLE visit_substitutions (
    plan_id           bigint NOT NULL,
    visit_seq         integer NOT NULL CHECK (visit_seq > 0),
    -- numbers the visit's substitutions from 1
    seq               integer NOT NULL CHECK (seq > 0),
    ord               smallint NOT NULL CHECK (ord >= 0),
    out_inspector_id  bigint NOT NULL REFERENCES inspectors (id),
    inspector_id      bigint NOT NULL REFERENCES inspectors (id),
    -- the date the visit has with the new inspector
    date              date NOT NULL,
    repair_id         bigint REFERENCES calendar_repairs (id),
    reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    draw_key          text NOT NULL,
    draw              jsonb NOT NULL,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, visit_seq, seq),
    CHECK (out_inspector_id <> inspector_id)
);
CREATE UNIQUE INDEX visit_substitutions_repair_idx ON visit_substitutions (repair_id, plan_id, visit_seq, ord)
    WHERE repair_id IS NOT NULL;
CREATE INDEX visit_substitutions_pos_idx ON visit_substitutions (plan_id, visit_seq, ord, seq DESC);
CREATE INDEX visit_substitutions_inspector_idx ON visit_substitutions (inspector_id);
CREATE INDEX visit_substitutions_out_idx ON visit_substitutions (out_inspector_id);

-- +goose StatementBegin
CREATE FUNCTION visit_substitutions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'visit_substitutions is append-only: replace the inspector again instead' USING ERRCODE = 'check_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER visit_substitutions_append_only BEFORE UPDATE OR DELETE ON visit_substitutions
    FOR EACH ROW EXECUTE FUNCTION visit_substitutions_append_only();

-- Who is on a visit now: the plan's assignments (and those joins added) with
-- each position's latest substitution. Every reader of a visit's inspectors
-- reads this view; only writers use plan_assignments.
CREATE VIEW visit_assignments AS
    SELECT a.plan_id, a.visit_seq, coalesce(s.inspector_id, a.inspector_id) AS inspector_id, a.role, a.ord,
        a.added_by_plan_id, a.inspector_id AS planned_inspector_id
    FROM plan_assignments a
        LEFT JOIN (SELECT DISTINCT ON (plan_id, visit_seq, ord) plan_id, visit_seq, ord, inspector_id
            FROM visit_substitutions ORDER BY plan_id, visit_seq, ord, seq DESC) s
        ON s.plan_id = a.plan_id AND s.visit_seq = a.visit_seq AND s.ord = a.ord;

-- What a repair could not mend, for a coordinator: the visit stays as it was.
CREATE TABLE repair_problems (
    repair_id   bigint NOT NULL REFERENCES calendar_repairs (id),
    plan_id     bigint NOT NULL,
    visit_seq   integer NOT NULL,
    uscc        char(18) NOT NULL,
    date        date NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('no_day', 'no_inspector', 'unknown')),
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repair_id, plan_id, visit_seq)
);
CREATE INDEX repair_problems_visit_idx ON repair_problems (plan_id, visit_seq);

-- A repair is handed to the queue through the outbox like visit news: one
-- 'calendar_repair' row per repair, plan_id 0 and visit_seq the repair's id
-- (the outbox is keyed by plan, visit and kind). An inspector replaced on a
-- visit is told through a 'visit_restaffed' row of the visit.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('dispatch_visit', 'visit_moved', 'code_revoked', 'visit_amended', 'calendar_repair', 'visit_restaffed'));
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved', 'code_replaced',
        'visit_amended', 'visit_restaffed'));

-- +goose Down
DELETE FROM outbox WHERE kind IN ('calendar_repair', 'visit_restaffed');
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('dispatch_visit', 'visit_moved', 'code_revoked', 'visit_amended'));
DELETE FROM notifications WHERE kind = 'visit_restaffed';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster', 'visit_moved', 'code_replaced',
        'visit_amended'));
DROP TABLE repair_problems;
DROP VIEW visit_assignments;
DROP TABLE visit_substitutions;
DROP FUNCTION visit_substitutions_append_only();
DROP INDEX visit_moves_repair_idx;
ALTER TABLE visit_moves DROP COLUMN repair_id;
DROP TABLE calendar_repairs;
