//! The licence administrators' pages: licence types (/admin/licence-types), all licences with
//! issuing by hand, import and change (/admin/licences), and API clients of other departments'
//! systems (/admin/api-clients).

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use tongban_domain::permission::Permission as P;

use crate::kit::badges::status_tag;
use crate::kit::error::WebResult;
use crate::kit::forms::{FormErrors, settle, value, values};
use crate::kit::shell::{CurrentUser, Shell, render, render_status};
use crate::office::licences::{ListQuery, staff_list};
use crate::{AppState, Routes};
use tongban_app::licences::{
    self, HandIssue, Imported, RowReport, SCOPES, TEMPLATES, TypeForm, TypeView, Verification,
};
use tongban_app::views::{Department, LicenceRow};
use tongban_app::{AppError, authorize};
use tongban_domain::permission::Permission;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/licence-types", Perm(P::LicenceManage), types_list)
        .get("/admin/licence-types/new", Perm(P::LicenceManage), type_new_page)
        .post("/admin/licence-types/new", Perm(P::LicenceManage), type_new_submit)
        .get("/admin/licence-types/{code}", Perm(P::LicenceManage), type_edit_page)
        .post("/admin/licence-types/{code}", Perm(P::LicenceManage), type_edit_submit)
        .get("/admin/licences", Perm(P::LicenceManage), admin_list)
        .get("/admin/licences/issue", Perm(P::LicenceManage), issue_page)
        .post("/admin/licences/issue", Perm(P::LicenceManage), issue_submit)
        .get("/admin/licences/import", Perm(P::LicenceManage), import_page)
        .post_upload("/admin/licences/import", Perm(P::LicenceManage), import_submit)
        .get("/admin/licences/{identifier}", Perm(P::LicenceManage), change_page)
        .post("/admin/licences/{identifier}/change", Perm(P::LicenceManage), change_submit)
        .get("/admin/api-clients/new", Perm(P::LicenceManage), client_page)
        .post("/admin/api-clients/new", Perm(P::LicenceManage), client_submit)
}

/// The face fields of a posted form (`face.<name>` inputs).
fn face_of_form(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs.iter().filter_map(|(k, v)| Some((k.strip_prefix("face.")?.to_owned(), Value::String(v.clone())))).collect()
}

// ---------------------------------------------------------------------------------------------
// Public verification

// ---------------------------------------------------------------------------------------------
// The holder's wallet

// ---------------------------------------------------------------------------------------------
// Staff: the issuing department's licences and their lifecycle

async fn admin_list(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> WebResult {
    authorize(&state.core, &user.actor, Permission::LicenceManage, "licences").await?;
    staff_list(&state, shell, &user, q, true).await
}

// ---------------------------------------------------------------------------------------------
// Administrators: the licence catalogue

#[derive(Template)]
#[template(path = "admin/licence_types.html")]
struct TypesPage {
    shell: Shell,
    types: Vec<TypeView>,
}

async fn types_list(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let types = licences::list_types(&state.core, &user.actor).await?;
    Ok(render(&TypesPage { shell, types }))
}

#[derive(Template)]
#[template(path = "admin/licence_type_form.html")]
struct TypeFormPage {
    shell: Shell,
    form: TypeForm,
    existing: bool,
    departments: Vec<Department>,
    templates: &'static [(&'static str, &'static str)],
    errors: FormErrors,
    saved: bool,
}

impl TypeFormPage {
    fn action(&self) -> String {
        if self.existing {
            format!("/admin/licence-types/{}", self.form.code)
        } else {
            "/admin/licence-types/new".into()
        }
    }

    fn years(&self) -> String {
        self.form.validity.strip_prefix("years:").unwrap_or_default().to_owned()
    }
}

fn type_form(pairs: &[(String, String)], code: Option<&str>) -> TypeForm {
    let validity = match value(pairs, "validity_kind").as_str() {
        "permanent" => "permanent".to_owned(),
        _ => format!("years:{}", value(pairs, "validity_years").trim()),
    };
    TypeForm {
        code: code.map_or_else(|| value(pairs, "code").trim().to_ascii_uppercase(), str::to_owned),
        catalog_code: value(pairs, "catalog_code").trim().to_ascii_uppercase(),
        name: value(pairs, "name"),
        department: value(pairs, "department"),
        holder_kind: value(pairs, "holder_kind"),
        face_fields: value(pairs, "face_fields"),
        validity,
        template: value(pairs, "template"),
        public: value(pairs, "public") == "on",
    }
}

async fn type_new_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    authorize(&state.core, &user.actor, Permission::LicenceManage, "licence_types").await?;
    let form = TypeForm {
        holder_kind: "person".into(),
        validity: "permanent".into(),
        template: "standard".into(),
        public: true,
        face_fields: "holder_name|持证人|必填".into(),
        ..Default::default()
    };
    let departments = licences::departments(&state.core).await?;
    Ok(render(&TypeFormPage {
        shell,
        form,
        existing: false,
        departments,
        templates: TEMPLATES,
        errors: FormErrors::default(),
        saved: false,
    }))
}

