//! The service catalogue: items and their versions, life events, search synonyms, the work
//! calendar, and the revision counter that tells every node when to rebuild its search index.

use sqlx::{AnyConnection, Row};

use tongban_domain::calendar::DayKind;
use tongban_domain::day::Day;
use tongban_domain::item::ItemStatus;

use super::flag;
use super::org::Department;

/// An item's catalogue row (the facts lists and search need) with its department.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub code: String,
    pub department: Department,
    pub status: ItemStatus,
    pub status_reason: String,
    pub published_version: Option<i64>,
    pub latest_version: i64,
    pub name: String,
    pub item_type: String,
    pub subjects: String,
    pub fully_online: bool,
    pub citywide: bool,
    pub promised_days: i64,
    pub updated_at: i64,
}

impl ItemRow {
    pub fn serves_persons(&self) -> bool {
        self.subjects.split(',').any(|s| s == "person")
    }

    /// True when the latest version is a draft not yet published.
    pub fn has_unpublished(&self) -> bool {
        Some(self.latest_version) != self.published_version
    }

    pub fn serves_organisations(&self) -> bool {
        self.subjects.split(',').any(|s| s == "organisation")
    }
}

macro_rules! select_item_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT i.id, i.code, i.status, i.status_reason, i.published_version, i.latest_version, i.name, \
             i.item_type, i.subjects, i.fully_online, i.citywide, i.promised_days, i.updated_at, \
             d.id AS d_id, d.code AS d_code, d.name AS d_name \
             FROM items i JOIN departments d ON d.id = i.department_id WHERE ",
            $($condition)+
        )
    };
}

/// The columns copied from the public version of an item.
pub struct ItemFacts<'a> {
    pub name: &'a str,
    pub item_type: &'a str,
    pub subjects: &'a str,
    pub fully_online: bool,
    pub citywide: bool,
    pub promised_days: i64,
}

pub async fn insert_item(
    c: &mut AnyConnection,
    code: &str,
    department_id: i64,
    status: ItemStatus,
    facts: &ItemFacts<'_>,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO items (code, department_id, status, published_version, latest_version, name, item_type, \
         subjects, fully_online, citywide, promised_days, updated_at) \
         VALUES ($1, $2, $3, NULL, 0, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(code)
    .bind(department_id)
    .bind(status.name())
    .bind(facts.name)
    .bind(facts.item_type)
    .bind(facts.subjects)
    .bind(i64::from(facts.fully_online))
    .bind(i64::from(facts.citywide))
    .bind(facts.promised_days)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get("id")
}

