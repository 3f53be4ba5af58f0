//! The use log (用证记录) and the holders' grants of use to departments (授权用证).

use sqlx::{AnyConnection, Row};

/// One entry of the use log (用证记录).
#[derive(Debug, Clone)]
pub struct UseRow {
    pub identifier: String,
    pub type_name: String,
    pub department_name: Option<String>,
    pub reference: String,
    pub purpose: String,
    pub actor: String,
    pub at: i64,
}

pub struct NewUse<'a> {
    pub licence_id: i64,
    pub department_id: Option<i64>,
    pub reference: &'a str,
    pub purpose: &'a str,
    pub actor: &'a str,
    pub at: i64,
}

pub async fn insert_use(c: &mut AnyConnection, u: &NewUse<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO licence_uses (licence_id, department_id, reference, purpose, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(u.licence_id)
    .bind(u.department_id)
    .bind(u.reference)
    .bind(u.purpose)
    .bind(u.actor)
    .bind(u.at)
    .execute(c)
    .await?;
    Ok(())
}

macro_rules! select_use_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT l.identifier, t.name AS type_name, d.name AS department_name, u.reference, u.purpose, u.actor, u.at \
             FROM licence_uses u JOIN licences l ON l.id = u.licence_id JOIN licence_types t ON t.id = l.type_id \
             LEFT JOIN departments d ON d.id = u.department_id WHERE ",
            $($condition)+
        )
    };
}

fn use_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<UseRow> {
    Ok(UseRow {
        identifier: r.try_get("identifier")?,
        type_name: r.try_get("type_name")?,
        department_name: r.try_get("department_name")?,
        reference: r.try_get("reference")?,
        purpose: r.try_get("purpose")?,
        actor: r.try_get("actor")?,
        at: r.try_get("at")?,
    })
}

/// The use log of every licence of a holder, newest first.
pub async fn uses_of_holder(c: &mut AnyConnection, user_id: i64, limit: i64) -> sqlx::Result<Vec<UseRow>> {
    const SQL: &str = select_use_where!("l.holder_user_id = $1 ORDER BY u.at DESC, u.id DESC LIMIT $2");
    let rows = sqlx::query(SQL).bind(user_id).bind(limit).fetch_all(c).await?;
    rows.iter().map(use_from_row).collect()
}

/// The use log of one licence, newest first.
pub async fn uses_of_licence(c: &mut AnyConnection, licence_id: i64) -> sqlx::Result<Vec<UseRow>> {
    const SQL: &str = select_use_where!("u.licence_id = $1 ORDER BY u.at DESC, u.id DESC");
    let rows = sqlx::query(SQL).bind(licence_id).fetch_all(c).await?;
    rows.iter().map(use_from_row).collect()
}

pub async fn insert_grant(
    c: &mut AnyConnection,
    licence_id: i64,
    department_id: i64,
    purpose: &str,
    now: i64,
    expires_at: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO licence_grants (licence_id, department_id, purpose, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(licence_id)
    .bind(department_id)
    .bind(purpose)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// True when the holder has granted the department use of the licence (in force at `now`).
pub async fn has_grant(c: &mut AnyConnection, licence_id: i64, department_id: i64, now: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM licence_grants WHERE licence_id = $1 AND department_id = $2 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(licence_id)
    .bind(department_id)
    .bind(now)
    .fetch_optional(c)
    .await?
    .is_some())
}
