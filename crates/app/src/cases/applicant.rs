//! What the applicant does to their cases: supply what a one-time notice asked for, withdraw, and see their cases.

use tracing::instrument;

use super::moves::move_in;
use super::shared::{ActionInput, action_def, keyed_notice};
use crate::application_view as applications;
use crate::materials::{self, Upload};
use crate::{Actor, AppError, Core, Problems, workflows};
use tongban_domain::calendar::WorkCalendar;
use tongban_domain::case::NoticeItem;
use tongban_store::cases::{self as store, CaseRow};

/// The applicant supplies what a one-time notice asked for, and only that; every case of the
/// application waiting for it resumes, in one transaction with the files.
#[instrument(skip_all, fields(application = %number))]
pub async fn supplement(core: &Core, actor: &Actor, number: &str, uploads: Vec<Upload>) -> Result<(), AppError> {
    let view = applications::mine(core, actor, number).await?;
    let mut conn = core.db.conn().await?;
    let waiting: Vec<CaseRow> = store::of_application(&mut conn, view.row.id)
        .await?
        .into_iter()
        .filter(|c| c.status == "supplement_requested")
        .collect();
    drop(conn);
    if waiting.is_empty() {
        return Err(AppError::Conflict("当前没有需要补正的材料".into()));
    }
    let mut asked: Vec<NoticeItem> = Vec::new();
    let bundle = of_application_count(core, view.row.id).await? > 1;
    for c in &waiting {
        for n in keyed_notice(&core.cipher, c, bundle) {
            if !asked.iter().any(|a| a.material_code == n.material_code) {
                asked.push(n);
            }
        }
    }
    let mut p = Problems::default();
    for u in &uploads {
        if !asked.iter().any(|a| a.material_code == u.material_code) {
            p.add(&format!("material:{}", u.material_code), "not_requested", "只需上传告知补正的材料");
        }
    }
    for a in &asked {
        if !uploads.iter().any(|u| u.material_code == a.material_code) {
            p.add(&format!("material:{}", a.material_code), "required", format!("请上传「{}」", a.name));
        }
    }
    p.into_result()?;
    let defs = view.all_definitions();
    let files = materials::store_uploads(core, &defs, uploads).await?;
    let calendar = crate::calendar::load(core).await?;
    let mut tx = core.db.begin().await?;
    materials::attach_files(&mut tx, view.row.id, &files).await?;
    for c in &waiting {
        let wf = workflows::version(&mut tx, core, &c.workflow_code, c.workflow_version).await?;
        let def = action_def(&wf, c, "resubmit")?;
        move_in(&mut tx, core, actor, c, &wf, &def, &ActionInput::new("resubmit"), &calendar).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The applicant withdraws every case of an application still waiting for acceptance.
pub async fn withdraw_in(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    actor: &Actor,
    application_id: i64,
    calendar: &WorkCalendar,
) -> Result<usize, AppError> {
    let cases = store::of_application(tx, application_id).await?;
    let mut n = 0;
    for c in &cases {
        let wf = workflows::version(tx, core, &c.workflow_code, c.workflow_version).await?;
        let def = action_def(&wf, c, "withdraw")?;
        move_in(tx, core, actor, c, &wf, &def, &ActionInput::new("withdraw"), calendar).await?;
        n += 1;
    }
    Ok(n)
}

pub(super) async fn of_application_count(core: &Core, application_id: i64) -> Result<usize, AppError> {
    Ok(store::of_application(&mut *core.db.conn().await?, application_id).await?.len())
}

/// The applicant's view of the cases of one of their applications.
pub async fn of_application(
    core: &Core,
    application_id: i64,
) -> Result<Vec<(CaseRow, String, Vec<NoticeItem>)>, AppError> {
    let mut conn = core.db.conn().await?;
    let rows = store::of_application(&mut conn, application_id).await?;
    let bundle = rows.len() > 1;
    let mut out = Vec::new();
    for r in rows {
        let wf = workflows::version(&mut conn, core, &r.workflow_code, r.workflow_version).await?;
        let label = wf.label(&r.status).to_owned();
        let notice =
            if r.status == "supplement_requested" { keyed_notice(&core.cipher, &r, bundle) } else { Vec::new() };
        out.push((r, label, notice));
    }
    Ok(out)
}
