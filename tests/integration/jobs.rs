//! Background jobs: exactly once with two workers on separate pools (two server processes),
//! backoff and giving up, dedupe keys and the periodic scheduler.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use sqlx::Row;
use tongban::app::jobs::{self, BoxFuture, JobKind, MAX_ATTEMPTS, backoff_ms, enqueue_in, run_pending};
use tongban::app::notifications::{Channel, NOTIFY_JOB, Sender, notify_in};
use tongban::app::{AppError, Core};
use tongban::store::jobs::Job;

use crate::common::TestApp;

/// Records every message handed to it, so that a second send of one message shows.
#[derive(Default)]
struct RecordingSender {
    sent: Mutex<BTreeMap<String, usize>>,
}

impl Sender for RecordingSender {
    fn send<'a>(&'a self, _: Channel, _: &'a str, body: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // Give the other worker a chance to interleave.
            tokio::task::yield_now().await;
            *self.sent.lock().unwrap().entry(body.to_owned()).or_default() += 1;
            Ok(())
        })
    }
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(app.state.core.db.pool()).await.unwrap().get::<i64, _>(0)
}

/// Drains every due job through one worker; returns how many it ran.
async fn drain(core: Core, worker: &'static str) -> usize {
    let mut ran = 0;
    loop {
        match run_pending(&core, worker).await.unwrap() {
            0 => return ran,
            n => ran += n,
        }
    }
}

/// The account whose message centre [`Tally`] writes to.
const TALLY_USER: &str = "tally01";

/// What a test job does when it runs.
#[derive(Clone, Copy)]
enum Effect {
    /// Writes one row per run with nothing unique in it: a second run of a job would show.
    Tally,
    /// Writes a message-centre row and then fails, like a handler whose gateway times out.
    Fail,
}

/// A job kind of these tests: its stored name and its effect.
trait TestKind: Send + Sync + 'static {
    const KIND: &'static str;
    const EFFECT: Effect;
}

/// The typed job of a [`TestKind`], registered like every kind the release runs.
struct TestJob<T>(PhantomData<T>);

impl<T: TestKind> JobKind for TestJob<T> {
    const KIND: &'static str = T::KIND;
    const LABEL: &'static str = "测试任务";
    type Payload = serde_json::Value;

    fn run<'a>(
        &'a self,
        tx: &'a mut sqlx::AnyConnection,
        _: &'a Core,
        job: &'a Job,
        _: serde_json::Value,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            match T::EFFECT {
                Effect::Tally => {
                    sqlx::query("INSERT INTO notifications (user_id, at, title, body) SELECT id, 0, 'tally', $1 FROM users WHERE username = $2")
                        .bind(job.id.to_string())
                        .bind(TALLY_USER)
                        .execute(&mut *tx)
                        .await?;
                    Ok(())
                }
                Effect::Fail => {
                    sqlx::query(
                        "INSERT INTO notifications (user_id, at, title, body) SELECT id, 0, 'x', 'x' FROM users",
                    )
                    .execute(&mut *tx)
                    .await?;
                    Err(AppError::Internal(anyhow::anyhow!("短信网关超时")))
                }
            }
        })
    }
}

macro_rules! test_kinds {
    ($($ty:ident = $kind:literal, $effect:ident;)*) => {
        $(
            struct $ty;
            impl TestKind for $ty {
                const KIND: &'static str = $kind;
                const EFFECT: Effect = Effect::$effect;
            }
        )*
    };
}

test_kinds! {
    Tally = "tally", Tally;
    AlwaysFails = "always_fails", Fail;
    OldFailed = "old_failed", Fail;
    OldDone = "old_done", Tally;
    RecentDone = "recent_done", Tally;
}

