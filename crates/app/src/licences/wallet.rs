//! The holder's wallet (我的证照): their own licences, each licence's use log, and the grants
//! of use to other departments (授权用证).

use serde_json::{Map, Value};

use super::verification::{Verification, verification_of};
use super::{effective_status, store, type_by_code};
use crate::paging::{Cursor, Page, PageRequest, invalid_cursor};
use crate::{Actor, AppError, Core, Problems, audit_in, authorize};
use tongban_domain::licence::{LicenceIdentifier, LicenceStatus};
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::licences::{LicenceRow, UseRow};
use tongban_store::org;

/// The caller's licences, newest first.
pub async fn wallet(core: &Core, actor: &Actor) -> Result<Vec<(LicenceRow, LicenceStatus)>, AppError> {
    authorize(core, actor, Permission::PortalMine, "licences").await?;
    let rows = store::of_holder(&mut *core.db.conn().await?, actor.user_id).await?;
    let today = core.clock.today();
    Ok(rows
        .into_iter()
        .map(|r| {
            let s = effective_status(&r, today);
            (r, s)
        })
        .collect())
}

/// One page of the caller's licences, newest first (the API's list): by page number or after a
/// cursor, which names a licence by its creation time and id.
pub async fn wallet_page(
    core: &Core,
    actor: &Actor,
    request: &PageRequest,
) -> Result<Page<(LicenceRow, LicenceStatus)>, AppError> {
    authorize(core, actor, Permission::PortalMine, "licences").await?;
    let after = match request.after() {
        Some(cursor) => match cursor.pair()? {
            (Some(at), id) => Some((at, id)),
            (None, _) => return Err(invalid_cursor()),
        },
        None => None,
    };
    // One licence more than asked for tells whether a next page exists.
    let (total, rows) =
        store::of_holder_page(&mut *core.db.conn().await?, actor.user_id, after, request.offset(), request.size + 1)
            .await?;
    let today = core.clock.today();
    let page = Page::from_rows(rows, request.size, total, |r| Cursor::after_pair(Some(r.created_at), r.id));
    Ok(page.map(|r| {
        let s = effective_status(&r, today);
        (r, s)
    }))
}

/// One of the caller's licences with its face (label, value), verification and use log.
pub struct MyLicence {
    pub row: LicenceRow,
    pub face: Vec<(String, String)>,
    pub verification: Verification,
    pub uses: Vec<UseRow>,
}

pub async fn my_licence(core: &Core, actor: &Actor, raw: &str) -> Result<MyLicence, AppError> {
    authorize(core, actor, Permission::PortalMine, raw).await?;
    let id = LicenceIdentifier::parse(raw).map_err(|_| AppError::NotFound)?;
    let mut conn = core.db.conn().await?;
    let row = store::by_identifier(&mut conn, &id.to_string())
        .await?
        .filter(|r| r.holder_user_id == Some(actor.user_id))
        .ok_or(AppError::NotFound)?;
    let ty = type_by_code(&mut conn, &row.type_code).await?;
    let values: Map<String, Value> =
        serde_json::from_str(&core.cipher.open_or_plain(&row.face_data)?).unwrap_or_default();
    let face = ty
        .face_fields
        .iter()
        .filter_map(|f| values.get(&f.name).and_then(Value::as_str).map(|v| (f.label.clone(), v.to_owned())))
        .collect();
    let verification = verification_of(core, &mut conn, &row).await?;
    let uses = store::uses_of_licence(&mut conn, row.id).await?;
    Ok(MyLicence { row, face, verification, uses })
}

/// The use log of all the caller's licences (用证记录), newest first.
pub async fn use_log(core: &Core, actor: &Actor) -> Result<Vec<UseRow>, AppError> {
    authorize(core, actor, Permission::PortalMine, "licence_uses").await?;
    Ok(store::uses_of_holder(&mut *core.db.conn().await?, actor.user_id, 200).await?)
}

/// The holder grants a department use of one licence (授权用证), e.g. for a case there.
pub async fn grant(core: &Core, actor: &Actor, raw: &str, department: &str, purpose: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::PortalMine, raw).await?;
    let id = LicenceIdentifier::parse(raw).map_err(|_| AppError::NotFound)?;
    let mut tx = core.db.begin().await?;
    let row = store::by_identifier(&mut tx, &id.to_string())
        .await?
        .filter(|r| r.holder_user_id == Some(actor.user_id))
        .ok_or(AppError::NotFound)?;
    let mut p = Problems::default();
    let dept = org::department_by_code(&mut tx, department.trim()).await?;
    if dept.is_none() {
        p.add("department", "invalid", "请选择授权的部门");
    }
    let purpose = purpose.trim();
    if purpose.is_empty() || purpose.chars().count() > 200 {
        p.add("purpose", "required", "请填写用途（不超过 200 字）");
    }
    p.into_result()?;
    let Some(dept) = dept else { return Err(AppError::NotFound) };
    store::insert_grant(&mut tx, row.id, dept.id, purpose, core.clock.now_ms(), None).await?;
    audit_in(&mut tx, &core.clock, actor, "licence.grant", &row.identifier, Outcome::Success, &dept.code).await?;
    tx.commit().await?;
    Ok(())
}
