//! The work queues: the scoped case lists and the per-queue counters.
//!
//! Queue lists and counts are read through a data scope: one department, one receiving site, or
//! everything. Each scoped query exists as three static statements (see `scoped!`), so that every
//! one uses its own index and no SQL is built at run time.

use sqlx::{AnyConnection, Row};
use tongban_domain::day::Day;

use super::{CaseRow, case_row};

/// The data a user reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Department(i64),
    Site(i64),
}

impl Scope {
    /// Which of the three statements, and the value bound to `$1`.
    fn pick(self) -> (usize, i64) {
        match self {
            Scope::Department(id) => (0, id),
            Scope::Site(id) => (1, id),
            Scope::All => (2, 0),
        }
    }
}

/// The same statement for the three scopes: `$1` is the department id, the site id, or 0.
macro_rules! scoped {
    ($head:expr, $tail:expr) => {
        [
            concat!($head, " WHERE c.department_id = $1 AND ", $tail),
            concat!($head, " WHERE c.site_id = $1 AND ", $tail),
            concat!($head, " WHERE $1 = 0 AND ", $tail),
        ]
    };
}

pub async fn bump_count(
    c: &mut AnyConnection,
    department_id: i64,
    site_id: i64,
    queue: &str,
    delta: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO case_counts (department_id, site_id, queue, n) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (department_id, site_id, queue) DO UPDATE SET n = case_counts.n + excluded.n",
    )
    .bind(department_id)
    .bind(site_id)
    .bind(queue)
    .bind(delta)
    .execute(c)
    .await?;
    Ok(())
}

/// Cases per queue in the scope, from the counters.
pub async fn counts(c: &mut AnyConnection, scope: Scope) -> sqlx::Result<Vec<(String, i64)>> {
    const Q: [&str; 3] =
        scoped!("SELECT c.queue, CAST(SUM(c.n) AS BIGINT) AS n FROM case_counts c", "1 = 1 GROUP BY c.queue");
    let (i, v) = scope.pick();
    let rows = sqlx::query(Q[i]).bind(v).fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("queue")?, r.try_get("n")?))).collect()
}

/// Running cases due on or before `soon_until`, and of those the ones already past `today`.
pub async fn due_counts(c: &mut AnyConnection, scope: Scope, today: Day, soon_until: Day) -> sqlx::Result<(i64, i64)> {
    const Q: [&str; 3] = scoped!(
        "SELECT COUNT(*) AS soon, CAST(COALESCE(SUM(CASE WHEN c.due_on < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS overdue \
         FROM cases c",
        "c.active = 1 AND c.due_on <= $3"
    );
    let (i, v) = scope.pick();
    let row = sqlx::query(Q[i]).bind(v).bind(today.to_string()).bind(soon_until.to_string()).fetch_one(c).await?;
    let soon: i64 = row.try_get("soon")?;
    let overdue: i64 = row.try_get("overdue")?;
    Ok((soon - overdue, overdue))
}

/// Which list of cases to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// A workflow queue (`intake`, `examine`, …), most urgent first.
    Queue(String),
    /// Concluded cases, newest first.
    Concluded,
    /// Running cases due between `today` and the date given (inclusive), most urgent first.
    DueSoon { today: Day, until: Day },
    /// Running cases past their due date.
    Overdue { today: Day },
    /// Running cases the user handles.
    Assigned(i64),
}

/// Where a page of a case list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// This many rows from the top (page numbers).
    Offset(i64),
    /// Just after the case with this due day (none for a case without one) and id (keyset).
    After { due_on: Option<Day>, id: i64 },
}

/// The two parts of a case list: the cases with a due day, and those without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Dated,
    Undated,
}

/// Where the dated part of an ascending list starts: `due_on >= ''` holds for every day (and for
/// no NULL), `id > 0` for every case.
const FIRST_DAY: (&str, i64) = ("", 0);
/// Where the dated part of a descending list starts: after every day and every id.
const LAST_DAY: (&str, i64) = ("9999-12-31", i64::MAX);

