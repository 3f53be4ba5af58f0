//! Licence pages: public verification (/verify), the holder's wallet (/my/licences), the issuing
//! department's lifecycle actions (/office/licences) and the licence administrators' pages
//! (/admin/licence-types, /admin/licences, /admin/api-clients).

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{WebError, WebResult};
use super::forms::{FormErrors, Pager, page_number, settle, value, values};
use super::shell::{CurrentUser, Shell, render, render_status};
use super::{AppState, Routes};
use crate::app::licences::{
    self, HandIssue, Imported, Lifecycle, MyLicence, RowReport, SCOPES, TEMPLATES, TypeForm, TypeView, Verification,
};
use crate::app::{AppError, authorize};
use crate::clock;
use crate::domain::licence::LicenceStatus;
use crate::domain::permission::Permission;
use crate::store::licences::{Filter, LicenceRow, UseRow};
use crate::store::org::Department;

pub fn routes(r: Routes) -> Routes {
    r.get("/verify", verify_page)
        .get("/verify/{identifier}", verify_result)
        .get("/my/licences", wallet)
        .get("/my/licences/{identifier}", my_licence)
        .post("/my/licences/{identifier}/grant", grant)
        .get("/office/licences", office_list)
        .get("/office/licences/{identifier}", office_detail)
        .post("/office/licences/{identifier}/status", office_status)
        .get("/admin/licence-types", types_list)
        .get("/admin/licence-types/new", type_new_page)
        .post("/admin/licence-types/new", type_new_submit)
        .get("/admin/licence-types/{code}", type_edit_page)
        .post("/admin/licence-types/{code}", type_edit_submit)
        .get("/admin/licences", admin_list)
        .get("/admin/licences/issue", issue_page)
        .post("/admin/licences/issue", issue_submit)
        .get("/admin/licences/import", import_page)
        .post_upload("/admin/licences/import", import_submit)
        .get("/admin/licences/{identifier}", change_page)
        .post("/admin/licences/{identifier}/change", change_submit)
        .get("/admin/api-clients/new", client_page)
        .post("/admin/api-clients/new", client_submit)
}

/// `https://host` of this request, for the QR code's absolute link.
fn site_base(headers: &HeaderMap, secure: bool) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(*c)).collect();
    format!("{}://{host}", if secure { "https" } else { "http" })
}

/// An inline SVG QR code for `text` (no script, no external image), named for screen readers.
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else { return String::new() };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Inline in HTML: no XML declaration; an image role with a name.
    let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
    svg.replacen("<svg ", "<svg role=\"img\" aria-label=\"核验二维码：扫码打开本证照的核验页面\" ", 1)
}

/// The face fields of a posted form (`face.<name>` inputs).
fn face_of_form(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs.iter().filter_map(|(k, v)| Some((k.strip_prefix("face.")?.to_owned(), Value::String(v.clone())))).collect()
}

fn status_tag(s: &LicenceStatus) -> &'static str {
    if *s == LicenceStatus::Valid { "ok" } else { "bad" }
}

// ---------------------------------------------------------------------------------------------
// Public verification

#[derive(Template)]
#[template(path = "licences/verify.html")]
struct VerifyPage {
    shell: Shell,
    identifier: String,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
struct VerifyQuery {
    identifier: Option<String>,
}

async fn verify_page(shell: Shell, Query(q): Query<VerifyQuery>) -> Response {
    let Some(raw) = q.identifier else {
        return render(&VerifyPage { shell, identifier: String::new(), errors: FormErrors::default() });
    };
    match licences::parse_identifier(&raw) {
        Ok(id) => super::forms::redirect(&format!("/verify/{id}")),
        Err(AppError::Invalid(problems)) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &VerifyPage { shell, identifier: raw, errors: FormErrors(problems) },
        ),
        Err(e) => WebError(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "licences/verified.html")]
struct VerifiedPage {
    shell: Shell,
    v: Verification,
}

impl VerifiedPage {
    fn tag(&self) -> &'static str {
        status_tag(&self.v.status)
    }
}

