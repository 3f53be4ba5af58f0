//! The window workbench of a service hall (/hall): the user's own site, its windows and
//! colleagues, and the items a walk-in applicant may apply for here (window intake).

pub mod intake;

use askama::Template;
use axum::extract::State;

use crate::app::authorize;
use crate::domain::permission::Permission;
use crate::store::org::{Site, Window};
use crate::store::users::User;
use crate::store::{org, users};
use crate::web::kit::error::WebResult;
use crate::web::kit::shell::{CurrentUser, Shell, render};
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    intake::routes(r.get("/hall", hall))
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