/// One page of a list: `limit` rows from `start`, in the list's order.
///
/// Every list but the concluded one runs by due day and then id, ascending, the cases without a
/// due day (paused, or in a state without a limit) after every dated one; the concluded list is
/// that order reversed (undated newest first, then dated latest first). The same order on both
/// databases: SQLite sorts NULL first and PostgreSQL last, so the order is never left to them.
/// Each part is its own statement — the dated rows by a range on `due_on` (which no NULL
/// passes), the undated by `due_on IS NULL` — and each is read in the order of the queue's index
/// (`(scope, queue, due_on, id)` or `(scope, due_on, id) WHERE active = 1`, see migrations 0004
/// and 0007), stopping at the page; the second part is read only when the first runs out within
/// the page. The seek after a case is `due_on > d OR (due_on = d AND id > i)`, written
/// `due_on >= d AND (due_on > d OR id > i)` so that `due_on >= d` bounds the index range; in
/// the undated part it is `id > i` (`id < i` descending).
pub async fn list(
    c: &mut AnyConnection,
    scope: Scope,
    listing: &Listing,
    start: &Start,
    limit: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    let descending = *listing == Listing::Concluded;
    let (first, second) = if descending { (Part::Undated, Part::Dated) } else { (Part::Dated, Part::Undated) };
    // The due-soon list starts at today: a cursor from an earlier day starts there too.
    let floor = match listing {
        Listing::DueSoon { today, .. } => Some(today.to_string()),
        _ => None,
    };
    let floor = floor.as_deref();
    // Where each part starts when read from its top.
    let (dated_top, undated_top) =
        if descending { (LAST_DAY, LAST_DAY) } else { (floor.map_or(FIRST_DAY, |today| (today, 0)), FIRST_DAY) };
    let origin = |part: Part| if part == Part::Dated { dated_top } else { undated_top };
    let due_text = match start {
        Start::After { due_on: Some(day), .. } => day.to_string(),
        _ => String::new(),
    };
    let (from_part, after, offset) = match start {
        Start::Offset(offset) => (first, origin(first), *offset),
        Start::After { due_on: Some(_), id } => {
            let after = match floor {
                Some(today) if due_text.as_str() < today => (today, 0),
                _ => (due_text.as_str(), *id),
            };
            (Part::Dated, after, 0)
        }
        Start::After { due_on: None, id } => (Part::Undated, ("", *id), 0),
    };
    let mut rows = read_part(c, scope, listing, from_part, after, limit, offset).await?;
    let short = i64::try_from(rows.len()).unwrap_or(limit) < limit;
    if from_part == first && short {
        // A numbered page past the first part starts that many rows into the second.
        let offset = if rows.is_empty() && offset > 0 {
            (offset - count_part(c, scope, listing, first).await?).max(0)
        } else {
            0
        };
        let left = limit - i64::try_from(rows.len()).unwrap_or(limit);
        rows.extend(read_part(c, scope, listing, second, origin(second), left, offset).await?);
    }
    Ok(rows)
}

