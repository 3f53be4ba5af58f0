//! Background jobs (/admin/jobs), for the system administrator: each kind's queue, and the jobs
//! given up (the dead-letter list) with their last error and a button that queues one again.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::kit::error::WebResult;
use crate::kit::forms::redirect;
use crate::kit::params::Ref;
use crate::kit::registry::Access::Perm;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::clock;
use tongban_app::jobs::{self, FailedJob, KindCounts};
use tongban_domain::permission::Permission as P;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/jobs", Perm(P::JobsManage), page).post("/admin/jobs/{id}/retry", Perm(P::JobsManage), retry)
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    shell: Shell,
    kinds: Vec<KindCounts>,
    failed: Vec<FailedJob>,
    listed: i64,
    retried: Option<i64>,
}

impl JobsPage {
    fn when(&self, ms: &i64) -> String {
        clock::display(*ms)
    }
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    retried: String,
}

async fn page(State(state): State<AppState>, shell: Shell, user: CurrentUser, Query(q): Query<PageQuery>) -> WebResult {
    let (kinds, failed) = jobs::overview(&state.core, &user.actor).await?;
    let retried = q.retried.parse().ok();
    Ok(render(&JobsPage { shell, kinds, failed, listed: jobs::FAILED_LISTED, retried }))
}

async fn retry(State(state): State<AppState>, user: CurrentUser, Ref(id): Ref<i64>) -> WebResult {
    jobs::retry(&state.core, &user.actor, id).await?;
    Ok(redirect(&format!("/admin/jobs?retried={id}")))
}
