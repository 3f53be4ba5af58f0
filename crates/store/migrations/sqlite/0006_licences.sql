-- Electronic licences (电子证照): the licence catalogue (types), issued licences with their
-- signed canonical form, the use log (用证记录), use grants, API clients of other departments'
-- systems, and licences picked instead of uploads in applications.
-- SQLite flavour; the PostgreSQL file of the same name defines the same tables and columns.

CREATE TABLE licence_types (
    id            INTEGER PRIMARY KEY,
    -- what items and materials name (`licence_type`), e.g. INDIVIDUAL_BUSINESS_LICENCE
    code          TEXT NOT NULL UNIQUE,
    -- 证照类型代码, the type segment of identifiers (0-9A-Z)
    catalog_code  TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments (id),
    holder_kind   TEXT NOT NULL CHECK (holder_kind IN ('person', 'organisation')),
    -- JSON array of {name, label, required}
    face_fields   TEXT NOT NULL,
    -- `permanent` or `years:N`
    validity      TEXT NOT NULL,
    template      TEXT NOT NULL DEFAULT 'standard',
    public        INTEGER NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE licences (
    id                 INTEGER PRIMARY KEY,
    identifier         TEXT NOT NULL UNIQUE,
    serial             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    type_id            INTEGER NOT NULL REFERENCES licence_types (id),
    number             TEXT NOT NULL,
    issuer_id          INTEGER NOT NULL REFERENCES departments (id),
    holder_user_id     INTEGER REFERENCES users (id),
    holder_name        TEXT NOT NULL,
    -- the holder's ID number or credit code, SM4-encrypted, with a keyed digest for look-ups
    holder_code_enc    TEXT NOT NULL,
    holder_code_digest TEXT NOT NULL,
    holder_code_type   TEXT NOT NULL CHECK (holder_code_type IN ('id_number', 'credit_code')),
    related_item       TEXT,
    case_number        TEXT,
    face_data          TEXT NOT NULL,
    -- the exact canonical JSON text that was signed (it holds the holder code: encrypted)
    payload_enc        TEXT NOT NULL,
    -- base64 of the DER-encoded SM2 signature
    signature          TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked', 'cancelled', 'expired', 'superseded')),
    status_reason      TEXT NOT NULL DEFAULT '',
    issued_on          TEXT NOT NULL,
    valid_from         TEXT NOT NULL,
    valid_to           TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX licences_holder ON licences (holder_user_id, status);
CREATE INDEX licences_holder_code ON licences (holder_code_digest, type_id);
CREATE INDEX licences_expiry ON licences (status, valid_to);
CREATE INDEX licences_serial ON licences (serial, version);

CREATE TABLE licence_uses (
    id            INTEGER PRIMARY KEY,
    licence_id    INTEGER NOT NULL REFERENCES licences (id),
    department_id INTEGER REFERENCES departments (id),
    -- the application or case number the licence was used for
    reference     TEXT NOT NULL DEFAULT '',
    purpose       TEXT NOT NULL,
    actor         TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX licence_uses_licence ON licence_uses (licence_id, at);

CREATE TABLE licence_grants (
    id            INTEGER PRIMARY KEY,
    licence_id    INTEGER NOT NULL REFERENCES licences (id),
    department_id INTEGER NOT NULL REFERENCES departments (id),
    purpose       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX licence_grants_licence ON licence_grants (licence_id, department_id);

CREATE TABLE api_clients (
    id            INTEGER PRIMARY KEY,
    client_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments (id),
    -- SM3 of the secret (256 random bits, so a plain digest is enough)
    secret_hash   TEXT NOT NULL UNIQUE,
    -- comma-separated, e.g. `licence.read,licence.query`
    scopes        TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE application_licences (
    application_id INTEGER NOT NULL REFERENCES applications (id),
    material_code  TEXT NOT NULL,
    licence_id     INTEGER NOT NULL REFERENCES licences (id),
    picked_at      BIGINT NOT NULL,
    PRIMARY KEY (application_id, material_code)
);
