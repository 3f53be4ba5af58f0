//! Online applications (网上直办): drafts that can be resumed, materials checked by content,
//! idempotent submission with a snapshot of the item version, withdrawal before acceptance,
//! and the applicant's own list (我的办件). Nobody sees another applicant's application.

use axum::body::Bytes;
use serde_json::{Map, Value};
use tracing::instrument;

use super::catalogue::{self, Guide};
use super::{Actor, AppError, Core, FieldError, Problems, audit_in, authorize};
use crate::clock::{now_ms, to_china};
use crate::domain::application::{self as rules, Status};
use crate::domain::item::{ItemDefinition, Subject};
use crate::domain::permission::Permission;
use crate::store::applications::{self as store, ApplicationRow, Event, MaterialFile, NewApplication, Submission};
use crate::store::audit::Outcome;
use crate::store::blobs::sha256_hex;
use crate::store::is_unique_violation;
use crate::store::users::UserKind;

/// The most a single submission may carry in total.
pub const MAX_SUBMISSION_BYTES: usize = 60 * 1024 * 1024;

/// One uploaded file for one material.
#[derive(Debug, Clone)]
pub struct Upload {
    pub material_code: String,
    pub file_name: String,
    pub bytes: Bytes,
}

/// What the applicant sends, from the form page or the API.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub values: Map<String, Value>,
    pub uploads: Vec<Upload>,
    pub idempotency_key: Option<String>,
}

/// An application with everything its pages need.
#[derive(Debug, Clone)]
pub struct View {
    pub row: ApplicationRow,
    pub values: Map<String, Value>,
    pub materials: Vec<MaterialFile>,
    pub events: Vec<Event>,
    /// The definition applied: the submitted snapshot, or the current version for a draft.
    pub definition: Option<ItemDefinition>,
}

/// The outcome of a save or submission.
#[derive(Debug, Clone)]
pub struct Saved {
    pub number: String,
    pub status: String,
    pub promised_deadline: Option<String>,
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

/// Checks every upload against its material (known code, accepted content, size limit).
fn check_uploads(def: &ItemDefinition, uploads: &[Upload]) -> Result<Vec<(Upload, &'static str)>, AppError> {
    let mut unknown = Problems::default();
    let mut checked = Vec::new();
    let total: usize = uploads.iter().map(|u| u.bytes.len()).sum();
    if total > MAX_SUBMISSION_BYTES {
        return Err(AppError::PayloadTooLarge(format!(
            "一次提交的材料合计不能超过 {} MB",
            MAX_SUBMISSION_BYTES / 1024 / 1024
        )));
    }
    for u in uploads {
        let Some(m) = def.materials.iter().find(|m| m.code == u.material_code) else {
            unknown.add(
                &format!("material:{}", u.material_code),
                "unknown_material",
                format!("本事项没有编号为 {} 的材料", u.material_code),
            );
            continue;
        };
        if u.bytes.len() as u64 > m.max_bytes {
            return Err(AppError::PayloadTooLarge(format!("「{}」的文件不能超过 {}", m.name, human_size(m.max_bytes))));
        }
        let kind = rules::sniff_content_type(&u.bytes).filter(|k| m.accept.iter().any(|a| a == k));
        let Some(kind) = kind else {
            let names: Vec<&str> = m.accept.iter().map(|a| mime_label(a)).collect();
            return Err(AppError::UnsupportedMediaType(format!(
                "「{}」只接受 {} 文件，请检查文件内容",
                m.name,
                names.join("、")
            )));
        };
        checked.push((u.clone(), kind));
    }
    unknown.into_result()?;
    Ok(checked)
}

fn mime_label(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPG",
        "image/png" => "PNG",
        _ => "其他",
    }
}

pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 { format!("{} MB", bytes / 1024 / 1024) } else { format!("{} KB", bytes.div_ceil(1024)) }
}

