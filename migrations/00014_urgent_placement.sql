-- +goose Up
-- An urgent placement ("place now") is a plan restricted to one demand. The
-- plan row is the source of truth for that scope: a run carried out again
-- (a worker redelivering it) plans only that demand too.
ALTER TABLE plans ADD COLUMN urgent_demand_id bigint REFERENCES demands(id);
CREATE INDEX plans_urgent_demand_idx ON plans (urgent_demand_id) WHERE urgent_demand_id IS NOT NULL;

-- +goose Down
DROP INDEX plans_urgent_demand_idx;
ALTER TABLE plans DROP COLUMN urgent_demand_id;
