//! Online applications (网上直办): drafts that can be resumed, materials checked by content,
//! idempotent submission with a snapshot of the item version, withdrawal before acceptance,
//! and the applicant's own list (我的办件). Nobody sees another applicant's application.

use serde_json::{Map, Value};
use tracing::instrument;

pub use super::application_view::{View, draft, list_mine, load_by_id, mine};
use super::catalogue::{self, Guide};
pub use super::materials::{MAX_SUBMISSION_BYTES, Upload, human_size};
use super::materials::{attach_files, missing_materials, store_uploads};
use super::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::application::{self as rules, Status};
use tongban_domain::day::Day;
use tongban_domain::item::{ItemDefinition, Subject};
use tongban_domain::permission::Permission;
use tongban_store::applications::{self as store, NewApplication, Submission};
use tongban_store::audit::Outcome;
use tongban_store::is_unique_violation;
use tongban_store::users::UserKind;

/// What the applicant sends, from the form page or the API.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub values: Map<String, Value>,
    pub uploads: Vec<Upload>,
    pub idempotency_key: Option<String>,
    /// Electronic licences picked instead of uploads: (material code, licence identifier).
    pub licences: Vec<(String, String)>,
}

/// The outcome of a save or submission.
#[derive(Debug, Clone)]
pub struct Saved {
    pub number: String,
    pub status: String,
    pub promised_deadline: Option<Day>,
}

fn serves(def: &ItemDefinition, kind: UserKind) -> bool {
    match kind {
        UserKind::Person => def.subjects.contains(&Subject::Person),
        UserKind::Organisation => def.subjects.contains(&Subject::Organisation),
        UserKind::Staff => false,
    }
}

/// The item an applicant may apply for now (published, not suspended, for their kind).
pub async fn applicable(core: &Core, actor: &Actor, item_code: &str) -> Result<Guide, AppError> {
    authorize(core, actor, Permission::PortalMine, item_code).await?;
    let guide = catalogue::guide(core, item_code).await?;
    if guide.is_suspended() {
        let reason =
            if guide.row.status_reason.is_empty() { "请关注后续通知" } else { guide.row.status_reason.as_str() };
        return Err(AppError::Conflict(format!("本事项暂停办理：{reason}")));
    }
    if !serves(&guide.def, actor.kind) {
        let who = if actor.kind == UserKind::Person { "法人（企业）" } else { "个人" };
        return Err(AppError::Conflict(format!("本事项只面向{who}办理，您的账户不能申请")));
    }
    Ok(guide)
}

/// Saves the applicant's answers and files as a draft and, when `submit` is set, submits it.
/// A failed submission keeps the draft (with its files) when `keep_draft_on_error` is set, so
/// nobody uploads twice; the API leaves nothing behind instead.
#[instrument(skip_all, fields(item = %item_code, submit))]
pub async fn save(
    core: &Core,
    actor: &Actor,
    item_code: &str,
    input: Input,
    submit: bool,
    keep_draft_on_error: bool,
) -> Result<Saved, AppError> {
    save_as(core, actor, None, item_code, input, submit, keep_draft_on_error).await
}

/// A window's help for a walk-in applicant (帮办): who helped, at which hall.
pub struct Assist<'a> {
    pub staff: &'a Actor,
    pub site_id: i64,
}

/// Window intake (同城通办 / 就近能办): staff at any hall submit an application on behalf of a
/// walk-in applicant, who then follows it online like any other. The item must be citywide or
/// handled at the staff's own hall; the case records the receiving hall and goes to the owning
/// department's queue.
pub async fn submit_assisted(
    core: &Core,
    staff: &Actor,
    applicant: &Actor,
    item_code: &str,
    input: Input,
) -> Result<Saved, AppError> {
    authorize(core, staff, Permission::CaseIntake, item_code).await?;
    let site = staff.site.as_ref().ok_or_else(|| AppError::Conflict("您的账户尚未分配到服务站点".into()))?;
    let guide = catalogue::guide(core, item_code).await?;
    if !guide.def.citywide && !guide.sites.iter().any(|s| s.id == site.id) {
        return Err(AppError::Conflict(format!("「{}」不在本站点办理，也不属于同城通办事项", guide.def.name)));
    }
    save_as(core, applicant, Some(&Assist { staff, site_id: site.id }), item_code, input, true, false).await
}

