-- +goose Up
-- Scans of codes this service did not sign (forged, tampered, not a code at
-- all) are counted, not kept one row each: anyone can send them, and a row
-- per request let an anonymous client grow visit_code_scans without bound.
-- One row per hour (UTC, so that any time zone can sum its days from it):
-- the table grows with time, never with the number of requests.
CREATE TABLE visit_code_unknown_scans (
    hour     timestamptz PRIMARY KEY CHECK (date_trunc('hour', hour AT TIME ZONE 'UTC') = hour AT TIME ZONE 'UTC'),
    scans    bigint NOT NULL CHECK (scans > 0),
    last_at  timestamptz NOT NULL
);

-- The unsigned scans recorded so far become counts.
INSERT INTO visit_code_unknown_scans (hour, scans, last_at)
SELECT date_trunc('hour', scanned_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), max(scanned_at)
FROM visit_code_scans WHERE plan_id IS NULL
GROUP BY 1;
DELETE FROM visit_code_scans WHERE plan_id IS NULL;

-- What is left, and all that is written from now on, names a code this
-- service signed.
ALTER TABLE visit_code_scans ALTER COLUMN plan_id SET NOT NULL,
    ALTER COLUMN visit_seq SET NOT NULL,
    ALTER COLUMN generation SET NOT NULL;

-- +goose Down
ALTER TABLE visit_code_scans ALTER COLUMN plan_id DROP NOT NULL,
    ALTER COLUMN visit_seq DROP NOT NULL,
    ALTER COLUMN generation DROP NOT NULL;
DROP TABLE visit_code_unknown_scans;