/// Adds a version (unpublished) and makes it the latest.
pub async fn insert_version(
    c: &mut AnyConnection,
    item_id: i64,
    version: i64,
    definition: &str,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO item_versions (item_id, version, definition, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(item_id)
    .bind(version)
    .bind(definition)
    .bind(now)
    .bind(by)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE items SET latest_version = $2, updated_at = $3 WHERE id = $1")
        .bind(item_id)
        .bind(version)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

/// Publishes a version: applicants get it from now on, and lists show its facts.
pub async fn publish_version(
    c: &mut AnyConnection,
    item_id: i64,
    version: i64,
    facts: &ItemFacts<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE item_versions SET published_at = $3 WHERE item_id = $1 AND version = $2")
        .bind(item_id)
        .bind(version)
        .bind(now)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "UPDATE items SET status = 'published', status_reason = '', published_version = $2, name = $3, item_type = $4, \
         subjects = $5, fully_online = $6, citywide = $7, promised_days = $8, updated_at = $9 WHERE id = $1",
    )
    .bind(item_id)
    .bind(version)
    .bind(facts.name)
    .bind(facts.item_type)
    .bind(facts.subjects)
    .bind(i64::from(facts.fully_online))
    .bind(i64::from(facts.citywide))
    .bind(facts.promised_days)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn set_status(
    c: &mut AnyConnection,
    item_id: i64,
    status: ItemStatus,
    reason: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE items SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1")
        .bind(item_id)
        .bind(status.name())
        .bind(reason)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn item_by_code(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<ItemRow>> {
    const SQL: &str = select_item_where!("i.code = $1");
    let row = sqlx::query(SQL).bind(code).fetch_optional(c).await?;
    row.as_ref().map(item_from_row).transpose()
}

/// One version's definition (JSON) and when it was published.
pub async fn version(c: &mut AnyConnection, item_id: i64, version: i64) -> sqlx::Result<Option<(String, Option<i64>)>> {
    let row = sqlx::query("SELECT definition, published_at FROM item_versions WHERE item_id = $1 AND version = $2")
        .bind(item_id)
        .bind(version)
        .fetch_optional(c)
        .await?;
    row.map(|r| Ok((r.try_get("definition")?, r.try_get("published_at")?))).transpose()
}

/// Filters of the public item list; empty strings mean "any".
#[derive(Debug, Default, Clone)]
pub struct ItemFilter {
    pub department: String,
    pub subject: String,
    pub offset: i64,
    pub limit: i64,
}

macro_rules! public_filter {
    () => {
        "i.status IN ('published', 'suspended') AND ($1 = '' OR d.code = $1) AND ($2 = '' OR i.subjects LIKE $3)"
    };
}

/// Publicly visible items (published or suspended), by department and subject.
pub async fn list_public(c: &mut AnyConnection, f: &ItemFilter) -> sqlx::Result<(i64, Vec<ItemRow>)> {
    const COUNT: &str = concat!(
        "SELECT COUNT(*) AS n FROM items i JOIN departments d ON d.id = i.department_id WHERE ",
        public_filter!()
    );
    const PAGE: &str = select_item_where!(public_filter!(), " ORDER BY d.sort, i.code LIMIT $4 OFFSET $5");
    let like = format!("%{}%", f.subject.replace(['%', '_'], ""));
    let total: i64 =
        sqlx::query(COUNT).bind(&f.department).bind(&f.subject).bind(&like).fetch_one(&mut *c).await?.try_get("n")?;
    let rows = sqlx::query(PAGE)
        .bind(&f.department)
        .bind(&f.subject)
        .bind(&like)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(&mut *c)
        .await?;
    Ok((total, rows.iter().map(item_from_row).collect::<sqlx::Result<_>>()?))
}

/// Every published item with its published definition (to build the search index).
pub async fn published_with_definitions(c: &mut AnyConnection) -> sqlx::Result<Vec<(ItemRow, String)>> {
    let rows = sqlx::query(concat!(
        "SELECT x.*, v.definition FROM (",
        select_item_where!("i.status = 'published'"),
        ") x JOIN item_versions v ON v.item_id = x.id AND v.version = x.published_version ORDER BY x.code"
    ))
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((item_from_row(r)?, r.try_get("definition")?))).collect()
}

/// Item counts per department (public items), for browsing.
pub async fn counts_by_department(c: &mut AnyConnection) -> sqlx::Result<Vec<(Department, i64)>> {
    let rows = sqlx::query(
        "SELECT d.id, d.code, d.name, COUNT(i.id) AS n FROM departments d \
         JOIN items i ON i.department_id = d.id AND i.status IN ('published', 'suspended') \
         GROUP BY d.id, d.code, d.name, d.sort ORDER BY d.sort",
    )
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                Department { id: r.try_get("id")?, code: r.try_get("code")?, name: r.try_get("name")? },
                r.try_get("n")?,
            ))
        })
        .collect()
}

pub async fn bump_revision(c: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("UPDATE catalogue_revision SET revision = revision + 1 WHERE id = 1").execute(c).await?;
    Ok(())
}

pub async fn revision(c: &mut AnyConnection) -> sqlx::Result<i64> {
    sqlx::query("SELECT revision FROM catalogue_revision WHERE id = 1").fetch_one(c).await?.try_get("revision")
}

#[derive(Debug, Clone)]
pub struct LifeEvent {
    pub code: String,
    pub name: String,
    pub description: String,
    pub subjects: String,
    pub items: Vec<String>,
}

