//! The staff rooms: the window workbench (/hall), the department workbench (/office) and the
//! leaders' dashboard (/dashboard). Their case queues arrive with case handling; today they show
//! the user's own site or department, which is what the data scope of each role reaches.

use askama::Template;
use axum::extract::State;

use super::error::WebResult;
use super::shell::{CurrentUser, Shell, render};
use super::{AppState, Routes};
use crate::app::{AppError, authorize};
use crate::domain::permission::Permission;
use crate::store::org::{Site, Window};
use crate::store::users::User;
use crate::store::{audit, org, users};

pub fn routes(r: Routes) -> Routes {
    r.get("/hall", hall).get("/dashboard", dashboard)
}

#[derive(Template)]
#[template(path = "hall.html")]
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
    authorize(&state.core, &user.actor, Permission::HallView, "hall").await?;
    let mut conn = state.core.db.conn().await?;
    let mut intake_items = Vec::new();
    if let Some(site) = user.actor.site.as_ref().filter(|_| user.actor.can(Permission::CaseIntake)) {
        for (row, json) in crate::store::catalogue::published_with_definitions(&mut conn).await? {
            let Ok(def) = serde_json::from_str::<crate::domain::item::ItemDefinition>(&json) else { continue };
            let here = match &def.sites {
                crate::domain::item::Sites::All(_) => true,
                crate::domain::item::Sites::Listed(codes) => codes.contains(&site.code),
            };
            if row.serves_persons() && row.status == "published" && (def.citywide || here) {
                intake_items.push((row.code, row.name, row.department.name));
            }
        }
    }
    let (windows, colleagues) = match &user.actor.site {
        Some(site) => {
            (org::windows_of_site(&mut conn, site.id).await?, users::staff_of_site(&mut conn, site.id).await?)
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok(render(&HallPage { shell, site: user.actor.site.clone(), windows, colleagues, intake_items, taken: q.taken }))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
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
