-- Foundation: organisation, accounts, roles, sessions, audit. SQLite flavour; the PostgreSQL
-- file of the same name must define the same tables and columns.

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    credit_code TEXT,
    sort        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('district_center', 'community_center')),
    subdistrict TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    sort        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE windows (
    id      INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites (id),
    code    TEXT NOT NULL,
    name    TEXT NOT NULL,
    UNIQUE (site_id, code)
);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('staff', 'person', 'organisation')),
    department_id        INTEGER REFERENCES departments (id),
    site_id              INTEGER REFERENCES sites (id),
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    id_number_enc        TEXT,
    id_number_digest     TEXT UNIQUE,
    phone_enc            TEXT,
    credit_code          TEXT UNIQUE,
    contact_name         TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE TABLE external_identities (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    provider  TEXT NOT NULL,
    subject   TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    UNIQUE (provider, subject)
);

CREATE TABLE roles (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0,
    scope       TEXT NOT NULL CHECK (scope IN ('all', 'department', 'site', 'own')),
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE role_permissions (
    role_code  TEXT NOT NULL REFERENCES roles (code),
    permission TEXT NOT NULL,
    PRIMARY KEY (role_code, permission)
);

CREATE TABLE user_roles (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    role_code TEXT NOT NULL REFERENCES roles (code),
    scope     TEXT NOT NULL CHECK (scope IN ('all', 'department', 'site', 'own')),
    PRIMARY KEY (user_id, role_code)
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_secs    BIGINT NOT NULL,
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor_id  BIGINT,
    actor     TEXT NOT NULL,
    ip        TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    result    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);
