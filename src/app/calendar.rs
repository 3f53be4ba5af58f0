//! The work calendar as stored: the shipped official years are added at every start (never
//! overwriting administrators' edits), and deadlines are computed on what the database holds.

use chrono::NaiveDate;

use super::{AppError, Core};
use crate::domain::calendar::{BUILTIN_CSV, DayKind, WorkCalendar};
use crate::store::catalogue;

/// Adds the shipped calendar's days that the database does not have yet.
pub async fn seed_builtin(core: &Core) -> Result<(), AppError> {
    let rows = WorkCalendar::parse_csv(BUILTIN_CSV).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let mut tx = core.db.begin().await?;
    for (day, kind, name) in rows {
        catalogue::insert_calendar_day_if_missing(&mut tx, &day.format("%Y-%m-%d").to_string(), kind.name(), &name)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The calendar as the database holds it now.
pub async fn load(core: &Core) -> Result<WorkCalendar, AppError> {
    let days = catalogue::calendar_days(&mut *core.db.conn().await?).await?;
    Ok(WorkCalendar::new(
        days.into_iter().filter_map(|(day, kind)| {
            Some((NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()?, DayKind::parse(&kind)?))
        }),
    ))
}
