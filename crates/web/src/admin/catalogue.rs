//! Catalogue management (/admin/items, /admin/synonyms): create and edit items as drafts,
//! publish (a new version), suspend and resume, compare versions, bulk import and export.

use crate::kit::registry::Access::Perm;
use std::collections::HashMap;
use tongban_domain::item::ItemStatus;
use tongban_domain::permission::Permission as P;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::{FormErrors, Pager, page_number, value, values};
use crate::kit::params::Ref;
use crate::kit::shell::{CurrentUser, Shell, render, render_status};
use crate::{AppState, Routes};
use tongban_app::catalogue::{self, AdminItem};
use tongban_app::catalogue_io::{self, COLUMNS, Imported, RowReport};
use tongban_app::clock;
use tongban_app::views::{self, Department};
use tongban_app::views::{AdminFilter, ItemRow};
use tongban_app::{AppError, FieldError, authorize};
use tongban_domain::item::{ITEM_TYPES, ItemDefinition};
use tongban_domain::permission::Permission;
use tongban_domain::reference::ItemCode;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/items", Perm(P::CatalogEdit), list)
        .get("/admin/items/new", Perm(P::CatalogEdit), new_page)
        .post("/admin/items/new", Perm(P::CatalogEdit), new_submit)
        .get("/admin/items/import", Perm(P::CatalogEdit), import_page)
        .post_upload("/admin/items/import", Perm(P::CatalogEdit), import_submit)
        .get("/admin/items/export.xlsx", Perm(P::CatalogEdit), export)
        .get("/admin/items/{code}", Perm(P::CatalogEdit), detail)
        .get("/admin/items/{code}/edit", Perm(P::CatalogEdit), edit_page)
        .post("/admin/items/{code}/edit", Perm(P::CatalogEdit), edit_submit)
        .post("/admin/items/{code}/publish", Perm(P::CatalogEdit), publish)
        .post("/admin/items/{code}/suspend", Perm(P::CatalogEdit), suspend)
        .post("/admin/items/{code}/resume", Perm(P::CatalogEdit), resume)
        .post("/admin/items/{code}/cancel", Perm(P::CatalogEdit), cancel)
        .get("/admin/items/{code}/compare", Perm(P::CatalogEdit), compare)
        .get("/admin/synonyms", Perm(P::CatalogEdit), synonyms)
        .post("/admin/synonyms", Perm(P::CatalogEdit), synonym_add)
        .post("/admin/synonyms/delete", Perm(P::CatalogEdit), synonym_delete)
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "admin/items.html")]
struct ListPage {
    shell: Shell,
    q: ListQuery,
    items: Vec<ItemRow>,
    departments: Vec<Department>,
    pager: Pager,
}

async fn list(State(state): State<AppState>, shell: Shell, user: CurrentUser, Query(q): Query<ListQuery>) -> WebResult {
    let page = page_number(&q.page);
    let filter = AdminFilter {
        q: q.q.trim().to_owned(),
        department: q.department.clone(),
        status: q.status.clone(),
        offset: (page - 1) * 20,
        limit: 20,
    };
    let (total, items) = catalogue::list_admin(&state.core, &user.actor, &filter).await?;
    let departments = views::departments(&state.core).await?;
    let pager = Pager::new(
        "/admin/items",
        &[("q", &q.q), ("department", &q.department), ("status", &q.status)],
        page,
        20,
        total,
    );
    Ok(render(&ListPage { shell, q, items, departments, pager }))
}

/// The edit form's values: the exchange format's columns, so that the form, the import and the
/// export share one parser.
#[derive(Template)]
#[template(path = "admin/item_form.html")]
struct FormPage {
    shell: Shell,
    existing: Option<String>,
    v: HashMap<String, String>,
    departments: Vec<Department>,
    item_types: &'static [&'static str],
    errors: FormErrors,
}

impl FormPage {
    fn get(&self, k: &str) -> String {
        self.v.get(k).cloned().unwrap_or_default()
    }

    fn has_subject(&self, s: &str) -> bool {
        self.get("subjects").split(',').any(|x| x == s)
    }

    fn yes(&self, k: &str) -> bool {
        matches!(self.get(k).as_str(), "是" | "true" | "1")
    }
}

fn columns_of(def: &ItemDefinition) -> HashMap<String, String> {
    COLUMNS.iter().map(|c| c.to_string()).zip(catalogue_io::definition_cells(def, true)).collect()
}

