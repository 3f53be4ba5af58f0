//! The lifecycle by the issuing department: suspend, restore, revoke and cancel, and change
//! (变更: a new signed version supersedes the old).

use serde_json::{Map, Value};
use tracing::instrument;

use super::issuing::{Draft, Holder, Issued, face_from, sign_and_insert};
use super::verification::{Verification, parse_identifier, verification_of};
use super::{effective_status, store, type_by_code};
use crate::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::licence::LicenceStatus;
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;

/// A status change by the issuing department.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Suspend,
    Restore,
    Revoke,
    Cancel,
}

impl Lifecycle {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "suspend" => Some(Lifecycle::Suspend),
            "restore" => Some(Lifecycle::Restore),
            "revoke" => Some(Lifecycle::Revoke),
            "cancel" => Some(Lifecycle::Cancel),
            _ => None,
        }
    }

    fn target(self) -> LicenceStatus {
        match self {
            Lifecycle::Suspend => LicenceStatus::Suspended,
            Lifecycle::Restore => LicenceStatus::Valid,
            Lifecycle::Revoke => LicenceStatus::Revoked,
            Lifecycle::Cancel => LicenceStatus::Cancelled,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Lifecycle::Suspend => "licence.suspend",
            Lifecycle::Restore => "licence.restore",
            Lifecycle::Revoke => "licence.revoke",
            Lifecycle::Cancel => "licence.cancel",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Lifecycle::Suspend => "暂停",
            Lifecycle::Restore => "恢复",
            Lifecycle::Revoke => "吊销",
            Lifecycle::Cancel => "注销",
        }
    }
}

/// Suspends, restores, revokes or cancels a licence, with a reason (not needed to restore).
/// Only the head of the issuing department may (`licence.revoke` and the same department);
/// anyone else is refused with 403, audited.
#[instrument(skip_all, fields(identifier = %raw, action = ?action))]
pub async fn change_status(
    core: &Core,
    actor: &Actor,
    raw: &str,
    action: Lifecycle,
    reason: &str,
) -> Result<Verification, AppError> {
    authorize(core, actor, Permission::LicenceRevoke, raw).await?;
    let id = parse_identifier(raw)?;
    let mut tx = core.db.begin().await?;
    let row = store::by_identifier(&mut tx, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if actor.department.as_ref().map(|d| d.id) != Some(row.issuer.id) {
        drop(tx);
        crate::audit::record_denial(core, Some(actor), &actor.ip, "licence.revoke（非发证部门）", &row.identifier)
            .await?;
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim();
    if action != Lifecycle::Restore && reason.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "reason",
            "required",
            format!("请填写{}原因", action.label()),
        )]));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::Invalid(vec![FieldError::new("reason", "too_long", "原因不能超过 500 字")]));
    }
    let current = effective_status(&row, core.clock.today());
    let target = action.target();
    if !current.can_become(target) {
        return Err(AppError::Conflict(format!("证照当前状态为「{}」，不能{}", current.label(), action.label())));
    }
    if !store::set_status(&mut tx, row.id, row.status, target, reason, core.clock.now_ms()).await? {
        return Err(AppError::Conflict("证照状态已变化，请刷新后重试".into()));
    }
    audit_in(&mut tx, &core.clock, actor, action.action(), &row.identifier, Outcome::Success, reason).await?;
    let updated = store::by_id(&mut tx, row.id).await?.ok_or(AppError::NotFound)?;
    let v = verification_of(core, &mut tx, &updated).await?;
    tx.commit().await?;
    Ok(v)
}

/// Changes a licence (变更): a new version with the changed face data is signed and issued, and
/// the old version is superseded, in one transaction. Licence administrators only.
pub async fn change(
    core: &Core,
    actor: &Actor,
    raw: &str,
    changes: &Map<String, Value>,
    reason: &str,
) -> Result<Issued, AppError> {
    authorize(core, actor, Permission::LicenceManage, raw).await?;
    let id = parse_identifier(raw)?;
    let next = id.next_version().map_err(|_| AppError::Conflict("证照版本已达上限".into()))?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Invalid(vec![FieldError::new("reason", "required", "请填写变更原因（不超过 500 字）")]));
    }
    let mut tx = core.db.begin().await?;
    let row = store::by_identifier(&mut tx, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if effective_status(&row, core.clock.today()) != LicenceStatus::Valid {
        return Err(AppError::Conflict("只有有效的证照可以变更".into()));
    }
    let ty = type_by_code(&mut tx, &row.type_code).await?;
    let old_face: Map<String, Value> =
        serde_json::from_str(&core.cipher.open_or_plain(&row.face_data)?).unwrap_or_default();
    let face = face_from(&ty, &[changes, &old_face])?;
    let holder = Holder {
        user_id: row.holder_user_id,
        name: row.holder_name.clone(),
        code: core.cipher.decrypt(&row.holder_code_enc)?,
        code_type: if row.holder_code_type == "id_number" { "id_number" } else { "credit_code" },
    };
    let today = core.clock.today();
    let valid_from = row.valid_from;
    let draft = Draft {
        ty: &ty,
        holder: &holder,
        face,
        number: Some(row.number.clone()),
        related_item: row.related_item.as_deref(),
        case_number: row.case_number.as_deref(),
        issued_on: today,
        valid_from,
        valid_to: row.valid_to,
        serial_version: Some((row.serial.clone(), next.version())),
    };
    let now = core.clock.now_ms();
    if !store::set_status(&mut tx, row.id, LicenceStatus::Valid, LicenceStatus::Superseded, reason, now).await? {
        return Err(AppError::Conflict("证照状态已变化，请刷新后重试".into()));
    }
    let (_, issued) = sign_and_insert(&mut tx, core, &draft).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.change", &row.identifier, Outcome::Success, &issued.identifier)
        .await?;
    tx.commit().await?;
    Ok(issued)
}
