//! The licences of issuing departments (their heads) and of all departments (licence
//! administrators): lists, one licence, and the change form's data.

use serde_json::{Map, Value};

use super::verification::{Verification, parse_identifier, verification_of};
use super::{TypeView, effective_status, store, type_by_code};
use crate::{Actor, AppError, Core, authorize};
use tongban_domain::licence::LicenceStatus;
use tongban_domain::permission::Permission;
use tongban_store::licences::LicenceRow;

/// Licences of the actor's department (heads) or of all departments (licence administrators).
pub async fn list_for_staff(
    core: &Core,
    actor: &Actor,
    filter: &store::Filter,
) -> Result<(i64, Vec<(LicenceRow, LicenceStatus)>), AppError> {
    let mut f = filter.clone();
    if !actor.can(Permission::LicenceManage) {
        authorize(core, actor, Permission::LicenceRevoke, "licences").await?;
        f.issuer_id = Some(actor.department.as_ref().map_or(-1, |d| d.id));
    }
    let (total, rows) = store::list(&mut *core.db.conn().await?, &f).await?;
    let today = core.clock.today();
    Ok((
        total,
        rows.into_iter()
            .map(|r| {
                let s = effective_status(&r, today);
                (r, s)
            })
            .collect(),
    ))
}

/// A licence with its type's face schema and its current face values, for the change form.
pub async fn for_change(
    core: &Core,
    actor: &Actor,
    raw: &str,
) -> Result<(LicenceRow, Verification, TypeView, Map<String, Value>), AppError> {
    authorize(core, actor, Permission::LicenceManage, raw).await?;
    let (row, v) = for_staff(core, actor, raw).await?;
    let ty = type_by_code(&mut *core.db.conn().await?, &row.type_code).await?;
    let face = serde_json::from_str(&core.cipher.open_or_plain(&row.face_data)?).unwrap_or_default();
    Ok((row, v, ty, face))
}

/// One licence for staff (the issuing department's heads or licence administrators).
pub async fn for_staff(core: &Core, actor: &Actor, raw: &str) -> Result<(LicenceRow, Verification), AppError> {
    if !actor.can(Permission::LicenceManage) {
        authorize(core, actor, Permission::LicenceRevoke, raw).await?;
    }
    let id = parse_identifier(raw)?;
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &id.to_string()).await?.ok_or(AppError::NotFound)?;
    if !actor.can(Permission::LicenceManage) && actor.department.as_ref().map(|d| d.id) != Some(row.issuer.id) {
        return Err(AppError::NotFound);
    }
    let v = verification_of(core, &mut conn, &row).await?;
    Ok((row, v))
}
