//! The cases API (staff, scoped to their department or site), the applicant's supplement, and
//! the workflow definitions.

use crate::kit::registry::Access::Perm;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_domain::permission::Permission as P;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::routes;

use super::common::{ApiErrorBody, CursorParams};
use crate::kit::error::WebResult;
use crate::kit::params::Ref;
use crate::kit::shell::CurrentUser;
use crate::{AppState, Routes};
use tongban_app::cases::{self, ActionInput, CaseView};
use tongban_app::clock;
use tongban_app::paging::{Cursor, PageRequest};
use tongban_app::views::CaseRow;
use tongban_domain::case::{Delivery, NoticeItem};
use tongban_domain::reference::{ApplicationNumber, CaseNumber};
use tongban_domain::workflow::Workflow;

pub fn routes(r: Routes) -> Routes {
    r.api(Perm(P::OfficeView), routes!(list_cases))
        .api(Perm(P::OfficeView), routes!(get_case))
        .api(Perm(P::PiiReveal), routes!(reveal_case))
        .api(Perm(P::OfficeView), routes!(case_action))
        .api_upload(Perm(P::PortalMine), routes!(supplement))
        .api(Perm(P::WorkflowEdit), routes!(list_workflows))
        .api(Perm(P::WorkflowEdit), routes!(save_workflow))
}

#[derive(OpenApi)]
#[openapi(components(schemas(
    CaseSummary,
    CaseList,
    CaseDetail,
    CaseTimelineEntry,
    ActionRef,
    ActionRequest,
    Delivery,
    NoticeItem
)))]
pub struct CasesDoc;

#[derive(Serialize, ToSchema)]
pub struct CaseSummary {
    pub number: String,
    pub application_number: String,
    pub item_code: String,
    pub item_name: String,
    pub department: String,
    /// The receiving hall, or null for online submissions.
    pub site: Option<String>,
    pub applicant: String,
    pub status: String,
    pub queue: String,
    /// `YYYY-MM-DD`, what the queues sort by.
    pub due_on: Option<String>,
    pub assignee: Option<String>,
    pub submitted_at: String,
    pub row_version: i64,
}

