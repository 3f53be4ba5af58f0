//! Server-side sessions. The cookie holds a random token; the table holds only its SM3 digest,
//! so a copy of the database does not let anyone log in.

use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_secs: i64,
}

pub async fn insert(
    c: &mut AnyConnection,
    token_hash: &str,
    user_id: i64,
    now: i64,
    idle_secs: i64,
    ip: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, idle_secs, ip) \
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(idle_secs)
    .bind(ip)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn get(c: &mut AnyConnection, token_hash: &str) -> sqlx::Result<Option<Session>> {
    let row = sqlx::query("SELECT user_id, created_at, last_seen_at, idle_secs FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(c)
        .await?;
    row.map(|r| {
        Ok(Session {
            user_id: r.try_get("user_id")?,
            created_at: r.try_get("created_at")?,
            last_seen_at: r.try_get("last_seen_at")?,
            idle_secs: r.try_get("idle_secs")?,
        })
    })
    .transpose()
}

pub async fn touch(c: &mut AnyConnection, token_hash: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut AnyConnection, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(c).await?;
    Ok(())
}

pub async fn delete_for_user(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(c).await?.rows_affected())
}

/// Ends every session of the user but the one kept (after a password change).
pub async fn delete_others(c: &mut AnyConnection, user_id: i64, keep_hash: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep_hash)
        .execute(c)
        .await?
        .rows_affected())
}

/// Removes sessions past their idle or absolute limit.
pub async fn purge_expired(c: &mut AnyConnection, now: i64, absolute_ms: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE last_seen_at + idle_secs * 1000 < $1 OR created_at + $2 < $1")
        .bind(now)
        .bind(absolute_ms)
        .execute(c)
        .await?
        .rows_affected())
}
