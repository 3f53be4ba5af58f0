//! The leaders' dashboard (/dashboard): the district's figures — accounts, departments, halls,
//! windows and today's logins.

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::extract::State;
use tongban_domain::permission::Permission as P;

use crate::kit::error::WebResult;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::views;

pub fn routes(r: Routes) -> Routes {
    r.get("/dashboard", Perm(P::DashboardView), dashboard)
}

#[derive(Template)]
#[template(path = "dashboard/home.html")]
struct DashboardPage {
    shell: Shell,
    persons: i64,
    organisations: i64,
    staff: i64,
    departments: usize,
    district_centers: usize,
    community_centers: usize,
    windows: i64,
    logins_today: i64,
}

async fn dashboard(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let f = views::dashboard(&state.core, &user.actor).await?;
    let page = DashboardPage {
        shell,
        persons: f.persons,
        organisations: f.organisations,
        staff: f.staff,
        departments: f.departments,
        district_centers: f.district_centers,
        community_centers: f.community_centers,
        windows: f.windows,
        logins_today: f.logins_today,
    };
    Ok(render(&page))
}
