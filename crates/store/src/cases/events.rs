//! The timeline of a case (its events).

use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct CaseEvent {
    pub at: i64,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub comment: String,
    pub internal: bool,
    pub detail: String,
}

pub struct NewEvent<'a> {
    pub case_id: i64,
    pub action: &'a str,
    pub from_status: &'a str,
    pub to_status: &'a str,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub comment: &'a str,
    pub internal: bool,
    pub detail: &'a str,
    pub now: i64,
}

pub async fn insert_event(c: &mut AnyConnection, e: &NewEvent<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_id, actor, comment, internal, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.case_id)
    .bind(e.now)
    .bind(e.action)
    .bind(e.from_status)
    .bind(e.to_status)
    .bind(e.actor_id)
    .bind(e.actor)
    .bind(e.comment)
    .bind(i64::from(e.internal))
    .bind(e.detail)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn events(c: &mut AnyConnection, case_id: i64) -> sqlx::Result<Vec<CaseEvent>> {
    let rows = sqlx::query(
        "SELECT at, action, from_status, to_status, actor, comment, internal, detail FROM case_events \
         WHERE case_id = $1 ORDER BY at, id",
    )
    .bind(case_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseEvent {
                at: r.try_get("at")?,
                action: r.try_get("action")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                actor: r.try_get("actor")?,
                comment: r.try_get("comment")?,
                internal: crate::flag(r, "internal")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// True when the case has had this action before (for actions allowed once).
pub async fn has_event(c: &mut AnyConnection, case_id: i64, action: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("SELECT 1 AS x FROM case_events WHERE case_id = $1 AND action = $2")
        .bind(case_id)
        .bind(action)
        .fetch_optional(c)
        .await?
        .is_some())
}
