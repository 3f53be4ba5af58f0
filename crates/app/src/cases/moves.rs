//! Moving a case through its workflow: `act` for staff, and `move_in`, the one function that makes every move in the caller's transaction.

use tracing::instrument;

use super::shared::{ActionInput, action_def, case_in_scope, clock_of, in_scope, record_event, schedule, scope_for};
use super::view::definition_for;
use crate::application_view as applications;
use crate::{Actor, AppError, Core, Problems, audit_in, authorize, workflows};
use tongban_domain::calendar::WorkCalendar;
use tongban_domain::case::{Delivery, NoticeItem};
use tongban_domain::item::ItemDefinition;
use tongban_domain::permission::Permission;
use tongban_domain::workflow::{ActionDef, ClockOp, Requirement, Workflow};
use tongban_store::audit::Outcome;
use tongban_store::cases::{self as store, CaseRow};

/// Takes an action on a case as staff.
#[instrument(skip_all, fields(case = %number, action = %input.action))]
pub async fn act(core: &Core, actor: &Actor, number: &str, input: &ActionInput) -> Result<CaseRow, AppError> {
    let case = case_in_scope(core, actor, number, Permission::OfficeView).await?;
    // A staff action sends the applicant a message: limited per acting account (attempts count
    // whether or not the action is allowed now).
    let key = actor.user_id.to_string();
    crate::rate_limit::enforce(core, crate::rate_limit::Limit::MessagePerAccount, &key, &actor.ip, Some(actor)).await?;
    let wf = workflows::version(&mut *core.db.conn().await?, core, &case.workflow_code, case.workflow_version).await?;
    let def = action_def(&wf, &case, &input.action)?;
    let permission = def.permission.parse::<Permission>().map_err(|e| AppError::Internal(e.into()))?;
    authorize(core, actor, permission, number).await?;
    // The action's permission must reach the case through its own role's scope, and only a
    // case-handling permission moves a case (a stored workflow is checked at start-up too).
    if def.by_applicant || !permission.is_case_handling() || !in_scope(scope_for(actor, permission), &case) {
        crate::audit::record_denial(core, Some(actor), &actor.ip, &def.name, number).await?;
        return Err(AppError::Forbidden);
    }
    let calendar = crate::calendar::load(core).await?;
    let mut tx = core.db.begin().await?;
    let moved = move_in(&mut tx, core, actor, &case, &wf, &def, input, &calendar).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Every problem with what the action requires, at once.
pub(super) async fn check_requirements(
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
    let today = crate::clock::day_of(now);
    let mut clock = clock_of(case);
    clock.apply(def.clock, today, wf.extension_days, calendar);
    let to = def.target(&case.status).to_owned();
    let s = schedule(
        wf,
        &to,
        &clock,
        (&case.legal_days, &case.promised_days),
        to != case.status || def.clock == ClockOp::Resume,
        case.due_on,
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
    let concluded_at = case.concluded_at.or((!s.active).then_some(now));
    let m = store::Move {
        status: &to,
        queue: &queue,
        active: s.active,
        clock: &clock_json,
        promised_deadline: s.promised,
        legal_deadline: s.legal,
        due_on: s.due_on,
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
        let req = crate::licences::CaseIssue {
            case_number: &case.number,
            item_code: &case.item_code,
            licence_type: &licence_type,
            holder_user_id: case.applicant_id,
            form_data: &application.values,
            extra_fields: &input.fields,
            today,
        };
        issued = Some(crate::licences::issue_in(tx, core, actor, &req).await?);
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
        crate::notifications::notify_in(tx, core, case.applicant_id, &title, &body, &link).await?;
        if let Some(l) = &issued {
            let title = format!("电子证照已签发：{}", case.item_name);
            let body = format!("证照编号 {}，已放入“我的证照”，可出示二维码供核验", l.number);
            let link = format!("/my/licences/{}", l.identifier);
            crate::notifications::notify_in(tx, core, case.applicant_id, &title, &body, &link).await?;
        }
    }
    store::by_number(tx, &case.number).await?.ok_or(AppError::NotFound)
}

/// The application's status follows its cases: one case → the case's status; several (a
/// bundle) → `processing` until every case has concluded, then `concluded`.
pub(super) async fn mirror_application(
    tx: &mut sqlx::AnyConnection,
    application_id: i64,
    now: i64,
) -> Result<(), AppError> {
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
