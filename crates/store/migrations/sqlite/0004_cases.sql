-- Case handling (综合业务管理): versioned workflows, one case per item of a submitted
-- application, the case timeline, and per-queue counters kept in the same transaction as every
-- move so that queue counts never scan a year of cases.
-- SQLite flavour; the PostgreSQL file of the same name defines the same tables and columns.

CREATE TABLE workflows (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (code, version)
);

ALTER TABLE applications ADD COLUMN bundle_code TEXT;
ALTER TABLE applications ADD COLUMN site_id INTEGER REFERENCES sites (id);
ALTER TABLE applications ADD COLUMN taken_by INTEGER REFERENCES users (id);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE,
    application_id    INTEGER NOT NULL REFERENCES applications (id),
    item_id           INTEGER NOT NULL REFERENCES items (id),
    department_id     INTEGER NOT NULL REFERENCES departments (id),
    -- The hall that received the case (同城通办); 0 for online submissions.
    site_id           INTEGER NOT NULL DEFAULT 0,
    applicant_id      INTEGER NOT NULL REFERENCES users (id),
    workflow_code     TEXT NOT NULL,
    workflow_version  INTEGER NOT NULL,
    status            TEXT NOT NULL,
    queue             TEXT NOT NULL,
    active            INTEGER NOT NULL DEFAULT 1,
    clock             TEXT NOT NULL,
    legal_days        INTEGER NOT NULL,
    promised_days     INTEGER NOT NULL,
    promised_deadline TEXT,
    legal_deadline    TEXT,
    due_on            TEXT,
    assignee_id       INTEGER REFERENCES users (id),
    notice            TEXT NOT NULL DEFAULT '[]',
    submitted_at      BIGINT NOT NULL,
    concluded_at      BIGINT,
    updated_at        BIGINT NOT NULL,
    row_version       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_application ON cases (application_id);
CREATE INDEX cases_department_queue ON cases (department_id, queue, due_on, id);
CREATE INDEX cases_site_queue ON cases (site_id, queue, due_on, id);
CREATE INDEX cases_queue ON cases (queue, due_on, id);
CREATE INDEX cases_department_due ON cases (department_id, due_on) WHERE active = 1;
CREATE INDEX cases_site_due ON cases (site_id, due_on) WHERE active = 1;
CREATE INDEX cases_due ON cases (due_on) WHERE active = 1;
CREATE INDEX cases_assignee ON cases (assignee_id, due_on) WHERE active = 1;

CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    at          BIGINT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    actor_id    INTEGER,
    actor       TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    -- 1 for staff-only remarks (内部意见), never shown to the applicant.
    internal    INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, at);

CREATE TABLE case_counts (
    department_id INTEGER NOT NULL,
    site_id       INTEGER NOT NULL,
    queue         TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (department_id, site_id, queue)
);