/// Problems with the materials held for a submission: every required material must be there.
fn missing_materials(def: &ItemDefinition, held: &[MaterialFile]) -> Vec<FieldError> {
    def.materials
        .iter()
        .filter(|m| m.required && !held.iter().any(|h| h.material_code == m.code))
        .map(|m| FieldError::new(&format!("material:{}", m.code), "required", format!("请上传「{}」", m.name)))
        .collect()
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
    let checked = check_uploads(&guide.def, &input.uploads)?;
    // Files go to storage first (content-addressed, flushed): the transaction then only refers
    // to bytes that are already safe.
    let now = now_ms();
    let mut files: Vec<(String, MaterialFile)> = Vec::new();
    for (u, kind) in checked {
        let sha = sha256_hex(&u.bytes);
        let size = u.bytes.len() as i64;
        core.blobs.put(&sha, u.bytes).await?;
        files.push((
            u.material_code.clone(),
            MaterialFile {
                material_code: u.material_code,
                file_sha256: sha,
                file_name: rules::clean_file_name(&u.file_name),
                content_type: kind.to_owned(),
                size,
                uploaded_at: now,
            },
        ));
    }
    let raw_json = Value::Object(input.values.clone()).to_string();
    let validation = guide.def.form.validate(&input.values);
    let calendar = if submit { Some(super::calendar::load(core).await?) } else { None };

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
    let mut codes: Vec<&str> = files.iter().map(|(c, _)| c.as_str()).collect();
    codes.dedup();
    for code in codes {
        let of_code: Vec<MaterialFile> = files.iter().filter(|(c, _)| c == code).map(|(_, f)| f.clone()).collect();
        for f in &of_code {
            store::insert_file(&mut tx, &f.file_sha256, f.size, &f.content_type, now).await?;
        }
        store::replace_material(&mut tx, draft.id, code, &of_code).await?;
    }
    if !submit {
        audit_in(&mut tx, actor, "application.save_draft", &draft.number, Outcome::Success, item_code).await?;
        tx.commit().await?;
        return Ok(Saved { number: draft.number, status: Status::Draft.name().into(), promised_deadline: None });
    }
    let held = store::materials(&mut tx, draft.id).await?;
    let mut problems = match &validation {
        Ok(_) => Vec::new(),
        Err(p) => p.clone(),
    };
    problems.extend(missing_materials(&guide.def, &held));
    if !problems.is_empty() {
        if keep_draft_on_error {
            tx.commit().await?;
        }
        return Err(AppError::Invalid(problems));
    }
    let clean = Value::Object(validation.unwrap_or_default()).to_string();
    let snapshot = serde_json::json!({ "item_version": guide.version, "definition": guide.def }).to_string();
    let today = to_china(now).date_naive();
    let deadline =
        calendar.unwrap_or_default().add_working_days(today, guide.def.promised_days).format("%Y-%m-%d").to_string();
    let submission = Submission {
        form_data: &clean,
        snapshot: &snapshot,
        idempotency_key: input.idempotency_key.as_deref(),
        promised_deadline: &deadline,
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
    store::add_event(&mut tx, draft.id, "submitted", &actor.display_name, "", now).await?;
    audit_in(&mut tx, actor, "application.submit", &draft.number, Outcome::Success, item_code).await?;
    tx.commit().await?;
    Ok(Saved { number: draft.number, status: Status::Submitted.name().into(), promised_deadline: Some(deadline) })
}

async fn insert_with_fresh_number(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    guide: &Guide,
    form: &str,
    now: i64,
) -> Result<String, AppError> {
    let today = to_china(now).date_naive();
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

/// The applicant's draft for an item, if any (to resume it).
pub async fn draft(core: &Core, actor: &Actor, guide: &Guide) -> Result<Option<View>, AppError> {
    let mut conn = core.db.conn().await?;
    match store::draft_for(&mut conn, actor.user_id, guide.row.id).await? {
        Some(row) => Ok(Some(load_view(&mut conn, row).await?)),
        None => Ok(None),
    }
}

async fn load_view(conn: &mut sqlx::AnyConnection, row: ApplicationRow) -> Result<View, AppError> {
    let values =
        serde_json::from_str::<Value>(&row.form_data).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let materials = store::materials(conn, row.id).await?;
    let events = store::events(conn, row.id).await?;
    let definition = row
        .snapshot
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| serde_json::from_value::<ItemDefinition>(v.get("definition")?.clone()).ok());
    Ok(View { row, values, materials, events, definition })
}

/// One of the applicant's own applications; anybody else's is "not found".
pub async fn mine(core: &Core, actor: &Actor, number: &str) -> Result<View, AppError> {
    authorize(core, actor, Permission::PortalMine, number).await?;
    if !rules::looks_like_number(number) {
        return Err(AppError::NotFound);
    }
    let mut conn = core.db.conn().await?;
    let row = store::by_number(&mut conn, number)
        .await?
        .filter(|r| r.applicant_id == actor.user_id)
        .ok_or(AppError::NotFound)?;
    load_view(&mut conn, row).await
}

pub async fn list_mine(
    core: &Core,
    actor: &Actor,
    page: i64,
    page_size: i64,
) -> Result<(i64, Vec<ApplicationRow>), AppError> {
    authorize(core, actor, Permission::PortalMine, "applications").await?;
    let offset = (page.max(1) - 1) * page_size;
    Ok(store::list_for_applicant(&mut *core.db.conn().await?, actor.user_id, offset, page_size).await?)
}

/// Withdraws a submitted application before it is accepted.
pub async fn withdraw(core: &Core, actor: &Actor, number: &str) -> Result<View, AppError> {
    let view = mine(core, actor, number).await?;
    if !rules::can_withdraw(&view.row.status) {
        return Err(AppError::Conflict(format!("当前状态为「{}」，不能撤回", rules::status_label(&view.row.status))));
    }
    let now = now_ms();
    let mut tx = core.db.begin().await?;
    if !store::transition(&mut tx, view.row.id, Status::Submitted.name(), Status::Withdrawn.name(), now).await? {
        return Err(AppError::Conflict("申请状态已变化，请刷新后查看".into()));
    }
    store::add_event(&mut tx, view.row.id, "withdrawn", &actor.display_name, "", now).await?;
    audit_in(&mut tx, actor, "application.withdraw", number, Outcome::Success, "").await?;
    tx.commit().await?;
    mine(core, actor, number).await
}
