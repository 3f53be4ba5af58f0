//! The applicant's applications (`/api/v1/applications`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::common::{ApiErrorBody, OrgRef, PageParams, paging};
use crate::AppState;
use crate::kit::error::WebResult;
use crate::kit::params::Ref;
use crate::kit::shell::CurrentUser;
use tongban_domain::reference::ApplicationNumber;

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
pub(crate) async fn create_application(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
    multipart: axum::extract::Multipart,
) -> WebResult {
    let parts = crate::kit::upload::read_multipart(multipart).await?;
    let text = |k: &str| parts.text.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut problems = tongban_app::Problems::default();
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
    let input = tongban_app::applications::Input {
        values,
        uploads: parts.uploads,
        idempotency_key: key,
        licences: crate::kit::upload::licence_picks(&parts.text),
    };
    let saved = tongban_app::applications::save(&state.core, &user.actor, item.trim(), input, true, false).await?;
    // A repeat with the same Idempotency-Key gets the first answer again, status included.
    let status = StatusCode::CREATED;
    let body = ApplicationCreated {
        number: saved.number,
        status: saved.status,
        promised_deadline: saved.promised_deadline.map(|d| d.to_string()),
    };
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

fn application_summary(r: tongban_app::views::ApplicationRow) -> ApplicationSummary {
    ApplicationSummary {
        status_label: tongban_domain::application::status_label(&r.status).to_owned(),
        item: OrgRef { code: r.item_code, name: r.item_name },
        department_name: r.department_name,
        number: r.number,
        status: r.status,
        submitted_at: r.submitted_at.map(tongban_app::clock::rfc3339),
        promised_deadline: r.promised_deadline.map(|d| d.to_string()),
    }
}

/// The caller's own applications, newest first.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(PageParams),
    responses((status = 200, body = ApplicationList), (status = 401, body = ApiErrorBody)))]
pub(crate) async fn list_applications(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<PageParams>,
) -> WebResult {
    let (page, page_size) = paging(p.page, p.page_size)?;
    let (total, rows) = tongban_app::applications::list_mine(&state.core, &user.actor, page, page_size).await?;
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

pub fn application_detail(v: tongban_app::applications::View) -> ApplicationDetail {
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
                at: tongban_app::clock::rfc3339(e.at),
                label: tongban_domain::application::event_label(&e.kind).to_owned(),
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
pub(crate) async fn get_application(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
) -> WebResult {
    let v = tongban_app::applications::mine(&state.core, &user.actor, &number).await?;
    Ok(Json(application_detail(v)).into_response())
}

/// Withdraw a submitted application before it is accepted.
#[utoipa::path(post, path = "/api/v1/applications/{number}/withdraw", tag = "applications", params(("number" = String, Path)),
    responses((status = 200, body = ApplicationDetail), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
pub(crate) async fn withdraw_application(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
) -> WebResult {
    let v = tongban_app::applications::withdraw(&state.core, &user.actor, &number).await?;
    Ok(Json(application_detail(v)).into_response())
}
