//! The work calendar (/admin/calendar): the holidays and make-up working days of one year, with
//! add, change and remove of one day, CSV import (all or nothing) and export.

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use tongban_domain::calendar::DayKind;
use tongban_domain::day::Day;
use tongban_domain::permission::Permission as P;

use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::FormErrors;
use crate::kit::shell::{CurrentUser, Shell, render_status};
use crate::{AppState, Routes};
use tongban_app::calendar::{self, Imported, YearView};
use tongban_app::{AppError, authorize};
use tongban_domain::permission::Permission;

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/calendar", Perm(P::CalendarEdit), page)
        .post("/admin/calendar", Perm(P::CalendarEdit), save)
        .post("/admin/calendar/delete", Perm(P::CalendarEdit), remove)
        .post_upload("/admin/calendar/import", Perm(P::CalendarEdit), import)
        .get("/admin/calendar/export.csv", Perm(P::CalendarEdit), export)
}

#[derive(Template)]
#[template(path = "admin/calendar.html")]
struct CalendarPage {
    shell: Shell,
    view: YearView,
    errors: FormErrors,
    /// The add/change form's values after an error.
    form: DayForm,
    imported: Option<Imported>,
    saved: Option<String>,
}

impl CalendarPage {
    fn is_holiday(&self, kind: &DayKind) -> bool {
        *kind == DayKind::Holiday
    }

    fn weekday(&self, day: &Day) -> &'static str {
        const NAMES: [&str; 7] = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"];
        NAMES[day.weekday().num_days_from_monday() as usize]
    }

    fn import_action(&self) -> &'static str {
        "/admin/calendar/import"
    }

    fn is_current(&self, year: &i32) -> bool {
        *year == self.view.year
    }

    fn years_text(&self, years: &[i32]) -> String {
        years.iter().map(i32::to_string).collect::<Vec<_>>().join("、")
    }
}

#[derive(Deserialize, Default)]
struct YearQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    saved: String,
}

fn this_year(state: &AppState) -> i32 {
    state.core.clock.today().year()
}

fn parse_year(state: &AppState, raw: &str) -> i32 {
    raw.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y)).unwrap_or_else(|| this_year(state))
}

/// What the page shows besides the year: a form's errors and values, or what was just done.
#[derive(Default)]
struct Outcome {
    errors: FormErrors,
    form: DayForm,
    imported: Option<Imported>,
    saved: Option<String>,
}

async fn show(state: &AppState, shell: Shell, user: &CurrentUser, year: i32, outcome: Outcome) -> WebResult {
    let view = calendar::year(&state.core, &user.actor, year).await?;
    let Outcome { errors, form, imported, saved } = outcome;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render_status(status, &CalendarPage { shell, view, errors, form, imported, saved }))
}

async fn page(State(state): State<AppState>, shell: Shell, user: CurrentUser, Query(q): Query<YearQuery>) -> WebResult {
    let saved = (!q.saved.is_empty()).then_some(q.saved);
    show(&state, shell, &user, parse_year(&state, &q.year), Outcome { saved, ..Outcome::default() }).await
}

#[derive(Deserialize, Default, Clone)]
struct DayForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

async fn save(State(state): State<AppState>, shell: Shell, user: CurrentUser, Form(f): Form<DayForm>) -> WebResult {
    match calendar::save_day(&state.core, &user.actor, &f.day, &f.kind, &f.name).await {
        Ok(date) => {
            let target = format!("/admin/calendar?year={}&saved={}", date.year(), date);
            Ok(crate::kit::forms::redirect(&target))
        }
        Err(AppError::Invalid(p)) => {
            let year = f.day.get(..4).map_or_else(|| this_year(&state), |y| parse_year(&state, y));
            show(&state, shell, &user, year, Outcome { errors: FormErrors(p), form: f, ..Outcome::default() }).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    day: String,
}

async fn remove(State(state): State<AppState>, user: CurrentUser, Form(f): Form<RemoveForm>) -> WebResult {
    calendar::remove_day(&state.core, &user.actor, &f.day).await?;
    let year = f.day.get(..4).map_or_else(|| this_year(&state), |y| parse_year(&state, y));
    Ok(crate::kit::forms::redirect(&format!("/admin/calendar?year={year}")))
}

async fn import(State(state): State<AppState>, shell: Shell, user: CurrentUser, multipart: Multipart) -> WebResult {
    authorize(&state.core, &user.actor, Permission::CalendarEdit, "calendar").await?;
    let parts = crate::kit::upload::read_multipart(multipart).await?;
    let replace = parts.text.iter().any(|(k, v)| k == "replace" && v == "1");
    // A CSV is text, so the multipart reader hands it over (checked to be UTF-8) as a text part.
    let file = parts.text.iter().find(|(k, _)| k == "file").map(|(_, v)| v.as_bytes()).unwrap_or_default();
    let result = if file.trim_ascii().is_empty() {
        Err(AppError::Invalid(vec![tongban_app::FieldError::new("file", "required", "请选择要导入的 CSV 文件")]))
    } else {
        calendar::import_csv(&state.core, &user.actor, file, replace).await
    };
    match result {
        Ok(imported) => {
            let year = imported.years.first().copied().unwrap_or_else(|| this_year(&state));
            show(&state, shell, &user, year, Outcome { imported: Some(imported), ..Outcome::default() }).await
        }
        Err(AppError::Invalid(p)) => {
            show(&state, shell, &user, this_year(&state), Outcome { errors: FormErrors(p), ..Outcome::default() }).await
        }
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Deserialize, Default)]
struct ExportQuery {
    #[serde(default)]
    year: String,
}

async fn export(State(state): State<AppState>, user: CurrentUser, Query(q): Query<ExportQuery>) -> WebResult {
    let year = q.year.parse::<i32>().ok();
    let csv = calendar::export_csv(&state.core, &user.actor, year).await?;
    let name = match year {
        Some(y) => format!("attachment; filename=\"work-calendar-{y}.csv\""),
        None => "attachment; filename=\"work-calendar.csv\"".to_owned(),
    };
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)], csv)
        .into_response())
}
