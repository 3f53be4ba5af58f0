//! The work queues: the scoped case lists and the per-queue counters.
//!
//! Queue lists and counts are read through a data scope: one department, one receiving site, or
//! everything. Each scoped query exists as three static statements (see `scoped!`), so that every
//! one uses its own index and no SQL is built at run time.

use sqlx::{AnyConnection, Row};

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
pub async fn due_counts(
    c: &mut AnyConnection,
    scope: Scope,
    today: &str,
    soon_until: &str,
) -> sqlx::Result<(i64, i64)> {
    const Q: [&str; 3] = scoped!(
        "SELECT COUNT(*) AS soon, CAST(COALESCE(SUM(CASE WHEN c.due_on < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS overdue \
         FROM cases c",
        "c.active = 1 AND c.due_on <= $3"
    );
    let (i, v) = scope.pick();
    let row = sqlx::query(Q[i]).bind(v).bind(today).bind(soon_until).fetch_one(c).await?;
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
    DueSoon { today: String, until: String },
    /// Running cases past their due date.
    Overdue { today: String },
    /// Running cases the user handles.
    Assigned(i64),
}

pub async fn list(
    c: &mut AnyConnection,
    scope: Scope,
    listing: &Listing,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    const QUEUE: [&str; 3] = scoped!(select_case!(), "c.queue = $2 ORDER BY c.due_on, c.id LIMIT $3 OFFSET $4");
    const CONCLUDED: [&str; 3] =
        scoped!(select_case!(), "c.queue = 'concluded' ORDER BY c.due_on DESC, c.id DESC LIMIT $2 OFFSET $3");
    const SOON: [&str; 3] = scoped!(
        select_case!(),
        "c.active = 1 AND c.due_on >= $2 AND c.due_on <= $3 ORDER BY c.due_on, c.id LIMIT $4 OFFSET $5"
    );
    const OVERDUE: [&str; 3] =
        scoped!(select_case!(), "c.active = 1 AND c.due_on < $2 ORDER BY c.due_on, c.id LIMIT $3 OFFSET $4");
    const ASSIGNED: [&str; 3] =
        scoped!(select_case!(), "c.assignee_id = $2 AND c.active = 1 ORDER BY c.due_on, c.id LIMIT $3 OFFSET $4");
    let (i, v) = scope.pick();
    let query = match listing {
        Listing::Queue(q) => sqlx::query(QUEUE[i]).bind(v).bind(q.as_str()),
        Listing::Concluded => sqlx::query(CONCLUDED[i]).bind(v),
        Listing::DueSoon { today, until } => sqlx::query(SOON[i]).bind(v).bind(today.as_str()).bind(until.as_str()),
        Listing::Overdue { today } => sqlx::query(OVERDUE[i]).bind(v).bind(today.as_str()),
        Listing::Assigned(user) => sqlx::query(ASSIGNED[i]).bind(v).bind(*user),
    };
    let rows = query.bind(limit).bind(offset).fetch_all(c).await?;
    rows.iter().map(case_row).collect()
}

/// Running cases the user handles, in the scope.
pub async fn count_assigned(c: &mut AnyConnection, scope: Scope, user_id: i64) -> sqlx::Result<i64> {
    const Q: [&str; 3] = scoped!("SELECT COUNT(*) AS n FROM cases c", "c.assignee_id = $2 AND c.active = 1");
    let (i, v) = scope.pick();
    sqlx::query(Q[i]).bind(v).bind(user_id).fetch_one(c).await?.try_get("n")
}
