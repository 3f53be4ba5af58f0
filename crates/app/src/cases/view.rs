//! A case as its page shows it (the application, the timeline, the available actions), masked unless a full view is asked for and audited.

use std::sync::Arc;

use tracing::instrument;

use super::shared::{Schedule, case_in_scope, clock_of, in_scope, notice_of, schedule, scope_for, warning_of};
use crate::application_view as applications;
use crate::{Actor, AppError, Core, audit_in, authorize, workflows};
use tongban_domain::case::NoticeItem;
use tongban_domain::item::ItemDefinition;
use tongban_domain::permission::Permission;
use tongban_domain::workflow::{ActionDef, Warning, Workflow};
use tongban_store::audit::Outcome;
use tongban_store::cases::{self as store, CaseEvent, CaseRow};

/// A case with everything the case page and the API show.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub row: CaseRow,
    pub workflow: Arc<Workflow>,
    pub events: Vec<CaseEvent>,
    pub application: applications::View,
    /// The item as submitted (the snapshot), for the form and the materials.
    pub definition: Option<ItemDefinition>,
    pub schedule: Schedule,
    pub warning: Warning,
    /// Exactly the actions this user may take now.
    pub available: Vec<ActionDef>,
    pub notice: Vec<NoticeItem>,
    pub can_claim: bool,
    pub can_assign: bool,
    /// For an item that produces a licence: its face fields, with the value the application
    /// already gives (the approver fills in the rest).
    pub licence_fields: Vec<(tongban_domain::licence::FaceField, String)>,
    /// Licences the applicant used instead of uploads, each verified now.
    pub used_licences: Vec<crate::licences::UsedLicence>,
    /// The licence issued on approval, if any.
    pub issued_licence: Option<String>,
}

impl CaseView {
    pub fn status_label(&self) -> &str {
        self.workflow.label(&self.row.status)
    }
}

/// The item definition the case was submitted on (its snapshot), or — for records without one,
/// such as generated history — the item's current published version.
pub(super) async fn definition_for(
    core: &Core,
    case: &CaseRow,
    application: &applications::View,
) -> Option<ItemDefinition> {
    if let Some(d) = application.all_definitions().into_iter().find(|d| d.code == case.item_code) {
        return Some(d);
    }
    crate::catalogue::guide(core, &case.item_code).await.ok().map(|g| g.def)
}

/// The actions `actor` may take on the case now (permission, scope, state and `once`).
pub(super) async fn available(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    case: &CaseRow,
    wf: &Workflow,
) -> Result<Vec<ActionDef>, AppError> {
    let mut out = Vec::new();
    for a in wf.actions_from(&case.status) {
        // Only a case-handling permission, held through a role whose scope reaches this case.
        let allowed = !a.by_applicant
            && a.permission
                .parse::<Permission>()
                .is_ok_and(|p| p.is_case_handling() && actor.can(p) && in_scope(scope_for(actor, p), case));
        if allowed && !(a.once && store::has_event(conn, case.id, &a.name).await?) {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// The case page's data.
#[instrument(skip_all, fields(case = %number))]
/// A case as the case page and the API show it, the applicant's ID numbers and phones masked.
pub async fn view(core: &Core, actor: &Actor, number: &str) -> Result<CaseView, AppError> {
    let mut v = view_full(core, actor, number).await?;
    v.application.mask();
    for (_, given) in &mut v.licence_fields {
        *given = tongban_domain::mask::text(given);
    }
    Ok(v)
}

/// The case with the applicant's personal data in full (查看完整信息): only with `pii.reveal`,
/// within the caller's scope, and each time recorded in the audit log, committed before the
/// values are returned.
pub async fn reveal(core: &Core, actor: &Actor, number: &str) -> Result<CaseView, AppError> {
    authorize(core, actor, Permission::PiiReveal, number).await?;
    let v = view_full(core, actor, number).await?;
    let fields: Vec<String> = v
        .application
        .all_definitions()
        .iter()
        .flat_map(|d| d.form.fields.iter())
        .filter(|f| tongban_domain::mask::sensitive(f.kind) && v.application.values.contains_key(&f.name))
        .map(|f| f.label.clone())
        .collect();
    let mut tx = core.db.begin().await?;
    let detail = format!("查看完整个人信息：申请 {}（{}）", v.row.application_number, fields.join("、"));
    audit_in(&mut tx, &core.clock, actor, "pii.reveal", &v.row.number, Outcome::Success, &detail).await?;
    tx.commit().await?;
    Ok(v)
}

pub(super) async fn view_full(core: &Core, actor: &Actor, number: &str) -> Result<CaseView, AppError> {
    let row = case_in_scope(core, actor, number, Permission::OfficeView).await?;
    let calendar = crate::calendar::load(core).await?;
    let mut conn = core.db.conn().await?;
    let wf = workflows::version(&mut conn, core, &row.workflow_code, row.workflow_version).await?;
    let mut events = store::events(&mut conn, row.id).await?;
    for e in &mut events {
        e.comment = core.cipher.open_or_plain(&e.comment)?;
        e.detail = core.cipher.open_or_plain(&e.detail)?;
    }
    let application = applications::load_by_id(&mut conn, &core.cipher, row.application_id).await?;
    let available = available(&mut conn, actor, &row, &wf).await?;
    let today = core.clock.today();
    let schedule = schedule(
        &wf,
        &row.status,
        &clock_of(&row),
        (&row.legal_days, &row.promised_days),
        false,
        row.due_on,
        today,
        &calendar,
    );
    let warning = warning_of(&row, today, &calendar);
    let notice = notice_of(&core.cipher, &row);
    let can_claim = row.active
        && in_scope(scope_for(actor, Permission::CaseHandle), &row)
        && row.assignee_id != Some(actor.user_id);
    let can_assign = row.active && in_scope(scope_for(actor, Permission::CaseAssign), &row);
    drop(conn);
    let definition = definition_for(core, &row, &application).await;
    let mut licence_fields = Vec::new();
    if let Some(code) = definition.as_ref().and_then(|d| d.licence_type.as_deref()) {
        for f in crate::licences::face_fields(core, code).await? {
            let given = application.values.get(&f.name).map(tongban_domain::item::value_text).unwrap_or_default();
            licence_fields.push((f, given));
        }
    }
    let used_licences = crate::licences::used_in_application(core, row.application_id).await?;
    let issued_licence = crate::licences::issued_for_case(core, row.applicant_id, &row.number).await?;
    Ok(CaseView {
        row,
        workflow: wf,
        events,
        application,
        definition,
        schedule,
        warning,
        available,
        notice,
        can_claim,
        can_assign,
        licence_fields,
        used_licences,
        issued_licence,
    })
}