/// The walk-in applicant a window is helping, as step 1 of window intake found them.
pub struct WalkIn {
    pub applicant: Actor,
    pub id_number_masked: String,
    /// The applicant bound to this window's session, sealed (SM4-GCM) for the intake form: the
    /// page carries it back but cannot read, alter or forge it, nor use it from another session.
    pub seal: String,
}

/// How long a sealed walk-in stays valid: long enough to fill a form at the counter.
const WALK_IN_MS: i64 = 2 * 3600 * 1000;
const WALK_IN_PREFIX: &str = "walk_in.v1";

fn walk_in_plaintext(staff: &Actor, session_token: &str, applicant_id: i64, expires_ms: i64) -> String {
    let session = tongban_crypto::sm3_hex(session_token.as_bytes());
    format!("{WALK_IN_PREFIX}:{}:{session}:{applicant_id}:{expires_ms}", staff.user_id)
}

/// The walk-in applicant a window helps, identified by their ID number; they must have an
/// account (the window helps them register first). `session_token` is the window's session,
/// which the seal is bound to.
pub async fn walk_in(core: &Core, staff: &Actor, session_token: &str, id_number: &str) -> Result<WalkIn, AppError> {
    authorize(core, staff, Permission::CaseIntake, "walk_in").await?;
    let id = tongban_domain::identity::IdNumber::parse(id_number)
        .map_err(|e| AppError::Invalid(vec![FieldError::new("id_number", "invalid", format!("身份证号{e}"))]))?;
    let mut conn = core.db.conn().await?;
    let user = tongban_store::users::by_id_number_digest(&mut conn, &core.cipher.index(id.as_str()))
        .await?
        .filter(|u| u.kind == UserKind::Person && !u.disabled)
        .ok_or_else(|| {
            AppError::Invalid(vec![FieldError::new(
                "id_number",
                "not_registered",
                "该身份证号尚未注册。请协助申请人在自助终端或手机上注册账户（约 2 分钟）后再收件",
            )])
        })?;
    drop(conn);
    let applicant = super::auth::actor_for_user(core, user.id, &staff.ip).await?.ok_or(AppError::NotFound)?;
    let seal = core.cipher.encrypt(&walk_in_plaintext(staff, session_token, user.id, core.clock.now_ms() + WALK_IN_MS));
    Ok(WalkIn { applicant, id_number_masked: tongban_domain::mask::id_number(id.as_str()), seal })
}

/// The walk-in applicant again, from the seal step 1 put in the intake form. A seal that was
/// altered, made for another window or session, or is too old is refused (and audited).
pub async fn walk_in_again(core: &Core, staff: &Actor, session_token: &str, seal: &str) -> Result<WalkIn, AppError> {
    authorize(core, staff, Permission::CaseIntake, "walk_in").await?;
    let now = core.clock.now_ms();
    let applicant_id = core.cipher.decrypt(seal).ok().and_then(|plain| {
        let mut parts = plain.rsplitn(3, ':');
        let expires: i64 = parts.next()?.parse().ok()?;
        let applicant: i64 = parts.next()?.parse().ok()?;
        let expected = walk_in_plaintext(staff, session_token, applicant, expires);
        (plain == expected && expires > now).then_some(applicant)
    });
    let Some(applicant_id) = applicant_id else {
        super::audit::record_denial(core, Some(staff), &staff.ip, "case.intake.applicant", "walk_in").await?;
        return Err(AppError::Conflict("帮办收件的申请人信息已失效，请返回窗口工作台重新核验申请人身份证号".into()));
    };
    let user = tongban_store::users::by_id(&mut *core.db.conn().await?, applicant_id)
        .await?
        .filter(|u| u.kind == UserKind::Person && !u.disabled)
        .ok_or(AppError::NotFound)?;
    let masked = user
        .id_number_enc
        .as_ref()
        .and_then(|e| core.cipher.decrypt(e).ok())
        .map(|n| tongban_domain::mask::id_number(&n))
        .unwrap_or_default();
    let applicant = super::auth::actor_for_user(core, user.id, &staff.ip).await?.ok_or(AppError::NotFound)?;
    Ok(WalkIn { applicant, id_number_masked: masked, seal: seal.to_owned() })
}

