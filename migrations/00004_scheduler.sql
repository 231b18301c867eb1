-- +goose Up
-- Scheduler (DESIGN.md §5): one leader among the `inspectonce scheduler` replicas,
-- fenced by an epoch, and cron entries whose next due time lives here so that a
-- new leader runs what was missed while no replica was up (once).

-- The single leader row. A replica that takes the advisory lock increments epoch;
-- every run it records carries that epoch, and a run is only recorded while the
-- recorder's epoch is still the current one (a stale leader is fenced off).
CREATE TABLE scheduler_leader (
    id           smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    epoch        bigint NOT NULL CHECK (epoch > 0),
    holder       text NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cron_entries (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    spec         text NOT NULL,
    -- the next time the entry is due; a leader runs it once when it is <= now
    next_due     timestamptz NOT NULL,
    last_run_at  timestamptz,
    last_epoch   bigint NOT NULL DEFAULT 0
);

-- One row per run: (name, due_at) is unique, so a due time is run at most once
-- whichever leader claims it.
CREATE TABLE cron_runs (
    name         text NOT NULL REFERENCES cron_entries (name) ON DELETE CASCADE,
    due_at       timestamptz NOT NULL,
    epoch        bigint NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    -- NULL while running; ok or failed afterwards
    outcome      text CHECK (outcome IN ('ok', 'failed')),
    error        text,
    -- how many later due times were collapsed into this (catch-up) run
    missed       integer NOT NULL DEFAULT 0 CHECK (missed >= 0),
    UNIQUE (name, due_at)
);

CREATE INDEX cron_runs_unfinished ON cron_runs (started_at) WHERE finished_at IS NULL;

-- +goose Down
DROP TABLE cron_runs;
DROP TABLE cron_entries;
DROP TABLE scheduler_leader;
