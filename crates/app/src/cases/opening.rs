//! Opening the cases of a submitted application: one case per item, on the item's workflow version, with its legal and promised deadlines.

use super::shared::{record_event, schedule};
use crate::{AppError, Core, workflows};
use tongban_domain::calendar::WorkCalendar;
use tongban_domain::case::{self as rules};
use tongban_domain::item::ItemDefinition;
use tongban_domain::workflow::LegalClock;
use tongban_store::cases::{self as store};
use tongban_store::is_unique_violation;

/// What opening the cases of a submission needs.
pub struct Opening<'a> {
    pub application_id: i64,
    pub applicant_id: i64,
    pub applicant_name: &'a str,
    /// The receiving hall; 0 online.
    pub site_id: i64,
    /// (item id, department id, definition) for each item.
    pub items: Vec<(i64, i64, &'a ItemDefinition)>,
    pub now: i64,
}

/// Opens one case per item of a submitted application, in the submission's transaction.
pub async fn open_in(
    tx: &mut sqlx::AnyConnection,
    core: &Core,
    o: &Opening<'_>,
    calendar: &WorkCalendar,
) -> Result<Vec<String>, AppError> {
    let today = crate::clock::day_of(o.now);
    let mut numbers = Vec::new();
    for (item_id, department_id, def) in &o.items {
        let (version, wf) = workflows::latest(tx, core, def.workflow_code()).await?;
        let clock = LegalClock::default();
        let s = schedule(
            &wf,
            &wf.initial,
            &clock,
            (&i64::from(def.legal_days), &i64::from(def.promised_days)),
            true,
            None,
            today,
            calendar,
        );
        let queue = wf.state(&wf.initial).map_or("intake", |s| s.queue.as_str());
        let clock_json = serde_json::to_string(&clock).map_err(|e| AppError::Internal(e.into()))?;
        let mut opened = None;
        for _ in 0..5 {
            let number = rules::new_number(today, &mut rand::rng());
            let new = store::NewCase {
                number: &number,
                application_id: o.application_id,
                item_id: *item_id,
                department_id: *department_id,
                site_id: o.site_id,
                applicant_id: o.applicant_id,
                workflow_code: &wf.code,
                workflow_version: version,
                status: &wf.initial,
                queue,
                clock: &clock_json,
                legal_days: i64::from(def.legal_days),
                promised_days: i64::from(def.promised_days),
                due_on: s.due_on,
                now: o.now,
            };
            let mut sp = sqlx::Connection::begin(&mut *tx).await?;
            match store::insert(&mut sp, &new).await {
                Ok(id) => {
                    sp.commit().await?;
                    opened = Some((id, number));
                    break;
                }
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let (id, number) =
            opened.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no free case number after 5 tries")))?;
        record_event(
            core,
            tx,
            &store::NewEvent {
                case_id: id,
                action: "submit",
                from_status: "",
                to_status: &wf.initial,
                actor_id: Some(o.applicant_id),
                actor: o.applicant_name,
                comment: "",
                internal: false,
                detail: "{}",
                now: o.now,
            },
        )
        .await?;
        numbers.push(number);
    }
    Ok(numbers)
}
