-- +goose Up
-- The calendar's reads (a business's schedule, the /v/ check of a visit
-- code, a team's roster as its leader reads it) are cached in each replica (store/readcache.go). An entry is served
-- only while no transaction that changed what it was read from committed
-- after the snapshot it was read in: every statement that changes a table
-- those reads depend on records its transaction's id here (once per
-- transaction), and a cached entry is checked against the ids its snapshot
-- did not see. So a cached read is as true as a fresh one, on every replica,
-- with no window; the check is one index probe.
CREATE TABLE calendar_changes (
    xid         xid8 PRIMARY KEY,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose StatementBegin
CREATE FUNCTION record_calendar_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO calendar_changes (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- Statement-level: one row per transaction whatever the number of rows. The
-- columns no cached read shows (a business's risk code, a demand's state, a
-- plan's progress) do not count: they change often and nothing on a
-- published calendar.
CREATE TRIGGER plans_calendar_change AFTER INSERT OR UPDATE OF id, status, published_at OR DELETE OR TRUNCATE ON plans
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER plan_visits_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan_visits
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER plan_tasks_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER plan_joins_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan_joins
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER visit_moves_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON visit_moves
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER plan_assignments_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER visit_substitutions_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON visit_substitutions
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER visit_code_revocations_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON visit_code_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER teams_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER inspectors_calendar_change AFTER UPDATE OR DELETE OR TRUNCATE ON inspectors
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER items_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON items
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER departments_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON departments
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER demands_calendar_change AFTER UPDATE OF announce_days OR DELETE OR TRUNCATE ON demands
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER businesses_calendar_change
    AFTER UPDATE OF uscc, name, address, lat, lng, contact_name, contact_phone OR DELETE OR TRUNCATE ON businesses
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
-- A roster also shows the team-day's totals, who of the team is away and
-- the closures touching its work, with the repairs they opened.
CREATE TRIGGER plan_team_days_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plan_team_days
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER inspector_unavailability_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON inspector_unavailability
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER closures_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON closures
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER regions_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON regions
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER team_regions_calendar_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON team_regions
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();
CREATE TRIGGER calendar_repairs_calendar_change AFTER INSERT OR UPDATE OF id, cause, cause_id OR DELETE OR TRUNCATE ON calendar_repairs
    FOR EACH STATEMENT EXECUTE FUNCTION record_calendar_change();

-- +goose Down
DROP TRIGGER calendar_repairs_calendar_change ON calendar_repairs;
DROP TRIGGER team_regions_calendar_change ON team_regions;
DROP TRIGGER regions_calendar_change ON regions;
DROP TRIGGER closures_calendar_change ON closures;
DROP TRIGGER inspector_unavailability_calendar_change ON inspector_unavailability;
DROP TRIGGER plan_team_days_calendar_change ON plan_team_days;
DROP TRIGGER businesses_calendar_change ON businesses;
DROP TRIGGER demands_calendar_change ON demands;
DROP TRIGGER departments_calendar_change ON departments;
DROP TRIGGER items_calendar_change ON items;
DROP TRIGGER inspectors_calendar_change ON inspectors;
DROP TRIGGER teams_calendar_change ON teams;
DROP TRIGGER visit_code_revocations_calendar_change ON visit_code_revocations;
DROP TRIGGER visit_substitutions_calendar_change ON visit_substitutions;
DROP TRIGGER plan_assignments_calendar_change ON plan_assignments;
DROP TRIGGER visit_moves_calendar_change ON visit_moves;
DROP TRIGGER plan_joins_calendar_change ON plan_joins;
DROP TRIGGER plan_tasks_calendar_change ON plan_tasks;
DROP TRIGGER plan_visits_calendar_change ON plan_visits;
DROP TRIGGER plans_calendar_change ON plans;
DROP FUNCTION record_calendar_change();
DROP TABLE calendar_changes;
