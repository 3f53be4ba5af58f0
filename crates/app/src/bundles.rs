//! One-thing bundles (一件事一次办): a life event combines several items into one application —
//! one combined form (fields by name), one set of materials (same-named materials uploaded once),
//! one submission that opens one case per item at each department, one progress view.

use std::collections::HashMap;

use serde_json::Value;
use tracing::instrument;

use super::applications::{self, Input, Saved, insert_with_fresh_number};
use super::catalogue::Guide;
use super::materials::{attach_files, store_uploads};
use super::{Actor, AppError, Core, FieldError, audit_in, authorize};
use tongban_domain::item::{CaseKind, FormSchema, ItemDefinition, Material, Sites};
use tongban_domain::permission::Permission;
use tongban_store::applications::{self as store, MaterialFile, Submission};
use tongban_store::audit::Outcome;
use tongban_store::catalogue::LifeEvent;
use tongban_store::is_unique_violation;

/// A life event ready to apply for: its items, and the combined form and materials.
pub struct Bundle {
    pub event: LifeEvent,
    pub guides: Vec<Guide>,
    /// The combined definition the form is rendered from: each material's code is a bundle key
    /// (`B01`…) standing for every item material of the same name.
    pub combined: ItemDefinition,
    pub groups: MaterialGroups,
}

/// Bundle key → (item code, material code) of every material the key stands for.
pub type MaterialGroups = Vec<(String, Vec<(String, String)>)>;

