//! A case: insert, reads by number and application, moves and the handler.

use sqlx::{AnyConnection, Row};
use tongban_domain::day::Day;

use super::queues::bump_count;
use super::{CaseRow, case_row};

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
    pub due_on: Option<Day>,
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
    .bind(n.due_on.map(|d| d.to_string()))
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
    pub promised_deadline: Option<Day>,
    pub legal_deadline: Option<Day>,
    pub due_on: Option<Day>,
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
    .bind(m.promised_deadline.map(|d| d.to_string()))
    .bind(m.legal_deadline.map(|d| d.to_string()))
    .bind(m.due_on.map(|d| d.to_string()))
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
