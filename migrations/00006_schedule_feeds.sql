-- +goose Up
-- A business's consolidated schedule and the calendar feeds (issue 5): visits
-- moved after publication, the view of every published visit at its effective
-- date, and the secret URLs of the calendar feeds.

-- A coordinator moves a published visit to another day. The plan's rows stay
-- frozen (plan_rows_frozen): a move is a row of its own, and the visit's
-- effective date is the to_date of its latest move (highest seq), else
-- plan_visits.date. seq numbers the moves of one visit from 1, so the latest
-- move's seq is also the number of moves: the iCalendar SEQUENCE of the visit.
-- Like the plan's rows, a move carries no foreign key to plan_visits (which has
-- none to plans either); MoveVisit checks the visit and its plan under the
-- plan's row lock. Moves are never updated or deleted: they are the record.
CREATE TABLE visit_moves (
    plan_id    bigint NOT NULL,
    visit_seq  integer NOT NULL CHECK (visit_seq > 0),
    seq        integer NOT NULL CHECK (seq > 0),
    from_date  date NOT NULL,
    to_date    date NOT NULL,
    reason     text NOT NULL CHECK (btrim(reason) <> '' AND length(reason) <= 1000),
    moved_by   text NOT NULL DEFAULT '',
    moved_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, visit_seq, seq),
    CHECK (from_date <> to_date)
);
-- rosters and reminder scans look visits up by their (effective) day
CREATE INDEX visit_moves_to_date_idx ON visit_moves (to_date);

-- +goose StatementBegin
CREATE FUNCTION visit_moves_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'visit_moves is append-only: move the visit again instead' USING ERRCODE = 'check_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER visit_moves_append_only BEFORE UPDATE OR DELETE ON visit_moves
    FOR EACH ROW EXECUTE FUNCTION visit_moves_append_only();

-- Every visit of a published plan at its effective date. date is the effective
-- date, original_date the plan's, revision the number of moves, and
-- earliest_date the earliest day the visit was ever set for (the plan's date
-- or any move's): a business that was told of a visit keeps seeing it after a
-- move to a later day (see store.BusinessSchedule).
--
-- Two branches joined by UNION ALL rather than one LEFT JOIN with
-- coalesce(m.to_date, pv.date): a condition on date or team_id (rosters,
-- calendars) is pushed into each branch, where it can use plan_visits'
-- (team_id, date) and (uscc, date) indexes or visit_moves' to_date index;
-- coalesce() over an outer join could use none of them.
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

-- Secret calendar-feed URLs (/feeds/<secret>.ics). Calendar apps cannot send
-- a bearer token, so the secret in the URL is the credential: like api_tokens,
-- only its SHA-256 is stored. Rotating revokes the active secret of the
-- subject and makes a new one; at most one is active per (kind, subject).
CREATE TABLE feed_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('business', 'team', 'inspector')),
    -- USCC, team id or inspector id
    subject      text NOT NULL CHECK (subject <> ''),
    secret_hash  bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX feed_tokens_active_idx ON feed_tokens (kind, subject) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE feed_tokens;
DROP VIEW published_visits;
DROP TABLE visit_moves;
DROP FUNCTION visit_moves_append_only();
