-- +goose Up
-- Closing the loop (issue 9): the visit code a business scans at the door,
-- the inspectors' check-ins and results, the confirmed visit report that
-- drives risk codes and follow-up demands, and the publication of results
-- (一公开).

-- Server-side HMAC keys, one per purpose, made on first use by the store
-- (INSERT … ON CONFLICT DO NOTHING, then read back), so every replica signs
-- with the same key and no key has to be configured by hand.
CREATE TABLE signing_keys (
    purpose     text PRIMARY KEY CHECK (purpose IN ('visit_code')),
    key         bytea NOT NULL CHECK (length(key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A visit code (行政行为码) is derived, not stored: it encodes the plan, the
-- visit and a generation, signed with the visit_code key. Revoking a code
-- appends a row here; the visit's current code is the one whose generation
-- equals the number of its revocations, so an earlier code reads "revoked".
CREATE TABLE visit_code_revocations (
    plan_id     bigint NOT NULL,
    visit_seq   integer NOT NULL CHECK (visit_seq > 0),
    -- the generation revoked (0 = the first code)
    generation  integer NOT NULL CHECK (generation >= 0),
    reason      text NOT NULL CHECK (btrim(reason) <> '' AND length(reason) <= 1000),
    revoked_by  text NOT NULL DEFAULT '',
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, visit_seq, generation)
);

-- Every scan of a code page, valid or not: the record a business or an
-- auditor can ask for. plan_id/visit_seq are null when the code's signature
-- did not check out.
CREATE TABLE visit_code_scans (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id     bigint,
    visit_seq   integer,
    generation  integer,
    outcome     text NOT NULL CHECK (outcome IN ('valid', 'revoked', 'not_published', 'unknown')),
    user_agent  text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 500),
    scanned_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visit_code_scans_visit_idx ON visit_code_scans (plan_id, visit_seq, scanned_at);

-- An inspector arriving at the door (掌上执法): one check-in per inspector
-- and visit; client_id is generated on the phone so a retried upload records
-- once.
CREATE TABLE visit_checkins (
    plan_id       bigint NOT NULL,
    visit_seq     integer NOT NULL CHECK (visit_seq > 0),
    inspector_id  bigint NOT NULL REFERENCES inspectors (id),
    client_id     uuid NOT NULL UNIQUE,
    at            timestamptz NOT NULL,
    lat           double precision CHECK (lat BETWEEN -90 AND 90),
    lng           double precision CHECK (lng BETWEEN -180 AND 180),
    accuracy_m    double precision CHECK (accuracy_m >= 0),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, visit_seq, inspector_id),
    CHECK ((lat IS NULL) = (lng IS NULL))
);

-- One row per submission of a task's result, append-only: the task's current
-- result is its latest row (highest id). A retried upload (same client_id)
-- adds nothing. Once the visit is confirmed (visit_reports) no row is added.
CREATE TABLE task_results (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id          bigint NOT NULL,
    task_seq         integer NOT NULL CHECK (task_seq > 0),
    visit_seq        integer NOT NULL CHECK (visit_seq > 0),
    uscc             char(18) NOT NULL,
    demand_id        bigint NOT NULL,
    department_id    bigint NOT NULL,
    item_id          bigint NOT NULL,
    outcome          text NOT NULL
                     CHECK (outcome IN ('compliant', 'minor', 'violation', 'transferred', 'not_done')),
    -- minor (轻微, not penalised) and violation: the rule breached
    rule_cited       text NOT NULL DEFAULT '' CHECK (length(rule_cited) <= 500),
    -- violation: the rectification deadline
    rectify_by       date,
    -- transferred (移送): the department it went to
    transferred_to   bigint REFERENCES departments (id),
    not_done_reason  text CHECK (not_done_reason IN ('closed', 'absent', 'refused')),
    note             text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    recorded_by      bigint NOT NULL REFERENCES inspectors (id),
    client_id        uuid NOT NULL UNIQUE,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome IN ('minor', 'violation')) = (rule_cited <> '')),
    CHECK ((outcome = 'violation') = (rectify_by IS NOT NULL)),
    CHECK ((outcome = 'transferred') = (transferred_to IS NOT NULL)),
    CHECK ((outcome = 'not_done') = (not_done_reason IS NOT NULL))
);
CREATE INDEX task_results_task_idx ON task_results (plan_id, task_seq, id DESC);
CREATE INDEX task_results_visit_idx ON task_results (plan_id, visit_seq);
CREATE INDEX task_results_uscc_idx ON task_results (uscc, recorded_at);

