//! The workbench's queues and lists, scoped to the actor's department or site.

use super::shared::{day, scope_required, soon_until};
use crate::{Actor, AppError, Core, FieldError, authorize};
use tongban_domain::permission::Permission;
use tongban_domain::workflow::QUEUES;
use tongban_store::cases::{self as store, CaseRow, Listing};

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
    let (soon, overdue) = store::due_counts(&mut conn, scope, &day(today), &day(soon_until(today, &calendar))).await?;
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

/// One page of a queue, most urgent first (concluded: newest first).
pub async fn list(
    core: &Core,
    actor: &Actor,
    queue: &str,
    status: Option<&str>,
    page: i64,
    page_size: i64,
) -> Result<(i64, Vec<CaseRow>), AppError> {
    list_in(core, actor, queue, status, page, page_size, None).await
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
    list_in(core, actor, queue, None, page, page_size, known).await
}

pub(super) async fn list_in(
    core: &Core,
    actor: &Actor,
    queue: &str,
    status: Option<&str>,
    page: i64,
    page_size: i64,
    known_total: Option<i64>,
) -> Result<(i64, Vec<CaseRow>), AppError> {
    authorize(core, actor, Permission::OfficeView, "cases").await?;
    let scope = scope_required(actor)?;
    let today = core.clock.today();
    let calendar = crate::calendar::load(core).await?;
    let listing = match queue {
        "due_soon" => Listing::DueSoon { today: day(today), until: day(soon_until(today, &calendar)) },
        "overdue" => Listing::Overdue { today: day(today) },
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
    let offset = (page.max(1) - 1).saturating_mul(page_size);
    let mut conn = core.db.conn().await?;
    // Only this queue's count (the same figure `queues` shows): the due counts scan every running
    // case of the scope, so they run only for the due-soon and overdue lists.
    let total = match (known_total, &listing) {
        (Some(n), _) => n,
        (None, Listing::DueSoon { .. } | Listing::Overdue { .. }) => {
            let (soon, overdue) =
                store::due_counts(&mut conn, scope, &day(today), &day(soon_until(today, &calendar))).await?;
            if queue == "due_soon" { soon } else { overdue }
        }
        (None, Listing::Assigned(user)) => store::count_assigned(&mut conn, scope, *user).await?,
        (None, Listing::Queue(_) | Listing::Concluded) => {
            store::counts(&mut conn, scope).await?.into_iter().find(|(k, _)| k == queue).map_or(0, |(_, n)| n)
        }
    }
    .max(0);
    let mut rows = store::list(&mut conn, scope, &listing, offset, page_size).await?;
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        rows.retain(|r| r.status == s);
    }
    Ok((total, rows))
}
