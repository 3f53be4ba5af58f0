//! Portal pages of online applications: the application form rendered from the item's schema
//! (drafts resume, materials upload, licences picked instead of papers) and its submission.

use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::{FormErrors, settle};
use crate::kit::params::Ref;
use crate::kit::registry::Access::Perm;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::kit::upload::{licence_picks, read_multipart};
use crate::{AppState, Routes};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Map, Value};
use tongban_app::applications::{self, Input, View, human_size};
use tongban_app::catalogue::Guide;
use tongban_app::clock;
use tongban_app::views::MaterialFile;
use tongban_domain::item::{Field, FieldType, ItemDefinition, Material};
use tongban_domain::permission::Permission as P;
use tongban_domain::reference::ItemCode;

pub fn routes(r: Routes) -> Routes {
    r.get("/apply/{code}", Perm(P::PortalMine), apply_page).post_upload(
        "/apply/{code}",
        Perm(P::PortalMine),
        apply_submit,
    )
}

/// Answers from `f.<field>` and `f.<table>.<row>.<column>` form names.
pub(crate) fn answers(def: &ItemDefinition, text: &[(String, String)]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in &def.form.fields {
        if f.kind == FieldType::Table {
            let mut rows: Vec<Map<String, Value>> = Vec::new();
            for (k, v) in text {
                let Some(rest) = k.strip_prefix(&format!("f.{}.", f.name)) else {
                    continue;
                };
                let Some((row, col)) = rest.split_once('.') else {
                    continue;
                };
                let Ok(row) = row.parse::<usize>() else { continue };
                if row >= 50 || v.trim().is_empty() {
                    continue;
                }
                while rows.len() <= row {
                    rows.push(Map::new());
                }
                rows[row].insert(col.to_owned(), Value::String(v.clone()));
            }
            let rows: Vec<Value> = rows.into_iter().filter(|r| !r.is_empty()).map(Value::Object).collect();
            if !rows.is_empty() {
                out.insert(f.name.clone(), Value::Array(rows));
            }
        } else if let Some((_, v)) = text.iter().find(|(k, _)| k == &format!("f.{}", f.name)) {
            // A ticked box posts "on"; the schema speaks of true.
            let v = if f.kind == FieldType::Checkbox {
                Value::Bool(v == "on" || v == "true")
            } else {
                Value::String(v.clone())
            };
            out.insert(f.name.clone(), v);
        }
    }
    out
}

/// One field as the template draws it.
pub struct FieldView {
    pub field: Field,
    pub value: String,
    pub rows: Vec<Vec<(String, String, String)>>,
    pub input_type: &'static str,
    pub inputmode: &'static str,
    pub condition: String,
}

fn field_views(def: &ItemDefinition, values: &Map<String, Value>) -> Vec<FieldView> {
    def.form
        .fields
        .iter()
        .map(|f| {
            let value = match values.get(&f.name) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(true)) => "on".to_owned(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let existing: Vec<Map<String, Value>> = match values.get(&f.name) {
                Some(Value::Array(rows)) => rows.iter().filter_map(|r| r.as_object().cloned()).collect(),
                _ => Vec::new(),
            };
            let row_count = if f.kind == FieldType::Table { existing.len() + 2 } else { 0 };
            let rows = (0..row_count)
                .map(|i| {
                    f.columns
                        .iter()
                        .map(|c| {
                            let v = existing
                                .get(i)
                                .and_then(|r| r.get(&c.name))
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned();
                            (format!("f.{}.{}.{}", f.name, i, c.name), c.label.clone(), v)
                        })
                        .collect()
                })
                .collect();
            let (input_type, inputmode) = match f.kind {
                FieldType::Phone => ("tel", "tel"),
                FieldType::Email => ("email", "email"),
                FieldType::Number => ("text", "decimal"),
                FieldType::Date => ("date", ""),
                FieldType::IdNumber => ("text", ""),
                _ => ("text", ""),
            };
            let condition = f
                .show_if
                .as_ref()
                .and_then(|c| {
                    def.form
                        .fields
                        .iter()
                        .find(|o| o.name == c.field)
                        .map(|o| format!("仅当“{}”为“{}”时填写", o.label, c.equals))
                })
                .unwrap_or_default();
            FieldView { field: f.clone(), value, rows, input_type, inputmode, condition }
        })
        .collect()
}

