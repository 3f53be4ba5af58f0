//! The window workbench of a service hall (/hall): the user's own site, its windows and
//! colleagues, and the items a walk-in applicant may apply for here (window intake).

pub mod intake;

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::extract::State;
use tongban_domain::permission::Permission as P;

use crate::kit::error::WebResult;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::views::{self, Site, User, Window};

pub fn routes(r: Routes) -> Routes {
    intake::routes(r.get("/hall", Perm(P::HallView), hall))
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
}

#[derive(serde::Deserialize)]
struct HallQuery {
    #[serde(default)]
    taken: String,
}

async fn hall(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    axum::extract::Query(q): axum::extract::Query<HallQuery>,
) -> WebResult {
    let views::Hall { windows, colleagues, intake_items } = views::hall(&state.core, &user.actor).await?;
    Ok(render(&HallPage { shell, site: user.actor.site.clone(), windows, colleagues, intake_items, taken: q.taken }))
}
