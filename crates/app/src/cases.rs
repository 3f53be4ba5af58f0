//! Case handling (综合业务管理): every submitted application becomes one case per item; a case
//! moves through its workflow version against the legal clock on the work calendar.
//!
//! One function, `move_in`, makes every move — by staff or by the applicant — and writes the new
//! state, the case event, the queue counters, the application's mirrored status and timeline, and
//! the audit record in the caller's transaction. A stale `row_version` loses with 409.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{Map, Value};
use tracing::instrument;

use super::applications::{self, Upload};
use super::{Actor, AppError, Core, FieldError, Problems, audit_in, authorize, workflows};
use crate::clock::to_china;
use tongban_domain::calendar::WorkCalendar;
use tongban_domain::case::{self as rules, Delivery, NoticeItem};
use tongban_domain::item::ItemDefinition;
use tongban_domain::permission::Permission;
use tongban_domain::role::DataScope;
use tongban_domain::workflow::{ActionDef, ClockOp, LegalClock, QUEUES, Requirement, Warning, Workflow, warning};
use tongban_store::audit::Outcome;
use tongban_store::cases::{self as store, CaseEvent, CaseRow, Listing, Scope};
use tongban_store::is_unique_violation;
use tongban_store::users::User;

/// Working days before the due date at which a running case turns yellow.
pub const YELLOW_DAYS: u32 = 1;

/// What an actor sends with an action.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub action: String,
    pub comment: String,
    pub legal_basis: String,
    /// For `request_supplement`: the material codes asked for.
    pub materials: Vec<String>,
    /// What is wrong with each material asked for (optional per material).
    pub material_notes: HashMap<String, String>,
    pub delivery: Option<Delivery>,
    /// The version the actor saw; a different current version is a conflict.
    pub row_version: Option<i64>,
    /// Extra facts the approver fills in (e.g. for the licence face).
    pub fields: Map<String, Value>,
}

impl ActionInput {
    pub fn new(action: &str) -> Self {
        Self { action: action.to_owned(), ..Self::default() }
    }
}

/// The cases `actor` reaches when exercising `p`: the scope of the roles that grant `p`, never
/// that of another role; `None` reaches no cases.
pub fn scope_for(actor: &Actor, p: Permission) -> Option<Scope> {
    match actor.scope_for(p)? {
        DataScope::All => Some(Scope::All),
        DataScope::Department => actor.department.as_ref().map(|d| Scope::Department(d.id)),
        DataScope::Site => actor.site.as_ref().map(|s| Scope::Site(s.id)),
        DataScope::Own => None,
    }
}

