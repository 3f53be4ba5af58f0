//! The service catalogue: publishing item versions, the public guide, browsing and search.

use std::sync::Arc;

use tracing::instrument;

use super::search::{Index, normalise};
use super::{Actor, AppError, Core, Problems, audit_in, authorize};
use tongban_domain::item::{ItemDefinition, ItemStatus, Sites, Subject};
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::catalogue::{self, ItemFacts, ItemRow};
use tongban_store::org::{self, Site};

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
        self.row.status == ItemStatus::Suspended
    }
}

/// Every problem with a definition, its department's existence included; the department when none.
async fn checked_department(c: &mut sqlx::AnyConnection, def: &ItemDefinition) -> Result<org::Department, AppError> {
    let mut p = Problems(def.problems());
    let department = org::department_by_code(c, &def.department).await?;
    if department.is_none() {
        p.add("department", "unknown", format!("实施部门 {} 不存在", def.department));
    }
    if tongban_store::cases::latest_workflow(c, def.workflow_code()).await?.is_none() {
        p.add("workflow", "unknown", format!("办理流程 {} 不存在", def.workflow_code()));
    }
    p.into_result()?;
    department.ok_or(AppError::NotFound)
}

/// The catalogue-row columns copied from a definition.
fn facts_of<'a>(def: &'a ItemDefinition, subjects: &'a str) -> ItemFacts<'a> {
    ItemFacts {
        name: &def.name,
        item_type: &def.item_type,
        subjects,
        fully_online: def.fully_online,
        citywide: def.citywide,
        promised_days: i64::from(def.promised_days),
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
    let row = catalogue::item_by_code(&mut conn, code).await?.ok_or(AppError::NotFound)?;
    let version = match (row.status, row.published_version) {
        (ItemStatus::Published | ItemStatus::Suspended, Some(v)) => v,
        _ => return Err(AppError::NotFound),
    };
    let (json, _) = catalogue::version(&mut conn, row.id, version).await?.ok_or(AppError::NotFound)?;
    let def: ItemDefinition = serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
    let all_sites = org::list_sites(&mut conn).await?;
    let sites = match &def.sites {
        Sites::All(_) => all_sites,
        Sites::Listed(codes) => all_sites.into_iter().filter(|s| codes.contains(&s.code)).collect(),
    };
    Ok(Guide { row, version, def, sites })
}

/// Saves a definition as the item's next version and publishes it (creating the item when new).
/// Returns the published version number.
#[instrument(skip_all, fields(code = %def.code))]
pub async fn publish(core: &Core, actor: &Actor, def: &ItemDefinition) -> Result<i64, AppError> {
    authorize(core, actor, Permission::CatalogEdit, &def.code).await?;
    let mut tx = core.db.begin().await?;
    let version = publish_in(&mut tx, &core.clock, actor, def).await?;
    catalogue::bump_revision(&mut tx).await?;
    tx.commit().await?;
    Ok(version)
}

/// The body of `publish`, inside the caller's transaction (bulk loads publish many at once).
pub async fn publish_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    actor: &Actor,
    def: &ItemDefinition,
) -> Result<i64, AppError> {
    let department = checked_department(tx, def).await?;
    let subjects = subjects_text(&def.subjects);
    let facts = facts_of(def, &subjects);
    let now = clock.now_ms();
    let existing = catalogue::item_by_code(tx, &def.code).await?;
    let (item_id, version) = match existing {
        Some(row) if row.status == ItemStatus::Cancelled => {
            return Err(AppError::Conflict("该事项已取消，不能再发布".into()));
        }
        Some(row) => (row.id, row.latest_version + 1),
        None => (catalogue::insert_item(tx, &def.code, department.id, ItemStatus::Draft, &facts, now).await?, 1),
    };
    let json = serde_json::to_string(def).map_err(|e| AppError::Internal(e.into()))?;
    catalogue::insert_version(tx, item_id, version, &json, &actor.username, now).await?;
    catalogue::publish_version(tx, item_id, version, &facts, now).await?;
    audit_in(tx, clock, actor, "item.publish", &def.code, Outcome::Success, &format!("第 {version} 版")).await?;
    Ok(version)
}

