//! Cases (办件), their timeline, the per-queue counters and the versioned workflows.
//!
//! Queue lists and counts are read through a data scope: one department, one receiving site, or
//! everything. Each scoped query exists as three static statements (see `scoped!`), so that every
//! one uses its own index and no SQL is built at run time.

use sqlx::{AnyConnection, Row};

use super::AnyRow;

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

/// A case with the names it shows. The names come from scalar subqueries, not joins: every one is
/// a primary-key lookup either way, but with six joins PostgreSQL spent about 4.6 ms planning each
/// queue page (its custom plans are re-planned on every execution) against 0.4 ms executing it;
/// with subqueries planning takes 0.2 ms (bench/cases.rs, 1,000,000 cases).
macro_rules! select_case {
    () => {
        "SELECT c.id, c.number, c.application_id, c.item_id, c.department_id, c.site_id, c.applicant_id, \
         c.workflow_code, c.workflow_version, c.status, c.queue, c.active, c.clock, c.legal_days, c.promised_days, \
         c.promised_deadline, c.legal_deadline, c.due_on, c.assignee_id, c.notice, c.submitted_at, c.concluded_at, \
         c.updated_at, c.row_version, \
         (SELECT a.number FROM applications a WHERE a.id = c.application_id) AS application_number, \
         (SELECT i.code FROM items i WHERE i.id = c.item_id) AS item_code, \
         (SELECT i.name FROM items i WHERE i.id = c.item_id) AS item_name, \
         (SELECT d.name FROM departments d WHERE d.id = c.department_id) AS department_name, \
         (SELECT u.display_name FROM users u WHERE u.id = c.applicant_id) AS applicant_name, \
         (SELECT s.name FROM sites s WHERE s.id = c.site_id) AS site_name, \
         (SELECT w.display_name FROM users w WHERE w.id = c.assignee_id) AS assignee_name \
         FROM cases c"
    };
}

#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: i64,
    pub number: String,
    pub application_id: i64,
    pub application_number: String,
    pub item_id: i64,
    pub item_code: String,
    pub item_name: String,
    pub department_id: i64,
    pub department_name: String,
    /// The receiving hall; 0 for online submissions.
    pub site_id: i64,
    pub site_name: Option<String>,
    pub applicant_id: i64,
    pub applicant_name: String,
    pub workflow_code: String,
    pub workflow_version: i64,
    pub status: String,
    pub queue: String,
    pub active: bool,
    pub clock: String,
    pub legal_days: i64,
    pub promised_days: i64,
    pub promised_deadline: Option<String>,
    pub legal_deadline: Option<String>,
    pub due_on: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub notice: String,
    pub submitted_at: i64,
    pub concluded_at: Option<i64>,
    pub updated_at: i64,
    pub row_version: i64,
}

fn case_row(r: &AnyRow) -> sqlx::Result<CaseRow> {
    Ok(CaseRow {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        application_id: r.try_get("application_id")?,
        application_number: r.try_get("application_number")?,
        item_id: r.try_get("item_id")?,
        item_code: r.try_get("item_code")?,
        item_name: r.try_get("item_name")?,
        department_id: r.try_get("department_id")?,
        department_name: r.try_get("department_name")?,
        site_id: r.try_get("site_id")?,
        site_name: r.try_get("site_name")?,
        applicant_id: r.try_get("applicant_id")?,
        applicant_name: r.try_get("applicant_name")?,
        workflow_code: r.try_get("workflow_code")?,
        workflow_version: r.try_get("workflow_version")?,
        status: r.try_get("status")?,
        queue: r.try_get("queue")?,
        active: super::flag(r, "active")?,
        clock: r.try_get("clock")?,
        legal_days: r.try_get("legal_days")?,
        promised_days: r.try_get("promised_days")?,
        promised_deadline: r.try_get("promised_deadline")?,
        legal_deadline: r.try_get("legal_deadline")?,
        due_on: r.try_get("due_on")?,
        assignee_id: r.try_get("assignee_id")?,
        assignee_name: r.try_get("assignee_name")?,
        notice: r.try_get("notice")?,
        submitted_at: r.try_get("submitted_at")?,
        concluded_at: r.try_get("concluded_at")?,
        updated_at: r.try_get("updated_at")?,
        row_version: r.try_get("row_version")?,
    })
}