/// The posted form as exchange columns (checkboxes: several `subjects`, `fully_online=是`).
fn columns_of_form(pairs: &[(String, String)], code: Option<&str>) -> HashMap<String, String> {
    let mut v: HashMap<String, String> = COLUMNS.iter().map(|c| (c.to_string(), value(pairs, c))).collect();
    v.insert("subjects".into(), values(pairs, "subjects").join(","));
    for flag in ["fully_online", "citywide"] {
        v.insert(flag.into(), if value(pairs, flag).is_empty() { "否" } else { "是" }.into());
    }
    if let Some(code) = code {
        v.insert("code".into(), code.to_owned());
    }
    v
}

async fn form_page(
    state: &AppState,
    shell: Shell,
    existing: Option<String>,
    v: HashMap<String, String>,
    errors: FormErrors,
) -> WebResult {
    let departments = views::departments(&state.core).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &FormPage { shell, existing, v, departments, item_types: ITEM_TYPES, errors }))
}

async fn new_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    authorize(&state.core, &user.actor, Permission::CatalogEdit, "items").await?;
    let mut v = HashMap::new();
    v.insert("case_kind".into(), "promised".into());
    v.insert("sites".into(), "all".into());
    v.insert("consult_phone".into(), "12345".into());
    v.insert("complaint_phone".into(), "12345".into());
    v.insert("materials_json".into(), "[]".into());
    v.insert("form_json".into(), "{\"fields\": []}".into());
    form_page(&state, shell, None, v, FormErrors::default()).await
}

async fn save_form(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    v: HashMap<String, String>,
    existing: Option<String>,
) -> WebResult {
    let def = match catalogue_io::row_to_definition(&v) {
        Ok(def) => def,
        Err(problems) => {
            let errors = FormErrors(problems.into_iter().map(|m| FieldError::new("form", "invalid", m)).collect());
            return form_page(state, shell, existing, v, errors).await;
        }
    };
    if existing.is_none() && tongban_app::views::item_code_taken(&state.core, &user.actor, &def.code).await? {
        let errors = FormErrors::single("code", "taken", "该事项编码已存在");
        return form_page(state, shell, existing, v, errors).await;
    }
    match catalogue::save_draft(&state.core, &user.actor, &def).await {
        Ok(_) => Ok(crate::kit::forms::redirect(&format!("/admin/items/{}", def.code))),
        Err(AppError::Invalid(problems)) => form_page(state, shell, existing, v, FormErrors(problems)).await,
        Err(e) => Err(e.into()),
    }
}

async fn new_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let v = columns_of_form(&pairs, None);
    save_form(&state, shell, &user, v, None).await
}

async fn edit_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
) -> WebResult {
    let item = catalogue::admin_item(&state.core, &user.actor, &code).await?;
    form_page(&state, shell, Some(code.to_string()), columns_of(&item.latest), FormErrors::default()).await
}

async fn edit_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    catalogue::admin_item(&state.core, &user.actor, &code).await?;
    let v = columns_of_form(&pairs, Some(&code));
    save_form(&state, shell, &user, v, Some(code.to_string())).await
}

#[derive(Template)]
#[template(path = "admin/item.html")]
struct DetailPage {
    shell: Shell,
    item: AdminItem,
}

impl DetailPage {
    fn status(&self) -> &'static str {
        self.item.row.status.label()
    }

    fn is(&self, status: ItemStatus) -> bool {
        self.item.row.status == status
    }

    fn has_draft(&self) -> bool {
        self.item.row.has_unpublished()
    }

    fn time(&self, ms: &i64) -> String {
        clock::display(*ms)
    }
}

async fn detail(State(state): State<AppState>, shell: Shell, user: CurrentUser, Ref(code): Ref<ItemCode>) -> WebResult {
    let item = catalogue::admin_item(&state.core, &user.actor, &code).await?;
    Ok(render(&DetailPage { shell, item }))
}

async fn publish(State(state): State<AppState>, user: CurrentUser, Ref(code): Ref<ItemCode>) -> WebResult {
    catalogue::publish_latest(&state.core, &user.actor, &code).await?;
    Ok(crate::kit::forms::redirect(&format!("/admin/items/{code}")))
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

async fn suspend(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    Form(f): Form<ReasonForm>,
) -> WebResult {
    catalogue::suspend(&state.core, &user.actor, &code, &f.reason).await?;
    Ok(crate::kit::forms::redirect(&format!("/admin/items/{code}")))
}

async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    Form(f): Form<ReasonForm>,
) -> WebResult {
    catalogue::cancel(&state.core, &user.actor, &code, &f.reason).await?;
    Ok(crate::kit::forms::redirect(&format!("/admin/items/{code}")))
}

