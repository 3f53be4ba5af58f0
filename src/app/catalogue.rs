//! The service catalogue: publishing item versions, the public guide, browsing and search.

use std::sync::Arc;

use tracing::instrument;

use super::search::{Index, normalise};
use super::{Actor, AppError, Core, Problems, audit_in, authorize};
use crate::clock::now_ms;
use crate::domain::item::{ItemDefinition, Sites, Subject};
use crate::domain::permission::Permission;
use crate::store::audit::Outcome;
use crate::store::catalogue::{self, ItemFacts, ItemRow};
use crate::store::org::{self, Site};

/// An item as the public sees it: its catalogue row and its published definition.
#[derive(Debug, Clone)]
pub struct Guide {
    pub row: ItemRow,
    pub version: i64,
    pub def: ItemDefinition,
    /// The halls that handle it (all of them when the item says "all").
    pub sites: Vec<Site>,
}

impl Guide {
    pub fn is_suspended(&self) -> bool {
        self.row.status == "suspended"
    }
}

fn subjects_text(subjects: &[Subject]) -> String {
    let mut s: Vec<&str> = subjects
        .iter()
        .map(|s| match s {
            Subject::Person => "person",
            Subject::Organisation => "organisation",
        })
        .collect();
    s.sort_unstable();
    s.dedup();
    s.join(",")
}

/// The public guide of an item: published or suspended ones; others do not exist publicly.
pub async fn guide(core: &Core, code: &str) -> Result<Guide, AppError> {
    let mut conn = core.db.conn().await?;
    let row = catalogue::item_by_code(&mut conn, code)
        .await?
        .ok_or(AppError::NotFound)?;
    let version = match (row.status.as_str(), row.published_version) {
        ("published" | "suspended", Some(v)) => v,
        _ => return Err(AppError::NotFound),
    };
    let (json, _) = catalogue::version(&mut conn, row.id, version)
        .await?
        .ok_or(AppError::NotFound)?;
    let def: ItemDefinition = serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
    let all_sites = org::list_sites(&mut conn).await?;
    let sites = match &def.sites {
        Sites::All(_) => all_sites,
        Sites::Listed(codes) => all_sites.into_iter().filter(|s| codes.contains(&s.code)).collect(),
    };
    Ok(Guide {
        row,
        version,
        def,
        sites,
    })
}

/// Saves a definition as the item's next version and publishes it (creating the item when new).
/// Returns the published version number.
#[instrument(skip_all, fields(code = %def.code))]
pub async fn publish(core: &Core, actor: &Actor, def: &ItemDefinition) -> Result<i64, AppError> {
    authorize(core, actor, Permission::CatalogEdit, &def.code).await?;
    let mut tx = core.db.begin().await?;
    let version = publish_in(&mut tx, actor, def).await?;
    catalogue::bump_revision(&mut tx).await?;
    tx.commit().await?;
    Ok(version)
}

/// The body of `publish`, inside the caller's transaction (bulk loads publish many at once).
pub async fn publish_in(tx: &mut sqlx::AnyConnection, actor: &Actor, def: &ItemDefinition) -> Result<i64, AppError> {
    let mut p = Problems(def.problems());
    let department = org::department_by_code(tx, &def.department).await?;
    if department.is_none() {
        p.add("department", "unknown", format!("实施部门 {} 不存在", def.department));
    }
    p.into_result()?;
    let department = department.ok_or(AppError::NotFound)?;
    let subjects = subjects_text(&def.subjects);
    let facts = ItemFacts {
        name: &def.name,
        item_type: &def.item_type,
        subjects: &subjects,
        fully_online: def.fully_online,
        citywide: def.citywide,
        promised_days: i64::from(def.promised_days),
    };
    let now = now_ms();
    let existing = catalogue::item_by_code(tx, &def.code).await?;
    let (item_id, version) = match existing {
        Some(row) if row.status == "cancelled" => return Err(AppError::Conflict("该事项已取消，不能再发布".into())),
        Some(row) => (row.id, row.latest_version + 1),
        None => (
            catalogue::insert_item(tx, &def.code, department.id, "draft", &facts, now).await?,
            1,
        ),
    };
    let json = serde_json::to_string(def).map_err(|e| AppError::Internal(e.into()))?;
    catalogue::insert_version(tx, item_id, version, &json, &actor.username, now).await?;
    catalogue::publish_version(tx, item_id, version, &facts, now).await?;
    audit_in(
        tx,
        actor,
        "item.publish",
        &def.code,
        Outcome::Success,
        &format!("第 {version} 版"),
    )
    .await?;
    Ok(version)
}