/// `core` with the test kind `T` registered beside the release's kinds.
fn with_kind<T: TestKind>(core: &Core) -> Core {
    let mut registry = (*core.jobs).clone();
    registry.add(TestJob::<T>(PhantomData));
    let mut core = core.clone();
    core.jobs = Arc::new(registry);
    core
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_separate_pools_send_each_of_200_messages_exactly_once() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().username(TALLY_USER).await.id;
    let mut tx = app.state.core.db.begin().await.unwrap();
    for i in 0..200 {
        notify_in(&mut tx, &app.state.core, citizen, "办件进度", &format!("第 {i} 条"), "/my/applications")
            .await
            .unwrap();
        enqueue_in(&mut tx, &app.state.core.clock, "tally", &serde_json::json!({}), 0, None).await.unwrap();
    }
    tx.commit().await.unwrap();

    // Two workers as two server processes would have them: each its own pool on one database.
    let sender = Arc::new(RecordingSender::default());
    let mut a = with_kind::<Tally>(&app.state.core);
    a.sender = sender.clone();
    let mut b = a.clone();
    b.db = tongban::store::Db::connect(&app.database_url).await.unwrap();
    let (ran_a, ran_b) = tokio::join!(tokio::spawn(drain(a, "worker-a")), tokio::spawn(drain(b, "worker-b")));
    let (ran_a, ran_b) = (ran_a.unwrap(), ran_b.unwrap());
    eprintln!("worker a claimed {ran_a}, worker b claimed {ran_b}");

    let sent = sender.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 200, "every message sent");
    assert!(
        sent.values().all(|n| *n == 1),
        "none sent twice: {:?}",
        sent.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sent_messages").await, 200);
    assert_eq!(count(&app, "SELECT COUNT(DISTINCT job_id) FROM sent_messages").await, 200);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND done_at IS NOT NULL").await, 200);
    // A job whose effect has no unique guard of its own also ran once each.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications WHERE title = 'tally'").await, 200, "none ran twice");
    assert_eq!(count(&app, "SELECT COUNT(DISTINCT body) FROM notifications WHERE title = 'tally'").await, 200);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE done_at IS NULL").await, 0);
    assert_eq!(ran_a + ran_b, 400, "no job was claimed twice");
}

async fn only_job(core: &Core, kind: &str) -> Job {
    let jobs = tongban::store::jobs::of_kind(&mut core.db.conn().await.unwrap(), kind).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_failing_job_backs_off_and_gives_up_after_six_attempts_keeping_its_error() {
    let app = TestApp::spawn().await;
    app.a_citizen().await; // someone for the failing handler to write to
    let core = with_kind::<AlwaysFails>(&app.state.core);
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &app.state.core.clock, "always_fails", &serde_json::json!({}), 0, None).await.unwrap();
    tx.commit().await.unwrap();

    for attempt in 1..=MAX_ATTEMPTS {
        let now = app.clock.now_ms();
        assert_eq!(run_pending(&core, "w").await.unwrap(), 1, "attempt {attempt} runs");
        let job = only_job(&core, "always_fails").await;
        assert_eq!(job.attempts, attempt);
        assert!(job.last_error.as_deref().unwrap_or_default().contains("短信网关超时"), "{job:?}");
        assert!(job.done_at.is_none());
        if attempt < MAX_ATTEMPTS {
            assert!(job.failed_at.is_none());
            let delay = backoff_ms(attempt);
            assert_eq!(job.run_at, now + delay, "attempt {attempt}: {job:?}");
            // Not due before its time…
            app.clock.advance(ms(delay - 1));
            assert_eq!(run_pending(&core, "w").await.unwrap(), 0);
            // …and due once the time has come.
            app.clock.advance(ms(1));
        } else {
            assert!(job.failed_at.is_some(), "gave up after {MAX_ATTEMPTS}: {job:?}");
        }
    }
    app.clock.advance(ms(backoff_ms(MAX_ATTEMPTS) * 24));
    assert_eq!(run_pending(&core, "w").await.unwrap(), 0, "a job given up is not run again");
    // Each failed run's writes were rolled back with it.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications WHERE at = 0").await, 0);
    assert_eq!(backoff_ms(1), 30_000);
    assert_eq!(backoff_ms(5), 480_000);
}

#[tokio::test]
async fn a_job_of_an_unknown_kind_fails_with_an_error_naming_the_kind() {
    let app = TestApp::spawn().await;
    let core = &app.state.core;
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &app.state.core.clock, "no_such_kind", &serde_json::json!({}), 0, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run_pending(core, "w").await.unwrap(), 1);
    let job = only_job(core, "no_such_kind").await;
    assert_eq!(job.attempts, 1);
    assert!(job.done_at.is_none());
    assert!(job.last_error.as_deref().unwrap_or_default().contains("unknown job kind `no_such_kind`"), "{job:?}");
}

