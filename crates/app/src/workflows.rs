//! Workflows as versioned data: the shipped ones are stored at first start; an administrator
//! saves a new version (validated first); a case keeps the version it started on, so a change
//! never moves a running case onto rules it did not start with.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::permission::Permission;
use tongban_domain::workflow::{SHIPPED, Workflow};
use tongban_store::audit::Outcome;
use tongban_store::cases as store;

/// Versions never change once saved, so each is parsed once per process.
#[derive(Default)]
pub struct WorkflowCache {
    versions: RwLock<HashMap<(String, i64), Arc<Workflow>>>,
}

impl WorkflowCache {
    fn get(&self, code: &str, version: i64) -> Option<Arc<Workflow>> {
        self.versions.read().ok()?.get(&(code.to_owned(), version)).cloned()
    }

    fn put(&self, code: &str, version: i64, w: Arc<Workflow>) {
        if let Ok(mut map) = self.versions.write() {
            map.insert((code.to_owned(), version), w);
        }
    }
}

fn parse(json: &str) -> Result<Workflow, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::Internal(anyhow::anyhow!("stored workflow does not parse: {e}")))
}

/// Stores the shipped workflows whose code the database does not have yet.
pub async fn seed_builtin(core: &Core) -> Result<(), AppError> {
    let mut tx = core.db.begin().await?;
    for json in SHIPPED {
        let w = parse(json)?;
        if store::latest_workflow(&mut tx, &w.code).await?.is_none() {
            store::insert_workflow(&mut tx, &w.code, 1, json, "system", core.clock.now_ms()).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Checks every stored version — running cases stay on old ones — against today's rules, so that
/// a version saved before a rule existed (an `office.view` approver) cannot keep working. The
/// node refuses to start and names each bad version and action: disabling a version instead
/// would strand its running cases, and versions are immutable, so the operator must decide.
pub async fn validate_stored(core: &Core) -> anyhow::Result<()> {
    let rows = store::all_workflows(&mut *core.db.conn().await?).await?;
    let mut bad = Vec::new();
    for (code, version, json) in rows {
        match serde_json::from_str::<Workflow>(&json) {
            Ok(w) => bad.extend(w.problems().into_iter().map(|m| format!("流程 {code} 第 {version} 版：{m}"))),
            Err(e) => bad.push(format!("流程 {code} 第 {version} 版无法解析：{e}")),
        }
    }
    anyhow::ensure!(
        bad.is_empty(),
        "已保存的办理流程不符合规则，拒绝启动（请修正数据库中这些版本的定义）：\n{}",
        bad.join("\n")
    );
    Ok(())
}

/// One stored version.
pub async fn version(
    conn: &mut sqlx::AnyConnection,
    core: &Core,
    code: &str,
    version: i64,
) -> Result<Arc<Workflow>, AppError> {
    if let Some(w) = core.workflows.get(code, version) {
        return Ok(w);
    }
    let json = store::workflow(conn, code, version)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("workflow {code} v{version} missing")))?;
    let w = Arc::new(parse(&json)?);
    core.workflows.put(code, version, w.clone());
    Ok(w)
}

/// The version new cases of this workflow start on.
pub async fn latest(conn: &mut sqlx::AnyConnection, core: &Core, code: &str) -> Result<(i64, Arc<Workflow>), AppError> {
    let (v, _) = store::latest_workflow(conn, code)
        .await?
        .ok_or_else(|| AppError::Conflict(format!("事项配置的办理流程 {code} 不存在，请联系事项管理员")))?;
    Ok((v, version(conn, core, code, v).await?))
}

/// Every workflow's latest version.
pub async fn list(core: &Core, actor: &Actor) -> Result<Vec<(i64, Workflow)>, AppError> {
    authorize(core, actor, Permission::WorkflowEdit, "workflows").await?;
    let rows = store::latest_workflows(&mut *core.db.conn().await?).await?;
    rows.iter().map(|(_, v, json)| Ok((*v, parse(json)?))).collect()
}

/// Saves a new version of a workflow after checking it; every problem is reported at once.
pub async fn save(core: &Core, actor: &Actor, mut w: Workflow) -> Result<i64, AppError> {
    authorize(core, actor, Permission::WorkflowEdit, &w.code).await?;
    let mut problems: Vec<FieldError> = w.field_problems();
    if w.code.is_empty() || !w.code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        problems.push(FieldError::new("code", "invalid", "流程编码只能由字母、数字、下划线和连字符组成"));
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    let mut tx = core.db.begin().await?;
    let next = store::latest_workflow(&mut tx, &w.code).await?.map_or(1, |(v, _)| v + 1);
    w.version = u32::try_from(next).unwrap_or(u32::MAX);
    let json = serde_json::to_string(&w).map_err(|e| AppError::Internal(e.into()))?;
    store::insert_workflow(&mut tx, &w.code, next, &json, &actor.username, core.clock.now_ms()).await?;
    audit_in(&mut tx, &core.clock, actor, "workflow.save", &format!("{}@{next}", w.code), Outcome::Success, &w.name)
        .await?;
    tx.commit().await?;
    Ok(next)
}
