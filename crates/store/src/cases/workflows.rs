//! Workflows: immutable versions.

use sqlx::{AnyConnection, Row};

pub async fn insert_workflow(
    c: &mut AnyConnection,
    code: &str,
    version: i64,
    definition: &str,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO workflows (code, version, definition, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code)
    .bind(version)
    .bind(definition)
    .bind(now)
    .bind(by)
    .execute(c)
    .await?;
    Ok(())
}

/// The latest version of a workflow: (version, definition JSON).
pub async fn latest_workflow(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT version, definition FROM workflows WHERE code = $1 ORDER BY version DESC LIMIT 1")
        .bind(code)
        .fetch_optional(c)
        .await?;
    row.map(|r| Ok((r.try_get("version")?, r.try_get("definition")?))).transpose()
}

pub async fn workflow(c: &mut AnyConnection, code: &str, version: i64) -> sqlx::Result<Option<String>> {
    let row = sqlx::query("SELECT definition FROM workflows WHERE code = $1 AND version = $2")
        .bind(code)
        .bind(version)
        .fetch_optional(c)
        .await?;
    row.map(|r| r.try_get("definition")).transpose()
}

/// Every stored version of every workflow: (code, version, definition JSON).
pub async fn all_workflows(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64, String)>> {
    let rows =
        sqlx::query("SELECT code, version, definition FROM workflows ORDER BY code, version").fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("version")?, r.try_get("definition")?))).collect()
}

/// Every workflow's latest version: (code, version, definition JSON).
pub async fn latest_workflows(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64, String)>> {
    let rows = sqlx::query(
        "SELECT w.code, w.version, w.definition FROM workflows w \
         WHERE w.version = (SELECT MAX(v.version) FROM workflows v WHERE v.code = w.code) ORDER BY w.code",
    )
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("version")?, r.try_get("definition")?))).collect()
}
