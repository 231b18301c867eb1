-- +goose Up
-- Unavailability and closures are imported from CSV too (issue 17): their
-- import jobs are kinds of their own.
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_kind_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_kind_check
    CHECK (kind IN ('businesses', 'inspectors', 'unavailability', 'closures'));

-- +goose Down
DELETE FROM import_jobs WHERE kind IN ('unavailability', 'closures');
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_kind_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_kind_check CHECK (kind IN ('businesses', 'inspectors'));
