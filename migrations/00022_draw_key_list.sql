-- +goose Up
-- Key-list (重点) businesses of a sample are taken outside the random draw
-- as their own recorded selection (issue 19, docs/draws.md §3.2): a target
-- draw's record carries them apart from its frame, and they do not use up n.
-- Draws recorded before carried them in the frame with weight 0, and verify
-- as they were made.
ALTER TABLE plan_draws ADD COLUMN certain jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE plan_draws DROP COLUMN certain;
