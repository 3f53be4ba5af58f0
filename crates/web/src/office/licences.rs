//! The issuing department's licences (/office/licences): the list, one licence, and its
//! lifecycle actions (suspend, restore, revoke, cancel). The administrators' list reuses the page.

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tongban_domain::permission::Permission as P;

use crate::kit::badges::status_tag;
use crate::kit::error::WebResult;
use crate::kit::forms::{FormErrors, Pager, page_number, settle, value};
use crate::kit::shell::{CurrentUser, Shell, render};
use crate::{AppState, Routes};
use tongban_app::AppError;
use tongban_app::licences::{self, Lifecycle, Verification};
use tongban_app::views::{LicenceFilter as Filter, LicenceRow};
use tongban_domain::licence::LicenceStatus;

pub fn routes(r: Routes) -> Routes {
    r.get("/office/licences", Perm(P::LicenceRevoke), office_list)
        .get("/office/licences/{identifier}", Perm(P::LicenceRevoke), office_detail)
        .post("/office/licences/{identifier}/status", Perm(P::LicenceRevoke), office_status)
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    licence_type: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "office/licences.html")]
struct StaffListPage {
    shell: Shell,
    title: &'static str,
    base: &'static str,
    admin: bool,
    rows: Vec<(LicenceRow, LicenceStatus)>,
    q: ListQuery,
    statuses: Vec<LicenceStatus>,
    pager: Pager,
}

impl StaffListPage {
    fn tag(&self, s: &LicenceStatus) -> &'static str {
        status_tag(s)
    }
}

pub(crate) async fn staff_list(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    q: ListQuery,
    admin: bool,
) -> WebResult {
    let page = page_number(&q.page);
    let filter = Filter {
        issuer_id: None,
        type_code: q.licence_type.clone(),
        status: q.status.clone(),
        offset: (page - 1) * 20,
        limit: 20,
    };
    let (total, rows) = licences::list_for_staff(&state.core, &user.actor, &filter).await?;
    let base = if admin { "/admin/licences" } else { "/office/licences" };
    let pager = Pager::new(base, &[("licence_type", &q.licence_type), ("status", &q.status)], page, 20, total);
    let title = if admin { "电子证照" } else { "本部门签发的证照" };
    Ok(render(&StaffListPage { shell, title, base, admin, rows, q, statuses: LicenceStatus::ALL.to_vec(), pager }))
}

async fn office_list(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> WebResult {
    staff_list(&state, shell, &user, q, false).await
}

#[derive(Template)]
#[template(path = "office/licence.html")]
struct StaffDetailPage {
    shell: Shell,
    row: LicenceRow,
    v: Verification,
    errors: FormErrors,
    done: Option<String>,
}

impl StaffDetailPage {
    fn tag(&self) -> &'static str {
        status_tag(&self.v.status)
    }

    fn can(&self, action: &str) -> bool {
        Lifecycle::parse(action).is_some_and(|a| match a {
            Lifecycle::Restore => self.v.status == LicenceStatus::Suspended,
            Lifecycle::Suspend => self.v.status == LicenceStatus::Valid,
            Lifecycle::Revoke | Lifecycle::Cancel => {
                matches!(self.v.status, LicenceStatus::Valid | LicenceStatus::Suspended)
            }
        })
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

async fn office_detail(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let (row, v) = licences::for_staff(&state.core, &user.actor, &identifier).await?;
    let done = q.done.and_then(|d| Lifecycle::parse(&d)).map(|a| format!("已{}", a.label()));
    Ok(render(&StaffDetailPage { shell, row, v, errors: FormErrors::default(), done }))
}

async fn office_status(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(identifier): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let action_name = value(&pairs, "action");
    let Some(action) = Lifecycle::parse(&action_name) else {
        return Err(AppError::Invalid(vec![tongban_app::FieldError::new("action", "invalid", "请选择操作")]).into());
    };
    let result = licences::change_status(&state.core, &user.actor, &identifier, action, &value(&pairs, "reason")).await;
    let done = |v: licences::Verification| {
        crate::kit::forms::redirect(&format!("/office/licences/{}?done={action_name}", v.identifier))
    };
    settle(result, done, async |errors| {
        let (row, v) = licences::for_staff(&state.core, &user.actor, &identifier).await?;
        Ok(StaffDetailPage { shell, row, v, errors, done: None })
    })
    .await
}
