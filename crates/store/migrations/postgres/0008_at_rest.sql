-- Personal data at rest (issue #12, §2): what the application has done to the stored values,
-- one row per step, so that a conversion or a key rotation interrupted half-way is resumed.
--   at_rest    = '1' once every value of earlier releases (plain form data and licence faces,
--                unversioned ciphertexts, plain files) is sealed under a versioned key and the
--                blind indexes are recomputed with HMAC-SM3 (done at start-up, in Rust: it needs
--                the keys, which the database never sees);
--   rotation   = the key version a `tongban keys rotate` is moving every value to, while it runs.
-- PostgreSQL flavour; the SQLite file of the same name defines the same table.

CREATE TABLE key_state (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