#[tokio::test]
async fn a_dedupe_key_queues_a_job_once() {
    let app = TestApp::spawn().await;
    let core = &app.state.core;
    let mut tx = core.db.begin().await.unwrap();
    assert!(
        enqueue_in(
            &mut tx,
            &app.state.core.clock,
            "report",
            &serde_json::json!({"n": 1}),
            0,
            Some("report@2026-11-30")
        )
        .await
        .unwrap()
    );
    assert!(
        !enqueue_in(
            &mut tx,
            &app.state.core.clock,
            "report",
            &serde_json::json!({"n": 2}),
            0,
            Some("report@2026-11-30")
        )
        .await
        .unwrap()
    );
    assert!(
        enqueue_in(
            &mut tx,
            &app.state.core.clock,
            "report",
            &serde_json::json!({"n": 3}),
            0,
            Some("report@2026-12-01")
        )
        .await
        .unwrap()
    );
    // Without a key nothing is deduplicated.
    assert!(enqueue_in(&mut tx, &app.state.core.clock, "report", &serde_json::json!({"n": 4}), 0, None).await.unwrap());
    assert!(enqueue_in(&mut tx, &app.state.core.clock, "report", &serde_json::json!({"n": 5}), 0, None).await.unwrap());
    tx.commit().await.unwrap();
    let jobs = tongban::store::jobs::of_kind(&mut core.db.conn().await.unwrap(), "report").await.unwrap();
    let payloads: Vec<&str> = jobs.iter().map(|j| j.payload.as_str()).collect();
    assert_eq!(payloads, [r#"{"n":1}"#, r#"{"n":3}"#, r#"{"n":4}"#, r#"{"n":5}"#]);
}

#[tokio::test]
async fn two_nodes_queue_a_periodic_job_once_per_time_slot() {
    let app = TestApp::spawn().await;
    let a = app.state.core.clone();
    let mut b = a.clone();
    b.db = tongban::store::Db::connect(&app.database_url).await.unwrap();
    let slot = 300_000 * 5_000_000; // the start of a five-minute slot in 2017
    let kind = tongban::jobs::SESSION_PURGE_JOB;
    // The session purge, the refusal summary and the ticket rollover (every 5 minutes), the
    // deadline scan (every 10 minutes), the licence expiry (hourly) and the job purge (daily) are
    // all due in their first slot.
    assert_eq!(jobs::schedule_due(&a, slot).await.unwrap(), 6);
    assert_eq!(jobs::schedule_due(&b, slot + 1_000).await.unwrap(), 0, "same slot");
    assert_eq!(jobs::schedule_due(&b, slot + 299_999).await.unwrap(), 0, "same slot");
    assert_eq!(jobs::schedule_due(&b, slot + 300_000).await.unwrap(), 3, "next slot");
    let jobs = tongban::store::jobs::of_kind(&mut a.db.conn().await.unwrap(), kind).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].run_at, slot);
    // The periodic job does its work: expired sessions go.
    app.a_sysadmin().await.api().await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 1);
    app.clock.advance(ms(tongban::app::auth::ABSOLUTE_MS + 1));
    assert_eq!(
        run_pending(&a, "w").await.unwrap(),
        9,
        "two purges of sessions, two refusal summaries, two ticket rollovers, one purge of jobs, a deadline scan, a licence expiry"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM jobs WHERE last_error IS NOT NULL").await,
        0,
        "every periodic job ran cleanly"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'session_purge' AND done_at IS NOT NULL").await, 2);
}

#[tokio::test]
async fn done_jobs_are_purged_after_thirty_days_but_failed_ones_and_sent_messages_stay() {
    let app = TestApp::spawn().await;
    let core = &with_kind::<OldDone>(&with_kind::<OldFailed>(&app.state.core));
    let core = &with_kind::<RecentDone>(core);
    let citizen = app.a_citizen().username(TALLY_USER).await.id;
    // A message sent, a job done and a job given up, all some time ago.
    let mut tx = core.db.begin().await.unwrap();
    notify_in(&mut tx, core, citizen, "申请已受理", "您的申请已受理。", "").await.unwrap();
    for kind in ["old_done", "old_failed"] {
        enqueue_in(&mut tx, &core.clock, kind, &serde_json::json!({}), 0, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    for _ in 0..MAX_ATTEMPTS {
        run_pending(core, "w").await.unwrap();
        app.clock.advance(ms(backoff_ms(MAX_ATTEMPTS)));
    }
    assert!(only_job(core, "old_failed").await.failed_at.is_some());
    assert!(only_job(core, "old_done").await.done_at.is_some());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sent_messages").await, 1);
    // Thirty days and a minute after they ended, a job is done and the purge runs.
    app.clock.advance(ms(tongban::jobs::JOB_RETENTION_MS + 60_000));
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &core.clock, "recent_done", &serde_json::json!({}), 0, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run_pending(core, "w").await.unwrap(), 1);
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &core.clock, tongban::jobs::JOB_PURGE_JOB, &serde_json::json!({}), 0, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run_pending(core, "w").await.unwrap(), 1);
    let left: Vec<String> = sqlx::query("SELECT kind FROM jobs ORDER BY id")
        .fetch_all(core.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("kind"))
        .collect();
    assert_eq!(left, ["notify", "old_failed", "recent_done", "job_purge"]);
}