/// The bundle of a life event for this applicant: its published items that serve them. A life
/// event needs at least two such items to be applied for at once.
pub async fn bundle(core: &Core, actor: &Actor, code: &str) -> Result<Bundle, AppError> {
    authorize(core, actor, Permission::PortalMine, code).await?;
    let events = tongban_store::catalogue::life_events(&mut *core.db.conn().await?).await?;
    let event = events.into_iter().find(|e| e.code == code).ok_or(AppError::NotFound)?;
    let mut guides = Vec::new();
    for item in &event.items {
        match applications::applicable(core, actor, item).await {
            Ok(g) if g.def.fully_online => guides.push(g),
            Ok(_) | Err(AppError::NotFound | AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if guides.len() < 2 {
        return Err(AppError::Conflict(format!("「{}」目前没有可一次网上办理的多个事项，请逐项申请", event.name)));
    }
    let (combined, groups) = combine(&event, &guides);
    Ok(Bundle { event, guides, combined, groups })
}

/// The combined form and materials of several items.
fn combine(event: &LifeEvent, guides: &[Guide]) -> (ItemDefinition, MaterialGroups) {
    let first = &guides[0].def;
    let mut fields = Vec::new();
    for g in guides {
        for f in &g.def.form.fields {
            if !fields.iter().any(|x: &tongban_domain::item::Field| x.name == f.name) {
                fields.push(f.clone());
            }
        }
    }
    let mut materials: Vec<Material> = Vec::new();
    let mut groups: MaterialGroups = Vec::new();
    for g in guides {
        for m in &g.def.materials {
            match materials.iter().position(|x| x.name == m.name) {
                Some(i) => {
                    let shared = &mut materials[i];
                    shared.required |= m.required;
                    shared.max_bytes = shared.max_bytes.min(m.max_bytes);
                    shared.accept.retain(|a| m.accept.contains(a));
                    shared.notes = format!("{}、{}", shared.notes, g.def.name);
                    groups[i].1.push((g.def.code.clone(), m.code.clone()));
                }
                None => {
                    let key = format!("B{:02}", materials.len() + 1);
                    let mut shared = m.clone();
                    shared.code = key.clone();
                    shared.notes = format!("用于：{}", g.def.name);
                    materials.push(shared);
                    groups.push((key, vec![(g.def.code.clone(), m.code.clone())]));
                }
            }
        }
    }
    let combined = ItemDefinition {
        code: event.code.clone(),
        name: event.name.clone(),
        item_type: "一件事".into(),
        department: first.department.clone(),
        subjects: first.subjects.clone(),
        legal_days: guides.iter().map(|g| g.def.legal_days).max().unwrap_or(0),
        promised_days: guides.iter().map(|g| g.def.promised_days).max().unwrap_or(0),
        case_kind: CaseKind::Promised,
        visits_required: 0,
        fully_online: true,
        citywide: false,
        sites: Sites::All("all".into()),
        fee: None,
        legal_basis: Vec::new(),
        conditions: Vec::new(),
        process: Vec::new(),
        consult_phone: first.consult_phone.clone(),
        complaint_phone: first.complaint_phone.clone(),
        faq: Vec::new(),
        keywords: Vec::new(),
        materials,
        form: FormSchema { fields },
        life_events: vec![event.code.clone()],
        workflow: None,
        licence_type: None,
    };
    (combined, groups)
}

/// Submits a bundle: every item's form rules apply to the combined answers, every required
/// material must be there once, and one transaction writes the application, its files under
/// each item's own material code, and one case per item.
#[instrument(skip_all, fields(event = %code))]
pub async fn submit(core: &Core, actor: &Actor, code: &str, input: Input) -> Result<Saved, AppError> {
    let b = bundle(core, actor, code).await?;
    let mut problems: Vec<FieldError> = Vec::new();
    let mut clean = serde_json::Map::new();
    for g in &b.guides {
        match g.def.form.validate(&input.values) {
            Ok(values) => clean.extend(values),
            Err(p) => {
                for e in p {
                    if !problems.iter().any(|x| x.field == e.field) {
                        problems.push(e);
                    }
                }
            }
        }
    }
    for m in b.combined.materials.iter().filter(|m| m.required) {
        if !input.uploads.iter().any(|u| u.material_code == m.code) {
            problems.push(FieldError::new(
                &format!("material:{}", m.code),
                "required",
                format!("请上传「{}」", m.name),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    let stored = store_uploads(core, std::slice::from_ref(&b.combined), input.uploads).await?;
    // Each uploaded file stands for every item material of the same name, under its own code.
    let by_key: HashMap<&str, &Vec<(String, String)>> = b.groups.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut files = Vec::new();
    for f in &stored {
        for (item, material) in by_key.get(f.material_code.as_str()).map(|v| v.as_slice()).unwrap_or_default() {
            let mut each = f.clone();
            each.material_code = format!("{item}:{material}");
            files.push(each);
        }
    }
    let defs: Vec<ItemDefinition> = b.guides.iter().map(|g| g.def.clone()).collect();
    let snapshot = serde_json::json!({ "event": b.event.code, "bundle": defs }).to_string();
    submit_in_one_transaction(
        core,
        actor,
        &b,
        &Value::Object(clean).to_string(),
        &snapshot,
        files,
        input.idempotency_key,
    )
    .await
}

/// Writes a checked bundle submission (一件事) in one transaction: the application with the
/// snapshot of every item, its files under each item's material codes, and one case per item.
async fn submit_in_one_transaction(
    core: &Core,
    actor: &Actor,
    b: &Bundle,
    form_data: &str,
    snapshot: &str,
    files: Vec<MaterialFile>,
    idempotency_key: Option<String>,
) -> Result<Saved, AppError> {
    if let Some(key) = &idempotency_key
        && let Some(done) = store::by_idempotency_key(&mut *core.db.conn().await?, actor.user_id, key).await?
    {
        return Ok(Saved { number: done.number, status: done.status, promised_deadline: done.promised_deadline });
    }
    let calendar = super::calendar::load(core).await?;
    let now = core.clock.now_ms();
    let deadline = calendar.add_working_days(crate::clock::day_of(now), b.combined.promised_days);
    let first = &b.guides[0];
    let form_data = &core.cipher.encrypt(form_data);
    let mut tx = core.db.begin().await?;
    let number = insert_with_fresh_number(&mut tx, actor, first, form_data, now).await?;
    let row = store::by_number(&mut tx, &number).await?.ok_or(AppError::NotFound)?;
    store::set_bundle(&mut tx, row.id, &b.event.code).await?;
    attach_files(&mut tx, row.id, &files).await?;
    let submission = Submission {
        form_data,
        snapshot,
        idempotency_key: idempotency_key.as_deref(),
        promised_deadline: deadline,
        now,
    };
    match store::submit(&mut tx, row.id, &submission).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::Conflict("该申请已提交，请勿重复提交".into())),
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let key = idempotency_key.unwrap_or_default();
            let done = store::by_idempotency_key(&mut *core.db.conn().await?, actor.user_id, &key)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok(Saved { number: done.number, status: done.status, promised_deadline: done.promised_deadline });
        }
        Err(e) => return Err(e.into()),
    }
    store::add_event(&mut tx, row.id, "submitted", &actor.display_name, &format!("一件事：{}", b.event.name), now)
        .await?;
    let opening = super::cases::Opening {
        application_id: row.id,
        applicant_id: actor.user_id,
        applicant_name: &actor.display_name,
        site_id: 0,
        items: b.guides.iter().map(|g| (g.row.id, g.row.department.id, &g.def)).collect(),
        now,
    };
    super::cases::open_in(&mut tx, core, &opening, &calendar).await?;
    store::set_status(&mut tx, row.id, "processing", now).await?;
    audit_in(&mut tx, &core.clock, actor, "application.submit", &number, Outcome::Success, &b.event.code).await?;
    tx.commit().await?;
    Ok(Saved { number, status: "processing".into(), promised_deadline: Some(deadline) })
}
