//! Demo history at scale: cases spread over a year, over statuses, departments and receiving
//! halls, some overdue — for the demo (`serve --demo` adds 3,000) and for benchmarks
//! (`tongban demo --cases 1000000`, about one year of a district's volume).
//!
//! Rows go in through plain prepared single-row statements in large transactions (no SQL is
//! built at run time); the queue counters are added per batch, so they stay equal to a recount.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Context;
use rand::Rng;
use rand::seq::IndexedRandom;
use sqlx::Row;

use crate::app::Core;
use crate::domain::day::Day;
use crate::domain::workflow::{ClockOp, LegalClock, Workflow};
use crate::store::cases::{self as store, NewCase};

const DAY_MS: i64 = 86_400_000;
const BATCH: usize = 2_000;

struct Item {
    id: i64,
    department_id: i64,
    legal_days: i64,
    promised_days: i64,
    workflow: String,
    /// Applicant kinds the item serves (`person`, `organisation`).
    subjects: Vec<&'static str>,
}

/// Where a generated case stands, with the clock moves that brought it there.
fn pick_state(rng: &mut impl Rng, age_days: i64, workflow: &str) -> (&'static str, &'static [ClockOp]) {
    const START: &[ClockOp] = &[ClockOp::Start];
    const DONE: &[ClockOp] = &[ClockOp::Start, ClockOp::Stop];
    const PAUSED: &[ClockOp] = &[ClockOp::Start, ClockOp::Pause];
    const NONE: &[ClockOp] = &[];
    const STOP: &[ClockOp] = &[ClockOp::Stop];
    let roll: u32 = rng.random_range(0..100);
    if workflow == "immediate" {
        return match (age_days > 3, roll) {
            (true, 0..=89) => ("delivered", STOP),
            (true, 90..=94) => ("refused", STOP),
            (true, _) => ("withdrawn", STOP),
            (false, 0..=49) => ("submitted", NONE),
            (false, 50..=79) => ("approved", STOP),
            (false, _) => ("delivered", STOP),
        };
    }
    if age_days > 40 {
        match roll {
            0..=79 => ("delivered", DONE),
            80..=84 => ("denied", DONE),
            85..=89 => ("refused", STOP),
            90..=94 => ("withdrawn", STOP),
            _ => ("approved", DONE),
        }
    } else {
        match roll {
            0..=19 => ("submitted", NONE),
            20..=24 => ("supplement_requested", NONE),
            25..=49 => ("accepted", START),
            50..=64 => ("examined", START),
            65..=69 => ("suspended", PAUSED),
            70..=79 => ("approved", DONE),
            _ => ("delivered", DONE),
        }
    }
}

