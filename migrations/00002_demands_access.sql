-- +goose Up

CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('admin', 'planner', 'team_leader', 'inspector', 'business')),
    -- department code, team id, inspector id or USCC depending on role; empty for admin
    scope       text NOT NULL DEFAULT '',
    -- SHA-256 of the opaque token; the token itself is never stored
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((role = 'admin') = (scope = ''))
);

CREATE TABLE demands (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    department_id       bigint NOT NULL REFERENCES departments (id),
    title               text NOT NULL DEFAULT '',
    target_kind         text NOT NULL CHECK (target_kind IN ('list', 'sample')),
    -- sampling rule: population filter (empty array = no filter) plus count or ratio
    sample_region_ids   bigint[] NOT NULL DEFAULT '{}',
    sample_industries   text[] NOT NULL DEFAULT '{}',
    sample_scenario_id  bigint REFERENCES scenarios (id),
    sample_risk_codes   text[] NOT NULL DEFAULT '{}',
    sample_count        integer CHECK (sample_count > 0),
    sample_ratio        double precision CHECK (sample_ratio > 0 AND sample_ratio <= 1),
    window_from         date NOT NULL,
    window_to           date NOT NULL,
    priority            integer NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    source              text NOT NULL CHECK (source IN ('routine', 'complaint', 'campaign', 'scenario')),
    scenario_id         bigint REFERENCES scenarios (id),
    -- days of notice the business gets; 0 = unannounced
    announce_days       integer NOT NULL DEFAULT 0 CHECK (announce_days BETWEEN 0 AND 60),
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
    cancel_reason       text NOT NULL DEFAULT '',
    created_by          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    cancelled_at        timestamptz,
    CHECK (window_from <= window_to),
    CHECK ((target_kind = 'sample') = (sample_count IS NOT NULL OR sample_ratio IS NOT NULL)),
    CHECK (sample_count IS NULL OR sample_ratio IS NULL),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX demands_department_idx ON demands (department_id, id);
CREATE INDEX demands_status_idx ON demands (status, window_to);

CREATE TABLE demand_items (
    demand_id  bigint NOT NULL REFERENCES demands (id) ON DELETE CASCADE,
    item_id    bigint NOT NULL REFERENCES items (id),
    PRIMARY KEY (demand_id, item_id)
);

CREATE TABLE demand_businesses (
    demand_id  bigint NOT NULL REFERENCES demands (id) ON DELETE CASCADE,
    uscc       char(18) NOT NULL REFERENCES businesses (uscc),
    PRIMARY KEY (demand_id, uscc)
);
CREATE INDEX demand_businesses_uscc_idx ON demand_businesses (uscc);

-- A retried submission with the same key returns the first answer.
CREATE TABLE idempotency_keys (
    token_id      bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  bytea NOT NULL,
    status        integer NOT NULL DEFAULT 0,
    response      bytea NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, key)
);

-- Append-only, hash-chained: hash = SHA-256(prev_hash || canonical fields).
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    object     text NOT NULL,
    outcome    text NOT NULL,
    detail     text NOT NULL DEFAULT '{}',
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL UNIQUE
);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE import_jobs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('businesses', 'inspectors')),
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    started_by     text NOT NULL DEFAULT '',
    rows_read      integer NOT NULL DEFAULT 0,
    rows_loaded    integer NOT NULL DEFAULT 0,
    rows_rejected  integer NOT NULL DEFAULT 0,
    failure        text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);

CREATE TABLE import_errors (
    job_id  bigint NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    line    integer NOT NULL,
    field   text NOT NULL DEFAULT '',
    reason  text NOT NULL,
    PRIMARY KEY (job_id, line, field)
);

-- +goose Down
DROP TABLE import_errors;
DROP TABLE import_jobs;
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
DROP TABLE idempotency_keys;
DROP TABLE demand_businesses;
DROP TABLE demand_items;
DROP TABLE demands;
DROP TABLE api_tokens;
