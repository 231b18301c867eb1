-- +goose Up
-- Plans: one planning run over a horizon, with its draws, visits, tasks,
-- assignments and team-days. Two secrets are committed before they are used
-- and revealed later (DESIGN.md §4.2): the year key (revealed when the year is
-- closed) and each plan's seed (revealed when the plan is published).

CREATE TABLE year_keys (
    year         integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 9999),
    -- HMAC key of the businesses' permanent random numbers; secret until revealed_at
    key          bytea NOT NULL CHECK (length(key) = 32),
    -- SHA-256 of key: the public commitment
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revealed_at  timestamptz
);

-- +goose StatementBegin
CREATE FUNCTION year_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'year key % cannot be deleted', OLD.year USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.key IS DISTINCT FROM OLD.key OR NEW.key_hash IS DISTINCT FROM OLD.key_hash
        OR NEW.year IS DISTINCT FROM OLD.year OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR (OLD.revealed_at IS NOT NULL AND NEW.revealed_at IS DISTINCT FROM OLD.revealed_at) THEN
        RAISE EXCEPTION 'year key %: only an unrevealed key can be revealed, nothing else changes', OLD.year
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER year_keys_guard BEFORE UPDATE OR DELETE ON year_keys
    FOR EACH ROW EXECUTE FUNCTION year_keys_guard();

CREATE TABLE plans (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status         text NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'draft', 'published', 'discarded', 'failed')),
    horizon_from   date NOT NULL,
    horizon_to     date NOT NULL,
    -- regions planned, including everything below them; empty = the whole register
    region_ids     bigint[] NOT NULL DEFAULT '{}',
    mode           text NOT NULL CHECK (mode IN ('coordinated', 'independent')),
    -- the year whose key makes the permanent random numbers
    year           integer NOT NULL REFERENCES year_keys (year),
    -- the public rotation s_c, and s_{c+1} once the draws are known
    shift          double precision NOT NULL CHECK (shift >= 0 AND shift < 1),
    next_shift     double precision CHECK (next_shift >= 0 AND next_shift < 1),
    -- cycle seed from crypto/rand: secret while running or draft
    seed           bytea NOT NULL CHECK (length(seed) = 32),
    -- SHA-256 of seed: the commitment, public from creation
    seed_hash      bytea NOT NULL CHECK (length(seed_hash) = 32),
    progress       integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    progress_note  text NOT NULL DEFAULT '',
    stats          jsonb,
    failure        text NOT NULL DEFAULT '',
    created_by     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz,
    discarded_at   timestamptz,
    CHECK (horizon_from <= horizon_to),
    CHECK ((status = 'published') = (published_at IS NOT NULL)),
    CHECK ((status = 'discarded') = (discarded_at IS NOT NULL)),
    CHECK (status IN ('running', 'failed') OR (stats IS NOT NULL AND next_shift IS NOT NULL) OR discarded_at IS NOT NULL),
    CHECK ((status = 'failed') = (failure <> ''))
);
CREATE INDEX plans_status_idx ON plans (status, year, published_at);

-- A plan moves running → draft | failed | discarded, draft → published |
-- discarded, and never back. A published plan cannot be deleted, and what it
-- committed to (horizon, secrets, shift, stats) cannot change.
-- +goose StatementBegin
CREATE FUNCTION plans_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'plan % is published and cannot be deleted', OLD.id USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.id, NEW.horizon_from, NEW.horizon_to, NEW.region_ids, NEW.mode, NEW.year, NEW.shift, NEW.seed,
        NEW.seed_hash, NEW.created_by, NEW.created_at)
        IS DISTINCT FROM (OLD.id, OLD.horizon_from, OLD.horizon_to, OLD.region_ids, OLD.mode, OLD.year, OLD.shift,
        OLD.seed, OLD.seed_hash, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'plan %: its horizon, regions, mode, year, shift and seed are fixed at creation', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'published' AND (NEW.status, NEW.next_shift, NEW.stats, NEW.published_at)
        IS DISTINCT FROM (OLD.status, OLD.next_shift, OLD.stats, OLD.published_at) THEN
        RAISE EXCEPTION 'plan % is published and cannot change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'running' AND NEW.status IN ('draft', 'failed', 'discarded')) OR
        (OLD.status = 'draft' AND NEW.status IN ('published', 'discarded'))) THEN
        RAISE EXCEPTION 'plan %: % cannot become %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER plans_guard BEFORE UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION plans_guard();

