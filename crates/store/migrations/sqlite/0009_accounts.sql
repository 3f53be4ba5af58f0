-- Identification and authentication rules (issue 12 §5): password age, the last passwords of
-- each account, and which accounts the demo made (their password is published).

-- When the current password was set; NULL (accounts older than this migration) counts from
-- the account's creation.
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;
-- 1 for the accounts `tongban demo` seeds: outside demo mode they must change the published
-- password at their next login.
ALTER TABLE users ADD COLUMN demo_account INTEGER NOT NULL DEFAULT 0;

-- argon2id hashes of the passwords each account has had, newest last; a new password may not
-- be one of the last five. Older rows are deleted as new ones come.
CREATE TABLE password_history (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    password_hash TEXT NOT NULL,
    set_at        BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, id);

INSERT INTO password_history (user_id, password_hash, set_at) SELECT id, password_hash, created_at FROM users;
