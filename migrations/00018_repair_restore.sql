-- +goose Up
-- A coordinator may ask for the visits a repair moved to go back to their
-- days once its cause is lifted (a closure lifted early, a leave withdrawn):
-- a repair of cause 'restore', whose cause_id is the repair undone. Like any
-- repair it checks each day (open, capacity, notice, inspectors) and lists
-- what cannot go back.
ALTER TABLE calendar_repairs DROP CONSTRAINT calendar_repairs_cause_check;
ALTER TABLE calendar_repairs ADD CONSTRAINT calendar_repairs_cause_check
    CHECK (cause IN ('unavailability', 'closure', 'restore'));

-- +goose Down
DELETE FROM repair_problems WHERE repair_id IN (SELECT id FROM calendar_repairs WHERE cause = 'restore');
DELETE FROM calendar_repairs WHERE cause = 'restore';
ALTER TABLE calendar_repairs DROP CONSTRAINT calendar_repairs_cause_check;
ALTER TABLE calendar_repairs ADD CONSTRAINT calendar_repairs_cause_check
    CHECK (cause IN ('unavailability', 'closure'));
