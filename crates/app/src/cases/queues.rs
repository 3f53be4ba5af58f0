//! The workbench's queues and lists, scoped to the actor's department or site.

use super::shared::{scope_required, soon_until};
use crate::paging::{Cursor, Page, PageRequest, invalid_cursor};
use crate::{Actor, AppError, Core, FieldError, authorize};
use tongban_domain::day::Day;
use tongban_domain::permission::Permission;
use tongban_domain::workflow::QUEUES;
use tongban_store::cases::{self as store, CaseRow, Listing, Start};

/// One queue of the office, with its count.
#[derive(Debug, Clone)]
pub struct QueueCount {
    pub key: &'static str,
    pub label: &'static str,
    pub count: i64,
}

/// The keys of the office's queues, in the order shown.
pub const OFFICE_QUEUES: &[(&str, &str)] = &[
    ("intake", "待受理"),
    ("examine", "待审查"),
    ("decide", "待决定"),
    ("due_soon", "即将超期"),
    ("overdue", "已超期"),
    ("supplement", "补正中"),
    ("suspended", "中止"),
    ("deliver", "待送达"),
    ("concluded", "已办结"),
    ("mine", "我经办的"),
];

/// Every queue with its count, in the actor's scope.
pub async fn queues(core: &Core, actor: &Actor) -> Result<Vec<QueueCount>, AppError> {
    authorize(core, actor, Permission::OfficeView, "queues").await?;
    let scope = scope_required(actor)?;
    let calendar = crate::calendar::load(core).await?;
    let today = core.clock.today();
    let mut conn = core.db.conn().await?;
    let counts = store::counts(&mut conn, scope).await?;
    let (soon, overdue) = store::due_counts(&mut conn, scope, today, soon_until(today, &calendar)).await?;
    let mine = store::count_assigned(&mut conn, scope, actor.user_id).await?;
    Ok(OFFICE_QUEUES
        .iter()
        .map(|(key, label)| {
            let count = match *key {
                "due_soon" => soon,
                "overdue" => overdue,
                "mine" => mine,
                q => counts.iter().find(|(k, _)| k == q).map_or(0, |(_, n)| *n),
            };
            QueueCount { key, label, count: count.max(0) }
        })
        .collect())
}

/// One page of a queue, most urgent first (concluded: newest first), by page number or after a
/// cursor (see [`tongban_store::cases::list`] for the order). `status` keeps only the cases of
/// the page in that status; `next` is where the unfiltered page ended.
pub async fn list(
    core: &Core,
    actor: &Actor,
    queue: &str,
    status: Option<&str>,
    request: &PageRequest,
) -> Result<Page<CaseRow>, AppError> {
    list_in(core, actor, queue, status, request, None).await
}

/// One page of a queue for a caller that has just read every queue's count (the workbench shows
/// them all): the total comes from `counts`, so the district-wide due counts run once per page.
pub async fn list_with_counts(
    core: &Core,
    actor: &Actor,
    queue: &str,
    page: i64,
    page_size: i64,
    counts: &[QueueCount],
) -> Result<(i64, Vec<CaseRow>), AppError> {
    let known = counts.iter().find(|q| q.key == queue).map(|q| q.count);
    let page = list_in(core, actor, queue, None, &PageRequest::number(page, page_size), known).await?;
    Ok((page.total, page.items))
}

/// Where a case stands in its list, as a cursor: its due day (as a day number) and id.
fn cursor_of(row: &CaseRow) -> Cursor {
    let day = row.due_on.map(|d| i64::from(d.days_from_ce()));
    Cursor::after_pair(day, row.id)
}

/// Where a page starts, from the request; a cursor that is not a case's is a field error.
fn start_of(request: &PageRequest) -> Result<Start, AppError> {
    let Some(cursor) = request.after() else {
        return Ok(Start::Offset(request.offset()));
    };
    let (day, id) = cursor.pair()?;
    // A day of the calendar (years 1 to 9999, what the columns can hold), or none.
    let due_on = match day {
        Some(n) => Some(i32::try_from(n).ok().and_then(Day::from_days_from_ce).ok_or_else(invalid_cursor)?),
        None => None,
    };
    Ok(Start::After { due_on, id })
}

pub(super) async fn list_in(
    core: &Core,
    actor: &Actor,
    queue: &str,
    status: Option<&str>,
    request: &PageRequest,
    known_total: Option<i64>,
) -> Result<Page<CaseRow>, AppError> {
    authorize(core, actor, Permission::OfficeView, "cases").await?;
    let scope = scope_required(actor)?;
    let start = start_of(request)?;
    let today = core.clock.today();
    let calendar = crate::calendar::load(core).await?;
    let listing = match queue {
        "due_soon" => Listing::DueSoon { today, until: soon_until(today, &calendar) },
        "overdue" => Listing::Overdue { today },
        "mine" => Listing::Assigned(actor.user_id),
        "concluded" => Listing::Concluded,
        q if QUEUES.iter().any(|(k, _)| *k == q) => Listing::Queue(q.to_owned()),
        _ => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "queue",
                "unknown_queue",
                format!("没有“{queue}”这个队列"),
            )]));
        }
    };
    let mut conn = core.db.conn().await?;
    // Only this queue's count (the same figure `queues` shows): the due counts scan every running
    // case of the scope, so they run only for the due-soon and overdue lists.
    let total = match (known_total, &listing) {
        (Some(n), _) => n,
        (None, Listing::DueSoon { .. } | Listing::Overdue { .. }) => {
            let (soon, overdue) = store::due_counts(&mut conn, scope, today, soon_until(today, &calendar)).await?;
            if queue == "due_soon" { soon } else { overdue }
        }
        (None, Listing::Assigned(user)) => store::count_assigned(&mut conn, scope, *user).await?,
        (None, Listing::Queue(_) | Listing::Concluded) => {
            store::counts(&mut conn, scope).await?.into_iter().find(|(k, _)| k == queue).map_or(0, |(_, n)| n)
        }
    }
    .max(0);
    // One row more than asked for tells whether a next page exists.
    let rows = store::list(&mut conn, scope, &listing, &start, request.size + 1).await?;
    let mut page = Page::from_rows(rows, request.size, total, cursor_of);
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        page.items.retain(|r| r.status == s);
    }
    Ok(page)
}
