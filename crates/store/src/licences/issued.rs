//! Licences: insert, reads by identifier, holder and type, the staff lists, status changes
//! and expiry.

use sqlx::{AnyConnection, Row};
use tongban_domain::day::Day;
use tongban_domain::licence::LicenceStatus;

use super::{LicenceRow, licence_from_row};

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
    pub issued_on: Day,
    pub valid_from: Day,
    pub valid_to: Option<Day>,
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
    .bind(l.issued_on.to_string())
    .bind(l.valid_from.to_string())
    .bind(l.valid_to.map(|d| d.to_string()))
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

/// One page of the holder's licences in the same order, with their total: `limit` from `offset`,
/// or, with `after` (a licence's creation time and id), the licences after that one. The seek is
/// `created_at < t OR (created_at = t AND id < i)`, written `created_at <= t AND (created_at < t
/// OR id < i)`; a holder's licences are few, found by the holder index and sorted.
pub async fn of_holder_page(
    c: &mut AnyConnection,
    user_id: i64,
    after: Option<(i64, i64)>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(i64, Vec<LicenceRow>)> {
    const COUNT: &str = "SELECT COUNT(*) AS n FROM licences l WHERE l.holder_user_id = $1 AND l.status <> 'superseded'";
    const PAGE: &str = select_licence_where!(
        "l.holder_user_id = $1 AND l.status <> 'superseded' AND l.created_at <= $2 AND (l.created_at < $2 OR l.id < $3) \
         ORDER BY l.created_at DESC, l.id DESC LIMIT $4 OFFSET $5"
    );
    let total: i64 = sqlx::query(COUNT).bind(user_id).fetch_one(&mut *c).await?.try_get("n")?;
    // From the top: after every time and every id.
    let (at, id) = after.unwrap_or((i64::MAX, i64::MAX));
    let rows = sqlx::query(PAGE).bind(user_id).bind(at).bind(id).bind(limit).bind(offset).fetch_all(&mut *c).await?;
    Ok((total, rows.iter().map(licence_from_row).collect::<sqlx::Result<_>>()?))
}

/// The holder's valid licences of one type, valid on `today`.
pub async fn valid_of_holder_and_type(
    c: &mut AnyConnection,
    user_id: i64,
    type_code: &str,
    today: Day,
) -> sqlx::Result<Vec<LicenceRow>> {
    const SQL: &str = select_licence_where!(
        "l.holder_user_id = $1 AND t.code = $2 AND l.status = 'valid' AND (l.valid_to IS NULL OR l.valid_to >= $3) \
         ORDER BY l.created_at DESC, l.id DESC"
    );
    let rows = sqlx::query(SQL).bind(user_id).bind(type_code).bind(today.to_string()).fetch_all(c).await?;
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
    from: LicenceStatus,
    to: LicenceStatus,
    reason: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE licences SET status = $3, status_reason = $4, updated_at = $5 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.name())
    .bind(to.name())
    .bind(reason)
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks every valid or suspended licence whose last valid day is before `today` as expired;
/// returns their identifiers.
pub async fn expire_due(c: &mut AnyConnection, today: Day, now: i64) -> sqlx::Result<Vec<String>> {
    let rows = sqlx::query(
        "UPDATE licences SET status = 'expired', status_reason = '有效期届满', updated_at = $2 \
         WHERE status IN ('valid', 'suspended') AND valid_to IS NOT NULL AND valid_to < $1 RETURNING identifier",
    )
    .bind(today.to_string())
    .bind(now)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| r.try_get("identifier")).collect()
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
