//! The message centre (/my/messages): every logged-in user's messages, newest first, unread
//! ones marked; opening one marks it read.

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tongban_domain::permission::Permission as P;

use crate::kit::error::WebResult;
use crate::kit::forms::{Pager, page_number, safe_next};
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::notifications;
use tongban_app::views::Notification;

pub fn routes(r: Routes) -> Routes {
    r.get("/my/messages", Perm(P::AccountSelf), list)
        .post("/my/messages/read-all", Perm(P::AccountSelf), read_all)
        .post("/my/messages/{id}/read", Perm(P::AccountSelf), read)
}

const PAGE_SIZE: i64 = 20;

#[derive(Template)]
#[template(path = "portal/my_messages.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Notification>,
    unread: i64,
    pager: Pager,
}

impl ListPage {
    fn time(&self, ms: &i64) -> String {
        tongban_app::clock::display(*ms)
    }

    /// Links stay on this site, whatever a message carries.
    fn href(&self, link: &str) -> String {
        safe_next(link)
    }
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: String,
}

async fn list(State(state): State<AppState>, shell: Shell, user: CurrentUser, Query(q): Query<PageQuery>) -> WebResult {
    let page = page_number(&q.page);
    let request = tongban_app::paging::PageRequest::number(page, PAGE_SIZE);
    let (list, unread) = notifications::list_mine(&state.core, &user.actor, &request).await?;
    let pager = Pager::new("/my/messages", &[], page, PAGE_SIZE, list.total);
    Ok(render(&ListPage { shell, rows: list.items, unread, pager }))
}

#[derive(Deserialize)]
struct ReadForm {
    /// Set by the "open" button: go on to the message's link.
    #[serde(default)]
    open: String,
}

async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ReadForm>,
) -> WebResult {
    let id = id.parse::<i64>().map_err(|_| tongban_app::AppError::NotFound)?;
    let message = notifications::mark_read(&state.core, &user.actor, id).await?;
    let target = if f.open.is_empty() || message.link.is_empty() { "/my/messages" } else { message.link.as_str() };
    Ok(crate::kit::forms::redirect(target))
}

async fn read_all(State(state): State<AppState>, user: CurrentUser) -> WebResult {
    notifications::mark_all_read(&state.core, &user.actor).await?;
    Ok(crate::kit::forms::redirect("/my/messages"))
}