async fn resume(State(state): State<AppState>, user: CurrentUser, Ref(code): Ref<ItemCode>) -> WebResult {
    catalogue::resume(&state.core, &user.actor, &code).await?;
    Ok(crate::kit::forms::redirect(&format!("/admin/items/{code}")))
}

#[derive(Deserialize)]
struct CompareQuery {
    a: Option<i64>,
    b: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/compare.html")]
struct ComparePage {
    shell: Shell,
    code: String,
    a: i64,
    b: i64,
    changes: Vec<(String, String, String)>,
}

async fn compare(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(code): Ref<ItemCode>,
    Query(q): Query<CompareQuery>,
) -> WebResult {
    let item = catalogue::admin_item(&state.core, &user.actor, &code).await?;
    let b = q.b.unwrap_or(item.row.latest_version);
    let a = q.a.unwrap_or((b - 1).max(1));
    let changes = catalogue::compare(&state.core, &user.actor, &code, a, b).await?;
    Ok(render(&ComparePage { shell, code: code.to_string(), a, b, changes }))
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    shell: Shell,
    errors: FormErrors,
    report: Vec<RowReport>,
    rows: usize,
    done: Option<usize>,
}

impl ImportPage {
    fn action(&self) -> &'static str {
        "/admin/items/import"
    }
}

async fn import_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    authorize(&state.core, &user.actor, Permission::CatalogEdit, "import").await?;
    Ok(render(&ImportPage { shell, errors: FormErrors::default(), report: Vec::new(), rows: 0, done: None }))
}

async fn import_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    multipart: Multipart,
) -> WebResult {
    authorize(&state.core, &user.actor, Permission::CatalogEdit, "import").await?;
    let parts = crate::kit::upload::read_multipart_files(multipart, "file").await?;
    let Some(bytes) = parts else {
        let page = ImportPage {
            shell,
            errors: FormErrors::single("file", "required", "请选择要导入的 XLSX 或 CSV 文件"),
            report: vec![],
            rows: 0,
            done: None,
        };
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    match catalogue_io::import(&state.core, &user.actor, &bytes).await {
        Ok(Imported::Done { items }) => Ok(render(&ImportPage {
            shell,
            errors: FormErrors::default(),
            report: vec![],
            rows: items,
            done: Some(items),
        })),
        Ok(Imported::Rejected { rows, report }) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ImportPage { shell, errors: FormErrors::default(), report, rows, done: None },
        )),
        Err(AppError::Invalid(problems)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ImportPage { shell, errors: FormErrors(problems), report: vec![], rows: 0, done: None },
        )),
        Err(e) => Err(WebError(e)),
    }
}

async fn export(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    let bytes = catalogue_io::export_xlsx(&state.core, &user.actor).await?;
    let name = format!("attachment; filename=\"catalogue-{}.xlsx\"", state.core.clock.today().compact());
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/synonyms.html")]
struct SynonymsPage {
    shell: Shell,
    synonyms: Vec<(String, String)>,
    errors: FormErrors,
}

async fn synonyms_page(state: &AppState, shell: Shell, user: &CurrentUser, errors: FormErrors) -> WebResult {
    let synonyms = tongban_app::catalogue::synonyms(&state.core, &user.actor).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &SynonymsPage { shell, synonyms, errors }))
}

async fn synonyms(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    synonyms_page(&state, shell, &user, FormErrors::default()).await
}

#[derive(Deserialize)]
struct SynonymForm {
    #[serde(default)]
    term: String,
    #[serde(default)]
    canonical: String,
}

async fn synonym_add(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(f): Form<SynonymForm>,
) -> WebResult {
    match tongban_app::catalogue::save_synonym(&state.core, &user.actor, &f.term, &f.canonical).await {
        Ok(()) => Ok(crate::kit::forms::redirect("/admin/synonyms")),
        Err(AppError::Invalid(p)) => synonyms_page(&state, shell, &user, FormErrors(p)).await,
        Err(e) => Err(e.into()),
    }
}

async fn synonym_delete(State(state): State<AppState>, user: CurrentUser, Form(f): Form<SynonymForm>) -> WebResult {
    tongban_app::catalogue::delete_synonym(&state.core, &user.actor, &f.term).await?;
    Ok(crate::kit::forms::redirect("/admin/synonyms"))
}
