//! The JSON API under `/api/v1` (conventions in shared/API.md), documented at
//! `/api/openapi.json`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::error::WebResult;
use super::middleware::{append_cookie, expired_session_cookie, session_cookie};
use super::params::Ref;
use super::shell::{CurrentUser, Visitor};
use super::{AppState, Routes};
use crate::app::accounts::Registration;
use crate::app::{self, FieldError, Origin};
use crate::domain::reference::{ApplicationNumber, ItemCode};

pub fn routes(r: Routes) -> Routes {
    r.post("/api/v1/auth/login", login)
        .post("/api/v1/auth/register", register)
        .post("/api/v1/auth/logout", logout)
        .get("/api/v1/me", me)
        .post("/api/v1/account/password", change_password)
        .get("/api/v1/items", list_items)
        .get("/api/v1/items/{code}", get_item)
        .post_upload("/api/v1/applications", create_application)
        .get("/api/v1/applications", list_applications)
        .get("/api/v1/applications/{number}", get_application)
        .post("/api/v1/applications/{number}/withdraw", withdraw_application)
        .get("/api/v1/calendar/deadline", deadline)
        .get("/api/v1/messages", list_messages)
        .post("/api/v1/messages/{id}/read", read_message)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "通办 Tongban API", description = "一网通办政务服务平台接口。错误统一为 {code, message, details}。"),
    paths(
        login,
        register,
        logout,
        me,
        change_password,
        list_items,
        get_item,
        create_application,
        list_applications,
        get_application,
        withdraw_application,
        deadline,
        list_messages,
        read_message,
        crate::web::api_licences::list_licences,
        crate::web::api_licences::keys,
        crate::web::api_licences::verify_document,
        crate::web::api_licences::verification,
        crate::web::api_licences::document,
        crate::web::api_licences::revoke,
        crate::web::api_licences::share_query,
        crate::web::api_licences::share_verify,
        crate::web::api_licences::share_document
    ),
    components(schemas(
        LoginRequest,
        LoginResponse,
        Registration,
        RegisterResponse,
        Me,
        OrgRef,
        PasswordChange,
        ApiErrorBody,
        FieldError,
        ItemList,
        ItemSummary,
        ItemDetail,
        ApplicationCreated,
        ApplicationList,
        ApplicationSummary,
        ApplicationDetail,
        MaterialRef,
        TimelineEntry,
        Deadline,
        MessageList,
        Message,
        crate::web::api_licences::LicenceVerification,
        crate::web::api_licences::WalletLicence,
        crate::web::api_licences::WalletList,
        crate::web::api_licences::DocumentVerification,
        crate::web::api_licences::RevokeRequest,
        crate::web::api_licences::PublicKey,
        crate::web::api_licences::PublicKeys,
        crate::web::api_licences::ShareList,
        crate::app::licences::Document
    ))
)]
pub struct ApiDoc;

/// The error body of every failed call.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// Stable snake_case code, e.g. `invalid_credentials`, `account_locked`, `forbidden`.
    pub code: String,
    /// Chinese, for people.
    pub message: String,
    /// Field problems (422), all at once.
    pub details: Option<Vec<FieldError>>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub username: String,
    pub display_name: String,
    /// True when an initial or reset password must be changed before anything else.
    pub must_change_password: bool,
}

/// Log in; the session cookie `tb_session` is set on success.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong username or password (`invalid_credentials`)", body = ApiErrorBody),
        (status = 403, description = "`account_locked` or `account_disabled`", body = ApiErrorBody),
        (status = 429, description = "too many attempts from this address or for this account (`throttled`, with `Retry-After`)", body = ApiErrorBody),
    ))]
async fn login(State(state): State<AppState>, visitor: Visitor, Json(req): Json<LoginRequest>) -> WebResult {
    let origin = Origin { ip: visitor.ip };
    let logged_in = app::auth::login(&state.core, &origin, &req.username, &req.password).await?;
    // A session this client had before (another account's, or one planted) ends now.
    if let Some(previous) = &visitor.session_token {
        app::auth::end_session(&state.core, previous, &origin).await?;
    }
    let body = LoginResponse {
        username: logged_in.user.username.clone(),
        display_name: logged_in.user.display_name.clone(),
        must_change_password: logged_in.user.must_change_password,
    };
    let mut response = Json(body).into_response();
    append_cookie(&mut response, session_cookie(logged_in.token, &state.settings));
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    /// The username asked for.
    pub username: String,
    /// The same neutral answer whether or not an account was made (an ID number, credit code
    /// or username that already has an account is never told): log in to find out.
    pub message: String,
}

