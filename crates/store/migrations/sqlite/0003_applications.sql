-- Online applications (网上直办): drafts, submissions with a snapshot of the item version,
-- uploaded materials (files are content-addressed by SHA-256), and the timeline.
-- SQLite flavour; the PostgreSQL file of the same name defines the same tables and columns.

CREATE TABLE files (
    sha256       TEXT PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE applications (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE,
    applicant_id      INTEGER NOT NULL REFERENCES users (id),
    item_id           INTEGER NOT NULL REFERENCES items (id),
    item_version      INTEGER NOT NULL,
    status            TEXT NOT NULL,
    form_data         TEXT NOT NULL,
    snapshot          TEXT,
    channel           TEXT NOT NULL DEFAULT 'online',
    idempotency_key   TEXT,
    promised_deadline TEXT,
    submitted_at      BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    row_version       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX applications_idempotency ON applications (applicant_id, idempotency_key);
CREATE INDEX applications_applicant ON applications (applicant_id, created_at);
CREATE INDEX applications_item ON applications (item_id, status);

CREATE TABLE application_materials (
    application_id INTEGER NOT NULL REFERENCES applications (id),
    material_code  TEXT NOT NULL,
    file_sha256    TEXT NOT NULL REFERENCES files (sha256),
    file_name      TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           BIGINT NOT NULL,
    uploaded_at    BIGINT NOT NULL,
    PRIMARY KEY (application_id, material_code, file_sha256)
);

CREATE TABLE application_events (
    id             INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    at             BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX application_events_application ON application_events (application_id, at);