-- The rows of a plan (draws, visits, tasks, assignments) carry no foreign
-- keys, on purpose. A district plan writes ~100,000 visits, ~300,000 tasks,
-- ~250,000 assignments and ~100,000 draws in one transaction, and PostgreSQL
-- checks a foreign key with one lookup per row: measured on this schema, the
-- keys took about three quarters of SavePlanResult's time. The rows are only
-- ever written by SavePlanResult, under the plan's row lock, which checks
-- every registry reference set-wise first (businesses, teams, demands,
-- departments, items, inspectors) and numbers visits, tasks and assignments
-- itself, so their visit_seq always names a visit of the plan; registries are
-- never deleted (demands are cancelled, not removed), so nothing can dangle
-- later. Deleting a plan deletes its rows (plans_cascade below).

-- Every draw with everything needed to recompute it.
CREATE TABLE plan_draws (
    plan_id     bigint NOT NULL,
    seq         integer NOT NULL CHECK (seq > 0),
    kind        text NOT NULL CHECK (kind IN ('targets', 'inspectors')),
    demand_id   bigint REFERENCES demands (id),
    -- inspector draws: USCC/date/sequence of the visit
    visit_key   text NOT NULL DEFAULT '',
    -- [{"key": ..., "weight": ...}] as drawn from; a weight that JSON cannot
    -- hold as a number (±Inf, NaN, -0) is written as a string. frame and
    -- steps are json, not jsonb: they are large, written once and read
    -- whole, and json stores them three times faster (and byte for byte).
    frame       json NOT NULL,
    frame_hash  text NOT NULL,
    n           integer NOT NULL CHECK (n >= 0),
    shift       double precision NOT NULL,
    salt        text NOT NULL DEFAULT '',
    required    text[] NOT NULL DEFAULT '{}',
    -- [{"key": ..., "reason": ...}] removed before the draw
    excluded    jsonb NOT NULL DEFAULT '[]',
    -- inspector draws: [{"need": domain, "candidates": [...], "pick": key}], one weighted pick each
    steps       json NOT NULL DEFAULT '[]',
    -- keys drawn, in draw order
    result      jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (plan_id, seq),
    CHECK (kind <> 'targets' OR demand_id IS NOT NULL)
);
CREATE INDEX plan_draws_demand_idx ON plan_draws (demand_id) WHERE demand_id IS NOT NULL;

CREATE TABLE plan_visits (
    plan_id           bigint NOT NULL,
    seq               integer NOT NULL CHECK (seq > 0),
    uscc              char(18) NOT NULL,
    date              date NOT NULL,
    -- the lead team
    team_id           bigint NOT NULL,
    duration_minutes  integer NOT NULL CHECK (duration_minutes >= 0),
    travel_minutes    integer NOT NULL CHECK (travel_minutes >= 0),
    -- 1-based position in the team-day's route
    route_order       integer NOT NULL CHECK (route_order >= 0),
    department_ids    bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (plan_id, seq)
);
CREATE INDEX plan_visits_uscc_idx ON plan_visits (uscc, date);
CREATE INDEX plan_visits_team_date_idx ON plan_visits (team_id, date, route_order);

-- Tasks: placed in a visit (visit_seq), or unplaced with the reason. A whole
-- demand that could not be resolved (empty_population, unknown_item …) is one
-- row with no USCC; the USCC and item of an unplaced task may name something
-- the registry does not hold (unknown_business, unknown_item).
CREATE TABLE plan_tasks (
    plan_id          bigint NOT NULL,
    seq              integer NOT NULL CHECK (seq > 0),
    visit_seq        integer,
    demand_id        bigint NOT NULL,
    department_id    bigint NOT NULL,
    uscc             text,
    item_id          bigint,
    window_from      date NOT NULL,
    window_to        date NOT NULL,
    priority         integer NOT NULL DEFAULT 3,
    complaint        boolean NOT NULL DEFAULT false,
    unplaced_reason  text,
    PRIMARY KEY (plan_id, seq),
    CHECK ((visit_seq IS NULL) <> (unplaced_reason IS NULL)),
    CHECK (visit_seq IS NULL OR (uscc IS NOT NULL AND item_id IS NOT NULL))
);
CREATE INDEX plan_tasks_department_idx ON plan_tasks (plan_id, department_id, visit_seq);
CREATE INDEX plan_tasks_visit_idx ON plan_tasks (plan_id, visit_seq);
CREATE INDEX plan_tasks_demand_idx ON plan_tasks (demand_id);