async fn type_save(state: &AppState, shell: Shell, user: &CurrentUser, form: TypeForm, existing: bool) -> WebResult {
    let result = licences::save_type(&state.core, &user.actor, &form, existing).await;
    let done = |()| crate::kit::forms::redirect(&format!("/admin/licence-types/{}?saved=1", form.code));
    settle(result, done, async |errors| {
        let departments = licences::departments(&state.core).await?;
        Ok(TypeFormPage {
            shell,
            form: form.clone(),
            existing,
            departments,
            templates: TEMPLATES,
            errors,
            saved: false,
        })
    })
    .await
}

async fn type_new_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    type_save(&state, shell, &user, type_form(&pairs, None), false).await
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn type_edit_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(code): Path<String>,
    Query(q): Query<SavedQuery>,
) -> WebResult {
    let t = licences::type_for_admin(&state.core, &user.actor, &code).await?;
    let form = TypeForm {
        face_fields: licences::face_fields_text(&t.face_fields),
        validity: t.validity.name(),
        code: t.row.code,
        catalog_code: t.row.catalog_code,
        name: t.row.name,
        department: t.row.department.code,
        holder_kind: t.row.holder_kind,
        template: t.row.template,
        public: t.row.public,
    };
    let departments = licences::departments(&state.core).await?;
    Ok(render(&TypeFormPage {
        shell,
        form,
        existing: true,
        departments,
        templates: TEMPLATES,
        errors: FormErrors::default(),
        saved: q.saved.is_some(),
    }))
}

async fn type_edit_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let mut form = type_form(&pairs, Some(&code));
    // The catalogue code is part of every issued identifier: it never changes.
    let t = licences::type_for_admin(&state.core, &user.actor, &code).await?;
    form.catalog_code = t.row.catalog_code;
    type_save(&state, shell, &user, form, true).await
}

// ---------------------------------------------------------------------------------------------
// Administrators: issuing by hand and importing

#[derive(Template)]
#[template(path = "admin/licence_issue.html")]
struct IssuePage {
    shell: Shell,
    types: Vec<TypeView>,
    chosen: Option<TypeView>,
    holder: String,
    face: Map<String, Value>,
    errors: FormErrors,
    issued: Option<String>,
}

impl IssuePage {
    fn face_value(&self, name: &str) -> String {
        self.face.get(name).and_then(Value::as_str).unwrap_or_default().to_owned()
    }

    fn face_key(&self, name: &str) -> String {
        format!("face.{name}")
    }
}

#[derive(Deserialize, Default)]
struct IssueQuery {
    #[serde(default)]
    licence_type: String,
    issued: Option<String>,
}

async fn issue_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<IssueQuery>,
) -> WebResult {
    let types = licences::list_types(&state.core, &user.actor).await?;
    let chosen = types.iter().find(|t| t.row.code == q.licence_type).cloned();
    Ok(render(&IssuePage {
        shell,
        types,
        chosen,
        holder: String::new(),
        face: Map::new(),
        errors: FormErrors::default(),
        issued: q.issued,
    }))
}

async fn issue_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let face = face_of_form(&pairs);
    let req = HandIssue {
        licence_type: value(&pairs, "licence_type"),
        holder: value(&pairs, "holder"),
        face: face.clone(),
        valid_from: None,
    };
    let result = licences::issue_by_hand(&state.core, &user.actor, &req).await;
    let done = |issued: licences::Issued| {
        let query = [("licence_type", req.licence_type.as_str()), ("issued", &issued.identifier)];
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        crate::kit::forms::redirect(&format!("/admin/licences/issue?{query}"))
    };
    settle(result, done, async |errors| {
        let types = licences::list_types(&state.core, &user.actor).await?;
        let chosen = types.iter().find(|t| t.row.code == req.licence_type).cloned();
        Ok(IssuePage { shell, types, chosen, holder: req.holder.clone(), face, errors, issued: None })
    })
    .await
}

#[derive(Template)]
#[template(path = "admin/licence_import.html")]
struct ImportPage {
    shell: Shell,
    errors: FormErrors,
    report: Vec<RowReport>,
    rows: usize,
    done: Option<usize>,
    columns: &'static [&'static str],
}