#[tokio::test]
async fn a_worker_that_stalled_past_its_lease_does_not_run_the_job_again() {
    let app = TestApp::spawn().await;
    app.a_citizen().username(TALLY_USER).await;
    let core = with_kind::<Tally>(&app.state.core);
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &app.state.core.clock, "tally", &serde_json::json!({}), 0, None).await.unwrap();
    tx.commit().await.unwrap();
    let claimed = jobs::claim(&core, "slow").await.unwrap();
    assert_eq!(claimed.len(), 1);
    // While "slow" holds its lease nobody else takes the job…
    app.clock.advance(ms(jobs::LEASE_MS));
    assert_eq!(run_pending(&core, "next").await.unwrap(), 0);
    // …then "slow" stalls past it; "next" takes the job over and runs it.
    app.clock.advance(ms(1));
    assert_eq!(run_pending(&core, "next").await.unwrap(), 1);
    // "slow" wakes up and would run it a second time; its lease is gone, so it does not.
    jobs::run_claimed(&core, "slow", claimed[0]).await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications WHERE title = 'tally'").await, 1);
    assert_eq!(only_job(&core, "tally").await.locked_by.as_deref(), Some("next"));
}

#[tokio::test]
async fn a_worker_whose_lease_ran_out_leaves_the_job_to_the_next() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await.id;
    let core = &app.state.core;
    let mut tx = core.db.begin().await.unwrap();
    notify_in(&mut tx, core, citizen, "办件进度", "已受理", "").await.unwrap();
    tx.commit().await.unwrap();
    // A worker claimed it and never finished (it crashed, or stalls past its lease).
    assert_eq!(jobs::claim(core, "crashed").await.unwrap().len(), 1);
    app.clock.advance(ms(jobs::LEASE_MS + 1));
    assert_eq!(run_pending(core, "next").await.unwrap(), 1);
    let job = only_job(core, NOTIFY_JOB).await;
    assert!(job.done_at.is_some());
    assert_eq!(job.locked_by.as_deref(), Some("next"));
    assert_eq!(job.attempts, 2);
    // A lease still held is respected.
    let mut tx = core.db.begin().await.unwrap();
    notify_in(&mut tx, core, citizen, "办件进度", "已办结", "").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(jobs::claim(core, "busy").await.unwrap().len(), 1);
    app.clock.advance(ms(jobs::LEASE_MS));
    assert_eq!(run_pending(core, "next").await.unwrap(), 0);
}

#[tokio::test]
async fn the_server_worker_sends_queued_messages_and_stops_cleanly() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await.id;
    let mut tx = app.state.core.db.begin().await.unwrap();
    notify_in(&mut tx, &app.state.core, citizen, "申请已受理", "您的申请已受理。", "").await.unwrap();
    tx.commit().await.unwrap();
    let worker = tongban::jobs::spawn(app.state.core.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&app, "SELECT COUNT(*) FROM sent_messages").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the worker did not send the message");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // It also queued the periodic session purge for the current slot.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'session_purge'").await, 1);
    tokio::time::timeout(std::time::Duration::from_secs(5), worker.stop()).await.expect("the worker stops");
}

fn ms(n: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(n).unwrap())
}

