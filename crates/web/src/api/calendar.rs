//! The work calendar: deadlines in working days (`/api/v1/calendar`).

use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tongban_domain::day::Day;
use utoipa::ToSchema;

use super::common::ApiErrorBody;
use crate::AppState;
use crate::kit::error::WebResult;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeadlineParams {
    /// The day the clock starts (`YYYY-MM-DD`); it is not counted.
    pub from: String,
    /// Working days.
    pub days: String,
}

#[derive(Serialize, ToSchema)]
pub struct Deadline {
    /// `YYYY-MM-DD`
    pub deadline: String,
}

/// The date `days` working days after `from` on the official work calendar (holidays and 调休
/// make-up working days included). Public, for service halls and other systems.
#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "calendar", params(DeadlineParams),
    responses((status = 200, body = Deadline), (status = 422, description = "bad date or day count", body = ApiErrorBody)))]
pub(crate) async fn deadline(State(state): State<AppState>, Query(p): Query<DeadlineParams>) -> WebResult {
    let mut problems = tongban_app::Problems::default();
    let from = Day::parse(&p.from);
    if from.is_none() {
        problems.add("from", "invalid_date", "from 应为日期，格式 2026-01-31");
    }
    let days = p.days.trim().parse::<u32>().ok().filter(|d| *d <= 3650);
    if days.is_none() {
        problems.add("days", "invalid", "days 应为 0–3650 的整数（工作日）");
    }
    problems.into_result()?;
    let calendar = tongban_app::calendar::load_shared(&state.core).await?;
    let deadline = calendar.add_working_days(from.unwrap_or(Day::MIN), days.unwrap_or_default());
    Ok(Json(Deadline { deadline: deadline.to_string() }).into_response())
}