/// The node's search index, rebuilt when the catalogue has changed since it was built.
pub async fn index(core: &Core) -> Result<Arc<Index>, AppError> {
    // No connection is held while waiting for a rebuild: a burst of searchers must not drain the pool.
    let revision = catalogue::revision(&mut *core.db.conn().await?).await?;
    if let Some(index) = core.search.get()
        && index.revision == revision
    {
        return Ok(index);
    }
    // One rebuild at a time; whoever waited finds the fresh index already there.
    let _guard = core.search.rebuild_guard().await;
    if let Some(index) = core.search.get()
        && index.revision >= revision
    {
        return Ok(index);
    }
    let mut conn = core.db.conn().await?;
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

/// The first `n` published items a person can apply for entirely online (the portal home's list),
/// taken from the in-memory index: the home page is the most visited page, and listing them from
/// the database scanned and sorted the whole catalogue on every visit.
pub async fn online_for_persons(core: &Core, n: usize) -> Result<Vec<ItemRow>, AppError> {
    let index = index(core).await?;
    Ok(index.rows().filter(|r| r.fully_online && r.serves_persons()).take(n).cloned().collect())
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
    let offset = (query.page.max(1) - 1).saturating_mul(page_size);
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
    let rows = hits.into_iter().skip(offset as usize).take(page_size as usize).map(|h| h.entry.row.clone()).collect();
    Ok((total, rows))
}

/// Suspends a published item (暂停办理): applications are refused with the reason, the guide
/// stays readable with the reason shown.
pub async fn suspend(core: &Core, actor: &Actor, code: &str, reason: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::Invalid(vec![tongban_domain::FieldError::new(
            "reason",
            "required",
            "请填写暂停原因，申请人会看到它",
        )]));
    }
    let mut tx = core.db.begin().await?;
    let row = catalogue::item_by_code(&mut tx, code).await?.ok_or(AppError::NotFound)?;
    if row.status != ItemStatus::Published {
        return Err(AppError::Conflict("只有已发布的事项可以暂停".into()));
    }
    catalogue::set_status(&mut tx, row.id, ItemStatus::Suspended, reason, core.clock.now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, &core.clock, actor, "item.suspend", code, Outcome::Success, reason).await?;
    tx.commit().await?;
    Ok(())
}

/// Resumes a suspended item.
pub async fn resume(core: &Core, actor: &Actor, code: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let mut tx = core.db.begin().await?;
    let row = catalogue::item_by_code(&mut tx, code).await?.ok_or(AppError::NotFound)?;
    if row.status != ItemStatus::Suspended {
        return Err(AppError::Conflict("只有暂停中的事项可以恢复".into()));
    }
    catalogue::set_status(&mut tx, row.id, ItemStatus::Published, "", core.clock.now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, &core.clock, actor, "item.resume", code, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Saves a definition as the item's draft: the unpublished latest version is rewritten, or a
/// new version is started. Nothing changes for applicants until it is published.
pub async fn save_draft(core: &Core, actor: &Actor, def: &ItemDefinition) -> Result<i64, AppError> {
    authorize(core, actor, Permission::CatalogEdit, &def.code).await?;
    let mut tx = core.db.begin().await?;
    let department = checked_department(&mut tx, def).await?;
    let subjects = subjects_text(&def.subjects);
    let facts = facts_of(def, &subjects);
    let now = core.clock.now_ms();
    let json = serde_json::to_string(def).map_err(|e| AppError::Internal(e.into()))?;
    let version = match catalogue::item_by_code(&mut tx, &def.code).await? {
        Some(row) if row.status == ItemStatus::Cancelled => {
            return Err(AppError::Conflict("该事项已取消，不能再修改".into()));
        }
        Some(row) if Some(row.latest_version) != row.published_version => {
            catalogue::update_version(&mut tx, row.id, row.latest_version, &json, &actor.username, now).await?;
            catalogue::set_draft_facts(&mut tx, row.id, department.id, &facts, now).await?;
            row.latest_version
        }
        Some(row) => {
            catalogue::insert_version(&mut tx, row.id, row.latest_version + 1, &json, &actor.username, now).await?;
            row.latest_version + 1
        }
        None => {
            let id = catalogue::insert_item(&mut tx, &def.code, department.id, ItemStatus::Draft, &facts, now).await?;
            catalogue::insert_version(&mut tx, id, 1, &json, &actor.username, now).await?;
            1
        }
    };
    audit_in(&mut tx, &core.clock, actor, "item.save_draft", &def.code, Outcome::Success, &format!("第 {version} 版"))
        .await?;
    tx.commit().await?;
    Ok(version)
}

/// Publishes the item's latest (draft) version.
pub async fn publish_latest(core: &Core, actor: &Actor, code: &str) -> Result<i64, AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let mut tx = core.db.begin().await?;
    let row = catalogue::item_by_code(&mut tx, code).await?.ok_or(AppError::NotFound)?;
    if Some(row.latest_version) == row.published_version {
        return Err(AppError::Conflict("没有待发布的修改".into()));
    }
    if row.status == ItemStatus::Cancelled {
        return Err(AppError::Conflict("该事项已取消，不能发布".into()));
    }
    let (json, _) = catalogue::version(&mut tx, row.id, row.latest_version).await?.ok_or(AppError::NotFound)?;
    let def: ItemDefinition = serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
    let subjects = subjects_text(&def.subjects);
    let facts = facts_of(&def, &subjects);
    catalogue::publish_version(&mut tx, row.id, row.latest_version, &facts, core.clock.now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(
        &mut tx,
        &core.clock,
        actor,
        "item.publish",
        code,
        Outcome::Success,
        &format!("第 {} 版", row.latest_version),
    )
    .await?;
    tx.commit().await?;
    Ok(row.latest_version)
}

/// An item as administrators see it: every version, the latest definition.
pub struct AdminItem {
    pub row: ItemRow,
    pub latest: ItemDefinition,
    pub versions: Vec<catalogue::VersionInfo>,
}

pub async fn admin_item(core: &Core, actor: &Actor, code: &str) -> Result<AdminItem, AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let mut conn = core.db.conn().await?;
    let row = catalogue::item_by_code(&mut conn, code).await?.ok_or(AppError::NotFound)?;
    let (json, _) = catalogue::version(&mut conn, row.id, row.latest_version).await?.ok_or(AppError::NotFound)?;
    let latest = serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?;
    let versions = catalogue::versions(&mut conn, row.id).await?;
    Ok(AdminItem { row, latest, versions })
}

/// The top-level fields that differ between two versions, as (field, old, new) pretty JSON.
pub async fn compare(
    core: &Core,
    actor: &Actor,
    code: &str,
    a: i64,
    b: i64,
) -> Result<Vec<(String, String, String)>, AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let mut conn = core.db.conn().await?;
    let row = catalogue::item_by_code(&mut conn, code).await?.ok_or(AppError::NotFound)?;
    let load =
        |json: String| serde_json::from_str::<serde_json::Value>(&json).map_err(|e| AppError::Internal(e.into()));
    let (ja, _) = catalogue::version(&mut conn, row.id, a).await?.ok_or(AppError::NotFound)?;
    let (jb, _) = catalogue::version(&mut conn, row.id, b).await?.ok_or(AppError::NotFound)?;
    let (va, vb) = (load(ja)?, load(jb)?);
    let empty = serde_json::Map::new();
    let (ma, mb) = (va.as_object().unwrap_or(&empty), vb.as_object().unwrap_or(&empty));
    let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    keys.sort();
    keys.dedup();
    let pretty = |v: Option<&serde_json::Value>| {
        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).unwrap_or_default()
    };
    Ok(keys
        .into_iter()
        .filter(|k| ma.get(*k) != mb.get(*k))
        .map(|k| (k.clone(), pretty(ma.get(k)), pretty(mb.get(k))))
        .collect())
}

