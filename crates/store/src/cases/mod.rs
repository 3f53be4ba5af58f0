//! Cases (办件), their timeline, the per-queue counters and the versioned workflows, one file per
//! table group, re-exported so that paths stay `store::cases::X`: `records` (a case: insert,
//! reads, moves, the handler), `queues` (the scoped lists and the per-queue counters), `events`
//! (the timeline) and `workflows` (the immutable workflow versions). This module holds the case
//! row and its `SELECT`, which `records` and `queues` share.

use sqlx::Row;

use super::AnyRow;
use tongban_domain::day::Day;

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
    pub promised_deadline: Option<Day>,
    pub legal_deadline: Option<Day>,
    pub due_on: Option<Day>,
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
        promised_deadline: crate::day_opt(r, "promised_deadline")?,
        legal_deadline: crate::day_opt(r, "legal_deadline")?,
        due_on: crate::day_opt(r, "due_on")?,
        assignee_id: r.try_get("assignee_id")?,
        assignee_name: r.try_get("assignee_name")?,
        notice: r.try_get("notice")?,
        submitted_at: r.try_get("submitted_at")?,
        concluded_at: r.try_get("concluded_at")?,
        updated_at: r.try_get("updated_at")?,
        row_version: r.try_get("row_version")?,
    })
}

// Declared after `select_case!` above, which they use (a macro is in scope only below its
// definition).
mod events;
mod queues;
mod records;
mod workflows;

pub use events::{CaseEvent, NewEvent, events, has_event, insert_event};
pub use queues::{Listing, Scope, Start, bump_count, count_assigned, counts, due_counts, list};
pub use records::{Move, NewCase, apply_move, by_number, insert, insert_uncounted, of_application, set_assignee};
pub use workflows::{all_workflows, insert_workflow, latest_workflow, latest_workflows, workflow};