/// Adds `n` generated cases (with their applications and timeline), reporting progress to
/// stderr when `progress` is set.
pub async fn generate(core: &Core, n: u64, progress: bool) -> anyhow::Result<u64> {
    let calendar = crate::app::calendar::load(core).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = core.db.conn().await?;
    let rows = sqlx::query(
        "SELECT i.id, i.department_id, v.definition FROM items i \
         JOIN item_versions v ON v.item_id = i.id AND v.version = i.published_version WHERE i.status = 'published'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::new();
    for r in &rows {
        let def: crate::domain::item::ItemDefinition =
            serde_json::from_str(&r.try_get::<String, _>("definition")?).context("item definition")?;
        items.push(Item {
            id: r.try_get("id")?,
            department_id: r.try_get("department_id")?,
            legal_days: i64::from(def.legal_days),
            promised_days: i64::from(def.promised_days),
            workflow: def.workflow_code().to_owned(),
            subjects: def
                .subjects
                .iter()
                .map(|s| match s {
                    crate::domain::item::Subject::Person => "person",
                    crate::domain::item::Subject::Organisation => "organisation",
                })
                .collect(),
        });
    }
    // Applicants by kind: a person applies for person items, an organisation for theirs.
    let applicants: Vec<(i64, String)> =
        sqlx::query("SELECT id, kind FROM users WHERE kind IN ('person', 'organisation')")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("kind")?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let sites: Vec<i64> = sqlx::query("SELECT id FROM sites")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let mut workflows: HashMap<String, (i64, std::sync::Arc<Workflow>)> = HashMap::new();
    for code in ["promised", "immediate"] {
        workflows.insert(
            code.to_owned(),
            crate::app::workflows::latest(&mut conn, core, code).await.map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    drop(conn);
    anyhow::ensure!(!items.is_empty() && !applicants.is_empty(), "演示事项或申请人不存在，请先写入演示数据");

    let now = core.clock.now_ms();
    let today = crate::clock::day_of(now);
    let mut rng = rand::rng();
    let mut done = 0u64;
    let mut issued = std::collections::HashSet::new();
    while done < n {
        let batch = (n - done).min(BATCH as u64);
        let mut counts: HashMap<(i64, i64, String), i64> = HashMap::new();
        let mut tx = core.db.begin().await?;
        for _ in 0..batch {
            let item = items.choose(&mut rng).context("item")?;
            let Some((version, wf)) = workflows.get(&item.workflow).or_else(|| workflows.get("promised")) else {
                anyhow::bail!("workflow missing");
            };
            let age_days: i64 = rng.random_range(0..365);
            let submitted_at = now - age_days * DAY_MS - rng.random_range(0..DAY_MS / 2);
            let submitted_on = crate::clock::day_of(submitted_at);
            let (status, ops) = pick_state(&mut rng, age_days, &wf.code);
            let mut clock = LegalClock::default();
            let started = calendar.add_working_days(submitted_on, 1).min(today);
            for (k, op) in ops.iter().enumerate() {
                let at = match op {
                    ClockOp::Start => started,
                    _ => calendar.add_working_days(started, 2 + k as u32).min(today),
                };
                clock.apply(*op, at, wf.extension_days, &calendar);
            }
            let state = wf.state(status).context("state")?;
            let active = !state.terminal && clock.stopped_on.is_none();
            let at = clock.stopped_on.unwrap_or(today);
            let promised = clock.deadline(item.promised_days as u32, at, &calendar);
            let legal = clock.deadline(item.legal_days as u32, at, &calendar);
            let due_on = match (active, clock.started_on, clock.paused_since, state.limit_days) {
                (false, ..) | (true, _, Some(_), _) => None,
                (true, Some(_), None, _) => promised,
                (true, None, None, Some(limit)) => Some(calendar.add_working_days(submitted_on, limit)),
                (true, None, None, None) => None,
            };
            let fmt = |d: Option<Day>| d.map(|d| d.to_string());
            let site_id = if rng.random_range(0..100) < 35 { *sites.choose(&mut rng).context("site")? } else { 0 };
            let fitting: Vec<i64> = applicants
                .iter()
                .filter(|(_, kind)| item.subjects.contains(&kind.as_str()))
                .map(|(id, _)| *id)
                .collect();
            let applicant_id = match fitting.choose(&mut rng) {
                Some(id) => *id,
                None => applicants.choose(&mut rng).context("applicant")?.0,
            };
            let app_status = status;
            // Random numbers may repeat across a million rows; this run never hands one out twice.
            let mut number = crate::domain::case::new_number(submitted_on, &mut rng);
            while !issued.insert(number.clone()) {
                number = crate::domain::case::new_number(submitted_on, &mut rng);
            }
            let mut app_number = crate::domain::application::new_number(submitted_on, &mut rng);
            while !issued.insert(app_number.clone()) {
                app_number = crate::domain::application::new_number(submitted_on, &mut rng);
            }
            let application_id: i64 = sqlx::query(
                "INSERT INTO applications (number, applicant_id, item_id, item_version, status, form_data, channel, \
                 promised_deadline, submitted_at, created_at, updated_at, site_id) \
                 VALUES ($1, $2, $3, 1, $4, '{}', $5, $6, $7, $7, $7, $8) RETURNING id",
            )
            .bind(&app_number)
            .bind(applicant_id)
            .bind(item.id)
            .bind(app_status)
            .bind(if site_id == 0 { "online" } else { "window" })
            .bind(fmt(promised))
            .bind(submitted_at)
            .bind(Some(site_id).filter(|s| *s > 0))
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            let clock_json = serde_json::to_string(&clock)?;
            let new = NewCase {
                number: &number,
                application_id,
                item_id: item.id,
                department_id: item.department_id,
                site_id,
                applicant_id,
                workflow_code: &wf.code,
                workflow_version: *version,
                status,
                queue: &state.queue,
                clock: &clock_json,
                legal_days: item.legal_days,
                promised_days: item.promised_days,
                due_on,
                now: submitted_at,
            };
            let case_id = store::insert_uncounted(&mut tx, &new).await?;
            let concluded_at =
                (!active).then(|| clock.stopped_on.map_or(submitted_at + DAY_MS, |d| crate::clock::at_hour(d, 10)));
            sqlx::query("UPDATE cases SET active = $1, promised_deadline = $2, legal_deadline = $3, concluded_at = $4 WHERE id = $5")
                .bind(i64::from(active))
                .bind(fmt(promised))
                .bind(fmt(legal))
                .bind(concluded_at)
                .bind(case_id)
                .execute(&mut *tx)
                .await?;
            for (action, to, at) in [("submit", wf.initial.as_str(), submitted_at), ("demo", status, submitted_at + 1)]
            {
                if action == "demo" && to == wf.initial {
                    continue;
                }
                store::insert_event(
                    &mut tx,
                    &store::NewEvent {
                        case_id,
                        action,
                        from_status: "",
                        to_status: to,
                        actor_id: None,
                        actor: "演示数据",
                        comment: "",
                        internal: false,
                        detail: "{}",
                        now: at,
                    },
                )
                .await?;
            }
            *counts.entry((item.department_id, site_id, state.queue.clone())).or_default() += 1;
        }
        for ((d, s, q), k) in counts {
            store::bump_count(&mut tx, d, s, &q, k).await?;
        }
        tx.commit().await?;
        done += batch;
        if progress {
            let width = 40usize;
            let filled = (done as f64 / n as f64 * width as f64) as usize;
            eprint!("\r生成办件 [{}{}] {done}/{n}", "#".repeat(filled), " ".repeat(width - filled));
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!();
    }
    Ok(done)
}