#[derive(Template)]
#[template(path = "licences/not_found.html")]
struct NotFoundPage {
    shell: Shell,
    identifier: String,
}

async fn verify_result(State(state): State<AppState>, shell: Shell, Path(identifier): Path<String>) -> WebResult {
    match licences::verify_identifier(&state.core, &identifier).await {
        Ok(v) => Ok(render(&VerifiedPage { shell, v })),
        Err(AppError::NotFound) => Ok(render_status(StatusCode::NOT_FOUND, &NotFoundPage { shell, identifier })),
        Err(AppError::Invalid(problems)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &VerifyPage { shell, identifier, errors: FormErrors(problems) },
        )),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The holder's wallet

#[derive(Template)]
#[template(path = "licences/wallet.html")]
struct WalletPage {
    shell: Shell,
    rows: Vec<(LicenceRow, LicenceStatus)>,
    uses: Vec<UseRow>,
}

impl WalletPage {
    fn tag(&self, s: &LicenceStatus) -> &'static str {
        status_tag(s)
    }

    fn at(&self, ms: &i64) -> String {
        clock::display(*ms)
    }
}

async fn wallet(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let rows = licences::wallet(&state.core, &user.actor).await?;
    let uses = licences::use_log(&state.core, &user.actor).await?;
    Ok(render(&WalletPage { shell, rows, uses }))
}

#[derive(Template)]
#[template(path = "licences/mine.html")]
struct MinePage {
    shell: Shell,
    l: MyLicence,
    qr: String,
    verify_url: String,
    departments: Vec<Department>,
    errors: FormErrors,
    granted: bool,
}

impl MinePage {
    fn tag(&self) -> &'static str {
        status_tag(&self.l.verification.status)
    }

    fn at(&self, ms: &i64) -> String {
        clock::display(*ms)
    }

    fn grant_action(&self) -> String {
        format!("/my/licences/{}/grant", self.l.row.identifier)
    }
}

#[derive(Deserialize, Default)]
struct GrantedQuery {
    granted: Option<String>,
}

async fn mine_page(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    headers: &HeaderMap,
    identifier: &str,
    errors: FormErrors,
    granted: bool,
) -> Result<MinePage, WebError> {
    let l = licences::my_licence(&state.core, &user.actor, identifier).await?;
    let verify_url = format!("{}/verify/{}", site_base(headers, state.settings.secure_cookies), l.row.identifier);
    let departments = licences::departments(&state.core).await?;
    Ok(MinePage { shell, qr: qr_svg(&verify_url), verify_url, l, departments, errors, granted })
}

async fn my_licence(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Query(q): Query<GrantedQuery>,
) -> WebResult {
    let page =
        mine_page(&state, shell, &user, &headers, &identifier, FormErrors::default(), q.granted.is_some()).await?;
    Ok(render(&page))
}

async fn grant(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let result =
        licences::grant(&state.core, &user.actor, &identifier, &value(&pairs, "department"), &value(&pairs, "purpose"))
            .await;
    let done = |()| super::forms::redirect(&format!("/my/licences/{identifier}?granted=1"));
    settle(result, done, async |errors| mine_page(&state, shell, &user, &headers, &identifier, errors, false).await)
        .await
}

// ---------------------------------------------------------------------------------------------
// Staff: the issuing department's licences and their lifecycle

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    licence_type: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "licences/staff_list.html")]
struct StaffListPage {
    shell: Shell,
    title: &'static str,
    base: &'static str,
    admin: bool,
    rows: Vec<(LicenceRow, LicenceStatus)>,
    q: ListQuery,
    statuses: Vec<LicenceStatus>,
    pager: Pager,
}

impl StaffListPage {
    fn tag(&self, s: &LicenceStatus) -> &'static str {
        status_tag(s)
    }
}

