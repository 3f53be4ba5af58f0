//! Applications, their materials, their timeline, and the content-addressed files table.

use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub id: i64,
    pub number: String,
    pub applicant_id: i64,
    pub item_id: i64,
    pub item_code: String,
    pub item_name: String,
    pub department_name: String,
    pub item_version: i64,
    pub status: String,
    pub form_data: String,
    pub snapshot: Option<String>,
    pub channel: String,
    pub promised_deadline: Option<tongban_domain::day::Day>,
    pub submitted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub row_version: i64,
}

#[derive(Debug, Clone)]
pub struct MaterialFile {
    pub material_code: String,
    pub file_sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_at: i64,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub note: String,
}

macro_rules! select_application_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT a.id, a.number, a.applicant_id, a.item_id, a.item_version, a.status, a.form_data, a.snapshot, \
             a.channel, a.promised_deadline, a.submitted_at, a.created_at, a.updated_at, a.row_version, \
             i.code AS item_code, i.name AS item_name, d.name AS department_name \
             FROM applications a JOIN items i ON i.id = a.item_id JOIN departments d ON d.id = i.department_id WHERE ",
            $($condition)+
        )
    };
}

pub struct NewApplication<'a> {
    pub number: &'a str,
    pub applicant_id: i64,
    pub item_id: i64,
    pub item_version: i64,
    pub form_data: &'a str,
    pub channel: &'a str,
    pub now: i64,
}

pub async fn insert_draft(c: &mut AnyConnection, a: &NewApplication<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO applications (number, applicant_id, item_id, item_version, status, form_data, channel, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $7) RETURNING id",
    )
    .bind(a.number)
    .bind(a.applicant_id)
    .bind(a.item_id)
    .bind(a.item_version)
    .bind(a.form_data)
    .bind(a.channel)
    .bind(a.now)
    .fetch_one(c)
    .await?
    .try_get("id")
}