pub async fn insert_life_event(c: &mut AnyConnection, e: &LifeEvent, sort: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO life_events (code, name, description, subjects, sort) VALUES ($1, $2, $3, $4, $5)")
        .bind(&e.code)
        .bind(&e.name)
        .bind(&e.description)
        .bind(&e.subjects)
        .bind(sort)
        .execute(&mut *c)
        .await?;
    for (i, item) in e.items.iter().enumerate() {
        sqlx::query("INSERT INTO life_event_items (event_code, item_code, sort) VALUES ($1, $2, $3)")
            .bind(&e.code)
            .bind(item)
            .bind(i as i64)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub async fn life_events(c: &mut AnyConnection) -> sqlx::Result<Vec<LifeEvent>> {
    let rows = sqlx::query(
        "SELECT e.code, e.name, e.description, e.subjects, li.item_code FROM life_events e \
         LEFT JOIN life_event_items li ON li.event_code = e.code ORDER BY e.sort, e.code, li.sort",
    )
    .fetch_all(c)
    .await?;
    let mut out: Vec<LifeEvent> = Vec::new();
    for r in &rows {
        let code: String = r.try_get("code")?;
        if out.last().is_none_or(|e| e.code != code) {
            out.push(LifeEvent {
                code,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                subjects: r.try_get("subjects")?,
                items: Vec::new(),
            });
        }
        if let (Some(e), Some(item)) = (out.last_mut(), r.try_get::<Option<String>, _>("item_code")?) {
            e.items.push(item);
        }
    }
    Ok(out)
}

pub async fn upsert_synonym(c: &mut AnyConnection, term: &str, canonical: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO search_synonyms (term, canonical, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (term) DO UPDATE SET canonical = excluded.canonical, updated_at = excluded.updated_at",
    )
    .bind(term)
    .bind(canonical)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn delete_synonym(c: &mut AnyConnection, term: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("DELETE FROM search_synonyms WHERE term = $1").bind(term).execute(c).await?.rows_affected() > 0)
}

pub async fn synonyms(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT term, canonical FROM search_synonyms ORDER BY term").fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("term")?, r.try_get("canonical")?))).collect()
}

/// Adds a calendar day unless that day is listed already.
pub async fn insert_calendar_day_if_missing(
    c: &mut AnyConnection,
    day: Day,
    kind: DayKind,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO work_calendar (day, kind, name) VALUES ($1, $2, $3) ON CONFLICT (day) DO NOTHING")
        .bind(day.to_string())
        .bind(kind.name())
        .bind(name)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn calendar_days(c: &mut AnyConnection) -> sqlx::Result<Vec<(Day, DayKind)>> {
    let rows = sqlx::query("SELECT day, kind FROM work_calendar ORDER BY day").fetch_all(c).await?;
    rows.iter().map(|r| Ok((crate::day(r, "day")?, crate::code(r, "kind")?))).collect()
}

/// A listed calendar day: `(day, kind, name)`.
pub type CalendarDay = (Day, DayKind, String);

/// The listed days whose date starts with `prefix` (`"2026-"` for a year, `""` for all), in order.
pub async fn calendar_days_named(c: &mut AnyConnection, prefix: &str) -> sqlx::Result<Vec<CalendarDay>> {
    let rows = sqlx::query("SELECT day, kind, name FROM work_calendar WHERE day LIKE $1 ORDER BY day")
        .bind(format!("{prefix}%"))
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok((crate::day(r, "day")?, crate::code(r, "kind")?, r.try_get("name")?))).collect()
}

/// The years that have at least one listed day, ascending.
pub async fn calendar_years(c: &mut AnyConnection) -> sqlx::Result<Vec<i32>> {
    let rows = sqlx::query("SELECT DISTINCT substr(day, 1, 4) AS y FROM work_calendar ORDER BY y").fetch_all(c).await?;
    Ok(rows.iter().filter_map(|r| r.try_get::<String, _>("y").ok()?.parse().ok()).collect())
}

/// Adds a listed day or changes its kind and name.
pub async fn upsert_calendar_day(c: &mut AnyConnection, day: Day, kind: DayKind, name: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO work_calendar (day, kind, name) VALUES ($1, $2, $3) \
         ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
    )
    .bind(day.to_string())
    .bind(kind.name())
    .bind(name)
    .execute(c)
    .await?;
    Ok(())
}

/// Removes a listed day (it then follows the weekday rule); `false` when it was not listed.
pub async fn delete_calendar_day(c: &mut AnyConnection, day: Day) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM work_calendar WHERE day = $1").bind(day.to_string()).execute(c).await?;
    Ok(done.rows_affected() == 1)
}

/// Removes every listed day of one year.
pub async fn delete_calendar_year(c: &mut AnyConnection, year: i32) -> sqlx::Result<u64> {
    let done =
        sqlx::query("DELETE FROM work_calendar WHERE day LIKE $1").bind(format!("{year:04}-%")).execute(c).await?;
    Ok(done.rows_affected())
}

