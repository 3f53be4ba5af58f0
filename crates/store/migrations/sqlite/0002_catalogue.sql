-- Service catalogue: items with versions, life events, search synonyms, the work calendar.
-- SQLite flavour; the PostgreSQL file of the same name defines the same tables and columns.

CREATE TABLE items (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    department_id     INTEGER NOT NULL REFERENCES departments (id),
    status            TEXT NOT NULL CHECK (status IN ('draft', 'published', 'suspended', 'cancelled')),
    status_reason     TEXT NOT NULL DEFAULT '',
    -- the version applicants get (NULL until first published) and the newest one
    published_version INTEGER,
    latest_version    INTEGER NOT NULL,
    -- copied from the version shown publicly, for lists and search
    name              TEXT NOT NULL,
    item_type         TEXT NOT NULL,
    subjects          TEXT NOT NULL,
    fully_online      INTEGER NOT NULL,
    citywide          INTEGER NOT NULL,
    promised_days     INTEGER NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX items_department ON items (department_id, status);

CREATE TABLE item_versions (
    item_id      INTEGER NOT NULL REFERENCES items (id),
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    published_at BIGINT,
    PRIMARY KEY (item_id, version)
);

CREATE TABLE life_events (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    subjects    TEXT NOT NULL,
    sort        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE life_event_items (
    event_code TEXT NOT NULL REFERENCES life_events (code),
    item_code  TEXT NOT NULL,
    sort       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_code, item_code)
);

CREATE TABLE search_synonyms (
    term       TEXT PRIMARY KEY,
    canonical  TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Bumped by every change that affects search, so that every node rebuilds its index.
CREATE TABLE catalogue_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO catalogue_revision (id, revision) VALUES (1, 0);

CREATE TABLE work_calendar (
    day  TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'makeup_workday')),
    name TEXT NOT NULL DEFAULT ''
);
