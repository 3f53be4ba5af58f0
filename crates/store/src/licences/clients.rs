//! API clients: registered systems of other departments.

use sqlx::{AnyConnection, Row};

use crate::flag;
use crate::org::Department;

/// A registered system of another department.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub client_id: String,
    pub name: String,
    pub department: Department,
    pub scopes: Vec<String>,
    pub disabled: bool,
}

pub async fn insert_client(
    c: &mut AnyConnection,
    client_id: &str,
    name: &str,
    department_id: i64,
    secret_hash: &str,
    scopes: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_clients (client_id, name, department_id, secret_hash, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(client_id)
    .bind(name)
    .bind(department_id)
    .bind(secret_hash)
    .bind(scopes)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn client_by_secret_hash(c: &mut AnyConnection, hash: &str) -> sqlx::Result<Option<ApiClient>> {
    let row = sqlx::query(
        "SELECT a.client_id, a.name, a.scopes, a.disabled, d.id AS d_id, d.code AS d_code, d.name AS d_name \
         FROM api_clients a JOIN departments d ON d.id = a.department_id WHERE a.secret_hash = $1",
    )
    .bind(hash)
    .fetch_optional(c)
    .await?;
    row.map(|r| {
        let scopes: String = r.try_get("scopes")?;
        Ok(ApiClient {
            client_id: r.try_get("client_id")?,
            name: r.try_get("name")?,
            department: Department { id: r.try_get("d_id")?, code: r.try_get("d_code")?, name: r.try_get("d_name")? },
            scopes: scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            disabled: flag(&r, "disabled")?,
        })
    })
    .transpose()
}