fn summary(r: &CaseRow) -> CaseSummary {
    CaseSummary {
        number: r.number.clone(),
        application_number: r.application_number.clone(),
        item_code: r.item_code.clone(),
        item_name: r.item_name.clone(),
        department: r.department_name.clone(),
        site: r.site_name.clone(),
        applicant: r.applicant_name.clone(),
        status: r.status.clone(),
        queue: r.queue.clone(),
        due_on: r.due_on.map(|d| d.to_string()),
        assignee: r.assignee_name.clone(),
        submitted_at: clock::rfc3339(r.submitted_at),
        row_version: r.row_version,
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub total: i64,
    /// The page number asked for; null when the page was asked for with `after`.
    pub page: Option<i64>,
    pub page_size: i64,
    /// Give it back as `after` for the next page (keyset paging); null on the last page.
    pub next: Option<String>,
    pub items: Vec<CaseSummary>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CasesParams {
    /// `intake`, `examine`, `decide`, `due_soon`, `overdue`, `supplement`, `suspended`, `deliver`,
    /// `concluded` or `mine` (default `intake`).
    #[serde(default)]
    pub queue: String,
    /// Keep only cases in this status (within the queue; a page may then hold fewer cases, and
    /// `next` still goes on from where the queue's page ended).
    #[serde(default)]
    pub status: String,
}

/// Cases in one work queue of the caller's scope (department, site, or all), most urgent first:
/// by due day, then the order they came in, cases without a due day (paused) last; `concluded`
/// the other way round, newest first. By `page`, or `after` the `next` of the previous page.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CasesParams, CursorParams),
    responses((status = 200, body = CaseList), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn list_cases(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<CasesParams>,
    Query(paging): Query<CursorParams>,
) -> WebResult {
    let request = PageRequest::from_query(paging.page, paging.page_size, paging.after.as_deref())?;
    let queue = if p.queue.is_empty() { "intake" } else { p.queue.as_str() };
    let status = Some(p.status.as_str()).filter(|s| !s.is_empty());
    let list = cases::list(&state.core, &user.actor, queue, status, &request).await?;
    Ok(Json(CaseList {
        total: list.total,
        page: request.page_number(),
        page_size: request.size,
        next: list.next.as_ref().map(Cursor::encode),
        items: list.items.iter().map(summary).collect(),
    })
    .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct CaseTimelineEntry {
    pub at: String,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub comment: String,
    /// Staff-only remark.
    pub internal: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ActionRef {
    pub action: String,
    pub label: String,
    /// What the action needs: `comment`, `legal_basis`, `materials`, `delivery`.
    pub requires: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub status_label: String,
    pub promised_deadline: Option<String>,
    pub legal_deadline: Option<String>,
    /// `none`, `yellow` (due within one working day) or `red` (past due).
    pub warning: String,
    pub workflow: String,
    pub workflow_version: i64,
    pub timeline: Vec<CaseTimelineEntry>,
    /// Exactly what this caller may do now.
    pub available_actions: Vec<ActionRef>,
    /// The materials asked for in a pending one-time notice.
    pub notice: Vec<NoticeItem>,
}

fn detail(v: &CaseView) -> CaseDetail {
    CaseDetail {
        summary: summary(&v.row),
        status_label: v.status_label().to_owned(),
        promised_deadline: v.schedule.promised.map(|d| d.to_string()),
        legal_deadline: v.schedule.legal.map(|d| d.to_string()),
        warning: v.warning.name().to_owned(),
        workflow: v.row.workflow_code.clone(),
        workflow_version: v.row.workflow_version,
        timeline: v
            .events
            .iter()
            .map(|e| CaseTimelineEntry {
                at: clock::rfc3339(e.at),
                action: e.action.clone(),
                from_status: e.from_status.clone(),
                to_status: e.to_status.clone(),
                actor: e.actor.clone(),
                comment: e.comment.clone(),
                internal: e.internal,
            })
            .collect(),
        available_actions: v
            .available
            .iter()
            .map(|a| ActionRef {
                action: a.name.clone(),
                label: a.label.clone(),
                requires: a
                    .requires
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
                    })
                    .collect(),
            })
            .collect(),
        notice: v.notice.clone(),
    }
}

/// One case, with both deadlines, the warning, the timeline and the actions available now.
#[utoipa::path(get, path = "/api/v1/cases/{number}", tag = "cases", params(("number" = String, Path)),
    responses((status = 200, body = CaseDetail), (status = 403, description = "another department's or site's case", body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
async fn get_case(State(state): State<AppState>, user: CurrentUser, Ref(number): Ref<CaseNumber>) -> WebResult {
    let v = cases::view(&state.core, &user.actor, &number).await?;
    Ok(Json(detail(&v)).into_response())
}

/// The case's application with the applicant's ID numbers and phones in full (needs
/// `pii.reveal`; every call is recorded in the audit log before the answer is sent). Elsewhere
/// the API shows them masked.
#[utoipa::path(post, path = "/api/v1/cases/{number}/reveal", tag = "cases", params(("number" = String, Path)),
    responses((status = 200, body = super::applications::ApplicationDetail), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
async fn reveal_case(State(state): State<AppState>, user: CurrentUser, Ref(number): Ref<CaseNumber>) -> WebResult {
    let v = cases::reveal(&state.core, &user.actor, &number).await?;
    Ok(Json(super::applications::application_detail(v.application)).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ActionRequest {
    /// `accept`, `refuse`, `request_supplement`, `examine`, `suspend`, `resume`, `extend`,
    /// `approve`, `deny`, `deliver`, or a step the case's workflow defines.
    pub action: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub legal_basis: String,
    /// For `request_supplement`: every material code asked for.
    #[serde(default)]
    pub materials: Vec<String>,
    /// What is wrong with each material, by code.
    #[serde(default)]
    pub material_notes: std::collections::HashMap<String, String>,
    /// For `deliver`.
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// The `row_version` the caller saw; a different one is a conflict (409).
    #[serde(default)]
    pub row_version: Option<i64>,
    /// Extra facts the approver fills in.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Take an action on a case: 200 with the new state; 409 when not allowed in this state or the
/// version is stale; 403 when the caller may not take it; 422 when something required is missing.
#[utoipa::path(post, path = "/api/v1/cases/{number}/actions", tag = "cases", params(("number" = String, Path)),
    request_body = ActionRequest,
    responses((status = 200, body = CaseDetail), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn case_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<CaseNumber>,
    Json(r): Json<ActionRequest>,
) -> WebResult {
    let input = ActionInput {
        action: r.action,
        comment: r.comment,
        legal_basis: r.legal_basis,
        materials: r.materials,
        material_notes: r.material_notes,
        delivery: r.delivery,
        row_version: r.row_version,
        fields: r.fields,
    };
    cases::act(&state.core, &user.actor, &number, &input).await?;
    let v = cases::view(&state.core, &user.actor, &number).await?;
    Ok(Json(detail(&v)).into_response())
}

/// The applicant supplies the materials a one-time notice asked for (multipart, one part per
/// material named `material:<code>`), and only those; the cases resume.
#[utoipa::path(post, path = "/api/v1/applications/{number}/supplement", tag = "applications", params(("number" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "material:<code> files"),
    responses((status = 200, body = super::applications::ApplicationDetail), (status = 404, body = ApiErrorBody),
        (status = 409, description = "nothing to supplement", body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn supplement(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
    multipart: axum::extract::Multipart,
) -> WebResult {
    let parts = crate::kit::upload::read_multipart(multipart).await?;
    cases::supplement(&state.core, &user.actor, &number, parts.uploads).await?;
    let v = tongban_app::applications::mine(&state.core, &user.actor, &number).await?;
    Ok(Json(super::applications::application_detail(v)).into_response())
}

/// The latest version of every workflow.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    responses((status = 200, description = "[{version, definition}]"), (status = 403, body = ApiErrorBody)))]
async fn list_workflows(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    let list = tongban_app::workflows::list(&state.core, &user.actor).await?;
    let body: Vec<serde_json::Value> =
        list.into_iter().map(|(v, w)| serde_json::json!({ "version": v, "definition": w })).collect();
    Ok(Json(body).into_response())
}

/// Save a new version of a workflow (validated: every problem listed at once). Running cases keep
/// the version they started on.
#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows", request_body(content = Object, description = "a workflow definition"),
    responses((status = 201, description = "{code, version}"), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn save_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(w): Json<serde_json::Value>,
) -> WebResult {
    let w: Workflow = serde_json::from_value(w).map_err(|e| {
        tongban_app::AppError::Invalid(vec![tongban_app::FieldError::new(
            "definition",
            "invalid",
            format!("流程定义格式不正确：{e}"),
        )])
    })?;
    let code = w.code.clone();
    let version = tongban_app::workflows::save(&state.core, &user.actor, w).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "code": code, "version": version }))).into_response())
}
