-- +goose Up
-- A roster reads its team-day's totals from plan_team_days by team and date
-- (store/rosters.go rosterHeadSQL); the primary key leads with the plan, so
-- without this index every roster read scanned the whole table, which grows
-- by a row per team and day of every plan ever made (issue 20).
CREATE INDEX plan_team_days_team_date_idx ON plan_team_days (team_id, date);

-- +goose Down
DROP INDEX plan_team_days_team_date_idx;
