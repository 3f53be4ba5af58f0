//! Every column that holds personal data sealed with a field key (see `crypto::FieldCipher`),
//! read and rewritten in small batches by the at-rest conversion and by key rotation, and the
//! `key_state` table that lets either resume where it stopped.

use sqlx::{AnyConnection, Row};

/// What a column held before this release: unversioned ciphertexts of the single key, or plain
/// text (form data and licence faces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    Sealed,
    Plain,
}

/// One sealed column: the static SQL that pages through its values not under a given key
/// prefix (`$1` the last id seen, `$2` the `LIKE` pattern of the current prefix, `$3` the batch
/// size) and the compare-and-set that replaces one (`$1` new, `$2` id, `$3` old), so that a
/// value the service changed meanwhile is left for the next pass.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub before: Before,
    select: &'static str,
    update: &'static str,
}

macro_rules! sealed_column {
    ($table:literal, $column:literal, $before:expr) => {
        Column {
            name: concat!($table, ".", $column),
            before: $before,
            select: concat!(
                "SELECT id, ",
                $column,
                " AS v FROM ",
                $table,
                " WHERE id > $1 AND ",
                $column,
                " IS NOT NULL AND ",
                $column,
                " NOT LIKE $2 ORDER BY id LIMIT $3"
            ),
            update: concat!("UPDATE ", $table, " SET ", $column, " = $1 WHERE id = $2 AND ", $column, " = $3"),
        }
    };
}

/// Every column that holds sealed personal data. A new one must be added here, or rotation
/// would leave it under a key that is then removed (the at-rest scan test would not notice).
pub const COLUMNS: &[Column] = &[
    sealed_column!("users", "id_number_enc", Before::Sealed),
    sealed_column!("users", "phone_enc", Before::Sealed),
    sealed_column!("applications", "form_data", Before::Plain),
    sealed_column!("licences", "holder_code_enc", Before::Sealed),
    sealed_column!("licences", "payload_enc", Before::Sealed),
    sealed_column!("licences", "face_data", Before::Plain),
    sealed_column!("cases", "notice", Before::Plain),
    sealed_column!("case_events", "comment", Before::Plain),
    sealed_column!("case_events", "detail", Before::Plain),
    sealed_column!("application_events", "note", Before::Plain),
    sealed_column!("notifications", "body", Before::Plain),
    sealed_column!("sent_messages", "body", Before::Plain),
    sealed_column!("jobs", "payload", Before::Plain),
];

/// Up to `limit` values of the column after `after_id` that do not start with `prefix`.
pub async fn batch(
    c: &mut AnyConnection,
    column: &Column,
    after_id: i64,
    prefix: &str,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query(column.select).bind(after_id).bind(format!("{prefix}%")).bind(limit).fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("v")?))).collect()
}

/// Replaces one value if it is still `old`; false when the service changed it meanwhile.
pub async fn replace(c: &mut AnyConnection, column: &Column, id: i64, old: &str, new: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query(column.update).bind(new).bind(id).bind(old).execute(c).await?.rows_affected() == 1)
}

/// A page of the values that keyed blind indexes are computed from: (id, sealed value).
pub async fn users_with_id_numbers(
    c: &mut AnyConnection,
    after_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, id_number_enc AS v FROM users WHERE id > $1 AND id_number_enc IS NOT NULL ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("v")?))).collect()
}

pub async fn set_user_digest(c: &mut AnyConnection, id: i64, digest: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET id_number_digest = $1 WHERE id = $2").bind(digest).bind(id).execute(c).await?;
    Ok(())
}

pub async fn licences_with_holder_codes(
    c: &mut AnyConnection,
    after_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, holder_code_enc AS v FROM licences WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after_id)
        .bind(limit)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("v")?))).collect()
}

pub async fn set_licence_digest(c: &mut AnyConnection, id: i64, digest: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE licences SET holder_code_digest = $1 WHERE id = $2").bind(digest).bind(id).execute(c).await?;
    Ok(())
}

pub async fn state(c: &mut AnyConnection, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query("SELECT value FROM key_state WHERE name = $1")
        .bind(name)
        .fetch_optional(c)
        .await?
        .map(|r| r.try_get("value"))
        .transpose()
}

pub async fn set_state(c: &mut AnyConnection, name: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO key_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn clear_state(c: &mut AnyConnection, name: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM key_state WHERE name = $1").bind(name).execute(c).await?;
    Ok(())
}