/// The rows of one part of a list after `after` (the due day is read in the dated part only).
async fn read_part(
    c: &mut AnyConnection,
    scope: Scope,
    listing: &Listing,
    part: Part,
    after: (&str, i64),
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    const QUEUE_DATED: [&str; 3] = scoped!(
        select_case!(),
        "c.queue = $2 AND c.due_on >= $3 AND (c.due_on > $3 OR c.id > $4) ORDER BY c.due_on, c.id LIMIT $5 OFFSET $6"
    );
    const QUEUE_UNDATED: [&str; 3] = scoped!(
        select_case!(),
        "c.queue = $2 AND c.due_on IS NULL AND c.id > $3 ORDER BY c.due_on, c.id LIMIT $4 OFFSET $5"
    );
    const ASSIGNED_DATED: [&str; 3] = scoped!(
        select_case!(),
        "c.assignee_id = $2 AND c.active = 1 AND c.due_on >= $3 AND (c.due_on > $3 OR c.id > $4) \
         ORDER BY c.due_on, c.id LIMIT $5 OFFSET $6"
    );
    const ASSIGNED_UNDATED: [&str; 3] = scoped!(
        select_case!(),
        "c.assignee_id = $2 AND c.active = 1 AND c.due_on IS NULL AND c.id > $3 \
         ORDER BY c.due_on, c.id LIMIT $4 OFFSET $5"
    );
    const SOON_DATED: [&str; 3] = scoped!(
        select_case!(),
        "c.active = 1 AND c.due_on <= $2 AND c.due_on >= $3 AND (c.due_on > $3 OR c.id > $4) \
         ORDER BY c.due_on, c.id LIMIT $5 OFFSET $6"
    );
    const OVERDUE_DATED: [&str; 3] = scoped!(
        select_case!(),
        "c.active = 1 AND c.due_on < $2 AND c.due_on >= $3 AND (c.due_on > $3 OR c.id > $4) \
         ORDER BY c.due_on, c.id LIMIT $5 OFFSET $6"
    );
    // Descending: the undated part first (ORDER BY c.due_on DESC is id order there, and the
    // index read backwards), then the dated.
    const CONCLUDED_UNDATED: [&str; 3] = scoped!(
        select_case!(),
        "c.queue = 'concluded' AND c.due_on IS NULL AND c.id < $2 ORDER BY c.due_on DESC, c.id DESC LIMIT $3 OFFSET $4"
    );
    const CONCLUDED_DATED: [&str; 3] = scoped!(
        select_case!(),
        "c.queue = 'concluded' AND c.due_on <= $2 AND (c.due_on < $2 OR c.id < $3) \
         ORDER BY c.due_on DESC, c.id DESC LIMIT $4 OFFSET $5"
    );
    let (i, v) = scope.pick();
    let sql = match (listing, part) {
        (Listing::Queue(_), Part::Dated) => QUEUE_DATED[i],
        (Listing::Queue(_), Part::Undated) => QUEUE_UNDATED[i],
        (Listing::Assigned(_), Part::Dated) => ASSIGNED_DATED[i],
        (Listing::Assigned(_), Part::Undated) => ASSIGNED_UNDATED[i],
        (Listing::DueSoon { .. }, Part::Dated) => SOON_DATED[i],
        (Listing::Overdue { .. }, Part::Dated) => OVERDUE_DATED[i],
        // Both lists are ranges of due days: nothing undated is in them.
        (Listing::DueSoon { .. } | Listing::Overdue { .. }, Part::Undated) => return Ok(Vec::new()),
        (Listing::Concluded, Part::Dated) => CONCLUDED_DATED[i],
        (Listing::Concluded, Part::Undated) => CONCLUDED_UNDATED[i],
    };
    let query = sqlx::query(sql).bind(v);
    let query = match listing {
        Listing::Queue(q) => query.bind(q.as_str()),
        Listing::Concluded => query,
        Listing::DueSoon { until, .. } => query.bind(until.to_string()),
        Listing::Overdue { today } => query.bind(today.to_string()),
        Listing::Assigned(user) => query.bind(*user),
    };
    let query = if part == Part::Dated { query.bind(after.0) } else { query };
    let rows = query.bind(after.1).bind(limit).bind(offset).fetch_all(c).await?;
    rows.iter().map(case_row).collect()
}

/// The rows of one part of a list (to know where the second part starts for a numbered page).
async fn count_part(c: &mut AnyConnection, scope: Scope, listing: &Listing, part: Part) -> sqlx::Result<i64> {
    const QUEUE_DATED: [&str; 3] =
        scoped!("SELECT COUNT(*) AS n FROM cases c", "c.queue = $2 AND c.due_on IS NOT NULL");
    const ASSIGNED_DATED: [&str; 3] =
        scoped!("SELECT COUNT(*) AS n FROM cases c", "c.assignee_id = $2 AND c.active = 1 AND c.due_on IS NOT NULL");
    const CONCLUDED_UNDATED: [&str; 3] =
        scoped!("SELECT COUNT(*) AS n FROM cases c", "c.queue = 'concluded' AND c.due_on IS NULL");
    let (i, v) = scope.pick();
    let query = match (listing, part) {
        (Listing::Queue(q), Part::Dated) => sqlx::query(QUEUE_DATED[i]).bind(v).bind(q.as_str()),
        (Listing::Assigned(user), Part::Dated) => sqlx::query(ASSIGNED_DATED[i]).bind(v).bind(*user),
        (Listing::Concluded, Part::Undated) => sqlx::query(CONCLUDED_UNDATED[i]).bind(v),
        // Not the first part of its list (or a list of one part): never asked for.
        _ => return Ok(0),
    };
    query.fetch_one(c).await?.try_get("n")
}

/// Running cases the user handles, in the scope.
pub async fn count_assigned(c: &mut AnyConnection, scope: Scope, user_id: i64) -> sqlx::Result<i64> {
    const Q: [&str; 3] = scoped!("SELECT COUNT(*) AS n FROM cases c", "c.assignee_id = $2 AND c.active = 1");
    let (i, v) = scope.pick();
    sqlx::query(Q[i]).bind(v).bind(user_id).fetch_one(c).await?.try_get("n")
}
