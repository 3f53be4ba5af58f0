//! The user's messages (`/api/v1/messages`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::common::{ApiErrorBody, CursorParams};
use crate::AppState;
use crate::kit::error::WebResult;
use crate::kit::shell::CurrentUser;
use tongban_app::paging::{Cursor, PageRequest};

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
    /// The page number asked for; null when the page was asked for with `after`.
    pub page: Option<i64>,
    pub page_size: i64,
    /// Give it back as `after` for the next page (keyset paging); null on the last page.
    pub next: Option<String>,
    /// Unread messages in all pages.
    pub unread: i64,
    pub items: Vec<Message>,
}

fn message(n: tongban_app::views::Notification) -> Message {
    Message {
        id: n.id,
        at: tongban_app::clock::rfc3339(n.at),
        title: n.title,
        body: n.body,
        link: n.link,
        read: n.read_at.is_some(),
    }
}

/// The caller's messages (case status changes, deadline warnings…), newest first.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", params(CursorParams),
    responses((status = 200, body = MessageList), (status = 401, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<CursorParams>,
) -> WebResult {
    let request = PageRequest::from_query(p.page, p.page_size, p.after.as_deref())?;
    let (list, unread) = tongban_app::notifications::list_mine(&state.core, &user.actor, &request).await?;
    Ok(Json(MessageList {
        total: list.total,
        page: request.page_number(),
        page_size: request.size,
        next: list.next.as_ref().map(Cursor::encode),
        unread,
        items: list.items.into_iter().map(message).collect(),
    })
    .into_response())
}

/// Marks one of the caller's messages read; another user's message is 404.
#[utoipa::path(post, path = "/api/v1/messages/{id}/read", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Message), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub(crate) async fn read_message(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> WebResult {
    let id = id.parse::<i64>().map_err(|_| tongban_app::AppError::NotFound)?;
    let n = tongban_app::notifications::mark_read(&state.core, &user.actor, id).await?;
    Ok(Json(message(n)).into_response())
}
