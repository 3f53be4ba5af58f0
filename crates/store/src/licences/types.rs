//! Licence types (证照目录).

use sqlx::{AnyConnection, Row};

use crate::flag;
use crate::org::Department;

/// A licence type as stored.
#[derive(Debug, Clone)]
pub struct LicenceType {
    pub id: i64,
    pub code: String,
    pub catalog_code: String,
    pub name: String,
    pub department: Department,
    /// The issuing department's unified social credit code (the identifier's issuer segment).
    pub department_credit_code: Option<String>,
    pub holder_kind: String,
    /// JSON array of `FaceField`.
    pub face_fields: String,
    pub validity: String,
    pub template: String,
    pub public: bool,
}

macro_rules! select_type_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT t.id, t.code, t.catalog_code, t.name, t.holder_kind, t.face_fields, t.validity, t.template, \
             t.public, d.id AS d_id, d.code AS d_code, d.name AS d_name, d.credit_code AS d_credit \
             FROM licence_types t JOIN departments d ON d.id = t.department_id WHERE ",
            $($condition)+
        )
    };
}

fn type_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<LicenceType> {
    Ok(LicenceType {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        catalog_code: r.try_get("catalog_code")?,
        name: r.try_get("name")?,
        department: Department { id: r.try_get("d_id")?, code: r.try_get("d_code")?, name: r.try_get("d_name")? },
        department_credit_code: r.try_get("d_credit")?,
        holder_kind: r.try_get("holder_kind")?,
        face_fields: r.try_get("face_fields")?,
        validity: r.try_get("validity")?,
        template: r.try_get("template")?,
        public: flag(r, "public")?,
    })
}

pub async fn list_types(c: &mut AnyConnection) -> sqlx::Result<Vec<LicenceType>> {
    const SQL: &str = select_type_where!("1 = 1 ORDER BY d.sort, t.code");
    let rows = sqlx::query(SQL).fetch_all(c).await?;
    rows.iter().map(type_from_row).collect()
}

pub async fn type_by_code(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<LicenceType>> {
    const SQL: &str = select_type_where!("t.code = $1");
    let row = sqlx::query(SQL).bind(code).fetch_optional(c).await?;
    row.as_ref().map(type_from_row).transpose()
}

/// What a licence type holds, for inserts and updates.
pub struct TypeFields<'a> {
    pub code: &'a str,
    pub catalog_code: &'a str,
    pub name: &'a str,
    pub department_id: i64,
    pub holder_kind: &'a str,
    pub face_fields: &'a str,
    pub validity: &'a str,
    pub template: &'a str,
    pub public: bool,
    pub now: i64,
}

pub async fn insert_type(c: &mut AnyConnection, t: &TypeFields<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO licence_types (code, catalog_code, name, department_id, holder_kind, face_fields, validity, \
         template, public, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(t.code)
    .bind(t.catalog_code)
    .bind(t.name)
    .bind(t.department_id)
    .bind(t.holder_kind)
    .bind(t.face_fields)
    .bind(t.validity)
    .bind(t.template)
    .bind(i64::from(t.public))
    .bind(t.now)
    .fetch_one(c)
    .await?
    .try_get("id")
}

/// Updates a type by its code (the code itself and the catalogue code do not change: issued
/// identifiers carry them).
pub async fn update_type(c: &mut AnyConnection, t: &TypeFields<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE licence_types SET name = $2, department_id = $3, holder_kind = $4, face_fields = $5, validity = $6, \
         template = $7, public = $8, updated_at = $9 WHERE code = $1",
    )
    .bind(t.code)
    .bind(t.name)
    .bind(t.department_id)
    .bind(t.holder_kind)
    .bind(t.face_fields)
    .bind(t.validity)
    .bind(t.template)
    .bind(i64::from(t.public))
    .bind(t.now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}
