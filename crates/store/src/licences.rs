//! Electronic licences: licence types (证照目录), licences, the use log, use grants, API clients
//! of other departments' systems, and licences picked in applications.

use sqlx::{AnyConnection, Row};

use super::flag;
use super::org::Department;

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

/// A licence as stored, with its type and issuer.
#[derive(Debug, Clone)]
pub struct LicenceRow {
    pub id: i64,
    pub identifier: String,
    pub serial: String,
    pub version: i64,
    pub type_code: String,
    pub type_catalog_code: String,
    pub type_name: String,
    pub template: String,
    pub number: String,
    pub issuer: Department,
    pub issuer_credit_code: Option<String>,
    pub holder_user_id: Option<i64>,
    pub holder_name: String,
    pub holder_code_enc: String,
    pub holder_code_type: String,
    pub related_item: Option<String>,
    pub case_number: Option<String>,
    pub face_data: String,
    pub payload_enc: String,
    pub signature: String,
    pub key_id: String,
    pub status: String,
    pub status_reason: String,
    pub issued_on: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub updated_at: i64,
}

macro_rules! select_licence_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT l.id, l.identifier, l.serial, l.version, l.number, l.holder_user_id, l.holder_name, \
             l.holder_code_enc, l.holder_code_type, l.related_item, l.case_number, l.face_data, l.payload_enc, \
             l.signature, l.key_id, l.status, l.status_reason, l.issued_on, l.valid_from, l.valid_to, l.updated_at, \
             t.code AS t_code, t.catalog_code AS t_catalog, t.name AS t_name, t.template AS t_template, \
             d.id AS d_id, d.code AS d_code, d.name AS d_name, d.credit_code AS d_credit \
             FROM licences l JOIN licence_types t ON t.id = l.type_id JOIN departments d ON d.id = l.issuer_id WHERE ",
            $($condition)+
        )
    };
}

/// The same columns, but without the large ones (face data, signed payload, signature), which
/// come back empty: what verification needs, read thousands of times a second.
macro_rules! select_licence_facts_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT l.id, l.identifier, l.serial, l.version, l.number, l.holder_user_id, l.holder_name, \
             l.holder_code_enc, l.holder_code_type, l.related_item, l.case_number, '' AS face_data, \
             '' AS payload_enc, '' AS signature, l.key_id, l.status, l.status_reason, l.issued_on, l.valid_from, l.valid_to, l.updated_at, \
             t.code AS t_code, t.catalog_code AS t_catalog, t.name AS t_name, t.template AS t_template, \
             d.id AS d_id, d.code AS d_code, d.name AS d_name, d.credit_code AS d_credit \
             FROM licences l JOIN licence_types t ON t.id = l.type_id JOIN departments d ON d.id = l.issuer_id WHERE ",
            $($condition)+
        )
    };
}

/// The identifier of the licence a case produced (found through its holder, who is indexed).
pub async fn identifier_for_case(
    c: &mut AnyConnection,
    holder_user_id: i64,
    case_number: &str,
) -> sqlx::Result<Option<String>> {
    let row = sqlx::query(
        "SELECT identifier FROM licences WHERE holder_user_id = $1 AND case_number = $2 ORDER BY version DESC LIMIT 1",
    )
    .bind(holder_user_id)
    .bind(case_number)
    .fetch_optional(c)
    .await?;
    row.map(|r| r.try_get("identifier")).transpose()
}