async fn save_as(
    core: &Core,
    actor: &Actor,
    assist: Option<&Assist<'_>>,
    item_code: &str,
    input: Input,
    submit: bool,
    keep_draft_on_error: bool,
) -> Result<Saved, AppError> {
    let guide = applicable(core, actor, item_code).await?;
    if let Some(key) = &input.idempotency_key {
        if key.is_empty() || key.len() > 128 {
            return Err(AppError::Invalid(vec![FieldError::new(
                "Idempotency-Key",
                "invalid",
                "Idempotency-Key 应为 1–128 个字符",
            )]));
        }
        if let Some(done) = store::by_idempotency_key(&mut *core.db.conn().await?, actor.user_id, key).await? {
            return Ok(Saved { number: done.number, status: done.status, promised_deadline: done.promised_deadline });
        }
    }
    let files = store_uploads(core, std::slice::from_ref(&guide.def), input.uploads).await?;
    let now = core.clock.now_ms();
    // The answers hold ID numbers and phones: sealed whole before they reach the database.
    let raw_json = core.cipher.encrypt(&Value::Object(input.values.clone()).to_string());
    let validation = guide.def.form.validate(&input.values);
    let calendar = if submit { Some(super::calendar::load_shared(core).await?) } else { None };

    let mut tx = core.db.begin().await?;
    let draft = match store::draft_for(&mut tx, actor.user_id, guide.row.id).await? {
        Some(d) => {
            store::update_form(&mut tx, d.id, &raw_json, now).await?;
            d
        }
        None => {
            let number = insert_with_fresh_number(&mut tx, actor, &guide, &raw_json, now).await?;
            let d = store::by_number(&mut tx, &number).await?.ok_or(AppError::NotFound)?;
            store::add_event(&mut tx, d.id, "created", &actor.display_name, "", now).await?;
            d
        }
    };
    attach_files(&mut tx, draft.id, &files).await?;
    let (picked, pick_problems) =
        super::licences::pick_in(&mut tx, &core.clock, actor, &guide.def, draft.id, &input.licences).await?;
    if !submit {
        if !pick_problems.is_empty() {
            tx.commit().await?;
            return Err(AppError::Invalid(pick_problems));
        }
        audit_in(&mut tx, &core.clock, actor, "application.save_draft", &draft.number, Outcome::Success, item_code)
            .await?;
        tx.commit().await?;
        return Ok(Saved { number: draft.number, status: Status::Draft.name().into(), promised_deadline: None });
    }
    let held = store::materials(&mut tx, draft.id).await?;
    let mut problems = match &validation {
        Ok(_) => Vec::new(),
        Err(p) => p.clone(),
    };
    problems.extend(pick_problems);
    // A material satisfied by an electronic licence needs no upload (两个免于提交).
    problems.extend(
        missing_materials(&guide.def, &held)
            .into_iter()
            .filter(|p| !picked.iter().any(|code| p.field == format!("material:{code}"))),
    );
    if !problems.is_empty() {
        if keep_draft_on_error {
            tx.commit().await?;
        }
        return Err(AppError::Invalid(problems));
    }
    let clean = core.cipher.encrypt(&Value::Object(validation.unwrap_or_default()).to_string());
    let snapshot = serde_json::json!({ "item_version": guide.version, "definition": guide.def }).to_string();
    let deadline =
        calendar.clone().unwrap_or_default().add_working_days(crate::clock::day_of(now), guide.def.promised_days);
    let submission = Submission {
        form_data: &clean,
        snapshot: &snapshot,
        idempotency_key: input.idempotency_key.as_deref(),
        promised_deadline: deadline,
        now,
    };
    match store::submit(&mut tx, draft.id, &submission).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::Conflict("该申请已提交，请勿重复提交".into())),
        // The same Idempotency-Key raced in from a second request: return the first result.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let key = input.idempotency_key.unwrap_or_default();
            let done = store::by_idempotency_key(&mut *core.db.conn().await?, actor.user_id, &key)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok(Saved { number: done.number, status: done.status, promised_deadline: done.promised_deadline });
        }
        Err(e) => return Err(e.into()),
    }
    let site_id = match assist {
        Some(a) => {
            store::set_assisted(&mut tx, draft.id, a.site_id, a.staff.user_id).await?;
            let note = format!(
                "{}（{}）窗口帮办",
                a.staff.display_name,
                a.staff.site.as_ref().map_or("", |s| s.name.as_str())
            );
            store::add_event(&mut tx, draft.id, "submitted", &a.staff.display_name, &note, now).await?;
            a.site_id
        }
        None => {
            store::add_event(&mut tx, draft.id, "submitted", &actor.display_name, "", now).await?;
            0
        }
    };
    super::licences::record_uses_in(&mut tx, &core.clock, actor, &guide.def, draft.id, &draft.number).await?;
    let opening = super::cases::Opening {
        application_id: draft.id,
        applicant_id: actor.user_id,
        applicant_name: &actor.display_name,
        site_id,
        items: vec![(guide.row.id, guide.row.department.id, &guide.def)],
        now,
    };
    super::cases::open_in(&mut tx, core, &opening, calendar.as_ref().unwrap_or(&Default::default())).await?;
    audit_in(
        &mut tx,
        &core.clock,
        assist.map_or(actor, |a| a.staff),
        "application.submit",
        &draft.number,
        Outcome::Success,
        item_code,
    )
    .await?;
    tx.commit().await?;
    Ok(Saved { number: draft.number, status: Status::Submitted.name().into(), promised_deadline: Some(deadline) })
}

