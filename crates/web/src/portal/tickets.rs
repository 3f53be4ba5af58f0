//! 我的排队 (/my/tickets): a person takes a ticket from the phone (remote queueing) and sees
//! today's tickets with their position and estimated wait, and cancels one.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tongban_app::AppError;
use tongban_app::queue::{self, OpenHall, TakeTicket, TicketStatus};
use tongban_domain::permission::Permission as P;
use tongban_domain::queue::{TicketChannel, TicketClass};

use crate::kit::error::WebResult;
use crate::kit::forms::redirect;
use crate::kit::params::Ref;
use crate::kit::registry::Access::Perm;
use crate::kit::shell::{CurrentUser, Shell, render, render_status};
use crate::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/my/tickets", Perm(P::TicketTake), list).post("/my/tickets", Perm(P::TicketTake), take).post(
        "/my/tickets/{id}/cancel",
        Perm(P::TicketTake),
        cancel,
    )
}

#[derive(Template)]
#[template(path = "portal/my_tickets.html")]
struct TicketsPage {
    shell: Shell,
    tickets: Vec<TicketStatus>,
    halls: Vec<OpenHall>,
    notice: String,
    refusal: Option<String>,
}

impl TicketsPage {
    fn time(&self, ms: &i64) -> String {
        tongban_app::clock::hour_minute(*ms)
    }
}

#[derive(Deserialize)]
struct Notice {
    #[serde(default)]
    notice: String,
}

async fn page(state: &AppState, shell: Shell, user: &CurrentUser, refusal: Option<String>) -> WebResult<TicketsPage> {
    let tickets = queue::mine(&state.core, &user.actor).await?;
    let halls = queue::halls(&state.core).await?;
    Ok(TicketsPage { shell, tickets, halls, notice: String::new(), refusal })
}

async fn list(State(state): State<AppState>, shell: Shell, user: CurrentUser, Query(q): Query<Notice>) -> WebResult {
    let mut p = page(&state, shell, &user, None).await?;
    p.notice = q.notice.chars().take(200).collect();
    Ok(render(&p))
}

/// Back to the list with a notice, or the list again with the refusal (409, nothing changed).
async fn settle<T>(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    result: Result<T, AppError>,
    notice: impl FnOnce(T) -> String,
) -> WebResult {
    match result {
        Ok(v) => {
            let query: String =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("notice", &notice(v)).finish();
            Ok(redirect(&format!("/my/tickets?{query}")))
        }
        Err(AppError::Conflict(m)) => {
            Ok(render_status(StatusCode::CONFLICT, &page(state, shell, user, Some(m)).await?))
        }
        Err(AppError::NotFound) => {
            let m = "请选择要办理的大厅和业务".to_owned();
            Ok(render_status(StatusCode::CONFLICT, &page(state, shell, user, Some(m)).await?))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct TakeForm {
    /// `<site code>|<service code>`.
    #[serde(default)]
    queue: String,
}

async fn take(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Form(f): axum::extract::Form<TakeForm>,
) -> WebResult {
    let (site, service) = f.queue.split_once('|').unwrap_or(("", ""));
    let req = TakeTicket {
        site_code: site.trim().to_owned(),
        service_code: service.trim().to_owned(),
        class: TicketClass::Ordinary,
        channel: TicketChannel::Phone,
    };
    let r = queue::take(&state.core, &user.actor, &req).await;
    settle(&state, shell, &user, r, |s| format!("取号成功：{}，前面还有 {} 人", s.ticket.label, s.ahead)).await
}

async fn cancel(State(state): State<AppState>, shell: Shell, user: CurrentUser, Ref(id): Ref<i64>) -> WebResult {
    let r = queue::cancel(&state.core, &user.actor, id).await;
    settle(&state, shell, &user, r, |_| "已取消排队".to_owned()).await
}