impl ImportPage {
    fn action(&self) -> String {
        "/admin/licences/import".to_owned()
    }

    fn new(shell: Shell) -> Self {
        ImportPage {
            shell,
            errors: FormErrors::default(),
            report: Vec::new(),
            rows: 0,
            done: None,
            columns: licences::IMPORT_COLUMNS,
        }
    }
}

async fn import_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    authorize(&state.core, &user.actor, Permission::LicenceManage, "licence_import").await?;
    Ok(render(&ImportPage::new(shell)))
}

async fn import_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    multipart: Multipart,
) -> WebResult {
    authorize(&state.core, &user.actor, Permission::LicenceManage, "licence_import").await?;
    let Some(bytes) = crate::kit::upload::read_multipart_files(multipart, "file").await? else {
        let page = ImportPage {
            errors: FormErrors::single("file", "required", "请选择要导入的 XLSX 文件"),
            ..ImportPage::new(shell)
        };
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    match licences::import(&state.core, &user.actor, &bytes).await {
        Ok(Imported::Done { licences }) => Ok(render(&ImportPage { done: Some(licences), ..ImportPage::new(shell) })),
        Ok(Imported::Rejected { rows, report }) => {
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &ImportPage { rows, report, ..ImportPage::new(shell) }))
        }
        Err(AppError::Invalid(problems)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ImportPage { errors: FormErrors(problems), ..ImportPage::new(shell) },
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/licence_change.html")]
struct ChangePage {
    shell: Shell,
    row: LicenceRow,
    v: Verification,
    ty: TypeView,
    face: Map<String, Value>,
    reason: String,
    errors: FormErrors,
    changed: Option<String>,
}

impl ChangePage {
    fn tag(&self) -> &'static str {
        status_tag(&self.v.status)
    }

    fn face_value(&self, name: &str) -> String {
        self.face.get(name).and_then(Value::as_str).unwrap_or_default().to_owned()
    }

    fn face_key(&self, name: &str) -> String {
        format!("face.{name}")
    }
}

#[derive(Deserialize, Default)]
struct ChangedQuery {
    changed: Option<String>,
}

async fn change_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Query(q): Query<ChangedQuery>,
) -> WebResult {
    let (row, v, ty, face) = licences::for_change(&state.core, &user.actor, &identifier).await?;
    let page = ChangePage {
        shell,
        row,
        v,
        ty,
        face,
        reason: String::new(),
        errors: FormErrors::default(),
        changed: q.changed,
    };
    Ok(render(&page))
}

async fn change_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let face = face_of_form(&pairs);
    let reason = value(&pairs, "reason");
    let result = licences::change(&state.core, &user.actor, &identifier, &face, &reason).await;
    let done = |issued: licences::Issued| {
        let query = serde_urlencoded::to_string([("changed", identifier.as_str())]).unwrap_or_default();
        crate::kit::forms::redirect(&format!("/admin/licences/{}?{query}", issued.identifier))
    };
    settle(result, done, async |errors| {
        let (row, v, ty, _) = licences::for_change(&state.core, &user.actor, &identifier).await?;
        Ok(ChangePage { shell, row, v, ty, face, reason, errors, changed: None })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Administrators: API clients of other departments' systems

#[derive(Template)]
#[template(path = "admin/api_client.html")]
struct ClientPage {
    shell: Shell,
    departments: Vec<Department>,
    scopes: &'static [(&'static str, &'static str)],
    client_name: String,
    department: String,
    chosen: Vec<String>,
    errors: FormErrors,
    created: Option<(String, String)>,
}

async fn client_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    authorize(&state.core, &user.actor, Permission::LicenceManage, "api_clients").await?;
    let departments = licences::departments(&state.core).await?;
    Ok(render(&ClientPage {
        shell,
        departments,
        scopes: SCOPES,
        client_name: String::new(),
        department: String::new(),
        chosen: vec!["licence.verify".into()],
        errors: FormErrors::default(),
        created: None,
    }))
}

async fn client_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let name = value(&pairs, "name");
    let department = value(&pairs, "department");
    let chosen = values(&pairs, "scopes");
    let result = licences::create_client(&state.core, &user.actor, &name, &department, &chosen).await;
    let departments = licences::departments(&state.core).await?;
    let (errors, created, status) = match result {
        Ok(pair) => (FormErrors::default(), Some(pair), StatusCode::OK),
        Err(AppError::Invalid(problems)) => (FormErrors(problems), None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => return Err(e.into()),
    };
    let page =
        ClientPage { shell, departments, scopes: SCOPES, client_name: name, department, chosen, errors, created };
    Ok(render_status(status, &page))
}