fn licence_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<LicenceRow> {
    Ok(LicenceRow {
        id: r.try_get("id")?,
        identifier: r.try_get("identifier")?,
        serial: r.try_get("serial")?,
        version: r.try_get("version")?,
        type_code: r.try_get("t_code")?,
        type_catalog_code: r.try_get("t_catalog")?,
        type_name: r.try_get("t_name")?,
        template: r.try_get("t_template")?,
        number: r.try_get("number")?,
        issuer: Department { id: r.try_get("d_id")?, code: r.try_get("d_code")?, name: r.try_get("d_name")? },
        issuer_credit_code: r.try_get("d_credit")?,
        holder_user_id: r.try_get("holder_user_id")?,
        holder_name: r.try_get("holder_name")?,
        holder_code_enc: r.try_get("holder_code_enc")?,
        holder_code_type: r.try_get("holder_code_type")?,
        related_item: r.try_get("related_item")?,
        case_number: r.try_get("case_number")?,
        face_data: r.try_get("face_data")?,
        payload_enc: r.try_get("payload_enc")?,
        signature: r.try_get("signature")?,
        key_id: r.try_get("key_id")?,
        status: r.try_get("status")?,
        status_reason: r.try_get("status_reason")?,
        issued_on: r.try_get("issued_on")?,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// What a new licence holds.
pub struct NewLicence<'a> {
    pub identifier: &'a str,
    pub serial: &'a str,
    pub version: i64,
    pub type_id: i64,
    pub number: &'a str,
    pub issuer_id: i64,
    pub holder_user_id: Option<i64>,
    pub holder_name: &'a str,
    pub holder_code_enc: &'a str,
    pub holder_code_digest: &'a str,
    pub holder_code_type: &'a str,
    pub related_item: Option<&'a str>,
    pub case_number: Option<&'a str>,
    pub face_data: &'a str,
    pub payload_enc: &'a str,
    pub signature: &'a str,
    pub key_id: &'a str,
    pub issued_on: &'a str,
    pub valid_from: &'a str,
    pub valid_to: Option<&'a str>,
    pub now: i64,
}

pub async fn insert(c: &mut AnyConnection, l: &NewLicence<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO licences (identifier, serial, version, type_id, number, issuer_id, holder_user_id, holder_name, \
         holder_code_enc, holder_code_digest, holder_code_type, related_item, case_number, face_data, payload_enc, \
         signature, key_id, status, issued_on, valid_from, valid_to, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'valid', $18, $19, $20, \
         $21, $21) RETURNING id",
    )
    .bind(l.identifier)
    .bind(l.serial)
    .bind(l.version)
    .bind(l.type_id)
    .bind(l.number)
    .bind(l.issuer_id)
    .bind(l.holder_user_id)
    .bind(l.holder_name)
    .bind(l.holder_code_enc)
    .bind(l.holder_code_digest)
    .bind(l.holder_code_type)
    .bind(l.related_item)
    .bind(l.case_number)
    .bind(l.face_data)
    .bind(l.payload_enc)
    .bind(l.signature)
    .bind(l.key_id)
    .bind(l.issued_on)
    .bind(l.valid_from)
    .bind(l.valid_to)
    .bind(l.now)
    .fetch_one(c)
    .await?
    .try_get("id")
}

pub async fn by_identifier(c: &mut AnyConnection, identifier: &str) -> sqlx::Result<Option<LicenceRow>> {
    const SQL: &str = select_licence_where!("l.identifier = $1");
    let row = sqlx::query(SQL).bind(identifier).fetch_optional(c).await?;
    row.as_ref().map(licence_from_row).transpose()
}

/// A licence's facts without its face data, payload and signature (those come back empty).
pub async fn facts_by_identifier(c: &mut AnyConnection, identifier: &str) -> sqlx::Result<Option<LicenceRow>> {
    const SQL: &str = select_licence_facts_where!("l.identifier = $1");
    let row = sqlx::query(SQL).bind(identifier).fetch_optional(c).await?;
    row.as_ref().map(licence_from_row).transpose()
}

pub async fn by_id(c: &mut AnyConnection, id: i64) -> sqlx::Result<Option<LicenceRow>> {
    const SQL: &str = select_licence_where!("l.id = $1");
    let row = sqlx::query(SQL).bind(id).fetch_optional(c).await?;
    row.as_ref().map(licence_from_row).transpose()
}

/// The newest version of a serial (to tell a superseded licence's successor).
pub async fn latest_of_serial(c: &mut AnyConnection, serial: &str, type_id: i64) -> sqlx::Result<Option<String>> {
    let row =
        sqlx::query("SELECT identifier FROM licences WHERE serial = $1 AND type_id = $2 ORDER BY version DESC LIMIT 1")
            .bind(serial)
            .bind(type_id)
            .fetch_optional(c)
            .await?;
    row.map(|r| r.try_get("identifier")).transpose()
}

/// The holder's licences, newest first (superseded versions left out).
pub async fn of_holder(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<Vec<LicenceRow>> {
    const SQL: &str = select_licence_where!(
        "l.holder_user_id = $1 AND l.status <> 'superseded' ORDER BY l.created_at DESC, l.id DESC"
    );
    let rows = sqlx::query(SQL).bind(user_id).fetch_all(c).await?;
    rows.iter().map(licence_from_row).collect()
}

/// The holder's valid licences of one type, valid on `today` (`YYYY-MM-DD`).
pub async fn valid_of_holder_and_type(
    c: &mut AnyConnection,
    user_id: i64,
    type_code: &str,
    today: &str,
) -> sqlx::Result<Vec<LicenceRow>> {
    const SQL: &str = select_licence_where!(
        "l.holder_user_id = $1 AND t.code = $2 AND l.status = 'valid' AND (l.valid_to IS NULL OR l.valid_to >= $3) \
         ORDER BY l.created_at DESC, l.id DESC"
    );
    let rows = sqlx::query(SQL).bind(user_id).bind(type_code).bind(today).fetch_all(c).await?;
    rows.iter().map(licence_from_row).collect()
}

/// Licences of a holder code (by its keyed digest) and type.
pub async fn of_holder_code_and_type(
    c: &mut AnyConnection,
    digest: &str,
    type_code: &str,
) -> sqlx::Result<Vec<LicenceRow>> {
    const SQL: &str = select_licence_where!(
        "l.holder_code_digest = $1 AND t.code = $2 AND l.status <> 'superseded' ORDER BY l.created_at DESC, l.id DESC"
    );
    let rows = sqlx::query(SQL).bind(digest).bind(type_code).fetch_all(c).await?;
    rows.iter().map(licence_from_row).collect()
}

/// Filters for the licence lists of administrators and departments.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Issuing department id, or none for all.
    pub issuer_id: Option<i64>,
    pub type_code: String,
    pub status: String,
    pub offset: i64,
    pub limit: i64,
}

pub async fn list(c: &mut AnyConnection, f: &Filter) -> sqlx::Result<(i64, Vec<LicenceRow>)> {
    macro_rules! filter {
        () => {
            "($1 = 0 OR l.issuer_id = $1) AND ($2 = '' OR t.code = $2) AND ($3 = '' OR l.status = $3)"
        };
    }
    const COUNT: &str =
        concat!("SELECT COUNT(*) AS n FROM licences l JOIN licence_types t ON t.id = l.type_id WHERE ", filter!());
    const PAGE: &str =
        select_licence_where!(concat!(filter!(), " ORDER BY l.created_at DESC, l.id DESC LIMIT $4 OFFSET $5"));
    let issuer = f.issuer_id.unwrap_or(0);
    let total: i64 =
        sqlx::query(COUNT).bind(issuer).bind(&f.type_code).bind(&f.status).fetch_one(&mut *c).await?.try_get("n")?;
    let rows = sqlx::query(PAGE)
        .bind(issuer)
        .bind(&f.type_code)
        .bind(&f.status)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(&mut *c)
        .await?;
    Ok((total, rows.iter().map(licence_from_row).collect::<sqlx::Result<_>>()?))
}

/// Moves a licence from one status to another; false when it was no longer in `from`.
pub async fn set_status(
    c: &mut AnyConnection,
    id: i64,
    from: &str,
    to: &str,
    reason: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE licences SET status = $3, status_reason = $4, updated_at = $5 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(reason)
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks every valid or suspended licence whose last valid day is before `today` as expired;
/// returns their identifiers.
pub async fn expire_due(c: &mut AnyConnection, today: &str, now: i64) -> sqlx::Result<Vec<String>> {
    let rows = sqlx::query(
        "UPDATE licences SET status = 'expired', status_reason = '有效期届满', updated_at = $2 \
         WHERE status IN ('valid', 'suspended') AND valid_to IS NOT NULL AND valid_to < $1 RETURNING identifier",
    )
    .bind(today)
    .bind(now)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| r.try_get("identifier")).collect()
}

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

/// Removes the licence picked for a material of an application, if any.
pub async fn unpick_material(c: &mut AnyConnection, application_id: i64, material_code: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM application_licences WHERE application_id = $1 AND material_code = $2")
        .bind(application_id)
        .bind(material_code)
        .execute(c)
        .await?;
    Ok(())
}

/// Records the licence picked for a material of an application (replacing an earlier pick).
pub async fn pick_for_material(
    c: &mut AnyConnection,
    application_id: i64,
    material_code: &str,
    licence_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    unpick_material(&mut *c, application_id, material_code).await?;
    sqlx::query(
        "INSERT INTO application_licences (application_id, material_code, licence_id, picked_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(application_id)
    .bind(material_code)
    .bind(licence_id)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// The licences picked in an application: (material code, licence).
pub async fn picked_in_application(
    c: &mut AnyConnection,
    application_id: i64,
) -> sqlx::Result<Vec<(String, LicenceRow)>> {
    const SQL: &str = select_licence_where!(
        "l.id IN (SELECT licence_id FROM application_licences WHERE application_id = $1) ORDER BY l.id"
    );
    let rows = sqlx::query(SQL).bind(application_id).fetch_all(&mut *c).await?;
    let licences: Vec<LicenceRow> = rows.iter().map(licence_from_row).collect::<sqlx::Result<_>>()?;
    let picks = sqlx::query(
        "SELECT material_code, licence_id FROM application_licences WHERE application_id = $1 ORDER BY material_code",
    )
    .bind(application_id)
    .fetch_all(c)
    .await?;
    let mut out = Vec::new();
    for p in picks {
        let licence_id: i64 = p.try_get("licence_id")?;
        if let Some(l) = licences.iter().find(|l| l.id == licence_id) {
            out.push((p.try_get("material_code")?, l.clone()));
        }
    }
    Ok(out)
}

/// The account a holder code belongs to, if any (persons by ID number digest, organisations by
/// credit code).
pub async fn account_of_holder(
    c: &mut AnyConnection,
    code_type: &str,
    code: &str,
    digest: &str,
) -> sqlx::Result<Option<i64>> {
    let row = if code_type == "id_number" {
        sqlx::query("SELECT id FROM users WHERE id_number_digest = $1").bind(digest).fetch_optional(c).await?
    } else {
        sqlx::query("SELECT id FROM users WHERE credit_code = $1").bind(code).fetch_optional(c).await?
    };
    row.map(|r| r.try_get("id")).transpose()
}