async fn staff_list(state: &AppState, shell: Shell, user: &CurrentUser, q: ListQuery, admin: bool) -> WebResult {
    let page = page_number(&q.page);
    let filter = Filter {
        issuer_id: None,
        type_code: q.licence_type.clone(),
        status: q.status.clone(),
        offset: (page - 1) * 20,
        limit: 20,
    };
    let (total, rows) = licences::list_for_staff(&state.core, &user.actor, &filter).await?;
    let base = if admin { "/admin/licences" } else { "/office/licences" };
    let pager = Pager::new(base, &[("licence_type", &q.licence_type), ("status", &q.status)], page, 20, total);
    let title = if admin { "电子证照" } else { "本部门签发的证照" };
    Ok(render(&StaffListPage { shell, title, base, admin, rows, q, statuses: LicenceStatus::ALL.to_vec(), pager }))
}

async fn office_list(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> WebResult {
    staff_list(&state, shell, &user, q, false).await
}

async fn admin_list(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> WebResult {
    authorize(&state.core, &user.actor, Permission::LicenceManage, "licences").await?;
    staff_list(&state, shell, &user, q, true).await
}

#[derive(Template)]
#[template(path = "licences/staff_detail.html")]
struct StaffDetailPage {
    shell: Shell,
    row: LicenceRow,
    v: Verification,
    errors: FormErrors,
    done: Option<String>,
}

impl StaffDetailPage {
    fn tag(&self) -> &'static str {
        status_tag(&self.v.status)
    }

    fn can(&self, action: &str) -> bool {
        Lifecycle::parse(action).is_some_and(|a| match a {
            Lifecycle::Restore => self.v.status == LicenceStatus::Suspended,
            Lifecycle::Suspend => self.v.status == LicenceStatus::Valid,
            Lifecycle::Revoke | Lifecycle::Cancel => {
                matches!(self.v.status, LicenceStatus::Valid | LicenceStatus::Suspended)
            }
        })
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

async fn office_detail(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let (row, v) = licences::for_staff(&state.core, &user.actor, &identifier).await?;
    let done = q.done.and_then(|d| Lifecycle::parse(&d)).map(|a| format!("已{}", a.label()));
    Ok(render(&StaffDetailPage { shell, row, v, errors: FormErrors::default(), done }))
}

async fn office_status(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let action_name = value(&pairs, "action");
    let Some(action) = Lifecycle::parse(&action_name) else {
        return Err(AppError::Invalid(vec![crate::app::FieldError::new("action", "invalid", "请选择操作")]).into());
    };
    let result = licences::change_status(&state.core, &user.actor, &identifier, action, &value(&pairs, "reason")).await;
    let done = |v: licences::Verification| {
        super::forms::redirect(&format!("/office/licences/{}?done={action_name}", v.identifier))
    };
    settle(result, done, async |errors| {
        let (row, v) = licences::for_staff(&state.core, &user.actor, &identifier).await?;
        Ok(StaffDetailPage { shell, row, v, errors, done: None })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Administrators: the licence catalogue

#[derive(Template)]
#[template(path = "licences/types.html")]
struct TypesPage {
    shell: Shell,
    types: Vec<TypeView>,
}

async fn types_list(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let types = licences::list_types(&state.core, &user.actor).await?;
    Ok(render(&TypesPage { shell, types }))
}

#[derive(Template)]
#[template(path = "licences/type_form.html")]
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
    let done = |()| super::forms::redirect(&format!("/admin/licence-types/{}?saved=1", form.code));
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
#[template(path = "licences/issue.html")]
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
        super::forms::redirect(&format!("/admin/licences/issue?{query}"))
    };
    settle(result, done, async |errors| {
        let types = licences::list_types(&state.core, &user.actor).await?;
        let chosen = types.iter().find(|t| t.row.code == req.licence_type).cloned();
        Ok(IssuePage { shell, types, chosen, holder: req.holder.clone(), face, errors, issued: None })
    })
    .await
}

#[derive(Template)]
#[template(path = "licences/import.html")]
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
    let Some(bytes) = super::applications::read_multipart_files(multipart, "file").await? else {
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
#[template(path = "licences/change.html")]
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
        super::forms::redirect(&format!("/admin/licences/{}?{query}", issued.identifier))
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
#[template(path = "licences/client.html")]
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