CREATE TABLE plan_assignments (
    plan_id       bigint NOT NULL,
    visit_seq     integer NOT NULL,
    inspector_id  bigint NOT NULL,
    role          text NOT NULL CHECK (role IN ('lead', 'member')),
    -- position in the visit's inspector list (0 = the lead)
    ord           smallint NOT NULL CHECK (ord >= 0),
    PRIMARY KEY (plan_id, visit_seq, inspector_id),
    CHECK ((role = 'lead') = (ord = 0))
);
CREATE INDEX plan_assignments_inspector_idx ON plan_assignments (inspector_id, plan_id);

CREATE TABLE plan_team_days (
    plan_id         bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    team_id         bigint NOT NULL REFERENCES teams (id),
    date            date NOT NULL,
    travel_km       double precision NOT NULL CHECK (travel_km >= 0),
    work_minutes    integer NOT NULL CHECK (work_minutes >= 0),
    travel_minutes  integer NOT NULL CHECK (travel_minutes >= 0),
    PRIMARY KEY (plan_id, team_id, date)
);

-- What ON DELETE CASCADE would do.
-- +goose StatementBegin
CREATE FUNCTION plans_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM plan_assignments WHERE plan_id = OLD.id;
    DELETE FROM plan_tasks WHERE plan_id = OLD.id;
    DELETE FROM plan_visits WHERE plan_id = OLD.id;
    DELETE FROM plan_draws WHERE plan_id = OLD.id;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER plans_cascade AFTER DELETE ON plans FOR EACH ROW EXECUTE FUNCTION plans_cascade();

-- The rows of a published plan are frozen. Inserts are not checked here (they
-- happen only while a plan is running, under its row lock); updates and
-- deletes are.
-- +goose StatementBegin
CREATE FUNCTION plan_rows_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM plans WHERE id = OLD.plan_id AND status = 'published') THEN
        RAISE EXCEPTION 'plan % is published: its % cannot change', OLD.plan_id, TG_TABLE_NAME
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- Frames are large and written once: lz4 compresses them several times
-- faster than the default pglz.
ALTER TABLE plan_draws ALTER COLUMN frame SET COMPRESSION lz4;
ALTER TABLE plan_draws ALTER COLUMN steps SET COMPRESSION lz4;

CREATE TRIGGER plan_draws_frozen BEFORE UPDATE OR DELETE ON plan_draws
    FOR EACH ROW EXECUTE FUNCTION plan_rows_frozen();
CREATE TRIGGER plan_visits_frozen BEFORE UPDATE OR DELETE ON plan_visits
    FOR EACH ROW EXECUTE FUNCTION plan_rows_frozen();
CREATE TRIGGER plan_tasks_frozen BEFORE UPDATE OR DELETE ON plan_tasks
    FOR EACH ROW EXECUTE FUNCTION plan_rows_frozen();
CREATE TRIGGER plan_assignments_frozen BEFORE UPDATE OR DELETE ON plan_assignments
    FOR EACH ROW EXECUTE FUNCTION plan_rows_frozen();
CREATE TRIGGER plan_team_days_frozen BEFORE UPDATE OR DELETE ON plan_team_days
    FOR EACH ROW EXECUTE FUNCTION plan_rows_frozen();

-- +goose Down
DROP TABLE plan_team_days;
DROP TABLE plan_assignments;
DROP TABLE plan_tasks;
DROP TABLE plan_visits;
DROP TABLE plan_draws;
DROP FUNCTION plan_rows_frozen();
DROP TABLE plans;
DROP FUNCTION plans_cascade();
DROP FUNCTION plans_guard();
DROP TABLE year_keys;
DROP FUNCTION year_keys_guard();