#[tokio::test]
async fn a_job_whose_payload_cannot_be_read_is_given_up_at_once_and_listed_for_the_system_administrator() {
    let app = TestApp::spawn().await;
    let core = &app.state.core;
    // A warning job as an older or newer release might have written it: the typed kind cannot
    // read it, and retrying would not help.
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &core.clock, tongban::app::deadlines::WARNING_JOB, &serde_json::json!({"case": 7}), 0, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(run_pending(core, "w").await.unwrap(), 1);
    let job = only_job(core, tongban::app::deadlines::WARNING_JOB).await;
    assert_eq!(job.attempts, 1, "one start, not six");
    assert!(job.failed_at.is_some(), "{job:?}");
    assert!(job.last_error.as_deref().unwrap_or_default().contains("任务内容无法读取"), "{job:?}");

    let admin = app.a_sysadmin().await.login().await;
    let html = app.get(&admin, "/admin/jobs").await.text().await.unwrap();
    assert!(html.contains("办件预警与超期督办") && html.contains("任务内容无法读取"), "{html}");
    assert!(html.contains(&format!("/admin/jobs/{}/retry", job.id)));
    assert!(app.get(&admin, "/admin").await.text().await.unwrap().contains("/admin/jobs"), "a card on the home page");
    // Window staff, department staff and the other two administrators do not see it.
    let others = [app.a_reviewer("SCJGJ").await, app.a_secadmin().await, app.an_auditor().await];
    for (name, account) in ["reviewer", "secadmin", "auditor"].into_iter().zip(others) {
        let client = account.login().await;
        assert_eq!(app.get(&client, "/admin/jobs").await.status(), reqwest::StatusCode::FORBIDDEN, "{name}");
    }
}

#[tokio::test]
async fn retrying_a_failed_job_queues_it_again_once_and_is_audited() {
    let app = TestApp::spawn().await;
    app.a_citizen().await; // someone for the failing handler to write to
    let core = with_kind::<AlwaysFails>(&app.state.core);
    let mut tx = core.db.begin().await.unwrap();
    enqueue_in(&mut tx, &core.clock, "always_fails", &serde_json::json!({}), 0, None).await.unwrap();
    tx.commit().await.unwrap();
    for _ in 0..MAX_ATTEMPTS {
        run_pending(&core, "w").await.unwrap();
        app.clock.advance(ms(backoff_ms(MAX_ATTEMPTS)));
    }
    let job = only_job(&core, "always_fails").await;
    assert!(job.failed_at.is_some(), "{job:?}");

    let admin = app.a_sysadmin().await.login().await;
    let path = format!("/admin/jobs/{}/retry", job.id);
    let r = app.post_form(&admin, "/admin/jobs", &path, &[]).await;
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(crate::common::location(&r), format!("/admin/jobs?retried={}", job.id));
    let html = app.get(&admin, &crate::common::location(&r)).await.text().await.unwrap();
    assert!(html.contains(&format!("任务 {} 已重新排队", job.id)), "{html}");
    let again = only_job(&core, "always_fails").await;
    assert!(again.failed_at.is_none() && again.attempts == 0 && again.run_at <= app.clock.now_ms(), "{again:?}");
    let audit = app.audit_rows("job.retry").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].1, job.id.to_string());
    // A second click finds nothing failed to retry; an unknown or malformed id is not found.
    for bad in [path.clone(), "/admin/jobs/999999/retry".to_owned(), "/admin/jobs/x%0A/retry".to_owned()] {
        let r = app.post_form(&admin, "/admin/jobs", &bad, &[]).await;
        assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(app.audit_rows("job.retry").await.len(), 1);
    // It runs again with a fresh count of attempts.
    assert_eq!(run_pending(&core, "w").await.unwrap(), 1);
    assert_eq!(only_job(&core, "always_fails").await.attempts, 1);
}

#[tokio::test]
async fn a_text_message_job_carries_its_typed_payload_sealed() {
    let app = TestApp::spawn().await;
    let core = &app.state.core;
    let message =
        tongban::app::notifications::TextMessage { user_id: 1, text: "【通办】您的电话 13800138001".into() };
    let mut tx = core.db.begin().await.unwrap();
    jobs::enqueue::<tongban::app::notifications::SendText>(&mut tx, core, &message, 0, None).await.unwrap();
    tx.commit().await.unwrap();
    let all = tongban::store::jobs::of_kind(&mut core.db.conn().await.unwrap(), NOTIFY_JOB).await.unwrap();
    let job = all.last().unwrap();
    assert!(job.payload.starts_with('k') && !job.payload.contains("13800138001"), "sealed: {}", job.payload);
    let opened: serde_json::Value = serde_json::from_str(&core.cipher.decrypt(&job.payload).unwrap()).unwrap();
    assert_eq!(opened["text"], message.text);
}
