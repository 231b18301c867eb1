-- +goose Up
-- Inspector unavailability (leave, training, secondment) and closures of a
-- region (with every region below it) or a team (typhoon, ferries stopped,
-- holiday duty), both over whole civil days, both included. The planner
-- reads those overlapping its horizon: nothing is placed on an inspector's
-- day away or on a closed day (issue 17).
CREATE TABLE inspector_unavailability (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inspector_id  bigint NOT NULL REFERENCES inspectors (id) ON DELETE CASCADE,
    from_date     date NOT NULL,
    to_date       date NOT NULL,
    reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (to_date >= from_date AND to_date - from_date <= 365)
);
CREATE INDEX inspector_unavailability_inspector_idx ON inspector_unavailability (inspector_id, to_date);
CREATE INDEX inspector_unavailability_dates_idx ON inspector_unavailability (to_date, from_date);

CREATE TABLE closures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_id   bigint REFERENCES regions (id) ON DELETE CASCADE,
    team_id     bigint REFERENCES teams (id) ON DELETE CASCADE,
    from_date   date NOT NULL,
    to_date     date NOT NULL,
    reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((region_id IS NULL) <> (team_id IS NULL)),
    CHECK (to_date >= from_date AND to_date - from_date <= 365)
);
CREATE INDEX closures_dates_idx ON closures (to_date, from_date);
CREATE INDEX closures_region_idx ON closures (region_id) WHERE region_id IS NOT NULL;
CREATE INDEX closures_team_idx ON closures (team_id) WHERE team_id IS NOT NULL;

-- +goose Down
DROP TABLE closures;
DROP TABLE inspector_unavailability;