pub struct NewCase<'a> {
    pub number: &'a str,
    pub application_id: i64,
    pub item_id: i64,
    pub department_id: i64,
    pub site_id: i64,
    pub applicant_id: i64,
    pub workflow_code: &'a str,
    pub workflow_version: i64,
    pub status: &'a str,
    pub queue: &'a str,
    pub clock: &'a str,
    pub legal_days: i64,
    pub promised_days: i64,
    pub due_on: Option<&'a str>,
    pub now: i64,
}

/// Inserts a case and counts it in its queue.
pub async fn insert(c: &mut AnyConnection, n: &NewCase<'_>) -> sqlx::Result<i64> {
    let id = insert_uncounted(c, n).await?;
    bump_count(c, n.department_id, n.site_id, n.queue, 1).await?;
    Ok(id)
}

/// Inserts a case without counting it (bulk loaders add the counters per batch).
pub async fn insert_uncounted(c: &mut AnyConnection, n: &NewCase<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO cases (number, application_id, item_id, department_id, site_id, applicant_id, workflow_code, \
         workflow_version, status, queue, active, clock, legal_days, promised_days, due_on, submitted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $14, $15, $15) RETURNING id",
    )
    .bind(n.number)
    .bind(n.application_id)
    .bind(n.item_id)
    .bind(n.department_id)
    .bind(n.site_id)
    .bind(n.applicant_id)
    .bind(n.workflow_code)
    .bind(n.workflow_version)
    .bind(n.status)
    .bind(n.queue)
    .bind(n.clock)
    .bind(n.legal_days)
    .bind(n.promised_days)
    .bind(n.due_on)
    .bind(n.now)
    .fetch_one(c)
    .await?
    .try_get("id")
}

pub async fn by_number(c: &mut AnyConnection, number: &str) -> sqlx::Result<Option<CaseRow>> {
    let row = sqlx::query(concat!(select_case!(), " WHERE c.number = $1")).bind(number).fetch_optional(c).await?;
    row.as_ref().map(case_row).transpose()
}

pub async fn of_application(c: &mut AnyConnection, application_id: i64) -> sqlx::Result<Vec<CaseRow>> {
    let rows = sqlx::query(concat!(select_case!(), " WHERE c.application_id = $1 ORDER BY c.id"))
        .bind(application_id)
        .fetch_all(c)
        .await?;
    rows.iter().map(case_row).collect()
}

/// What a move writes.
pub struct Move<'a> {
    pub status: &'a str,
    pub queue: &'a str,
    pub active: bool,
    pub clock: &'a str,
    pub promised_deadline: Option<&'a str>,
    pub legal_deadline: Option<&'a str>,
    pub due_on: Option<&'a str>,
    pub notice: &'a str,
    pub concluded_at: Option<i64>,
    pub now: i64,
}

/// Applies a move when the case still has `expected_version`; false when somebody else moved
/// it first (nothing is written then). Keeps the queue counters in step.
pub async fn apply_move(c: &mut AnyConnection, case: &CaseRow, m: &Move<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE cases SET status = $1, queue = $2, active = $3, clock = $4, promised_deadline = $5, \
         legal_deadline = $6, due_on = $7, notice = $8, concluded_at = $9, updated_at = $10, \
         row_version = row_version + 1 WHERE id = $11 AND row_version = $12",
    )
    .bind(m.status)
    .bind(m.queue)
    .bind(i64::from(m.active))
    .bind(m.clock)
    .bind(m.promised_deadline)
    .bind(m.legal_deadline)
    .bind(m.due_on)
    .bind(m.notice)
    .bind(m.concluded_at)
    .bind(m.now)
    .bind(case.id)
    .bind(case.row_version)
    .execute(&mut *c)
    .await?
    .rows_affected()
        == 1;
    if done && m.queue != case.queue {
        bump_count(c, case.department_id, case.site_id, &case.queue, -1).await?;
        bump_count(c, case.department_id, case.site_id, m.queue, 1).await?;
    }
    Ok(done)
}

