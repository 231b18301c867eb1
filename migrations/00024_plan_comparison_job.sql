-- +goose Up
-- The independent counterpart of a coordinated plan (the comparison its
-- dashboard shows) is built by a job of its own after the draft is stored
-- (issue 20 point 4), so the draft does not wait for it. Its figures and the
-- state of that job live in columns of their own beside the stats; only a
-- draft takes them, so a published plan's figures stay frozen with it.
--   comparison_status: '' (none: an independent plan, comparisons switched
--   off, or a plan from before this), queued, running, done, failed, skipped
--   (the plan was discarded, or published, before it was built).
ALTER TABLE plans
    ADD COLUMN comparison jsonb,
    ADD COLUMN comparison_status text NOT NULL DEFAULT ''
        CHECK (comparison_status IN ('', 'queued', 'running', 'done', 'failed', 'skipped')),
    ADD COLUMN comparison_error text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE plans DROP COLUMN comparison, DROP COLUMN comparison_status, DROP COLUMN comparison_error;
