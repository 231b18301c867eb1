-- Randomness no one controls alone (issue 19 part 4; docs/draws.md §3.8).
-- A plan run under draws.randomness = witness first resolves its target
-- frames and commits to them in public (plan_commitments + plan_frames);
-- a value the operator does not control alone is entered afterwards (by a
-- witness token, 司法局, or a public lottery number named in advance); only
-- then is the shift fixed and are the frames drawn from.

-- +goose Up
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'planner', 'team_leader', 'inspector', 'business', 'witness'));
-- A witness, like an admin, has no scope.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_check CHECK ((role IN ('admin', 'witness')) = (scope = ''));

CREATE TABLE plan_commitments (
    plan_id       bigint PRIMARY KEY REFERENCES plans (id) ON DELETE CASCADE,
    -- who or what gives the value, declared before it exists
    source        text NOT NULL CHECK (source <> ''),
    -- 'witness': only a witness token may enter it; 'public': a public number
    -- (lottery, beacon) named in source, entered by an admin, checkable by anyone
    kind          text NOT NULL CHECK (kind IN ('witness', 'public')),
    rotation      double precision NOT NULL CHECK (rotation >= 0 AND rotation < 1),
    jitter        double precision NOT NULL CHECK (jitter > 0 AND jitter <= 1),
    -- the demands the run planned: the run after the value plans these only
    demand_ids    bigint[] NOT NULL,
    body          text NOT NULL,
    commitment    text NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    committed_at  timestamptz NOT NULL DEFAULT now(),
    value         text,
    value_source  text,
    entered_by    text,
    entered_at    timestamptz,
    r             double precision,
    shift         double precision CHECK (shift >= 0 AND shift < 1),
    CHECK ((value IS NULL) = (entered_at IS NULL)),
    CHECK ((value IS NULL) = (shift IS NULL)),
    CHECK (entered_at IS NULL OR entered_at >= committed_at)
);

CREATE TABLE plan_frames (
    plan_id       bigint NOT NULL REFERENCES plan_commitments (plan_id) ON DELETE CASCADE,
    demand_id     bigint NOT NULL,
    frame_sha256  text NOT NULL,
    n             integer NOT NULL CHECK (n >= 0),
    salt          text NOT NULL,
    -- [{"key": USCC, "weight": w}] in key order
    frame         jsonb NOT NULL,
    certain       text[] NOT NULL,
    -- [{"key": USCC, "reason": code}]
    excluded      jsonb NOT NULL,
    PRIMARY KEY (plan_id, demand_id)
);

-- A commitment never changes; its value is entered once and never changes.
-- +goose StatementBegin
CREATE FUNCTION plan_commitments_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM plans WHERE id = OLD.plan_id AND status = 'published') THEN
            RAISE EXCEPTION 'plan %: its frame commitment is published', OLD.plan_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.plan_id, NEW.source, NEW.kind, NEW.rotation, NEW.jitter, NEW.demand_ids, NEW.body, NEW.commitment, NEW.committed_at)
        IS DISTINCT FROM (OLD.plan_id, OLD.source, OLD.kind, OLD.rotation, OLD.jitter, OLD.demand_ids, OLD.body, OLD.commitment, OLD.committed_at)
       OR OLD.value IS NOT NULL THEN
        RAISE EXCEPTION 'plan %: a frame commitment and its value are fixed once made', OLD.plan_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER plan_commitments_guard BEFORE UPDATE OR DELETE ON plan_commitments
    FOR EACH ROW EXECUTE FUNCTION plan_commitments_guard();

-- +goose StatementBegin
CREATE FUNCTION plan_frames_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR EXISTS (SELECT 1 FROM plans WHERE id = OLD.plan_id AND status = 'published') THEN
        RAISE EXCEPTION 'plan %: committed frames do not change', OLD.plan_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER plan_frames_guard BEFORE UPDATE OR DELETE ON plan_frames
    FOR EACH ROW EXECUTE FUNCTION plan_frames_guard();

-- A running plan's shift may change once: to the shift its entered witness
-- value gives. Everything else stays as 00003 has it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION plans_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'plan % is published and cannot be deleted', OLD.id USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.id, NEW.horizon_from, NEW.horizon_to, NEW.region_ids, NEW.mode, NEW.year, NEW.seed,
        NEW.seed_hash, NEW.created_by, NEW.created_at)
        IS DISTINCT FROM (OLD.id, OLD.horizon_from, OLD.horizon_to, OLD.region_ids, OLD.mode, OLD.year,
        OLD.seed, OLD.seed_hash, OLD.created_by, OLD.created_at)
       OR (NEW.shift IS DISTINCT FROM OLD.shift AND NOT (OLD.status = 'running' AND EXISTS (
            SELECT 1 FROM plan_commitments c WHERE c.plan_id = OLD.id AND c.shift = NEW.shift
               AND c.rotation = OLD.shift))) THEN
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

-- +goose Down
DROP TABLE plan_frames;
DROP TABLE plan_commitments;
DROP FUNCTION plan_frames_guard();
DROP FUNCTION plan_commitments_guard();
DELETE FROM api_tokens WHERE role = 'witness';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_check CHECK ((role = 'admin') = (scope = ''));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'planner', 'team_leader', 'inspector', 'business'));
-- plans_guard keeps the 00025 body (it is 00003's plus the witness shift),
-- which allows nothing more once plan_commitments is gone.
