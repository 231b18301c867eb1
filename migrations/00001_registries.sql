-- +goose Up
-- Registries: what the county has. Natural keys are unique; surrogate ids keep
-- foreign keys narrow. Businesses are keyed by their USCC, which is permanent.

CREATE TABLE departments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9]{1,15}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    department_id  bigint NOT NULL REFERENCES departments (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    -- qualification domain an inspector must be certified in to check this item
    domain         text NOT NULL CHECK (domain ~ '^[a-z][a-z0-9_]{0,63}$'),
    minutes        integer NOT NULL CHECK (minutes BETWEEN 1 AND 480),
    legal_basis    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_department_idx ON items (department_id);

CREATE TABLE scenarios (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- industries (GB/T 4754 codes) whose businesses this scenario applies to
    industry_codes  text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scenario_items (
    scenario_id  bigint NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    item_id      bigint NOT NULL REFERENCES items (id),
    PRIMARY KEY (scenario_id, item_id)
);
CREATE INDEX scenario_items_item_idx ON scenario_items (item_id);

CREATE TABLE regions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    level       text NOT NULL CHECK (level IN ('county', 'township', 'grid')),
    parent_id   bigint REFERENCES regions (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((level = 'county') = (parent_id IS NULL))
);
CREATE INDEX regions_parent_idx ON regions (parent_id);

CREATE TABLE teams (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                    text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind                    text NOT NULL CHECK (kind IN ('comprehensive', 'professional', 'township')),
    department_id           bigint REFERENCES departments (id),
    base_lat                double precision NOT NULL CHECK (base_lat BETWEEN -90 AND 90),
    base_lng                double precision NOT NULL CHECK (base_lng BETWEEN -180 AND 180),
    daily_capacity_minutes  integer NOT NULL CHECK (daily_capacity_minutes BETWEEN 1 AND 100000),
    contact_phone           text NOT NULL DEFAULT '',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- a professional team belongs to exactly one department; the others to none
    CHECK ((kind = 'professional') = (department_id IS NOT NULL))
);

CREATE TABLE team_regions (
    team_id    bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    region_id  bigint NOT NULL REFERENCES regions (id),
    PRIMARY KEY (team_id, region_id)
);
CREATE INDEX team_regions_region_idx ON team_regions (region_id);

CREATE TABLE businesses (
    uscc           char(18) PRIMARY KEY CHECK (uscc ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    address        text NOT NULL DEFAULT '',
    region_id      bigint NOT NULL REFERENCES regions (id),
    industry_code  text NOT NULL CHECK (industry_code ~ '^[A-Z]?[0-9]{2,4}$'),
    lat            double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng            double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    risk_code      text NOT NULL DEFAULT 'green' CHECK (risk_code IN ('red', 'yellow', 'green')),
    risk_set_at    timestamptz NOT NULL DEFAULT now(),
    risk_reason    text NOT NULL DEFAULT '',
    -- three lists: leave_alone (无事不扰), key (重点), random (随机)
    list_kind      text NOT NULL DEFAULT 'random' CHECK (list_kind IN ('random', 'key', 'leave_alone')),
    contact_name   text NOT NULL DEFAULT '',
    contact_phone  text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX businesses_region_idx ON businesses (region_id);
CREATE INDEX businesses_industry_idx ON businesses (industry_code);
CREATE INDEX businesses_risk_idx ON businesses (risk_code);

CREATE TABLE risk_code_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uscc        char(18) NOT NULL REFERENCES businesses (uscc) ON DELETE CASCADE,
    risk_code   text NOT NULL CHECK (risk_code IN ('red', 'yellow', 'green')),
    set_at      timestamptz NOT NULL,
    reason      text NOT NULL DEFAULT '',
    set_by      text NOT NULL DEFAULT ''
);
CREATE INDEX risk_code_history_uscc_idx ON risk_code_history (uscc, set_at);

CREATE TABLE inspectors (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- law-enforcement certificate number (执法证号)
    code           text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    team_id        bigint NOT NULL REFERENCES teams (id),
    domains        text[] NOT NULL DEFAULT '{}',
    phone          text NOT NULL DEFAULT '',
    is_leader      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inspectors_team_idx ON inspectors (team_id);

-- declared conflicts of interest (回避): the inspector must never visit this business
CREATE TABLE inspector_conflicts (
    inspector_id  bigint NOT NULL REFERENCES inspectors (id) ON DELETE CASCADE,
    uscc          char(18) NOT NULL REFERENCES businesses (uscc) ON DELETE CASCADE,
    PRIMARY KEY (inspector_id, uscc)
);

-- +goose Down
DROP TABLE inspector_conflicts;
DROP TABLE inspectors;
DROP TABLE risk_code_history;
DROP TABLE businesses;
DROP TABLE team_regions;
DROP TABLE teams;
DROP TABLE regions;
DROP TABLE scenario_items;
DROP TABLE scenarios;
DROP TABLE items;
DROP TABLE departments;