fn item_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<ItemRow> {
    Ok(ItemRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        department: Department { id: r.try_get("d_id")?, code: r.try_get("d_code")?, name: r.try_get("d_name")? },
        status: crate::code(r, "status")?,
        status_reason: r.try_get("status_reason")?,
        published_version: r.try_get("published_version")?,
        latest_version: r.try_get("latest_version")?,
        name: r.try_get("name")?,
        item_type: r.try_get("item_type")?,
        subjects: r.try_get("subjects")?,
        fully_online: flag(r, "fully_online")?,
        citywide: flag(r, "citywide")?,
        promised_days: r.try_get("promised_days")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Filters of the administrators' item list (every status); empty strings mean "any".
#[derive(Debug, Default, Clone)]
pub struct AdminFilter {
    pub q: String,
    pub department: String,
    pub status: String,
    pub offset: i64,
    pub limit: i64,
}

macro_rules! admin_filter {
    () => {
        "($1 = '' OR i.name LIKE $2 OR i.code LIKE $2) AND ($3 = '' OR d.code = $3) AND ($4 = '' OR i.status = $4)"
    };
}

pub async fn list_admin(c: &mut AnyConnection, f: &AdminFilter) -> sqlx::Result<(i64, Vec<ItemRow>)> {
    const COUNT: &str = concat!(
        "SELECT COUNT(*) AS n FROM items i JOIN departments d ON d.id = i.department_id WHERE ",
        admin_filter!()
    );
    const PAGE: &str = select_item_where!(admin_filter!(), " ORDER BY i.updated_at DESC, i.code LIMIT $5 OFFSET $6");
    let like = format!("%{}%", f.q.replace(['%', '_'], ""));
    let total: i64 = sqlx::query(COUNT)
        .bind(&f.q)
        .bind(&like)
        .bind(&f.department)
        .bind(&f.status)
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?;
    let rows = sqlx::query(PAGE)
        .bind(&f.q)
        .bind(&like)
        .bind(&f.department)
        .bind(&f.status)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(&mut *c)
        .await?;
    Ok((total, rows.iter().map(item_from_row).collect::<sqlx::Result<_>>()?))
}

/// Every item with the definition of its latest version (for export).
pub async fn all_with_latest(c: &mut AnyConnection) -> sqlx::Result<Vec<(ItemRow, String)>> {
    let rows = sqlx::query(concat!(
        "SELECT x.*, v.definition FROM (",
        select_item_where!("1 = 1"),
        ") x JOIN item_versions v ON v.item_id = x.id AND v.version = x.latest_version ORDER BY x.code"
    ))
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((item_from_row(r)?, r.try_get("definition")?))).collect()
}

#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub version: i64,
    pub created_at: i64,
    pub created_by: String,
    pub published_at: Option<i64>,
}

pub async fn versions(c: &mut AnyConnection, item_id: i64) -> sqlx::Result<Vec<VersionInfo>> {
    let rows = sqlx::query(
        "SELECT version, created_at, created_by, published_at FROM item_versions WHERE item_id = $1 ORDER BY version DESC",
    )
    .bind(item_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VersionInfo {
                version: r.try_get("version")?,
                created_at: r.try_get("created_at")?,
                created_by: r.try_get("created_by")?,
                published_at: r.try_get("published_at")?,
            })
        })
        .collect()
}

/// Rewrites an unpublished version (a draft being edited).
pub async fn update_version(
    c: &mut AnyConnection,
    item_id: i64,
    version: i64,
    definition: &str,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE item_versions SET definition = $3, created_by = $4, created_at = $5 \
         WHERE item_id = $1 AND version = $2 AND published_at IS NULL",
    )
    .bind(item_id)
    .bind(version)
    .bind(definition)
    .bind(by)
    .bind(now)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE items SET updated_at = $2 WHERE id = $1").bind(item_id).bind(now).execute(c).await?;
    Ok(())
}

/// Copies a never-published item's facts from its draft (so lists show what is being edited).
pub async fn set_draft_facts(
    c: &mut AnyConnection,
    item_id: i64,
    department_id: i64,
    facts: &ItemFacts<'_>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE items SET department_id = $2, name = $3, item_type = $4, subjects = $5, fully_online = $6, citywide = $7, \
         promised_days = $8, updated_at = $9 WHERE id = $1 AND published_version IS NULL",
    )
    .bind(item_id)
    .bind(department_id)
    .bind(facts.name)
    .bind(facts.item_type)
    .bind(facts.subjects)
    .bind(i64::from(facts.fully_online))
    .bind(i64::from(facts.citywide))
    .bind(facts.promised_days)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}
