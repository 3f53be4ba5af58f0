//! The queue at the window workbench: sign in at a window, pause, call the next ticket, act on
//! the ticket in hand, and (at the reception desk) give tickets. Each action is a form POST that
//! redirects back to `/hall` (a reload never calls twice); a refusal ("暂无等候", a ticket of
//! another window) shows the workbench again with the message beside the queue, answered 409.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use tongban_app::AppError;
use tongban_app::queue::{self, Action, TakeTicket};
use tongban_domain::code::Code;
use tongban_domain::permission::Permission as P;
use tongban_domain::queue::{TicketChannel, TicketClass};

use crate::kit::error::WebResult;
use crate::kit::forms::redirect;
use crate::kit::params::Ref;
use crate::kit::registry::Access::Perm;
use crate::kit::shell::{CurrentUser, Shell};
use crate::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.post("/hall/window/sign-in", Perm(P::HallCall), sign_in)
        .post("/hall/window/sign-out", Perm(P::HallCall), sign_out)
        .post("/hall/window/pause", Perm(P::HallCall), pause)
        .post("/hall/window/resume", Perm(P::HallCall), resume)
        .post("/hall/call-next", Perm(P::HallCall), call_next)
        .post("/hall/tickets/{id}/act", Perm(P::HallCall), act)
        .post("/hall/tickets/{id}/return", Perm(P::HallCall), return_to_queue)
        .post("/hall/tickets", Perm(P::HallTicket), take)
}

/// The outcome of an action: back to the workbench with a notice, or the workbench again with
/// the refusal.
async fn settle<T>(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    result: Result<T, AppError>,
    notice: impl FnOnce(T) -> String,
) -> WebResult<Response> {
    match result {
        Ok(v) => {
            let text = notice(v);
            let query: String =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("notice", &text).finish();
            Ok(redirect(&format!("/hall?{query}")))
        }
        Err(AppError::Conflict(message)) => super::workbench(state, shell, user, String::new(), Some(message)).await,
        Err(AppError::Invalid(problems)) => {
            let message = problems.into_iter().map(|p| p.message).collect::<Vec<_>>().join("；");
            super::workbench(state, shell, user, String::new(), Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct WindowForm {
    #[serde(default)]
    window: String,
}

async fn sign_in(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Form(f): axum::extract::Form<WindowForm>,
) -> WebResult {
    let Ok(window_id) = f.window.trim().parse::<i64>() else {
        return settle(&state, shell, &user, Err::<(), _>(AppError::Conflict("请选择窗口".into())), |_| {
            String::new()
        })
        .await;
    };
    let r = queue::sign_in(&state.core, &user.actor, window_id).await;
    settle(&state, shell, &user, r, |w| format!("已在{}签到，可以开始叫号", w.name)).await
}

async fn sign_out(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let r = queue::sign_out(&state.core, &user.actor).await;
    settle(&state, shell, &user, r, |_| "已签退".to_owned()).await
}

#[derive(Deserialize)]
struct PauseForm {
    #[serde(default)]
    reason: String,
}

async fn pause(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Form(f): axum::extract::Form<PauseForm>,
) -> WebResult {
    let r = queue::pause(&state.core, &user.actor, Some(&f.reason)).await;
    settle(&state, shell, &user, r, |_| "窗口已暂停叫号".to_owned()).await
}

async fn resume(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let r = queue::pause(&state.core, &user.actor, None).await;
    settle(&state, shell, &user, r, |_| "窗口已恢复叫号".to_owned()).await
}

async fn call_next(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let r = queue::call_next(&state.core, &user.actor).await;
    settle(&state, shell, &user, r, |c| format!("已叫号 {}：{}", c.ticket.label, c.reason)).await
}

#[derive(Deserialize)]
struct ActForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    note: String,
}

async fn act(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(id): Ref<i64>,
    axum::extract::Form(f): axum::extract::Form<ActForm>,
) -> WebResult {
    let action = match f.action.as_str() {
        "recall" => Action::Recall,
        "start" => Action::Start,
        "park" => Action::Park,
        "no_show" => Action::NoShow,
        "done" => Action::Done,
        "transfer" if f.service.trim().is_empty() => {
            let r = Err::<(), _>(AppError::Conflict("请选择转入的业务".into()));
            return settle(&state, shell, &user, r, |_| String::new()).await;
        }
        "transfer" => Action::Transfer { service_code: f.service.trim().to_owned(), window_id: None, note: f.note },
        _ => {
            let r = Err::<(), _>(AppError::Conflict("未知的操作".into()));
            return settle(&state, shell, &user, r, |_| String::new()).await;
        }
    };
    let r = queue::act(&state.core, &user.actor, id, &action).await;
    settle(&state, shell, &user, r, |t| format!("{} 号{}", t.label, t.state.label())).await
}

async fn return_to_queue(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(id): Ref<i64>,
) -> WebResult {
    let r = queue::rejoin(&state.core, &user.actor, id).await;
    settle(&state, shell, &user, r, |s| format!("{} 号已回到队列，前面还有 {} 人", s.ticket.label, s.ahead)).await
}

#[derive(Deserialize)]
struct TakeForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    class: String,
}

async fn take(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Form(f): axum::extract::Form<TakeForm>,
) -> WebResult {
    let Some(site) = user.actor.site.clone() else { return Err(AppError::Forbidden.into()) };
    let class = TicketClass::from_name(f.class.trim()).unwrap_or(TicketClass::Ordinary);
    let req = TakeTicket {
        site_code: site.code,
        service_code: f.service.trim().to_owned(),
        class,
        channel: TicketChannel::Reception,
    };
    let r = queue::take(&state.core, &user.actor, &req).await;
    let r = r.map_err(|e| if matches!(e, AppError::NotFound) { AppError::Conflict("请选择业务".into()) } else { e });
    settle(&state, shell, &user, r, |s| {
        format!("已取号 {}（{}），前面还有 {} 人", s.ticket.label, s.ticket.class.label(), s.ahead)
    })
    .await
}