pub(crate) async fn insert_with_fresh_number(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    guide: &Guide,
    form: &str,
    now: i64,
) -> Result<String, AppError> {
    let today = crate::clock::day_of(now);
    for _ in 0..5 {
        let number = rules::new_number(today, &mut rand::rng());
        let new = NewApplication {
            number: &number,
            applicant_id: actor.user_id,
            item_id: guide.row.id,
            item_version: guide.version,
            form_data: form,
            channel: "online",
            now,
        };
        // A clash of random numbers is astronomically rare; a savepoint lets us retry.
        let attempt = {
            let mut sp = sqlx::Connection::begin(&mut *tx).await?;
            match store::insert_draft(&mut sp, &new).await {
                Ok(_) => {
                    sp.commit().await?;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        };
        match attempt {
            Ok(()) => return Ok(number),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!("no free application number after 5 tries")))
}

/// Withdraws a submitted application before it is accepted.
pub async fn withdraw(core: &Core, actor: &Actor, number: &str) -> Result<View, AppError> {
    let view = mine(core, actor, number).await?;
    if !rules::can_withdraw(&view.row.status) {
        return Err(AppError::Conflict(format!("当前状态为「{}」，不能撤回", rules::status_label(&view.row.status))));
    }
    let now = core.clock.now_ms();
    let calendar = super::calendar::load(core).await?;
    let mut tx = core.db.begin().await?;
    // Cases withdraw through their workflow (which also writes the timeline); an application
    // without cases only changes its own status.
    if super::cases::withdraw_in(&mut tx, core, actor, view.row.id, &calendar).await? == 0 {
        if !store::transition(&mut tx, view.row.id, Status::Submitted.name(), Status::Withdrawn.name(), now).await? {
            return Err(AppError::Conflict("申请状态已变化，请刷新后查看".into()));
        }
        store::add_event(&mut tx, view.row.id, "withdrawn", &actor.display_name, "", now).await?;
    }
    audit_in(&mut tx, &core.clock, actor, "application.withdraw", number, Outcome::Success, "").await?;
    tx.commit().await?;
    mine(core, actor, number).await
}