-- The current result of every task that has one.
CREATE VIEW current_task_results AS
    SELECT DISTINCT ON (plan_id, task_seq) *
    FROM task_results
    ORDER BY plan_id, task_seq, id DESC;

-- An inspector's confirmation of a visit's results as they stood (a hash of
-- the current result ids): a later change to a result clears it.
CREATE TABLE visit_confirmations (
    plan_id       bigint NOT NULL,
    visit_seq     integer NOT NULL CHECK (visit_seq > 0),
    inspector_id  bigint NOT NULL REFERENCES inspectors (id),
    client_id     uuid NOT NULL UNIQUE,
    results_hash  bytea NOT NULL,
    confirmed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, visit_seq, inspector_id)
);

-- A visit whose results two of its inspectors confirmed: it was performed
-- (or, when every task is not_done, attempted). Written once, in the
-- transaction that applies its effects (risk codes, follow-up demands);
-- publication sets published_at. visit_date is the effective date (after
-- moves); publish_due the 20th working day after it.
CREATE TABLE visit_reports (
    plan_id          bigint NOT NULL,
    visit_seq        integer NOT NULL CHECK (visit_seq > 0),
    uscc             char(18) NOT NULL REFERENCES businesses (uscc),
    visit_date       date NOT NULL,
    team_id          bigint NOT NULL,
    -- departments whose tasks were performed (outcome other than not_done)
    department_ids   bigint[] NOT NULL DEFAULT '{}',
    performed_tasks  integer NOT NULL CHECK (performed_tasks >= 0),
    not_done_tasks   integer NOT NULL CHECK (not_done_tasks >= 0),
    checked_in_at    timestamptz,
    confirmed_at     timestamptz NOT NULL DEFAULT now(),
    publish_due      date NOT NULL,
    published_at     timestamptz,
    PRIMARY KEY (plan_id, visit_seq)
);
CREATE INDEX visit_reports_uscc_idx ON visit_reports (uscc, visit_date);
CREATE INDEX visit_reports_date_idx ON visit_reports (visit_date);
CREATE INDEX visit_reports_unpublished_idx ON visit_reports (publish_due) WHERE published_at IS NULL;

-- A risk code set by a result names it.
ALTER TABLE risk_code_history ADD COLUMN result_id bigint REFERENCES task_results (id);

-- Follow-up demands made by a confirmed visit: a not-done task goes back to
-- the pool as a 'redo' demand, a violation with a rectification deadline makes
-- a 'reinspection' demand. One per (visit, kind, department).
ALTER TABLE demands ADD COLUMN origin_kind text CHECK (origin_kind IN ('redo', 'reinspection'));
ALTER TABLE demands ADD COLUMN origin_plan_id bigint;
ALTER TABLE demands ADD COLUMN origin_visit_seq integer;
ALTER TABLE demands ADD CONSTRAINT demands_origin_check
    CHECK ((origin_kind IS NULL) = (origin_plan_id IS NULL) AND (origin_kind IS NULL) = (origin_visit_seq IS NULL));
CREATE UNIQUE INDEX demands_origin_idx ON demands (origin_plan_id, origin_visit_seq, origin_kind, department_id)
    WHERE origin_kind IS NOT NULL;

-- +goose Down
DROP INDEX demands_origin_idx;
ALTER TABLE demands DROP CONSTRAINT demands_origin_check;
ALTER TABLE demands DROP COLUMN origin_visit_seq;
ALTER TABLE demands DROP COLUMN origin_plan_id;
ALTER TABLE demands DROP COLUMN origin_kind;
ALTER TABLE risk_code_history DROP COLUMN result_id;
DROP TABLE visit_reports;
DROP TABLE visit_confirmations;
DROP VIEW current_task_results;
DROP TABLE task_results;
DROP TABLE visit_checkins;
DROP TABLE visit_code_scans;
DROP TABLE visit_code_revocations;
DROP TABLE signing_keys;