pub struct MaterialView {
    pub material: Material,
    pub accept: String,
    pub limit: String,
    pub held: Vec<MaterialFile>,
    /// The applicant's valid licences that can replace this material: (identifier, label).
    pub licences: Vec<(String, String)>,
    /// The identifier of the licence picked for it in the draft, or "".
    pub picked: String,
}

/// The applicant's licences usable per material, and the draft's picks (两个免于提交).
#[derive(Default)]
struct LicenceChoices {
    usable: Vec<(String, Vec<tongban_app::views::LicenceRow>)>,
    picked: Vec<(String, String)>,
}

async fn licence_choices(
    state: &AppState,
    user: &CurrentUser,
    def: &ItemDefinition,
    draft: Option<&View>,
) -> Result<LicenceChoices, WebError> {
    let usable = tongban_app::licences::usable_for(&state.core, &user.actor, def).await?;
    let picked = match draft {
        Some(v) => tongban_app::licences::used_in_application(&state.core, v.row.id)
            .await?
            .into_iter()
            .map(|u| (u.material_code, u.identifier))
            .collect(),
        None => Vec::new(),
    };
    Ok(LicenceChoices { usable, picked })
}

fn material_views(def: &ItemDefinition, held: &[MaterialFile], choices: &LicenceChoices) -> Vec<MaterialView> {
    def.materials
        .iter()
        .map(|m| MaterialView {
            accept: m.accept.join(","),
            limit: human_size(m.max_bytes),
            held: held.iter().filter(|h| h.material_code == m.code).cloned().collect(),
            licences: choices
                .usable
                .iter()
                .filter(|(code, _)| *code == m.code)
                .flat_map(|(_, rows)| {
                    rows.iter().map(|r| (r.identifier.clone(), format!("{}（编号 {}）", r.type_name, r.number)))
                })
                .collect(),
            picked: choices
                .picked
                .iter()
                .find(|(code, _)| *code == m.code)
                .map(|(_, id)| id.clone())
                .unwrap_or_default(),
            material: m.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal/apply.html")]
pub(crate) struct ApplyPage {
    shell: Shell,
    g: Guide,
    fields: Vec<FieldView>,
    materials: Vec<MaterialView>,
    errors: FormErrors,
    draft: Option<(String, String)>,
    saved: bool,
    /// A fresh key per rendered form: a double-clicked or resent submission is recognised and
    /// answered with the first application instead of making a second one.
    form_key: String,
    /// Window intake (帮办): the sealed applicant (see `app::applications::WalkIn`), their name
    /// and masked ID number.
    assisted: Option<(String, String, String)>,
    /// A one-thing bundle (一件事): the names of its items and their departments.
    bundle: Option<Vec<(String, String)>>,
}

impl ApplyPage {
    fn accept_labels(&self, accept: &str) -> String {
        accept
            .split(',')
            .map(|a| match a {
                "application/pdf" => "PDF",
                "image/jpeg" => "JPG",
                "image/png" => "PNG",
                _ => "",
            })
            .collect::<Vec<_>>()
            .join("、")
    }

    fn size(&self, bytes: &i64) -> String {
        human_size(*bytes as u64)
    }

    fn action(&self) -> String {
        match (&self.assisted, &self.bundle) {
            (Some(_), _) => format!("/hall/intake/{}", self.g.row.code),
            (None, Some(_)) => format!("/events/{}/apply", self.g.def.code),
            (None, None) => format!("/apply/{}", self.g.row.code),
        }
    }
}

/// Values to start a fresh form with: the applicant's own details where a field asks for them.
/// For window intake (`assisted`) the stored phone number is not shown to the staff member: the
/// applicant tells it (phones are masked on every staff screen).
pub(crate) async fn prefill(
    state: &AppState,
    user_id: i64,
    def: &ItemDefinition,
    assisted: bool,
) -> Result<Map<String, Value>, WebError> {
    Ok(tongban_app::views::prefill(&state.core, user_id, def, assisted).await?)
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn apply_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    let g = applications::applicable(&state.core, &user.actor, &code).await?;
    let draft = applications::draft(&state.core, &user.actor, &g).await?;
    let choices = licence_choices(&state, &user, &g.def, draft.as_ref()).await?;
    let (values, held, draft_info) = match draft {
        Some(v) => {
            (v.values.clone(), v.materials.clone(), Some((v.row.number.clone(), clock::display(v.row.updated_at))))
        }
        None => (prefill(&state, user.actor.user_id, &g.def, false).await?, Vec::new(), None),
    };
    let page = ApplyPage {
        shell,
        fields: field_views(&g.def, &values),
        materials: material_views(&g.def, &held, &choices),
        g,
        errors: FormErrors::default(),
        draft: draft_info,
        saved: q.saved.is_some(),
        form_key: tongban_crypto::random_token(),
        assisted: None,
        bundle: None,
    };
    Ok(render(&page))
}

async fn apply_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    multipart: Multipart,
) -> WebResult {
    let parts = read_multipart(multipart).await?;
    let g = applications::applicable(&state.core, &user.actor, &code).await?;
    let submit = parts.text.iter().any(|(k, v)| k == "action" && v == "submit");
    let values = answers(&g.def, &parts.text);
    let form_key = parts
        .text
        .iter()
        .find(|(k, _)| k == "idempotency_key")
        .map(|(_, v)| v.clone())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .unwrap_or_else(tongban_crypto::random_token);
    let input = Input {
        values: values.clone(),
        uploads: parts.uploads,
        idempotency_key: submit.then(|| format!("form:{form_key}")),
        licences: licence_picks(&parts.text),
    };
    let result = applications::save(&state.core, &user.actor, &code, input, submit, true).await;
    let done = |saved: applications::Saved| match submit {
        true => crate::kit::forms::redirect(&format!("/my/applications/{}?submitted=1", saved.number)),
        false => crate::kit::forms::redirect(&format!("/apply/{code}?saved=1")),
    };
    settle(result, done, async |errors| {
        let draft = applications::draft(&state.core, &user.actor, &g).await?;
        let held = draft.as_ref().map(|d| d.materials.clone()).unwrap_or_default();
        let choices = licence_choices(&state, &user, &g.def, draft.as_ref()).await?;
        Ok(ApplyPage {
            shell,
            fields: field_views(&g.def, &values),
            materials: material_views(&g.def, &held, &choices),
            draft: draft.map(|d| (d.row.number.clone(), clock::display(d.row.updated_at))),
            g,
            errors,
            saved: false,
            form_key,
            assisted: None,
            bundle: None,
        })
    })
    .await
}

/// A fresh form page for window intake or a bundle (no draft, no licence picks).
pub(crate) fn form_page(
    shell: Shell,
    g: tongban_app::catalogue::Guide,
    values: &Map<String, Value>,
    errors: FormErrors,
    form_key: String,
    assisted: Option<(String, String, String)>,
    bundle: Option<Vec<(String, String)>>,
) -> ApplyPage {
    ApplyPage {
        shell,
        fields: field_views(&g.def, values),
        materials: material_views(&g.def, &[], &LicenceChoices::default()),
        g,
        errors,
        draft: None,
        saved: false,
        form_key,
        assisted,
        bundle,
    }
}

/// Field labels with the answers given, in form order (tables summarised per row). The values
/// come masked from the use case unless a full view was asked for (and audited) there.
pub fn answer_list(def: &ItemDefinition, values: &Map<String, Value>) -> Vec<(String, String)> {
    def.form
        .fields
        .iter()
        .filter_map(|f| {
            let v = values.get(&f.name)?;
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(true) => "是".to_owned(),
                Value::Number(n) => n.to_string(),
                Value::Array(rows) => rows
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|r| {
                        f.columns
                            .iter()
                            .filter_map(|c| r.get(&c.name).and_then(Value::as_str).map(|v| format!("{}：{v}", c.label)))
                            .collect::<Vec<_>>()
                            .join("，")
                    })
                    .collect::<Vec<_>>()
                    .join("；"),
                _ => return None,
            };
            Some((f.label.clone(), text))
        })
        .collect()
}
