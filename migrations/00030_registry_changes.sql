-- +goose Up
-- The business list is cached too (store/readcache.go), but it shows what
-- the calendar's reads do not: every column of a business (its risk code
-- changes with each recorded result), the scenarios a filter names and, to
-- a planner, whether its department named the business in a demand (its
-- contact details). Recording those as calendar changes would empty the
-- calendar's cache at every result and every demand, so each change now
-- says which reads it concerns: scope 1 the calendar (every row so far), 2
-- the registry of businesses, 4 the businesses demands name. A list entry
-- is checked against 1 and 2 (and 4 for a planner's), a calendar entry
-- against 1 only.
ALTER TABLE calendar_changes ADD COLUMN scope smallint NOT NULL DEFAULT 1 CHECK (scope IN (1, 2, 4));
ALTER TABLE calendar_changes DROP CONSTRAINT calendar_changes_pkey;
ALTER TABLE calendar_changes ADD PRIMARY KEY (xid, scope);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION record_calendar_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO calendar_changes (xid, scope) VALUES (pg_current_xact_id(), 1) ON CONFLICT (xid, scope) DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- record_read_change records a change of scope TG_ARGV[0].
CREATE FUNCTION record_read_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO calendar_changes (xid, scope) VALUES (pg_current_xact_id(), TG_ARGV[0]::smallint)
        ON CONFLICT (xid, scope) DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER businesses_registry_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON businesses
    FOR EACH STATEMENT EXECUTE FUNCTION record_read_change(2);
CREATE TRIGGER scenarios_registry_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON scenarios
    FOR EACH STATEMENT EXECUTE FUNCTION record_read_change(2);
CREATE TRIGGER demand_businesses_named_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON demand_businesses
    FOR EACH STATEMENT EXECUTE FUNCTION record_read_change(4);
CREATE TRIGGER demands_named_change AFTER UPDATE OF id, department_id OR DELETE OR TRUNCATE ON demands
    FOR EACH STATEMENT EXECUTE FUNCTION record_read_change(4);

-- +goose Down
DROP TRIGGER demands_named_change ON demands;
DROP TRIGGER demand_businesses_named_change ON demand_businesses;
DROP TRIGGER scenarios_registry_change ON scenarios;
DROP TRIGGER businesses_registry_change ON businesses;
DROP FUNCTION record_read_change();
DELETE FROM calendar_changes WHERE scope <> 1;
ALTER TABLE calendar_changes DROP CONSTRAINT calendar_changes_pkey;
ALTER TABLE calendar_changes DROP COLUMN scope;
ALTER TABLE calendar_changes ADD PRIMARY KEY (xid);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION record_calendar_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO calendar_changes (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