/// Register a citizen (`kind: person`, with `id_number`) or a business (`kind: organisation`,
/// with `credit_code` and `contact_name`). Problems with the input are listed at once (422);
/// otherwise the answer is 202 whether an account was made or the identity or username already
/// had one (its owner is told).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = Registration,
    responses(
        (status = 202, body = RegisterResponse),
        (status = 422, description = "every problem at once", body = ApiErrorBody),
        (status = 429, description = "too many registrations from this address or for this identity", body = ApiErrorBody),
    ))]
async fn register(State(state): State<AppState>, visitor: Visitor, Json(r): Json<Registration>) -> WebResult {
    app::accounts::register(&state.core, &Origin { ip: visitor.ip }, &r).await?;
    let body =
        RegisterResponse { username: r.username.trim().to_owned(), message: app::accounts::NEUTRAL_ANSWER.to_owned() };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ApiErrorBody)))]
async fn logout(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    app::auth::logout(&state.core, &user.actor, &user.token).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    append_cookie(&mut response, expired_session_cookie(&state.settings));
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct OrgRef {
    pub code: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    /// `staff`, `person` or `organisation`.
    pub kind: String,
    /// Role codes, e.g. `reviewer`.
    pub roles: Vec<String>,
    /// Permission names, e.g. `office.view`.
    pub permissions: Vec<String>,
    pub department: Option<OrgRef>,
    pub site: Option<OrgRef>,
    pub must_change_password: bool,
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ApiErrorBody)))]
async fn me(user: CurrentUser) -> Json<Me> {
    let a = user.actor;
    Json(Me {
        username: a.username,
        display_name: a.display_name,
        kind: a.kind.name().to_owned(),
        roles: a.roles.iter().map(|r| r.code.clone()).collect(),
        permissions: a.permissions.iter().map(|p| p.name().to_owned()).collect(),
        department: a.department.map(|d| OrgRef { code: d.code, name: d.name }),
        site: a.site.map(|s| OrgRef { code: s.code, name: s.name }),
        must_change_password: a.must_change_password,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password (required first when `must_change_password` is true).
#[utoipa::path(post, path = "/api/v1/account/password", tag = "auth", request_body = PasswordChange,
    responses(
        (status = 204),
        (status = 422, body = ApiErrorBody),
        (status = 429, description = "too many attempts (`throttled`, with `Retry-After`)", body = ApiErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<PasswordChange>,
) -> WebResult {
    app::auth::change_password(
        &state.core,
        &user.actor,
        &user.token,
        &req.current_password,
        &req.new_password,
        &req.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The OpenAPI document.
pub fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// Every API operation of every room, in one document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::api_cases::CasesDoc::openapi());
    doc
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ItemsParams {
    /// Search words, as people type them (社保, 开饭店, gtgsh).
    pub q: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// `person` or `organisation`.
    pub subject: Option<String>,
    pub page: Option<i64>,
    /// 1–100, default 20.
    pub page_size: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemSummary {
    pub code: String,
    pub name: String,
    pub item_type: String,
    pub department: OrgRef,
    /// `person` and/or `organisation`.
    pub subjects: Vec<String>,
    pub fully_online: bool,
    pub citywide: bool,
    pub promised_days: i64,
    /// `published` or `suspended`.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct ItemList {
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub items: Vec<ItemSummary>,
}

fn summary(row: crate::store::catalogue::ItemRow) -> ItemSummary {
    ItemSummary {
        subjects: row.subjects.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        code: row.code,
        name: row.name,
        item_type: row.item_type,
        department: OrgRef { code: row.department.code, name: row.department.name },
        fully_online: row.fully_online,
        citywide: row.citywide,
        promised_days: row.promised_days,
        status: row.status,
    }
}

/// Search or browse the public catalogue (published and suspended items), best match first.
#[utoipa::path(get, path = "/api/v1/items", tag = "catalogue", params(ItemsParams),
    responses((status = 200, body = ItemList), (status = 422, body = ApiErrorBody)))]
async fn list_items(State(state): State<AppState>, Query(p): Query<ItemsParams>) -> WebResult {
    let page = p.page.unwrap_or(1);
    let page_size = p.page_size.unwrap_or(20);
    let mut problems = crate::app::Problems::default();
    if !(1..=MAX_PAGE).contains(&page) {
        problems.add("page", "out_of_range", "页码应为 1–1000000");
    }
    if !(1..=100).contains(&page_size) {
        problems.add("page_size", "out_of_range", "每页条数应为 1–100");
    }
    let subject = p.subject.unwrap_or_default();
    if !["", "person", "organisation"].contains(&subject.as_str()) {
        problems.add("subject", "invalid", "服务对象应为 person 或 organisation");
    }
    problems.into_result()?;
    let query = crate::app::catalogue::Query {
        q: p.q.unwrap_or_default(),
        department: p.department.unwrap_or_default(),
        subject,
        page,
        page_size,
    };
    let (total, rows) = crate::app::catalogue::find(&state.core, &query).await?;
    Ok(Json(ItemList { total, page, page_size, items: rows.into_iter().map(summary).collect() }).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ItemDetail {
    pub code: String,
    pub name: String,
    pub item_type: String,
    pub department: OrgRef,
    pub subjects: Vec<crate::domain::item::Subject>,
    pub legal_days: u32,
    pub promised_days: u32,
    pub case_kind: crate::domain::item::CaseKind,
    pub visits_required: u32,
    pub fully_online: bool,
    pub citywide: bool,
    /// Codes of the sites that handle the item.
    pub sites: Vec<String>,
    pub fee: Option<crate::domain::item::Fee>,
    pub legal_basis: Vec<String>,
    pub conditions: Vec<String>,
    pub process: Vec<String>,
    pub consult_phone: String,
    pub complaint_phone: String,
    pub faq: Vec<crate::domain::item::Faq>,
    pub materials: Vec<crate::domain::item::Material>,
    pub form: crate::domain::item::FormSchema,
    pub status: String,
    /// The licence type an approved case produces (证照目录编码), if any.
    pub licence_type: Option<String>,
    /// Why the item is suspended (empty otherwise).
    pub status_reason: String,
    pub version: i64,
}

/// One item's guide with its materials and application form.
#[utoipa::path(get, path = "/api/v1/items/{code}", tag = "catalogue", params(("code" = String, Path, description = "item code")),
    responses((status = 200, body = ItemDetail), (status = 404, body = ApiErrorBody)))]
async fn get_item(State(state): State<AppState>, Ref(code): Ref<ItemCode>) -> WebResult {
    let g = crate::app::catalogue::guide(&state.core, &code).await?;
    let d = g.def;
    Ok(Json(ItemDetail {
        code: d.code,
        name: d.name,
        item_type: d.item_type,
        department: OrgRef { code: g.row.department.code, name: g.row.department.name },
        subjects: d.subjects,
        legal_days: d.legal_days,
        promised_days: d.promised_days,
        case_kind: d.case_kind,
        visits_required: d.visits_required,
        fully_online: d.fully_online,
        citywide: d.citywide,
        sites: g.sites.into_iter().map(|s| s.code).collect(),
        fee: d.fee,
        legal_basis: d.legal_basis,
        conditions: d.conditions,
        process: d.process,
        consult_phone: d.consult_phone,
        complaint_phone: d.complaint_phone,
        faq: d.faq,
        materials: d.materials,
        form: d.form,
        status: g.row.status,
        licence_type: d.licence_type,
        status_reason: g.row.status_reason,
        version: g.version,
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationCreated {
    pub number: String,
    pub status: String,
    /// `YYYY-MM-DD`: the promised completion date, counted in working days from today.
    pub promised_deadline: Option<String>,
}

/// Submit an application. Multipart: part `item` (item code), part `form` (a JSON object keyed
/// by field name), one file part per material named `material:<material code>`. With an
/// `Idempotency-Key` header a repeat returns the first result instead of a second application.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications",
    request_body(content_type = "multipart/form-data", description = "item, form, material:<code> files"),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes the submission idempotent")),
    responses(
        (status = 201, body = ApplicationCreated),
        (status = 404, description = "unknown item", body = ApiErrorBody),
        (status = 409, description = "item suspended, or not for this kind of applicant", body = ApiErrorBody),
        (status = 413, description = "a file over its limit (the message names it)", body = ApiErrorBody),
        (status = 415, description = "a file whose content is not an accepted type", body = ApiErrorBody),
        (status = 422, description = "every missing or invalid field and material at once", body = ApiErrorBody),
    ))]
async fn create_application(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
    multipart: axum::extract::Multipart,
) -> WebResult {
    let parts = super::applications::read_multipart(multipart).await?;
    let text = |k: &str| parts.text.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut problems = crate::app::Problems::default();
    let item = text("item").unwrap_or_default();
    if item.trim().is_empty() {
        problems.add("item", "required", "缺少事项编码（item）");
    }
    let values = match text("form") {
        None => serde_json::Map::new(),
        Some(raw) => match serde_json::from_str::<serde_json::Value>(&raw) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => {
                problems.add("form", "invalid_json", "form 应为 JSON 对象，键为字段名");
                serde_json::Map::new()
            }
        },
    };
    problems.into_result()?;
    let key = headers.get("idempotency-key").map(|v| v.to_str().map(str::to_owned).unwrap_or_default());
    let input = crate::app::applications::Input {
        values,
        uploads: parts.uploads,
        idempotency_key: key,
        licences: super::applications::licence_picks(&parts.text),
    };
    let saved = crate::app::applications::save(&state.core, &user.actor, item.trim(), input, true, false).await?;
    // A repeat with the same Idempotency-Key gets the first answer again, status included.
    let status = StatusCode::CREATED;
    let body =
        ApplicationCreated { number: saved.number, status: saved.status, promised_deadline: saved.promised_deadline };
    Ok((status, Json(body)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationSummary {
    pub number: String,
    pub item: OrgRef,
    pub department_name: String,
    pub status: String,
    pub status_label: String,
    pub submitted_at: Option<String>,
    pub promised_deadline: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub items: Vec<ApplicationSummary>,
}

fn application_summary(r: crate::store::applications::ApplicationRow) -> ApplicationSummary {
    ApplicationSummary {
        status_label: crate::domain::application::status_label(&r.status).to_owned(),
        item: OrgRef { code: r.item_code, name: r.item_name },
        department_name: r.department_name,
        number: r.number,
        status: r.status,
        submitted_at: r.submitted_at.map(crate::clock::rfc3339),
        promised_deadline: r.promised_deadline,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// The last page number a list accepts: beyond it an offset would overflow (and no list is
/// that long).
pub const MAX_PAGE: i64 = 1_000_000;

/// Page and page size per API.md: pages from 1 (to [`MAX_PAGE`]), at most 100 per page
/// (default 20).
pub fn paging(page: Option<i64>, page_size: Option<i64>) -> Result<(i64, i64), crate::app::AppError> {
    let page = page.unwrap_or(1);
    let page_size = page_size.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&page) || !(1..=100).contains(&page_size) {
        return Err(crate::app::AppError::Invalid(vec![FieldError::new(
            "page_size",
            "out_of_range",
            "页码从 1 开始，每页条数应为 1–100",
        )]));
    }
    Ok((page, page_size))
}

/// The caller's own applications, newest first.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(PageParams),
    responses((status = 200, body = ApplicationList), (status = 401, body = ApiErrorBody)))]
async fn list_applications(State(state): State<AppState>, user: CurrentUser, Query(p): Query<PageParams>) -> WebResult {
    let (page, page_size) = paging(p.page, p.page_size)?;
    let (total, rows) = crate::app::applications::list_mine(&state.core, &user.actor, page, page_size).await?;
    Ok(Json(ApplicationList { total, page, page_size, items: rows.into_iter().map(application_summary).collect() })
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct MaterialRef {
    pub code: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub kind: String,
    pub label: String,
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationDetail {
    #[serde(flatten)]
    pub summary: ApplicationSummary,
    /// The answers as submitted (normalised).
    #[schema(value_type = Object)]
    pub form: serde_json::Map<String, serde_json::Value>,
    pub materials: Vec<MaterialRef>,
    pub timeline: Vec<TimelineEntry>,
    /// The item version the application was made on.
    pub item_version: i64,
}

pub fn application_detail(v: crate::app::applications::View) -> ApplicationDetail {
    ApplicationDetail {
        form: v.values,
        materials: v
            .materials
            .into_iter()
            .map(|m| MaterialRef {
                code: m.material_code,
                file_name: m.file_name,
                content_type: m.content_type,
                size: m.size,
                sha256: m.file_sha256,
            })
            .collect(),
        timeline: v
            .events
            .into_iter()
            .map(|e| TimelineEntry {
                at: crate::clock::rfc3339(e.at),
                label: crate::domain::application::event_label(&e.kind).to_owned(),
                kind: e.kind,
                note: e.note,
            })
            .collect(),
        item_version: v.row.item_version,
        summary: application_summary(v.row),
    }
}

/// One of the caller's applications with its timeline (another applicant's: 404).
#[utoipa::path(get, path = "/api/v1/applications/{number}", tag = "applications", params(("number" = String, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = ApiErrorBody)))]
async fn get_application(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
) -> WebResult {
    let v = crate::app::applications::mine(&state.core, &user.actor, &number).await?;
    Ok(Json(application_detail(v)).into_response())
}

/// Withdraw a submitted application before it is accepted.
#[utoipa::path(post, path = "/api/v1/applications/{number}/withdraw", tag = "applications", params(("number" = String, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
async fn withdraw_application(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
) -> WebResult {
    let v = crate::app::applications::withdraw(&state.core, &user.actor, &number).await?;
    Ok(Json(application_detail(v)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeadlineParams {
    /// The day the clock starts (`YYYY-MM-DD`); it is not counted.
    pub from: String,
    /// Working days.
    pub days: String,
}

#[derive(Serialize, ToSchema)]
pub struct Deadline {
    /// `YYYY-MM-DD`
    pub deadline: String,
}

/// The date `days` working days after `from` on the official work calendar (holidays and 调休
/// make-up working days included). Public, for service halls and other systems.
#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "calendar", params(DeadlineParams),
    responses((status = 200, body = Deadline), (status = 422, description = "bad date or day count", body = ApiErrorBody)))]
async fn deadline(State(state): State<AppState>, Query(p): Query<DeadlineParams>) -> WebResult {
    let mut problems = crate::app::Problems::default();
    let from = chrono::NaiveDate::parse_from_str(p.from.trim(), "%Y-%m-%d").ok();
    if from.is_none() {
        problems.add("from", "invalid_date", "from 应为日期，格式 2026-01-31");
    }
    let days = p.days.trim().parse::<u32>().ok().filter(|d| *d <= 3650);
    if days.is_none() {
        problems.add("days", "invalid", "days 应为 0–3650 的整数（工作日）");
    }
    problems.into_result()?;
    let calendar = crate::app::calendar::load_shared(&state.core).await?;
    let deadline = calendar.add_working_days(from.unwrap_or_default(), days.unwrap_or_default());
    Ok(Json(Deadline { deadline: deadline.format("%Y-%m-%d").to_string() }).into_response())
}

/// A message-centre entry.
#[derive(Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub at: String,
    pub title: String,
    pub body: String,
    /// A path on this site, or "".
    pub link: String,
    pub read: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MessageList {
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    /// Unread messages in all pages.
    pub unread: i64,
    pub items: Vec<Message>,
}

fn message(n: crate::store::notifications::Notification) -> Message {
    Message {
        id: n.id,
        at: crate::clock::rfc3339(n.at),
        title: n.title,
        body: n.body,
        link: n.link,
        read: n.read_at.is_some(),
    }
}

/// The caller's messages (case status changes, deadline warnings…), newest first.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", params(PageParams),
    responses((status = 200, body = MessageList), (status = 401, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn list_messages(State(state): State<AppState>, user: CurrentUser, Query(p): Query<PageParams>) -> WebResult {
    let (page, page_size) = paging(p.page, p.page_size)?;
    let (total, unread, rows) = crate::app::notifications::list_mine(&state.core, &user.actor, page, page_size).await?;
    Ok(Json(MessageList { total, page, page_size, unread, items: rows.into_iter().map(message).collect() })
        .into_response())
}

/// Marks one of the caller's messages read; another user's message is 404.
#[utoipa::path(post, path = "/api/v1/messages/{id}/read", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Message), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn read_message(State(state): State<AppState>, user: CurrentUser, Path(id): Path<String>) -> WebResult {
    let id = id.parse::<i64>().map_err(|_| crate::app::AppError::NotFound)?;
    let n = crate::app::notifications::mark_read(&state.core, &user.actor, id).await?;
    Ok(Json(message(n)).into_response())
}
