//! The work calendar as stored: the shipped official years are added at start when the database
//! has no day of that year (never overwriting administrators' edits, removals included),
//! administrators maintain and import later years, and deadlines are computed on what the
//! database holds — through a small cache, since every case action and submission needs it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Actor, AppError, Core, Problems, audit_in, authorize};
use tongban_domain::calendar::{BUILTIN_CSV, DayKind, NAME_MAX, WorkCalendar};
use tongban_domain::day::Day;
use tongban_domain::permission::Permission;
use tongban_store::audit::Outcome;
use tongban_store::catalogue::{self, CalendarDay};

/// How long a loaded calendar is used before it is read again; edits made on this node drop it
/// at once, edits on another node are seen after at most this long.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// The node's cached copy of the calendar.
#[derive(Default)]
pub struct CalendarCache {
    loaded: Mutex<Option<(Instant, Arc<WorkCalendar>)>>,
}

impl CalendarCache {
    fn fresh(&self) -> Option<Arc<WorkCalendar>> {
        let guard = self.loaded.lock().ok()?;
        guard.as_ref().filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, c)| Arc::clone(c))
    }

    fn put(&self, calendar: Arc<WorkCalendar>) {
        if let Ok(mut guard) = self.loaded.lock() {
            *guard = Some((Instant::now(), calendar));
        }
    }

    /// Forgets the cached copy (after an edit).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.loaded.lock() {
            *guard = None;
        }
    }
}

/// Adds the shipped calendar's years that the database has no day of yet. Per year, not per
/// day: a shipped day an administrator removed stays removed.
pub async fn seed_builtin(core: &Core) -> Result<(), AppError> {
    let rows = WorkCalendar::parse_csv(BUILTIN_CSV).map_err(|e| AppError::Internal(anyhow::anyhow!(e.join("; "))))?;
    let mut tx = core.db.begin().await?;
    let present: BTreeSet<i32> = catalogue::calendar_years(&mut tx).await?.into_iter().collect();
    for (day, kind, name) in rows.iter().filter(|(day, _, _)| !present.contains(&day.year())) {
        catalogue::insert_calendar_day_if_missing(&mut tx, *day, *kind, name).await?;
    }
    tx.commit().await?;
    core.calendar.invalidate();
    Ok(())
}

/// The calendar as the database holds it (at most [`CACHE_TTL`] old for edits on other nodes).
pub async fn load(core: &Core) -> Result<WorkCalendar, AppError> {
    Ok(WorkCalendar::clone(&*load_shared(core).await?))
}

/// Like [`load`], without copying the cached calendar.
pub async fn load_shared(core: &Core) -> Result<Arc<WorkCalendar>, AppError> {
    if let Some(calendar) = core.calendar.fresh() {
        return Ok(calendar);
    }
    let days = catalogue::calendar_days(&mut *core.db.conn().await?).await?;
    let calendar = Arc::new(WorkCalendar::new(days));
    core.calendar.put(Arc::clone(&calendar));
    Ok(calendar)
}

/// One year of the administrators' page: the listed days and the years that have any.
pub struct YearView {
    pub year: i32,
    pub days: Vec<CalendarDay>,
    pub years: Vec<i32>,
}

pub async fn year(core: &Core, actor: &Actor, year: i32) -> Result<YearView, AppError> {
    authorize(core, actor, Permission::CalendarEdit, "calendar").await?;
    let mut conn = core.db.conn().await?;
    let days = catalogue::calendar_days_named(&mut conn, &format!("{year:04}-")).await?;
    let years = catalogue::calendar_years(&mut conn).await?;
    Ok(YearView { year, days, years })
}