/// The node's search index, rebuilt when the catalogue has changed since it was built.
pub async fn index(core: &Core) -> Result<Arc<Index>, AppError> {
    let mut conn = core.db.conn().await?;
    let revision = catalogue::revision(&mut conn).await?;
    if let Some(index) = core.search.get()
        && index.revision == revision
    {
        return Ok(index);
    }
    let rows = catalogue::published_with_definitions(&mut conn).await?;
    let synonyms = catalogue::synonyms(&mut conn).await?;
    drop(conn);
    let mut items = Vec::with_capacity(rows.len());
    for (row, json) in rows {
        let def: ItemDefinition = serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
        items.push((row, def));
    }
    let index = tokio::task::spawn_blocking(move || Index::build(revision, items, synonyms))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(core.search.set(index))
}

/// Filters of the public catalogue.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub q: String,
    pub department: String,
    pub subject: String,
    pub page: i64,
    pub page_size: i64,
}

/// Searches (with `q`) or browses (without) the public catalogue.
pub async fn find(core: &Core, query: &Query) -> Result<(i64, Vec<ItemRow>), AppError> {
    let page_size = query.page_size.clamp(1, 100);
    let offset = (query.page.max(1) - 1) * page_size;
    if normalise(&query.q).is_empty() {
        let filter = catalogue::ItemFilter {
            department: query.department.clone(),
            subject: query.subject.clone(),
            offset,
            limit: page_size,
        };
        return Ok(catalogue::list_public(&mut *core.db.conn().await?, &filter).await?);
    }
    let index = index(core).await?;
    let hits = index.search(&query.q, |e| {
        (query.department.is_empty() || e.row.department.code == query.department)
            && match query.subject.as_str() {
                "person" => e.row.serves_persons(),
                "organisation" => e.row.serves_organisations(),
                _ => true,
            }
    });
    let total = hits.len() as i64;
    let rows = hits
        .into_iter()
        .skip(offset as usize)
        .take(page_size as usize)
        .map(|h| h.entry.row.clone())
        .collect();
    Ok((total, rows))
}

/// Suspends a published item (暂停办理): applications are refused with the reason, the guide
/// stays readable with the reason shown.
pub async fn suspend(core: &Core, actor: &Actor, code: &str, reason: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::Invalid(vec![crate::domain::FieldError::new(
            "reason",
            "required",
            "请填写暂停原因，申请人会看到它",
        )]));
    }
    let mut tx = core.db.begin().await?;
    let row = catalogue::item_by_code(&mut tx, code)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.status != "published" {
        return Err(AppError::Conflict("只有已发布的事项可以暂停".into()));
    }
    catalogue::set_status(&mut tx, row.id, "suspended", reason, now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, actor, "item.suspend", code, Outcome::Success, reason).await?;
    tx.commit().await?;
    Ok(())
}

/// Resumes a suspended item.
pub async fn resume(core: &Core, actor: &Actor, code: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let mut tx = core.db.begin().await?;
    let row = catalogue::item_by_code(&mut tx, code)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.status != "suspended" {
        return Err(AppError::Conflict("只有暂停中的事项可以恢复".into()));
    }
    catalogue::set_status(&mut tx, row.id, "published", "", now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, actor, "item.resume", code, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}
