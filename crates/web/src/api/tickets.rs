//! Hall tickets for the person's phone (`/api/v1/tickets`): take one remotely, see where it
//! stands (position and estimated wait), list today's, cancel.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_app::AppError;
use tongban_app::queue::{self, TakeTicket, TicketStatus};
use tongban_domain::queue::{TicketChannel, TicketClass};
use utoipa::ToSchema;

use super::common::ApiErrorBody;
use crate::AppState;
use crate::kit::error::WebResult;
use crate::kit::shell::CurrentUser;

/// A ticket asked for from the phone: the site and its queue service (by code).
#[derive(Deserialize, ToSchema)]
pub struct TicketRequest {
    /// The site's code, e.g. `MH-XZ`.
    pub site: String,
    /// The queue service's code at that site, e.g. `general`.
    pub service: String,
}

/// A ticket and where it stands.
#[derive(Serialize, ToSchema)]
pub struct TicketView {
    pub id: i64,
    /// As called and shown, e.g. `A012`.
    pub label: String,
    pub service: String,
    /// `green_channel`, `appointment` or `ordinary`.
    pub class: String,
    /// `waiting`, `called`, `serving`, `parked`, `done`, `no_show`, `cancelled` or `expired`.
    pub state: String,
    pub state_label: String,
    /// `YYYY-MM-DD`: a ticket is valid on its day only.
    pub day: String,
    pub taken_at: String,
    /// Waiting tickets of the same service ahead of this one.
    pub ahead: i64,
    /// Estimated minutes until called, from recent service times; null when unknown.
    pub estimate_minutes: Option<i64>,
    /// The window it was called to, once called.
    pub window: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketList {
    pub items: Vec<TicketView>,
}

fn view(s: TicketStatus) -> TicketView {
    let t = s.ticket;
    TicketView {
        id: t.id,
        label: t.label,
        service: t.service_name,
        class: t.class.name().to_owned(),
        state: t.state.name().to_owned(),
        state_label: t.state.label().to_owned(),
        day: t.day.to_string(),
        taken_at: tongban_app::clock::rfc3339(t.taken_at),
        ahead: s.ahead,
        estimate_minutes: s.estimate_minutes,
        window: t.window_name,
    }
}

fn ticket_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(AppError::NotFound)
}

/// Takes an ordinary ticket for the caller (remote queueing): one open ticket per service and
/// day; the hall must be open today and not past its closing time.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = TicketRequest,
    responses((status = 201, body = TicketView), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, description = "a ticket already open, a closed hall, a holiday", body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
pub(crate) async fn take_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<TicketRequest>,
) -> WebResult {
    let take = TakeTicket {
        site_code: req.site.trim().to_owned(),
        service_code: req.service.trim().to_owned(),
        class: TicketClass::Ordinary,
        channel: TicketChannel::Phone,
    };
    let status = queue::take(&state.core, &user.actor, &take).await?;
    Ok((axum::http::StatusCode::CREATED, Json(view(status))).into_response())
}

/// The caller's tickets of today, newest first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets",
    responses((status = 200, body = TicketList), (status = 401, body = ApiErrorBody)))]
pub(crate) async fn list_tickets(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    let items = queue::mine(&state.core, &user.actor).await?.into_iter().map(view).collect();
    Ok(Json(TicketList { items }).into_response())
}

/// One of the caller's tickets, with its position; another person's is 404.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = TicketView), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub(crate) async fn get_ticket(State(state): State<AppState>, user: CurrentUser, Path(id): Path<String>) -> WebResult {
    let id = ticket_id(&id)?;
    let status = queue::status(&state.core, &user.actor, id).await.map_err(|e| match e {
        AppError::Forbidden => AppError::NotFound,
        e => e,
    })?;
    Ok(Json(view(status)).into_response())
}

/// Cancels one of the caller's waiting tickets.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/cancel", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = TicketView), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody)))]
pub(crate) async fn cancel_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> WebResult {
    let id = ticket_id(&id)?;
    queue::cancel(&state.core, &user.actor, id).await?;
    let status = queue::status(&state.core, &user.actor, id).await?;
    Ok(Json(view(status)).into_response())
}
