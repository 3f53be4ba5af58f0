//! Deadline warnings (预警) and overdue escalation (超期督办), run as jobs: a periodic scan queues
//! one warning per case, level and day (the dedupe key keeps two servers, or two scans, from
//! warning twice); each warning tells the handler and the department's deciders in the message
//! centre, in the same transaction that marks the job done.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::jobs::{BoxFuture, JobKind, Periodic, enqueue};
use super::{AppError, Core};
use tongban_domain::workflow::Warning;
use tongban_store::cases::{self as store, Listing, Scope, Start};
use tongban_store::jobs::Job;

pub const SCAN_JOB: &str = "deadline_scan";
pub const WARNING_JOB: &str = "deadline_warning";
/// How often running cases are scanned.
pub const SCAN_SECONDS: i64 = 600;
/// Cases looked at per scan and level; the next scan takes the rest.
const SCAN_LIMIT: i64 = 2_000;

/// One warning to give: the case and its level (`yellow`, `red` in the stored payload).
#[derive(Debug, Serialize, Deserialize)]
pub struct WarningPayload {
    pub case: String,
    pub level: Warning,
}

/// Queues a warning for every running case due within the yellow window or past due.
pub struct Scan;

impl JobKind for Scan {
    const KIND: &'static str = SCAN_JOB;
    const LABEL: &'static str = "办件时限扫描";
    type Payload = Periodic;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        _: Periodic,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let calendar = super::calendar::load(core).await?;
            let today = core.clock.today();
            let until = calendar.add_working_days(today, super::cases::YELLOW_DAYS);
            let listings =
                [(Warning::Red, Listing::Overdue { today }), (Warning::Yellow, Listing::DueSoon { today, until })];
            for (level, listing) in listings {
                for case in store::list(tx, Scope::All, &listing, &Start::Offset(0), SCAN_LIMIT).await? {
                    let payload = WarningPayload { case: case.number.clone(), level };
                    let key = format!("deadline:{}:{}:{}", case.number, level.name(), today);
                    enqueue::<Warn>(tx, core, &payload, core.clock.now_ms(), Some(&key)).await?;
                }
            }
            Ok(())
        })
    }
}

/// Tells the handler and the department's deciders about one case, if it still warrants it.
pub struct Warn;

impl JobKind for Warn {
    const KIND: &'static str = WARNING_JOB;
    const LABEL: &'static str = "办件预警与超期督办";
    type Payload = WarningPayload;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        p: WarningPayload,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let Some(case) = store::by_number(tx, &p.case).await? else { return Ok(()) };
            let calendar = super::calendar::load(core).await?;
            let level = super::cases::warning_of(&case, core.clock.today(), &calendar);
            let due = case.due_on.map(|d| d.to_string()).unwrap_or_default();
            let (title, body) = match (level, p.level) {
                (Warning::Red, Warning::Red) => (
                    format!("超期督办：{}", case.item_name),
                    format!(
                        "办件 {}（{}）已超过办理期限 {due}，请立即处理并说明原因",
                        case.number, case.applicant_name
                    ),
                ),
                (Warning::Yellow, Warning::Yellow) => (
                    format!("即将超期：{}", case.item_name),
                    format!("办件 {}（{}）将于 {due} 到期，请抓紧办理", case.number, case.applicant_name),
                ),
                // Moved on since the scan: nothing to say.
                _ => return Ok(()),
            };
            let mut to = tongban_store::users::deciders_of_department(tx, case.department_id).await?;
            if let Some(a) = case.assignee_id
                && !to.contains(&a)
            {
                to.push(a);
            }
            let link = format!("/office/cases/{}", case.number);
            for user in to {
                super::notifications::notify_in(tx, core, user, &title, &body, &link).await?;
            }
            Ok(())
        })
    }
}
