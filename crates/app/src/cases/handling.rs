//! Who handles a case: claiming, assigning to a colleague, and internal notes.

use super::shared::{case_in_scope, record_event};
use crate::{Actor, AppError, Core, FieldError, audit_in};
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::cases::{self as store, CaseRow};
use tongban_store::users::User;

/// Takes a case to handle it oneself.
pub async fn claim(core: &Core, actor: &Actor, number: &str) -> Result<(), AppError> {
    let case = case_in_scope(core, actor, number, Permission::CaseHandle).await?;
    if let (Some(id), Some(name)) = (case.assignee_id, &case.assignee_name)
        && id != actor.user_id
    {
        return Err(AppError::Conflict(format!("本件已由 {name} 经办；如需调整，请部门负责人分派")));
    }
    set_handler(core, actor, &case, actor.user_id, "case.claim").await
}

/// Gives a case to a colleague of its department who may handle cases.
pub async fn assign(core: &Core, actor: &Actor, number: &str, username: &str) -> Result<(), AppError> {
    let case = case_in_scope(core, actor, number, Permission::CaseAssign).await?;
    let mut conn = core.db.conn().await?;
    let to = tongban_store::users::by_username(&mut conn, username)
        .await?
        .filter(|u| u.department.as_ref().is_some_and(|d| d.id == case.department_id) && !u.disabled)
        .ok_or_else(|| AppError::Invalid(vec![FieldError::new("assignee", "invalid", "请选择本部门的在岗人员")]))?;
    drop(conn);
    set_handler(core, actor, &case, to.id, "case.assign").await
}

pub(super) async fn set_handler(
    core: &Core,
    actor: &Actor,
    case: &CaseRow,
    user_id: i64,
    action: &str,
) -> Result<(), AppError> {
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    if !store::set_assignee(&mut tx, case.id, case.row_version, Some(user_id), now).await? {
        return Err(AppError::Conflict("办件已被他人处理，请刷新后再操作".into()));
    }
    let name = tongban_store::users::by_id(&mut tx, user_id).await?.map(|u| u.display_name).unwrap_or_default();
    record_event(
        core,
        &mut tx,
        &store::NewEvent {
            case_id: case.id,
            action: action.trim_start_matches("case."),
            from_status: &case.status,
            to_status: &case.status,
            actor_id: Some(actor.user_id),
            actor: &actor.display_name,
            comment: &format!("经办人：{name}"),
            internal: true,
            detail: "{}",
            now,
        },
    )
    .await?;
    audit_in(&mut tx, &core.clock, actor, action, &case.number, Outcome::Success, &name).await?;
    tx.commit().await?;
    Ok(())
}

/// An internal remark on the case (内部意见), never shown to the applicant.
pub async fn note(core: &Core, actor: &Actor, number: &str, text: &str) -> Result<(), AppError> {
    let case = case_in_scope(core, actor, number, Permission::OfficeView).await?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(AppError::Invalid(vec![FieldError::new("comment", "invalid", "请填写 1–2000 字的内部意见")]));
    }
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    record_event(
        core,
        &mut tx,
        &store::NewEvent {
            case_id: case.id,
            action: "note",
            from_status: &case.status,
            to_status: &case.status,
            actor_id: Some(actor.user_id),
            actor: &actor.display_name,
            comment: text,
            internal: true,
            detail: "{}",
            now,
        },
    )
    .await?;
    audit_in(&mut tx, &core.clock, actor, "case.note", &case.number, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Colleagues of the actor's department (for assignment).
pub async fn colleagues(core: &Core, actor: &Actor) -> Result<Vec<User>, AppError> {
    match &actor.department {
        Some(d) if actor.can(Permission::CaseAssign) => {
            Ok(tongban_store::users::staff_of_department(&mut *core.db.conn().await?, d.id).await?)
        }
        _ => Ok(Vec::new()),
    }
}