pub async fn by_number(c: &mut AnyConnection, number: &str) -> sqlx::Result<Option<ApplicationRow>> {
    const SQL: &str = select_application_where!("a.number = $1");
    let row = sqlx::query(SQL).bind(number).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks the application as a bundle (一件事) of a life event.
pub async fn set_bundle(c: &mut AnyConnection, id: i64, event_code: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE applications SET bundle_code = $1 WHERE id = $2").bind(event_code).bind(id).execute(c).await?;
    Ok(())
}

/// Sets the application's status (its cases keep it in step afterwards).
pub async fn set_status(c: &mut AnyConnection, id: i64, status: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE applications SET status = $1, updated_at = $2, row_version = row_version + 1 WHERE id = $3")
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Records that a window took the application for a walk-in applicant.
pub async fn set_assisted(c: &mut AnyConnection, id: i64, site_id: i64, staff_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE applications SET channel = 'window', site_id = $1, taken_by = $2 WHERE id = $3")
        .bind(site_id)
        .bind(staff_id)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn by_id(c: &mut AnyConnection, id: i64) -> sqlx::Result<Option<ApplicationRow>> {
    const SQL: &str = select_application_where!("a.id = $1");
    let row = sqlx::query(SQL).bind(id).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_idempotency_key(
    c: &mut AnyConnection,
    applicant_id: i64,
    key: &str,
) -> sqlx::Result<Option<ApplicationRow>> {
    const SQL: &str = select_application_where!("a.applicant_id = $1 AND a.idempotency_key = $2");
    let row = sqlx::query(SQL).bind(applicant_id).bind(key).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

/// The applicant's open draft for an item, if any (newest first).
pub async fn draft_for(c: &mut AnyConnection, applicant_id: i64, item_id: i64) -> sqlx::Result<Option<ApplicationRow>> {
    const SQL: &str = select_application_where!(
        "a.applicant_id = $1 AND a.item_id = $2 AND a.status = 'draft' ORDER BY a.created_at DESC LIMIT 1"
    );
    let row = sqlx::query(SQL).bind(applicant_id).bind(item_id).fetch_optional(c).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list_for_applicant(
    c: &mut AnyConnection,
    applicant_id: i64,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(i64, Vec<ApplicationRow>)> {
    const PAGE: &str =
        select_application_where!("a.applicant_id = $1 ORDER BY a.updated_at DESC, a.id DESC LIMIT $2 OFFSET $3");
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM applications WHERE applicant_id = $1")
        .bind(applicant_id)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(PAGE).bind(applicant_id).bind(limit).bind(offset).fetch_all(&mut *c).await?;
    Ok((total, rows.iter().map(from_row).collect::<sqlx::Result<_>>()?))
}

pub async fn update_form(c: &mut AnyConnection, id: i64, form_data: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE applications SET form_data = $2, updated_at = $3, row_version = row_version + 1 WHERE id = $1")
        .bind(id)
        .bind(form_data)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

pub struct Submission<'a> {
    pub form_data: &'a str,
    pub snapshot: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub promised_deadline: tongban_domain::day::Day,
    pub now: i64,
}

/// Marks a draft submitted; false when it was no longer a draft (someone else got there first).
pub async fn submit(c: &mut AnyConnection, id: i64, s: &Submission<'_>) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE applications SET status = 'submitted', form_data = $2, snapshot = $3, idempotency_key = $4, \
         promised_deadline = $5, submitted_at = $6, updated_at = $6, row_version = row_version + 1 \
         WHERE id = $1 AND status = 'draft'",
    )
    .bind(id)
    .bind(s.form_data)
    .bind(s.snapshot)
    .bind(s.idempotency_key)
    .bind(s.promised_deadline.to_string())
    .bind(s.now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Moves an application from one status to another; false when it was not in `from`.
pub async fn transition(c: &mut AnyConnection, id: i64, from: &str, to: &str, now: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query("UPDATE applications SET status = $3, updated_at = $4, row_version = row_version + 1 WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}

pub async fn insert_file(
    c: &mut AnyConnection,
    sha256: &str,
    size: i64,
    content_type: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO files (sha256, size, content_type, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
        .bind(sha256)
        .bind(size)
        .bind(content_type)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// Replaces the files of one material of an application.
pub async fn replace_material(
    c: &mut AnyConnection,
    application_id: i64,
    material_code: &str,
    files: &[MaterialFile],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM application_materials WHERE application_id = $1 AND material_code = $2")
        .bind(application_id)
        .bind(material_code)
        .execute(&mut *c)
        .await?;
    for f in files {
        sqlx::query(
            "INSERT INTO application_materials (application_id, material_code, file_sha256, file_name, content_type, size, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (application_id, material_code, file_sha256) DO NOTHING",
        )
        .bind(application_id)
        .bind(material_code)
        .bind(&f.file_sha256)
        .bind(&f.file_name)
        .bind(&f.content_type)
        .bind(f.size)
        .bind(f.uploaded_at)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub async fn materials(c: &mut AnyConnection, application_id: i64) -> sqlx::Result<Vec<MaterialFile>> {
    let rows = sqlx::query(
        "SELECT material_code, file_sha256, file_name, content_type, size, uploaded_at FROM application_materials \
         WHERE application_id = $1 ORDER BY material_code, uploaded_at",
    )
    .bind(application_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MaterialFile {
                material_code: r.try_get("material_code")?,
                file_sha256: r.try_get("file_sha256")?,
                file_name: r.try_get("file_name")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                uploaded_at: r.try_get("uploaded_at")?,
            })
        })
        .collect()
}

pub async fn add_event(
    c: &mut AnyConnection,
    application_id: i64,
    kind: &str,
    actor: &str,
    note: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO application_events (application_id, at, kind, actor, note) VALUES ($1, $2, $3, $4, $5)")
        .bind(application_id)
        .bind(now)
        .bind(kind)
        .bind(actor)
        .bind(note)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn events(c: &mut AnyConnection, application_id: i64) -> sqlx::Result<Vec<Event>> {
    let rows =
        sqlx::query("SELECT at, kind, actor, note FROM application_events WHERE application_id = $1 ORDER BY at, id")
            .bind(application_id)
            .fetch_all(c)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        applicant_id: r.try_get("applicant_id")?,
        item_id: r.try_get("item_id")?,
        item_code: r.try_get("item_code")?,
        item_name: r.try_get("item_name")?,
        department_name: r.try_get("department_name")?,
        item_version: r.try_get("item_version")?,
        status: r.try_get("status")?,
        form_data: r.try_get("form_data")?,
        snapshot: r.try_get("snapshot")?,
        channel: r.try_get("channel")?,
        promised_deadline: crate::day_opt(r, "promised_deadline")?,
        submitted_at: r.try_get("submitted_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        row_version: r.try_get("row_version")?,
    })
}
