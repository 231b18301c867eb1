-- +goose Up
-- Dispatch (DESIGN.md §5): the outbox that PublishPlan fills in the plan's own
-- transaction, the notifications (inbox) that the task handlers write, each
-- under a unique effect key so that a redelivered task changes nothing, and the
-- webhooks that notifications are pushed to.

-- One row per thing to hand to the queue. PublishPlan writes a
-- 'dispatch_visit' row per visit in the transaction that publishes the plan;
-- the relay (jobs.Relay) enqueues unrelayed rows with task ID "outbox:<id>"
-- and sets relayed_at in the transaction that claimed them. Like the plan's
-- rows, the outbox carries no foreign keys: it is written set-based, once per
-- plan, under the plan's row lock, from the plan's own visits.
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id     bigint NOT NULL,
    visit_seq   integer NOT NULL CHECK (visit_seq > 0),
    kind        text NOT NULL CHECK (kind IN ('dispatch_visit')),
    -- the task's payload, versioned JSON
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz,
    UNIQUE (plan_id, visit_seq, kind)
);
-- what the relay claims, oldest first
CREATE INDEX outbox_unrelayed_idx ON outbox (id) WHERE relayed_at IS NULL;

-- The inbox. effect_key names the effect a handler wrote
-- ("visit:<plan>:<seq>:<recipient_kind>:<recipient_id>:<kind>",
-- "roster:team:<team>:<date>" …): writes are INSERT … ON CONFLICT DO NOTHING,
-- so a task delivered twice writes its notices once. visible_from hides a
-- notice from its recipient (and its webhook) until then: a business learns of
-- an announced visit only announce_days before it.
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_kind  text NOT NULL CHECK (recipient_kind IN ('inspector', 'business', 'team')),
    -- inspector id, USCC or team id
    recipient_id    text NOT NULL CHECK (recipient_id <> ''),
    kind            text NOT NULL CHECK (kind IN ('assignment', 'team_visit', 'visit_notice', 'reminder', 'roster')),
    plan_id         bigint,
    visit_seq       integer,
    title           text NOT NULL,
    body            jsonb NOT NULL DEFAULT '{}',
    visible_from    timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    effect_key      text NOT NULL UNIQUE
);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_kind, recipient_id, id);
CREATE INDEX notifications_plan_idx ON notifications (plan_id, visit_seq, kind) WHERE plan_id IS NOT NULL;

-- A webhook receives every notification to its recipient kind, signed with
-- HMAC-SHA256 under secret (see jobs.VerifySignature).
CREATE TABLE webhooks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_kind  text NOT NULL CHECK (recipient_kind IN ('inspector', 'business', 'team')),
    url             text NOT NULL CHECK (url ~ '^https?://'),
    secret          text NOT NULL CHECK (length(secret) >= 16),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_kind_idx ON webhooks (recipient_kind) WHERE active;

-- One delivery per (notification, webhook): a webhook:deliver task each.
CREATE TABLE webhook_deliveries (
    notification_id  bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    webhook_id       bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- pending → delivered, or failed once its retries are spent, or skipped
    -- when the webhook was deactivated first
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    PRIMARY KEY (notification_id, webhook_id),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, status);

-- Reminder scans and daily rosters read a day's visits across published plans.
CREATE INDEX plan_visits_date_idx ON plan_visits (date);

-- +goose Down
DROP INDEX plan_visits_date_idx;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE notifications;
DROP TABLE outbox;
