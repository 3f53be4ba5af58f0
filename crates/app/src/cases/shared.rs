//! What the case use cases share: the data-scope check, the legal-clock schedule and its warning colour, a case's one-time notice, and the action input.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::{Actor, AppError, Core, FieldError, authorize};
use tongban_domain::calendar::WorkCalendar;
use tongban_domain::case::{self as rules, Delivery, NoticeItem};
use tongban_domain::day::Day;
use tongban_domain::permission::Permission;
use tongban_domain::role::DataScope;
use tongban_domain::workflow::{ActionDef, LegalClock, Warning, Workflow, warning};
use tongban_store::cases::{self as store, CaseRow, Scope};

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

pub(super) fn in_scope(scope: Option<Scope>, case: &CaseRow) -> bool {
    match scope {
        Some(Scope::All) => true,
        Some(Scope::Department(id)) => case.department_id == id,
        Some(Scope::Site(id)) => case.site_id == id,
        None => false,
    }
}

/// Deadlines and the due date of a case in a state with a clock, as of `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub promised: Option<Day>,
    pub legal: Option<Day>,
    /// What the queues sort and warn by: the promised deadline while the clock runs, the
    /// acceptance limit before it starts, nothing while paused or concluded.
    pub due_on: Option<Day>,
    pub active: bool,
}

// Every input is a fact the schedule depends on; bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub(super) fn schedule(
    wf: &Workflow,
    state: &str,
    clock: &LegalClock,
    case: (&i64, &i64),
    entered_today: bool,
    previous_due: Option<Day>,
    today: Day,
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
pub fn warning_of(case: &CaseRow, today: Day, calendar: &WorkCalendar) -> Warning {
    match case.due_on {
        Some(due) if case.active => warning(due, today, YELLOW_DAYS, calendar),
        _ => Warning::None,
    }
}

pub(super) async fn load_case(conn: &mut sqlx::AnyConnection, number: &str) -> Result<CaseRow, AppError> {
    if !rules::looks_like_number(number) {
        return Err(AppError::NotFound);
    }
    store::by_number(conn, number).await?.ok_or(AppError::NotFound)
}

/// A case in the actor's scope; another department's or site's case is refused (and audited).
pub(super) async fn case_in_scope(
    core: &Core,
    actor: &Actor,
    number: &str,
    need: Permission,
) -> Result<CaseRow, AppError> {
    authorize(core, actor, need, number).await?;
    let case = load_case(&mut *core.db.conn().await?, number).await?;
    if !in_scope(scope_for(actor, need), &case) {
        crate::audit::record_denial(core, Some(actor), &actor.ip, "case.scope", number).await?;
        return Err(AppError::Forbidden);
    }
    Ok(case)
}

pub(super) fn clock_of(case: &CaseRow) -> LegalClock {
    serde_json::from_str(&case.clock).unwrap_or_default()
}

/// The pending one-time notice (sealed: staff describe each defect in free text).
pub(super) fn notice_of(cipher: &tongban_crypto::FieldCipher, case: &CaseRow) -> Vec<NoticeItem> {
    cipher.open_or_plain(&case.notice).ok().and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default()
}

pub(super) fn action_def(wf: &Workflow, case: &CaseRow, action: &str) -> Result<ActionDef, AppError> {
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

/// The cases the office lists for the actor: those their viewing permission reaches.
pub(super) fn scope_required(actor: &Actor) -> Result<Scope, AppError> {
    scope_for(actor, Permission::OfficeView).ok_or(AppError::Forbidden)
}

pub(super) fn soon_until(today: Day, calendar: &WorkCalendar) -> Day {
    calendar.add_working_days(today, YELLOW_DAYS)
}

/// Writes a timeline entry with its comment and detail sealed: staff write free text (a phone
/// number, a mailing address) and the detail holds the licence facts and the delivery.
pub(super) async fn record_event(
    core: &Core,
    c: &mut sqlx::AnyConnection,
    e: &store::NewEvent<'_>,
) -> Result<(), AppError> {
    let comment = core.cipher.encrypt(e.comment);
    let detail = core.cipher.encrypt(e.detail);
    store::insert_event(c, &store::NewEvent { comment: &comment, detail: &detail, ..*e }).await?;
    Ok(())
}

/// The notice of a case with each material under the code its file is kept under: in a bundle
/// (several cases) files are kept as `<item code>:<material code>`.
pub(super) fn keyed_notice(cipher: &tongban_crypto::FieldCipher, case: &CaseRow, bundle: bool) -> Vec<NoticeItem> {
    let mut notice = notice_of(cipher, case);
    if bundle {
        for n in &mut notice {
            n.material_code = format!("{}:{}", case.item_code, n.material_code);
        }
    }
    notice
}
