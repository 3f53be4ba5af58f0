//! The leaders' dashboard (/dashboard): the district's figures — accounts, departments, halls,
//! windows and today's logins.

use askama::Template;
use axum::extract::State;

use crate::app::{AppError, authorize};
use crate::domain::permission::Permission;
use crate::store::{audit, org, users};
use crate::web::kit::error::WebResult;
use crate::web::kit::shell::{CurrentUser, Shell, render};
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/dashboard", dashboard)
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
    authorize(&state.core, &user.actor, Permission::DashboardView, "dashboard").await?;
    let mut conn = state.core.db.conn().await?;
    let counts = users::count_by_kind(&mut conn).await?;
    let count = |k: &str| counts.iter().find(|(kind, _)| kind == k).map_or(0, |(_, n)| *n);
    let sites = org::list_sites(&mut conn).await?;
    let midnight = crate::clock::to_china(crate::clock::now_ms())
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_local_timezone(crate::clock::china()).single())
        .map(|d| d.timestamp_millis())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("midnight")))?;
    let page = DashboardPage {
        shell,
        persons: count("person"),
        organisations: count("organisation"),
        staff: count("staff"),
        departments: org::list_departments(&mut conn).await?.len(),
        district_centers: sites.iter().filter(|s| s.kind == "district_center").count(),
        community_centers: sites.iter().filter(|s| s.kind == "community_center").count(),
        windows: org::count_windows(&mut conn).await?,
        logins_today: audit::count_action_since(&mut conn, "auth.login", midnight).await?,
    };
    Ok(render(&page))
}
