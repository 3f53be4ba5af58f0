//! The message centre (站内消息): one row per message to one user.

use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub user_id: i64,
    pub at: i64,
    pub title: String,
    pub body: String,
    pub link: String,
    pub read_at: Option<i64>,
}

pub async fn insert(
    c: &mut AnyConnection,
    user_id: i64,
    title: &str,
    body: &str,
    link: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO notifications (user_id, at, title, body, link) VALUES ($1, $2, $3, $4, $5)")
        .bind(user_id)
        .bind(now)
        .bind(title)
        .bind(body)
        .bind(link)
        .execute(c)
        .await?;
    Ok(())
}

/// One page of a user's messages, newest first, with the total: `limit` rows from `offset`, or,
/// with `before`, the rows after that id (keyset: the id index, however deep the page).
pub async fn page_for_user(
    c: &mut AnyConnection,
    user_id: i64,
    before: Option<i64>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(i64, Vec<Notification>)> {
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(
        "SELECT id, user_id, at, title, body, link, read_at FROM notifications WHERE user_id = $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3 OFFSET $4",
    )
    .bind(user_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *c)
    .await?;
    Ok((total, rows.iter().map(from_row).collect::<sqlx::Result<_>>()?))
}

pub async fn unread_count(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .fetch_one(c)
        .await?
        .try_get("n")
}

/// One of the user's own messages (`None` for someone else's: never reveal that it exists).
pub async fn own(c: &mut AnyConnection, user_id: i64, id: i64) -> sqlx::Result<Option<Notification>> {
    let row = sqlx::query(
        "SELECT id, user_id, at, title, body, link, read_at FROM notifications WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(c)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks one of the user's messages read (a second time changes nothing).
pub async fn mark_read(c: &mut AnyConnection, user_id: i64, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL")
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn mark_all_read(c: &mut AnyConnection, user_id: i64, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(done.rows_affected())
}

fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Notification> {
    Ok(Notification {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        at: r.try_get("at")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        link: r.try_get("link")?,
        read_at: r.try_get("read_at")?,
    })
}