pub async fn list_admin(
    core: &Core,
    actor: &Actor,
    filter: &catalogue::AdminFilter,
) -> Result<(i64, Vec<ItemRow>), AppError> {
    authorize(core, actor, Permission::CatalogEdit, "items").await?;
    Ok(catalogue::list_admin(&mut *core.db.conn().await?, filter).await?)
}

pub async fn synonyms(core: &Core, actor: &Actor) -> Result<Vec<(String, String)>, AppError> {
    authorize(core, actor, Permission::CatalogEdit, "synonyms").await?;
    Ok(catalogue::synonyms(&mut *core.db.conn().await?).await?)
}

/// Adds or changes a search synonym (an everyday word → words of official item names).
pub async fn save_synonym(core: &Core, actor: &Actor, term: &str, canonical: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, "synonyms").await?;
    let (term, canonical) = (term.trim(), canonical.trim());
    let mut p = Problems::default();
    if term.is_empty() || term.chars().count() > 20 {
        p.add("term", "invalid", "请填写群众常用的说法（不超过 20 字）");
    }
    if canonical.is_empty() || canonical.chars().count() > 40 {
        p.add("canonical", "invalid", "请填写对应的规范用语（不超过 40 字）");
    }
    p.into_result()?;
    let mut tx = core.db.begin().await?;
    catalogue::upsert_synonym(&mut tx, term, canonical, core.clock.now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, &core.clock, actor, "synonym.save", term, Outcome::Success, canonical).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_synonym(core: &Core, actor: &Actor, term: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, "synonyms").await?;
    let mut tx = core.db.begin().await?;
    if !catalogue::delete_synonym(&mut tx, term).await? {
        return Err(AppError::NotFound);
    }
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, &core.clock, actor, "synonym.delete", term, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels an item (取消): it leaves the public catalogue for good; applications already made
/// keep their snapshot.
pub async fn cancel(core: &Core, actor: &Actor, code: &str, reason: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CatalogEdit, code).await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::Invalid(vec![tongban_domain::FieldError::new("reason", "required", "请填写取消原因")]));
    }
    let mut tx = core.db.begin().await?;
    let row = catalogue::item_by_code(&mut tx, code).await?.ok_or(AppError::NotFound)?;
    if row.status == ItemStatus::Cancelled {
        return Err(AppError::Conflict("该事项已取消".into()));
    }
    catalogue::set_status(&mut tx, row.id, ItemStatus::Cancelled, reason, core.clock.now_ms()).await?;
    catalogue::bump_revision(&mut tx).await?;
    audit_in(&mut tx, &core.clock, actor, "item.cancel", code, Outcome::Success, reason).await?;
    tx.commit().await?;
    Ok(())
}