fn in_scope(scope: Option<Scope>, case: &CaseRow) -> bool {
    match scope {
        Some(Scope::All) => true,
        Some(Scope::Department(id)) => case.department_id == id,
        Some(Scope::Site(id)) => case.site_id == id,
        None => false,
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Deadlines and the due date of a case in a state with a clock, as of `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub promised: Option<NaiveDate>,
    pub legal: Option<NaiveDate>,
    /// What the queues sort and warn by: the promised deadline while the clock runs, the
    /// acceptance limit before it starts, nothing while paused or concluded.
    pub due_on: Option<NaiveDate>,
    pub active: bool,
}

// Every input is a fact the schedule depends on; bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
fn schedule(
    wf: &Workflow,
    state: &str,
    clock: &LegalClock,
    case: (&i64, &i64),
    entered_today: bool,
    previous_due: Option<NaiveDate>,
    today: NaiveDate,
    calendar: &WorkCalendar,
) -> Schedule {
    let (legal_days, promised_days) = (u32::try_from(*case.0).unwrap_or(0), u32::try_from(*case.1).unwrap_or(0));
    let terminal = wf.state(state).is_none_or(|s| s.terminal);
    let at = clock.stopped_on.unwrap_or(today);
    let promised = clock.deadline(promised_days, at, calendar);
    let legal = clock.deadline(legal_days, at, calendar);
    let active = !terminal && clock.stopped_on.is_none();
    let due_on = if !active || clock.paused_since.is_some() {
        None
    } else if clock.started_on.is_some() {
        promised
    } else {
        match wf.state(state).and_then(|s| s.limit_days) {
            Some(limit) if entered_today => Some(calendar.add_working_days(today, limit)),
            Some(_) => previous_due,
            None => None,
        }
    };
    Schedule { promised, legal, due_on, active }
}

/// The warning of a case today.
pub fn warning_of(case: &CaseRow, today: NaiveDate, calendar: &WorkCalendar) -> Warning {
    match case.due_on.as_deref().and_then(parse_day) {
        Some(due) if case.active => warning(due, today, YELLOW_DAYS, calendar),
        _ => Warning::None,
    }
}

/// What opening the cases of a submission needs.
pub struct Opening<'a> {
    pub application_id: i64,
    pub applicant_id: i64,
    pub applicant_name: &'a str,
    /// The receiving hall; 0 online.
    pub site_id: i64,
    /// (item id, department id, definition) for each item.
    pub items: Vec<(i64, i64, &'a ItemDefinition)>,
    pub now: i64,
}

/// Opens one case per item of a submitted application, in the submission's transaction.
pub async fn open_in(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    o: &Opening<'_>,
    calendar: &WorkCalendar,
) -> Result<Vec<String>, AppError> {
    let today = to_china(o.now).date_naive();
    let mut numbers = Vec::new();
    for (item_id, department_id, def) in &o.items {
        let (version, wf) = workflows::latest(tx, core, def.workflow_code()).await?;
        let clock = LegalClock::default();
        let s = schedule(
            &wf,
            &wf.initial,
            &clock,
            (&i64::from(def.legal_days), &i64::from(def.promised_days)),
            true,
            None,
            today,
            calendar,
        );
        let queue = wf.state(&wf.initial).map_or("intake", |s| s.queue.as_str());
        let clock_json = serde_json::to_string(&clock).map_err(|e| AppError::Internal(e.into()))?;
        let due = s.due_on.map(day);
        let mut opened = None;
        for _ in 0..5 {
            let number = rules::new_number(today, &mut rand::rng());
            let new = store::NewCase {
                number: &number,
                application_id: o.application_id,
                item_id: *item_id,
                department_id: *department_id,
                site_id: o.site_id,
                applicant_id: o.applicant_id,
                workflow_code: &wf.code,
                workflow_version: version,
                status: &wf.initial,
                queue,
                clock: &clock_json,
                legal_days: i64::from(def.legal_days),
                promised_days: i64::from(def.promised_days),
                due_on: due.as_deref(),
                now: o.now,
            };
            let mut sp = sqlx::Connection::begin(&mut *tx).await?;
            match store::insert(&mut sp, &new).await {
                Ok(id) => {
                    sp.commit().await?;
                    opened = Some((id, number));
                    break;
                }
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let (id, number) =
            opened.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no free case number after 5 tries")))?;
        record_event(
            core,
            tx,
            &store::NewEvent {
                case_id: id,
                action: "submit",
                from_status: "",
                to_status: &wf.initial,
                actor_id: Some(o.applicant_id),
                actor: o.applicant_name,
                comment: "",
                internal: false,
                detail: "{}",
                now: o.now,
            },
        )
        .await?;
        numbers.push(number);
    }
    Ok(numbers)
}

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
    pub used_licences: Vec<super::licences::UsedLicence>,
    /// The licence issued on approval, if any.
    pub issued_licence: Option<String>,
}

impl CaseView {
    pub fn status_label(&self) -> &str {
        self.workflow.label(&self.row.status)
    }
}

async fn load_case(conn: &mut sqlx::AnyConnection, number: &str) -> Result<CaseRow, AppError> {
    if !rules::looks_like_number(number) {
        return Err(AppError::NotFound);
    }
    store::by_number(conn, number).await?.ok_or(AppError::NotFound)
}

/// A case in the actor's scope; another department's or site's case is refused (and audited).
async fn case_in_scope(core: &Core, actor: &Actor, number: &str, need: Permission) -> Result<CaseRow, AppError> {
    authorize(core, actor, need, number).await?;
    let case = load_case(&mut *core.db.conn().await?, number).await?;
    if !in_scope(scope_for(actor, need), &case) {
        super::audit::record_denial(core, Some(actor), &actor.ip, "case.scope", number).await?;
        return Err(AppError::Forbidden);
    }
    Ok(case)
}

/// The item definition the case was submitted on (its snapshot), or — for records without one,
/// such as generated history — the item's current published version.
async fn definition_for(core: &Core, case: &CaseRow, application: &applications::View) -> Option<ItemDefinition> {
    if let Some(d) = application.all_definitions().into_iter().find(|d| d.code == case.item_code) {
        return Some(d);
    }
    super::catalogue::guide(core, &case.item_code).await.ok().map(|g| g.def)
}

fn clock_of(case: &CaseRow) -> LegalClock {
    serde_json::from_str(&case.clock).unwrap_or_default()
}

/// The pending one-time notice (sealed: staff describe each defect in free text).
fn notice_of(cipher: &tongban_crypto::FieldCipher, case: &CaseRow) -> Vec<NoticeItem> {
    cipher.open_or_plain(&case.notice).ok().and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default()
}

/// The actions `actor` may take on the case now (permission, scope, state and `once`).
async fn available(
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

async fn view_full(core: &Core, actor: &Actor, number: &str) -> Result<CaseView, AppError> {
    let row = case_in_scope(core, actor, number, Permission::OfficeView).await?;
    let calendar = super::calendar::load(core).await?;
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
        row.due_on.as_deref().and_then(parse_day),
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
        for f in super::licences::face_fields(core, code).await? {
            let given = application.values.get(&f.name).map(tongban_domain::item::value_text).unwrap_or_default();
            licence_fields.push((f, given));
        }
    }
    let used_licences = super::licences::used_in_application(core, row.application_id).await?;
    let issued_licence = super::licences::issued_for_case(core, row.applicant_id, &row.number).await?;
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

/// Takes an action on a case as staff.
#[instrument(skip_all, fields(case = %number, action = %input.action))]
pub async fn act(core: &Core, actor: &Actor, number: &str, input: &ActionInput) -> Result<CaseRow, AppError> {
    let case = case_in_scope(core, actor, number, Permission::OfficeView).await?;
    // A staff action sends the applicant a message: limited per acting account (attempts count
    // whether or not the action is allowed now).
    let key = actor.user_id.to_string();
    super::rate_limit::enforce(core, super::rate_limit::Limit::MessagePerAccount, &key, &actor.ip, Some(actor)).await?;
    let wf = workflows::version(&mut *core.db.conn().await?, core, &case.workflow_code, case.workflow_version).await?;
    let def = action_def(&wf, &case, &input.action)?;
    let permission = def.permission.parse::<Permission>().map_err(|e| AppError::Internal(e.into()))?;
    authorize(core, actor, permission, number).await?;
    // The action's permission must reach the case through its own role's scope, and only a
    // case-handling permission moves a case (a stored workflow is checked at start-up too).
    if def.by_applicant || !permission.is_case_handling() || !in_scope(scope_for(actor, permission), &case) {
        super::audit::record_denial(core, Some(actor), &actor.ip, &def.name, number).await?;
        return Err(AppError::Forbidden);
    }
    let calendar = super::calendar::load(core).await?;
    let mut tx = core.db.begin().await?;
    let moved = move_in(&mut tx, core, actor, &case, &wf, &def, input, &calendar).await?;
    tx.commit().await?;
    Ok(moved)
}

fn action_def(wf: &Workflow, case: &CaseRow, action: &str) -> Result<ActionDef, AppError> {
    use tongban_domain::workflow::TransitionError;
    match wf.transition(&case.status, action) {
        Ok(a) => Ok(a.clone()),
        Err(TransitionError::UnknownAction) => {
            Err(AppError::Invalid(vec![FieldError::new("action", "unknown_action", format!("没有“{action}”这个操作"))]))
        }
        Err(TransitionError::NotAllowedNow) => {
            let label = wf.actions.iter().find(|a| a.name == action).map_or(action, |a| a.label.as_str());
            Err(AppError::Conflict(format!("办件当前状态为「{}」，不能执行「{label}」", wf.label(&case.status))))
        }
    }
}

/// Every problem with what the action requires, at once.
async fn check_requirements(
    conn: &mut sqlx::AnyConnection,
    case: &CaseRow,
    def: &ActionDef,
    input: &ActionInput,
    item: Option<&ItemDefinition>,
) -> Result<(Vec<NoticeItem>, Option<String>), AppError> {
    let mut p = Problems::default();
    if def.requires(Requirement::Comment) && input.comment.trim().is_empty() {
        p.add("comment", "required", format!("「{}」须填写意见或理由", def.label));
    }
    if def.requires(Requirement::LegalBasis) && input.legal_basis.trim().is_empty() {
        p.add("legal_basis", "required", format!("「{}」须写明法律依据", def.label));
    }
    let mut notice = Vec::new();
    if def.requires(Requirement::Materials) {
        if input.materials.is_empty() {
            p.add("materials", "required", "请勾选需要补正的全部材料，并说明每项的问题");
        }
        for code in &input.materials {
            match item.and_then(|d| d.materials.iter().find(|m| &m.code == code)) {
                Some(m) => notice.push(NoticeItem {
                    material_code: m.code.clone(),
                    name: m.name.clone(),
                    problem: input.material_notes.get(code).map(|s| s.trim().to_owned()).unwrap_or_default(),
                }),
                None => p.add("materials", "unknown_material", format!("本事项没有编号为 {code} 的材料")),
            }
        }
    }
    let mut delivery = None;
    if def.requires(Requirement::Delivery) {
        match &input.delivery {
            None => p.add("delivery", "required", "请选择送达方式：网上下载、窗口自取或邮寄"),
            Some(d @ Delivery::Pickup { site }) => match tongban_store::org::site_by_code(conn, site).await? {
                Some(s) => delivery = Some(d.describe(Some(&s.name))),
                None => p.add("delivery", "unknown_site", "请选择领取结果的服务大厅"),
            },
            Some(d @ Delivery::Mail { address }) if address.trim().chars().count() < 6 => {
                let _ = d;
                p.add("delivery", "required", "请填写完整的邮寄地址");
            }
            Some(d) => delivery = Some(d.describe(None)),
        }
    }
    let _ = case;
    p.into_result()?;
    Ok((notice, delivery))
}

/// Makes one move inside the caller's transaction: checks the requirements and `once`, applies
/// the clock, writes the case (only if nobody moved it first), the event, the counters, the
/// application's status and timeline, and the audit record.
#[allow(clippy::too_many_arguments)]
pub async fn move_in(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    actor: &Actor,
    case: &CaseRow,
    wf: &Workflow,
    def: &ActionDef,
    input: &ActionInput,
    calendar: &WorkCalendar,
) -> Result<CaseRow, AppError> {
    if let Some(v) = input.row_version
        && v != case.row_version
    {
        return Err(AppError::Conflict(format!(
            "办件已被他人处理，当前状态为「{}」，请刷新后再操作",
            wf.label(&case.status)
        )));
    }
    if def.once && store::has_event(tx, case.id, &def.name).await? {
        return Err(AppError::Conflict(format!("「{}」只能办理一次，本件已办理过", def.label)));
    }
    let application = applications::load_by_id(tx, &core.cipher, case.application_id).await?;
    let item = definition_for(core, case, &application).await;
    let (notice, delivery) = check_requirements(tx, case, def, input, item.as_ref()).await?;

    let now = core.clock.now_ms();
    let today = to_china(now).date_naive();
    let mut clock = clock_of(case);
    clock.apply(def.clock, today, wf.extension_days, calendar);
    let to = def.target(&case.status).to_owned();
    let s = schedule(
        wf,
        &to,
        &clock,
        (&case.legal_days, &case.promised_days),
        to != case.status || def.clock == ClockOp::Resume,
        case.due_on.as_deref().and_then(parse_day),
        today,
        calendar,
    );
    let queue = wf.state(&to).map_or("concluded", |st| st.queue.as_str()).to_owned();
    let clock_json = serde_json::to_string(&clock).map_err(|e| AppError::Internal(e.into()))?;
    let notice_json = match def.name.as_str() {
        _ if def.requires(Requirement::Materials) => {
            serde_json::to_string(&notice).map_err(|e| AppError::Internal(e.into()))?
        }
        "resubmit" => "[]".to_owned(),
        _ => case.notice.clone(),
    };
    let (promised, legal, due) = (s.promised.map(day), s.legal.map(day), s.due_on.map(day));
    let concluded_at = case.concluded_at.or((!s.active).then_some(now));
    let m = store::Move {
        status: &to,
        queue: &queue,
        active: s.active,
        clock: &clock_json,
        promised_deadline: promised.as_deref(),
        legal_deadline: legal.as_deref(),
        due_on: due.as_deref(),
        notice: &core.cipher.encrypt(&notice_json),
        concluded_at,
        now,
    };
    if !store::apply_move(tx, case, &m).await? {
        let current = store::by_number(tx, &case.number).await?.map(|c| c.status).unwrap_or_default();
        return Err(AppError::Conflict(format!(
            "办件已被他人处理，当前状态为「{}」，请刷新后再操作",
            wf.label(&current)
        )));
    }
    let detail = serde_json::json!({
        "legal_basis": input.legal_basis.trim(),
        "notice": notice,
        "delivery": delivery,
        "fields": input.fields,
    })
    .to_string();
    record_event(
        core,
        tx,
        &store::NewEvent {
            case_id: case.id,
            action: &def.name,
            from_status: &case.status,
            to_status: &to,
            actor_id: Some(actor.user_id).filter(|id| *id > 0),
            actor: &actor.display_name,
            comment: input.comment.trim(),
            internal: false,
            detail: &detail,
            now,
        },
    )
    .await?;
    mirror_application(tx, case.application_id, now).await?;
    let mut note = input.comment.trim().to_owned();
    if !notice.is_empty() {
        let listed: Vec<String> = notice
            .iter()
            .map(|n| if n.problem.is_empty() { n.name.clone() } else { format!("{}（{}）", n.name, n.problem) })
            .collect();
        note = format!("请补正：{}。{note}", listed.join("；"));
    }
    if let Some(d) = &delivery {
        note = format!("{d}。{note}");
    }
    tongban_store::applications::add_event(
        tx,
        case.application_id,
        &format!("case.{}", def.name),
        &actor.display_name,
        // Sealed: it quotes the staff's free text and the mailing address.
        &core.cipher.encrypt(&format!("{}：{}", case.item_name, note.trim_end_matches('。'))),
        now,
    )
    .await?;
    audit_in(
        tx,
        &core.clock,
        actor,
        &format!("case.{}", def.name),
        &case.number,
        Outcome::Success,
        &format!("{} → {to}", case.status),
    )
    .await?;
    // An approval of an item that produces a licence issues it in the same transaction: the
    // decision and the licence stand or fall together.
    let mut issued = None;
    if to == "approved"
        && let Some(licence_type) = item.as_ref().and_then(|d| d.licence_type.clone())
    {
        let req = super::licences::CaseIssue {
            case_number: &case.number,
            item_code: &case.item_code,
            licence_type: &licence_type,
            holder_user_id: case.applicant_id,
            form_data: &application.values,
            extra_fields: &input.fields,
            today,
        };
        issued = Some(super::licences::issue_in(tx, core, actor, &req).await?);
    }
    if !def.by_applicant {
        // The applicant hears of every step: the message centre and, with a phone, a text.
        let title = format!("{}：{}", case.item_name, wf.label(&to));
        let body = if note.is_empty() {
            format!("您的办件 {} 当前状态：{}", case.application_number, wf.label(&to))
        } else {
            note.trim_end_matches('。').to_owned()
        };
        let link = format!("/my/applications/{}", case.application_number);
        super::notifications::notify_in(tx, core, case.applicant_id, &title, &body, &link).await?;
        if let Some(l) = &issued {
            let title = format!("电子证照已签发：{}", case.item_name);
            let body = format!("证照编号 {}，已放入“我的证照”，可出示二维码供核验", l.number);
            let link = format!("/my/licences/{}", l.identifier);
            super::notifications::notify_in(tx, core, case.applicant_id, &title, &body, &link).await?;
        }
    }
    store::by_number(tx, &case.number).await?.ok_or(AppError::NotFound)
}

/// The application's status follows its cases: one case → the case's status; several (a
/// bundle) → `processing` until every case has concluded, then `concluded`.
async fn mirror_application(tx: &mut sqlx::AnyConnection, application_id: i64, now: i64) -> Result<(), AppError> {
    let cases = store::of_application(tx, application_id).await?;
    let status = match cases.as_slice() {
        [] => return Ok(()),
        [one] => one.status.clone(),
        many if many.iter().all(|c| c.status == "withdrawn") => "withdrawn".to_owned(),
        many if many.iter().all(|c| !c.active) => "concluded".to_owned(),
        many if many.iter().any(|c| c.status == "supplement_requested") => "supplement_requested".to_owned(),
        _ => "processing".to_owned(),
    };
    tongban_store::applications::set_status(tx, application_id, &status, now).await?;
    Ok(())
}

/// One queue of the office, with its count.
#[derive(Debug, Clone)]
pub struct QueueCount {
    pub key: &'static str,
    pub label: &'static str,
    pub count: i64,
}

/// The keys of the office's queues, in the order shown.
pub const OFFICE_QUEUES: &[(&str, &str)] = &[
    ("intake", "待受理"),
    ("examine", "待审查"),
    ("decide", "待决定"),
    ("due_soon", "即将超期"),
    ("overdue", "已超期"),
    ("supplement", "补正中"),
    ("suspended", "中止"),
    ("deliver", "待送达"),
    ("concluded", "已办结"),
    ("mine", "我经办的"),
];

/// The cases the office lists for the actor: those their viewing permission reaches.
fn scope_required(actor: &Actor) -> Result<Scope, AppError> {
    scope_for(actor, Permission::OfficeView).ok_or(AppError::Forbidden)
}

fn soon_until(today: NaiveDate, calendar: &WorkCalendar) -> NaiveDate {
    calendar.add_working_days(today, YELLOW_DAYS)
}

/// Every queue with its count, in the actor's scope.
pub async fn queues(core: &Core, actor: &Actor) -> Result<Vec<QueueCount>, AppError> {
    authorize(core, actor, Permission::OfficeView, "queues").await?;
    let scope = scope_required(actor)?;
    let calendar = super::calendar::load(core).await?;
    let today = core.clock.today();
    let mut conn = core.db.conn().await?;
    let counts = store::counts(&mut conn, scope).await?;
    let (soon, overdue) = store::due_counts(&mut conn, scope, &day(today), &day(soon_until(today, &calendar))).await?;
    let mine = store::count_assigned(&mut conn, scope, actor.user_id).await?;
    Ok(OFFICE_QUEUES
        .iter()
        .map(|(key, label)| {
            let count = match *key {
                "due_soon" => soon,
                "overdue" => overdue,
                "mine" => mine,
                q => counts.iter().find(|(k, _)| k == q).map_or(0, |(_, n)| *n),
            };
            QueueCount { key, label, count: count.max(0) }
        })
        .collect())
}

/// One page of a queue, most urgent first (concluded: newest first).
pub async fn list(
    core: &Core,
    actor: &Actor,
    queue: &str,
    status: Option<&str>,
    page: i64,
    page_size: i64,
) -> Result<(i64, Vec<CaseRow>), AppError> {
    list_in(core, actor, queue, status, page, page_size, None).await
}

/// One page of a queue for a caller that has just read every queue's count (the workbench shows
/// them all): the total comes from `counts`, so the district-wide due counts run once per page.
pub async fn list_with_counts(
    core: &Core,
    actor: &Actor,
    queue: &str,
    page: i64,
    page_size: i64,
    counts: &[QueueCount],
) -> Result<(i64, Vec<CaseRow>), AppError> {
    let known = counts.iter().find(|q| q.key == queue).map(|q| q.count);
    list_in(core, actor, queue, None, page, page_size, known).await
}

async fn list_in(
    core: &Core,
    actor: &Actor,
    queue: &str,
    status: Option<&str>,
    page: i64,
    page_size: i64,
    known_total: Option<i64>,
) -> Result<(i64, Vec<CaseRow>), AppError> {
    authorize(core, actor, Permission::OfficeView, "cases").await?;
    let scope = scope_required(actor)?;
    let today = core.clock.today();
    let calendar = super::calendar::load(core).await?;
    let listing = match queue {
        "due_soon" => Listing::DueSoon { today: day(today), until: day(soon_until(today, &calendar)) },
        "overdue" => Listing::Overdue { today: day(today) },
        "mine" => Listing::Assigned(actor.user_id),
        "concluded" => Listing::Concluded,
        q if QUEUES.iter().any(|(k, _)| *k == q) => Listing::Queue(q.to_owned()),
        _ => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "queue",
                "unknown_queue",
                format!("没有“{queue}”这个队列"),
            )]));
        }
    };
    let offset = (page.max(1) - 1).saturating_mul(page_size);
    let mut conn = core.db.conn().await?;
    // Only this queue's count (the same figure `queues` shows): the due counts scan every running
    // case of the scope, so they run only for the due-soon and overdue lists.
    let total = match (known_total, &listing) {
        (Some(n), _) => n,
        (None, Listing::DueSoon { .. } | Listing::Overdue { .. }) => {
            let (soon, overdue) =
                store::due_counts(&mut conn, scope, &day(today), &day(soon_until(today, &calendar))).await?;
            if queue == "due_soon" { soon } else { overdue }
        }
        (None, Listing::Assigned(user)) => store::count_assigned(&mut conn, scope, *user).await?,
        (None, Listing::Queue(_) | Listing::Concluded) => {
            store::counts(&mut conn, scope).await?.into_iter().find(|(k, _)| k == queue).map_or(0, |(_, n)| n)
        }
    }
    .max(0);
    let mut rows = store::list(&mut conn, scope, &listing, offset, page_size).await?;
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        rows.retain(|r| r.status == s);
    }
    Ok((total, rows))
}

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

/// Writes a timeline entry with its comment and detail sealed: staff write free text (a phone
/// number, a mailing address) and the detail holds the licence facts and the delivery.
async fn record_event(core: &Core, c: &mut sqlx::AnyConnection, e: &store::NewEvent<'_>) -> Result<(), AppError> {
    let comment = core.cipher.encrypt(e.comment);
    let detail = core.cipher.encrypt(e.detail);
    store::insert_event(c, &store::NewEvent { comment: &comment, detail: &detail, ..*e }).await?;
    Ok(())
}

async fn set_handler(core: &Core, actor: &Actor, case: &CaseRow, user_id: i64, action: &str) -> Result<(), AppError> {
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
    let files = applications::store_uploads(core, &defs, uploads).await?;
    let calendar = super::calendar::load(core).await?;
    let mut tx = core.db.begin().await?;
    applications::attach_files(&mut tx, view.row.id, &files).await?;
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

async fn of_application_count(core: &Core, application_id: i64) -> Result<usize, AppError> {
    Ok(store::of_application(&mut *core.db.conn().await?, application_id).await?.len())
}

/// The notice of a case with each material under the code its file is kept under: in a bundle
/// (several cases) files are kept as `<item code>:<material code>`.
fn keyed_notice(cipher: &tongban_crypto::FieldCipher, case: &CaseRow, bundle: bool) -> Vec<NoticeItem> {
    let mut notice = notice_of(cipher, case);
    if bundle {
        for n in &mut notice {
            n.material_code = format!("{}:{}", case.item_code, n.material_code);
        }
    }
    notice
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
