//! The window workbench of a service hall (/hall): the queue at the staff member's window (sign
//! in, call, the ticket in hand), the reception desk's tickets, the user's own site, its windows
//! and colleagues, and the items a walk-in applicant may apply for here (window intake).

pub mod intake;
pub mod queue;
pub mod screen;

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use tongban_domain::permission::Permission as P;
use tongban_domain::queue::TicketClass;

use crate::kit::error::WebResult;
use crate::kit::shell::{CurrentUser, Shell, render, render_status};
use crate::{AppState, Routes};
use tongban_app::queue::{Desk, Ticket};
use tongban_app::views::{self, Site, User, Window};

pub fn routes(r: Routes) -> Routes {
    screen::routes(queue::routes(intake::routes(r.get("/hall", Perm(P::HallView), hall))))
}

#[derive(Template)]
#[template(path = "hall/home.html")]
struct HallPage {
    shell: Shell,
    site: Option<Site>,
    windows: Vec<Window>,
    colleagues: Vec<User>,
    /// Items this hall may take for a walk-in applicant: (code, name, department).
    intake_items: Vec<(String, String, String)>,
    taken: String,
    /// The queue at this user's window (with `hall.call`), and whether they give tickets.
    desk: Option<Desk>,
    reception: bool,
    classes: &'static [TicketClass],
    /// What the last action did, or why it was refused.
    notice: String,
    refusal: Option<String>,
}

impl HallPage {
    fn time(&self, ms: &i64) -> String {
        tongban_app::clock::hour_minute(*ms)
    }

    fn time_opt(&self, ms: &Option<i64>) -> String {
        ms.map(tongban_app::clock::hour_minute).unwrap_or_default()
    }

    fn waited(&self, t: &Ticket) -> String {
        let until = t.called_at.unwrap_or(t.queued_at);
        format!("{} 分钟", (until - t.queued_at).max(0) / 60_000)
    }
}

#[derive(serde::Deserialize)]
struct HallQuery {
    #[serde(default)]
    taken: String,
    #[serde(default)]
    notice: String,
}

async fn hall(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Query(q): axum::extract::Query<HallQuery>,
) -> WebResult {
    let mut page = page(&state, shell, &user, q.taken, None).await?;
    page.notice = q.notice.chars().take(200).collect();
    Ok(render(&page))
}

async fn page(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    taken: String,
    refusal: Option<String>,
) -> WebResult<HallPage> {
    let views::Hall { windows, colleagues, intake_items } = views::hall(&state.core, &user.actor).await?;
    let desk = if user.actor.can(P::HallCall) && user.actor.site.is_some() {
        Some(tongban_app::queue::desk(&state.core, &user.actor).await?)
    } else {
        None
    };
    Ok(HallPage {
        shell,
        site: user.actor.site.clone(),
        windows,
        colleagues,
        intake_items,
        taken,
        desk,
        reception: user.actor.can(P::HallTicket),
        classes: &TicketClass::ALL,
        notice: String::new(),
        refusal,
    })
}

/// The workbench again, with a refusal beside the queue (409: nothing changed).
pub(crate) async fn workbench(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    taken: String,
    refusal: Option<String>,
) -> WebResult {
    let page = page(state, shell, user, taken, refusal).await?;
    Ok(render_status(StatusCode::CONFLICT, &page))
}