/// Adds a holiday or make-up working day, or changes a listed one.
pub async fn save_day(core: &Core, actor: &Actor, day: &str, kind: &str, name: &str) -> Result<Day, AppError> {
    authorize(core, actor, Permission::CalendarEdit, "calendar").await?;
    let mut p = Problems::default();
    let date = Day::parse(day).filter(|d| (2000..=2100).contains(&d.year()));
    if date.is_none() {
        p.add("day", "invalid", "请填写日期，格式如 2027-01-01");
    }
    let kind = DayKind::parse(kind);
    if kind.is_none() {
        p.add("kind", "invalid", "请选择“放假”或“调休上班”");
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        p.add("name", "invalid", format!("请填写节日名称（不超过 {NAME_MAX} 字）"));
    }
    p.into_result()?;
    let (Some(date), Some(kind)) = (date, kind) else {
        return Err(AppError::Invalid(vec![]));
    };
    let mut tx = core.db.begin().await?;
    catalogue::upsert_calendar_day(&mut tx, date, kind, name).await?;
    audit_in(
        &mut tx,
        &core.clock,
        actor,
        "calendar.save",
        &date.to_string(),
        Outcome::Success,
        &format!("{} {name}", kind.name()),
    )
    .await?;
    tx.commit().await?;
    core.calendar.invalidate();
    Ok(date)
}

/// Removes a listed day; it then follows the weekday rule.
pub async fn remove_day(core: &Core, actor: &Actor, day: &str) -> Result<(), AppError> {
    authorize(core, actor, Permission::CalendarEdit, "calendar").await?;
    // A text that is no day names no listed day.
    let day = Day::parse(day).ok_or(AppError::NotFound)?;
    let mut tx = core.db.begin().await?;
    if !catalogue::delete_calendar_day(&mut tx, day).await? {
        return Err(AppError::NotFound);
    }
    audit_in(&mut tx, &core.clock, actor, "calendar.remove", &day.to_string(), Outcome::Success, "").await?;
    tx.commit().await?;
    core.calendar.invalidate();
    Ok(())
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub days: usize,
    pub years: Vec<i32>,
}

/// Imports a CSV in the shipped format, all or nothing: any bad line rejects the file, with every
/// bad line named (in `Invalid`, field `file`). With `replace`, the years in the file lose their
/// listed days first, so the file becomes those years' calendar.
pub async fn import_csv(core: &Core, actor: &Actor, bytes: &[u8], replace: bool) -> Result<Imported, AppError> {
    authorize(core, actor, Permission::CalendarEdit, "calendar").await?;
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(AppError::Invalid(vec![super::FieldError::new("file", "encoding", "文件应为 UTF-8 编码的 CSV")]));
    };
    let rows = match WorkCalendar::parse_csv(text) {
        Ok(rows) if rows.is_empty() => {
            return Err(AppError::Invalid(vec![super::FieldError::new("file", "empty", "文件中没有日期")]));
        }
        Ok(rows) => rows,
        Err(bad) => {
            return Err(AppError::Invalid(
                bad.into_iter().map(|m| super::FieldError::new("file", "bad_line", m)).collect(),
            ));
        }
    };
    let years: Vec<i32> = rows.iter().map(|(d, _, _)| d.year()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut tx = core.db.begin().await?;
    if replace {
        for year in &years {
            catalogue::delete_calendar_year(&mut tx, *year).await?;
        }
    }
    for (day, kind, name) in &rows {
        catalogue::upsert_calendar_day(&mut tx, *day, *kind, name).await?;
    }
    let years_text = years.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let detail = format!("{} 天，年份 {years_text}{}", rows.len(), if replace { "（替换）" } else { "" });
    audit_in(&mut tx, &core.clock, actor, "calendar.import", &years_text, Outcome::Success, &detail).await?;
    tx.commit().await?;
    core.calendar.invalidate();
    Ok(Imported { days: rows.len(), years })
}

/// The listed days of one year (or all years) in the import format.
pub async fn export_csv(core: &Core, actor: &Actor, year: Option<i32>) -> Result<String, AppError> {
    authorize(core, actor, Permission::CalendarEdit, "calendar").await?;
    let prefix = year.map(|y| format!("{y:04}-")).unwrap_or_default();
    let days = catalogue::calendar_days_named(&mut *core.db.conn().await?, &prefix).await?;
    Ok(WorkCalendar::to_csv(days.iter().map(|(d, k, n)| (*d, k.name(), n.as_str()))))
}
