//! 我的办件: the applicant's own applications, each with its answers, materials, timeline and
//! cases; withdrawal before acceptance, supplements a one-time notice asked for, and the files.

use super::applications::answer_list;
use crate::kit::error::WebResult;
use crate::kit::forms::{Pager, page_number};
use crate::kit::params::Ref;
use crate::kit::registry::Access::Perm;
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::kit::upload::{file_response, read_multipart};
use crate::{AppState, Routes};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tongban_app::AppError;
use tongban_app::applications::{self, View, human_size};
use tongban_app::clock;
use tongban_app::views::{ApplicationRow, MaterialFile};
use tongban_domain::application::{can_withdraw, event_label, status_label};
use tongban_domain::day::Day;
use tongban_domain::permission::Permission as P;
use tongban_domain::reference::ApplicationNumber;

pub fn routes(r: Routes) -> Routes {
    r.get("/my/applications", Perm(P::PortalMine), my_list)
        .get("/my/applications/{number}", Perm(P::PortalMine), my_detail)
        .post("/my/applications/{number}/withdraw", Perm(P::PortalMine), my_withdraw)
        .post_upload("/my/applications/{number}/supplement", Perm(P::PortalMine), my_supplement)
        .get("/my/applications/{number}/files/{sha}", Perm(P::PortalMine), my_file)
}

#[derive(Template)]
#[template(path = "portal/my_applications.html")]
struct MyListPage {
    shell: Shell,
    rows: Vec<ApplicationRow>,
    pager: Pager,
}

impl MyListPage {
    fn status(&self, s: &str) -> &'static str {
        status_label(s)
    }

    fn date(&self, ms: &Option<i64>) -> String {
        ms.map(|m| clock::display(m).chars().take(10).collect()).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: String,
}

async fn my_list(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<PageQuery>,
) -> WebResult {
    let page = page_number(&q.page);
    let (total, rows) = applications::list_mine(&state.core, &user.actor, page, 20).await?;
    let pager = Pager::new("/my/applications", &[], page, 20, total);
    Ok(render(&MyListPage { shell, rows, pager }))
}

#[derive(Template)]
#[template(path = "portal/my_application.html")]
struct MyDetailPage {
    shell: Shell,
    v: View,
    submitted: bool,
    answers: Vec<(String, String)>,
    materials: Vec<(String, Vec<MaterialFile>)>,
    promised_days: u32,
    /// Each case of the application: (case, status label, materials asked for).
    cases: Vec<(tongban_app::views::CaseRow, String, Vec<tongban_domain::case::NoticeItem>)>,
}

impl MyDetailPage {
    fn status(&self) -> &'static str {
        status_label(&self.v.row.status)
    }

    fn can_withdraw(&self) -> bool {
        can_withdraw(&self.v.row.status)
    }

    fn event(&self, kind: &str) -> &'static str {
        event_label(kind)
    }

    fn time(&self, ms: &i64) -> String {
        clock::display(*ms)
    }

    fn deadline(&self) -> String {
        self.v.row.promised_deadline.map(Day::chinese).unwrap_or_default()
    }

    fn size(&self, bytes: &i64) -> String {
        human_size(*bytes as u64)
    }
}

#[derive(Deserialize)]
struct SubmittedQuery {
    submitted: Option<String>,
}

async fn my_detail(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
    Query(q): Query<SubmittedQuery>,
) -> WebResult {
    let v = applications::mine(&state.core, &user.actor, &number).await?;
    let def = match &v.definition {
        Some(d) => d.clone(),
        None => tongban_app::catalogue::guide(&state.core, &v.row.item_code).await?.def,
    };
    let answers = answer_list(&def, &v.values);
    let materials = def
        .materials
        .iter()
        .map(|m| (m.name.clone(), v.materials.iter().filter(|f| f.material_code == m.code).cloned().collect()))
        .filter(|(_, files): &(String, Vec<MaterialFile>)| !files.is_empty())
        .collect();
    let cases = tongban_app::cases::of_application(&state.core, v.row.id).await?;
    let page = MyDetailPage {
        shell,
        submitted: q.submitted.is_some(),
        answers,
        materials,
        promised_days: def.promised_days,
        cases,
        v,
    };
    Ok(render(&page))
}

async fn my_withdraw(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
) -> WebResult {
    applications::withdraw(&state.core, &user.actor, &number).await?;
    Ok(crate::kit::forms::redirect(&format!("/my/applications/{number}")))
}

/// The applicant uploads what the one-time notice asked for; the case resumes.
async fn my_supplement(
    State(state): State<AppState>,
    user: CurrentUser,
    Ref(number): Ref<ApplicationNumber>,
    multipart: Multipart,
) -> WebResult {
    let parts = read_multipart(multipart).await?;
    tongban_app::cases::supplement(&state.core, &user.actor, &number, parts.uploads).await?;
    Ok(crate::kit::forms::redirect(&format!("/my/applications/{number}?supplied=1")))
}

/// One of the applicant's own uploaded files, by its digest.
async fn my_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((number, sha)): Path<(String, String)>,
) -> WebResult {
    let number: ApplicationNumber = crate::kit::params::parse(&number)?;
    let v = applications::mine(&state.core, &user.actor, &number).await?;
    let file = v.materials.iter().find(|m| m.file_sha256 == sha).ok_or(AppError::NotFound)?;
    file_response(&state, file).await
}