/// Sets (or clears) the handler when the case still has `expected_version`.
pub async fn set_assignee(
    c: &mut AnyConnection,
    case_id: i64,
    expected_version: i64,
    assignee: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE cases SET assignee_id = $1, updated_at = $2, row_version = row_version + 1 \
         WHERE id = $3 AND row_version = $4",
    )
    .bind(assignee)
    .bind(now)
    .bind(case_id)
    .bind(expected_version)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
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

#[derive(Debug, Clone)]
pub struct CaseEvent {
    pub at: i64,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub comment: String,
    pub internal: bool,
    pub detail: String,
}

pub struct NewEvent<'a> {
    pub case_id: i64,
    pub action: &'a str,
    pub from_status: &'a str,
    pub to_status: &'a str,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub comment: &'a str,
    pub internal: bool,
    pub detail: &'a str,
    pub now: i64,
}

pub async fn insert_event(c: &mut AnyConnection, e: &NewEvent<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_id, actor, comment, internal, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.case_id)
    .bind(e.now)
    .bind(e.action)
    .bind(e.from_status)
    .bind(e.to_status)
    .bind(e.actor_id)
    .bind(e.actor)
    .bind(e.comment)
    .bind(i64::from(e.internal))
    .bind(e.detail)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn events(c: &mut AnyConnection, case_id: i64) -> sqlx::Result<Vec<CaseEvent>> {
    let rows = sqlx::query(
        "SELECT at, action, from_status, to_status, actor, comment, internal, detail FROM case_events \
         WHERE case_id = $1 ORDER BY at, id",
    )
    .bind(case_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseEvent {
                at: r.try_get("at")?,
                action: r.try_get("action")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                actor: r.try_get("actor")?,
                comment: r.try_get("comment")?,
                internal: super::flag(r, "internal")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// True when the case has had this action before (for actions allowed once).
pub async fn has_event(c: &mut AnyConnection, case_id: i64, action: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("SELECT 1 AS x FROM case_events WHERE case_id = $1 AND action = $2")
        .bind(case_id)
        .bind(action)
        .fetch_optional(c)
        .await?
        .is_some())
}

// Workflows: immutable versions.

pub async fn insert_workflow(
    c: &mut AnyConnection,
    code: &str,
    version: i64,
    definition: &str,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO workflows (code, version, definition, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code)
    .bind(version)
    .bind(definition)
    .bind(now)
    .bind(by)
    .execute(c)
    .await?;
    Ok(())
}

/// The latest version of a workflow: (version, definition JSON).
pub async fn latest_workflow(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT version, definition FROM workflows WHERE code = $1 ORDER BY version DESC LIMIT 1")
        .bind(code)
        .fetch_optional(c)
        .await?;
    row.map(|r| Ok((r.try_get("version")?, r.try_get("definition")?))).transpose()
}

pub async fn workflow(c: &mut AnyConnection, code: &str, version: i64) -> sqlx::Result<Option<String>> {
    let row = sqlx::query("SELECT definition FROM workflows WHERE code = $1 AND version = $2")
        .bind(code)
        .bind(version)
        .fetch_optional(c)
        .await?;
    row.map(|r| r.try_get("definition")).transpose()
}

/// Every stored version of every workflow: (code, version, definition JSON).
pub async fn all_workflows(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64, String)>> {
    let rows =
        sqlx::query("SELECT code, version, definition FROM workflows ORDER BY code, version").fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("version")?, r.try_get("definition")?))).collect()
}

/// Every workflow's latest version: (code, version, definition JSON).
pub async fn latest_workflows(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64, String)>> {
    let rows = sqlx::query(
        "SELECT w.code, w.version, w.definition FROM workflows w \
         WHERE w.version = (SELECT MAX(v.version) FROM workflows v WHERE v.code = w.code) ORDER BY w.code",
    )
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("version")?, r.try_get("definition")?))).collect()
}
