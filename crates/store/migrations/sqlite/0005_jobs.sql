-- Background jobs (queued in the same transaction as the change that needs them), the message
-- centre (站内消息) and the record of every SMS / e-mail sent.
-- SQLite flavour; the PostgreSQL file of the same name defines the same tables and columns.

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 6,
    locked_by    TEXT,
    locked_until BIGINT,
    done_at      BIGINT,
    failed_at    BIGINT,
    last_error   TEXT,
    dedupe_key   TEXT UNIQUE,
    created_at   BIGINT NOT NULL
);
-- Workers look only at open jobs, oldest due first.
CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL AND failed_at IS NULL;

CREATE TABLE notifications (
    id      INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    at      BIGINT NOT NULL,
    title   TEXT NOT NULL,
    body    TEXT NOT NULL,
    link    TEXT NOT NULL DEFAULT '',
    read_at BIGINT
);
CREATE INDEX notifications_user ON notifications (user_id, id);
-- The unread count in every page's menu is one lookup in this index.
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE sent_messages (
    id        INTEGER PRIMARY KEY,
    job_id    BIGINT NOT NULL UNIQUE REFERENCES jobs (id),
    channel   TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient TEXT NOT NULL,
    body      TEXT NOT NULL,
    at        BIGINT NOT NULL
);
