-- +goose Up
-- Imports change only what a file carries (csvimport): the job records how it
-- was told to treat empty cells and whether it may lower a risk code set by a
-- result (with the reason it gave), and an error may name one refused cell of
-- a row whose other columns were applied.
ALTER TABLE import_jobs ADD COLUMN empty_cells text NOT NULL DEFAULT 'keep' CHECK (empty_cells IN ('keep', 'clear'));
ALTER TABLE import_jobs ADD COLUMN risk_override boolean NOT NULL DEFAULT false;
ALTER TABLE import_jobs ADD COLUMN override_reason text NOT NULL DEFAULT '';
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_override_check CHECK (risk_override = (override_reason <> ''));
ALTER TABLE import_errors ADD COLUMN row_applied boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE import_errors DROP COLUMN row_applied;
ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_override_check;
ALTER TABLE import_jobs DROP COLUMN override_reason;
ALTER TABLE import_jobs DROP COLUMN risk_override;
ALTER TABLE import_jobs DROP COLUMN empty_cells;
