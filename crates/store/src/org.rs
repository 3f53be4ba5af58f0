//! Departments, sites (service halls) and their windows.

use sqlx::{AnyConnection, Row};
use tongban_domain::org::SiteKind;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Site {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: SiteKind,
    pub subdistrict: String,
    pub address: String,
}

impl Site {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}

#[derive(Debug, Clone)]
pub struct Window {
    pub code: String,
    pub name: String,
}

pub async fn list_departments(c: &mut AnyConnection) -> sqlx::Result<Vec<Department>> {
    let rows = sqlx::query("SELECT id, code, name FROM departments ORDER BY sort, code").fetch_all(c).await?;
    rows.iter().map(department_from_row).collect()
}

pub async fn list_sites(c: &mut AnyConnection) -> sqlx::Result<Vec<Site>> {
    let rows = sqlx::query("SELECT id, code, name, kind, subdistrict, address FROM sites ORDER BY sort, code")
        .fetch_all(c)
        .await?;
    rows.iter().map(site_from_row).collect()
}

pub async fn department_by_code(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<Department>> {
    let row =
        sqlx::query("SELECT id, code, name FROM departments WHERE code = $1").bind(code).fetch_optional(c).await?;
    row.as_ref().map(department_from_row).transpose()
}

pub async fn site_by_code(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<Site>> {
    let row = sqlx::query("SELECT id, code, name, kind, subdistrict, address FROM sites WHERE code = $1")
        .bind(code)
        .fetch_optional(c)
        .await?;
    row.as_ref().map(site_from_row).transpose()
}

pub async fn windows_of_site(c: &mut AnyConnection, site_id: i64) -> sqlx::Result<Vec<Window>> {
    let rows = sqlx::query("SELECT code, name FROM windows WHERE site_id = $1 ORDER BY code")
        .bind(site_id)
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok(Window { code: r.try_get("code")?, name: r.try_get("name")? })).collect()
}

pub async fn count_windows(c: &mut AnyConnection) -> sqlx::Result<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM windows").fetch_one(c).await?.try_get("n")
}

pub async fn insert_department(
    c: &mut AnyConnection,
    code: &str,
    name: &str,
    credit_code: Option<&str>,
    sort: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO departments (code, name, credit_code, sort) VALUES ($1, $2, $3, $4)")
        .bind(code)
        .bind(name)
        .bind(credit_code)
        .bind(sort)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn insert_site(
    c: &mut AnyConnection,
    code: &str,
    name: &str,
    kind: SiteKind,
    subdistrict: &str,
    address: &str,
    sort: i64,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO sites (code, name, kind, subdistrict, address, sort) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(kind.name())
    .bind(subdistrict)
    .bind(address)
    .bind(sort)
    .fetch_one(c)
    .await?
    .try_get("id")
}

pub async fn insert_window(c: &mut AnyConnection, site_id: i64, code: &str, name: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO windows (site_id, code, name) VALUES ($1, $2, $3)")
        .bind(site_id)
        .bind(code)
        .bind(name)
        .execute(c)
        .await?;
    Ok(())
}

fn department_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Department> {
    Ok(Department { id: r.try_get("id")?, code: r.try_get("code")?, name: r.try_get("name")? })
}

fn site_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Site> {
    Ok(Site {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        kind: crate::code(r, "kind")?,
        subdistrict: r.try_get("subdistrict")?,
        address: r.try_get("address")?,
    })
}
