//! Counting windows of refused attempts (see `app::audit::record_refusal`).

use sqlx::{AnyConnection, Row};

/// One refusal to count.
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// Whom the window is for: the username, or `ip:<address>` for anonymous callers.
    pub who: &'a str,
    pub kind: &'a str,
    pub action: &'a str,
    pub window_start: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub ip: &'a str,
    pub object: &'a str,
}

/// Counts one refusal in its window; returns the count so far (1 for the first).
pub async fn count(c: &mut AnyConnection, r: &Refusal<'_>) -> sqlx::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO refusal_windows (who, kind, action, window_start, actor_id, actor, ip, object, refusals) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) \
         ON CONFLICT (who, kind, action, window_start) DO UPDATE SET refusals = refusal_windows.refusals + 1 \
         RETURNING refusals",
    )
    .bind(r.who)
    .bind(r.kind)
    .bind(r.action)
    .bind(r.window_start)
    .bind(r.actor_id)
    .bind(r.actor)
    .bind(r.ip)
    .bind(r.object)
    .fetch_one(c)
    .await?;
    row.try_get("refusals")
}

/// A window that has ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub who: String,
    pub kind: String,
    pub action: String,
    pub window_start: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub ip: String,
    pub object: String,
    pub refusals: i64,
}

/// Windows that started before `before`, oldest first (at most `limit`).
pub async fn ended(c: &mut AnyConnection, before: i64, limit: i64) -> sqlx::Result<Vec<Ended>> {
    let rows = sqlx::query(
        "SELECT who, kind, action, window_start, actor_id, actor, ip, object, refusals FROM refusal_windows \
         WHERE window_start < $1 ORDER BY window_start, who, kind, action LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Ended {
                who: r.try_get("who")?,
                kind: r.try_get("kind")?,
                action: r.try_get("action")?,
                window_start: r.try_get("window_start")?,
                actor_id: r.try_get("actor_id")?,
                actor: r.try_get("actor")?,
                ip: r.try_get("ip")?,
                object: r.try_get("object")?,
                refusals: r.try_get("refusals")?,
            })
        })
        .collect()
}

pub async fn delete(c: &mut AnyConnection, e: &Ended) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM refusal_windows WHERE who = $1 AND kind = $2 AND action = $3 AND window_start = $4")
        .bind(&e.who)
        .bind(&e.kind)
        .bind(&e.action)
        .bind(e.window_start)
        .execute(c)
        .await?;
    Ok(())
}
