//! One-thing bundles (一件事一次办): a life event combines several items into one application —
//! one combined form (fields by name), one set of materials (same-named materials uploaded once),
//! one submission that opens one case per item at each department, one progress view.

use std::collections::HashMap;

use serde_json::Value;
use tracing::instrument;

use super::applications::{self, Input, Saved};
use super::catalogue::Guide;
use super::{Actor, AppError, Core, FieldError, authorize};
use tongban_domain::item::{CaseKind, FormSchema, ItemDefinition, Material, Sites};
use tongban_domain::permission::Permission;
use tongban_store::catalogue::LifeEvent;

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
    let stored = applications::store_uploads(core, std::slice::from_ref(&b.combined), input.uploads).await?;
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
    applications::submit_bundle(
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
