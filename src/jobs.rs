//! The background worker of `tongban serve`: queues the periodic jobs and runs due jobs of every
//! kind (see `app::jobs` for how each runs exactly once across nodes).

use std::time::Duration;

use sqlx::AnyConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::jobs::{BoxFuture, JobKind, Periodic, Registry, run_pending, schedule_due};
use crate::app::notifications::SendText;
use crate::app::{AppError, Core};
use crate::app::{deadlines, licences, queue};
use crate::store::jobs::Job;

/// How often an idle worker looks for due jobs.
const POLL: Duration = Duration::from_secs(1);

/// The job kinds this release runs, and the periodic ones.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    r.add(SendText);
    r.add(deadlines::Scan).every_kind::<deadlines::Scan>(deadlines::SCAN_SECONDS);
    r.add(deadlines::Warn);
    r.add(licences::ExpireJob).every_kind::<licences::ExpireJob>(licences::EXPIRE_SECONDS);
    r.add(queue::RolloverJob).every_kind::<queue::RolloverJob>(queue::ROLLOVER_SECONDS);
    r.add(PurgeSessions).every_kind::<PurgeSessions>(300);
    r.add(PurgeJobs).every_kind::<PurgeJobs>(86_400);
    r.add(SummariseRefusals).every_kind::<SummariseRefusals>(300);
    r
}

/// A running worker; [`Worker::stop`] lets the current job finish and waits for it.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "job worker ended abnormally");
        }
    }
}

/// Starts the worker loop under a name unique to this process.
pub fn spawn(core: Core) -> Worker {
    let worker_id =
        format!("{}-{}", std::process::id(), crate::crypto::random_token().chars().take(8).collect::<String>());
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        tracing::info!(worker = %worker_id, "job worker started");
        loop {
            if let Err(e) = schedule_due(&core, core.clock.now_ms()).await {
                tracing::warn!(error = ?e, "queueing periodic jobs failed");
            }
            // Drain what is due, checking for shutdown between batches.
            loop {
                if *stopped.borrow() {
                    break;
                }
                match run_pending(&core, &worker_id).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = ?e, "running jobs failed");
                        break;
                    }
                }
            }
            let gone = tokio::select! {
                changed = stopped.changed() => changed.is_err(),
                () = tokio::time::sleep(POLL) => false,
            };
            if gone || *stopped.borrow() {
                break;
            }
        }
        tracing::info!(worker = %worker_id, "job worker stopped");
    });
    Worker { stop, task }
}

/// Removes expired sessions. Expired sessions are refused at lookup anyway; this only keeps
/// the table small.
pub const SESSION_PURGE_JOB: &str = "session_purge";

struct PurgeSessions;

impl JobKind for PurgeSessions {
    const KIND: &'static str = SESSION_PURGE_JOB;
    const LABEL: &'static str = "清理过期会话";
    type Payload = Periodic;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        _: Periodic,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let n =
                crate::store::sessions::purge_expired(tx, core.clock.now_ms(), crate::app::auth::ABSOLUTE_MS).await?;
            metrics::counter!("sessions_purged_total").increment(n);
            Ok(())
        })
    }
}

/// Deletes jobs done more than [`JOB_RETENTION_MS`] ago (failed ones stay for the operator; sent
/// messages keep their job as the record's reference).
pub const JOB_PURGE_JOB: &str = "job_purge";

/// How long a done job is kept.
pub const JOB_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

struct PurgeJobs;

impl JobKind for PurgeJobs {
    const KIND: &'static str = JOB_PURGE_JOB;
    const LABEL: &'static str = "清理已完成的任务";
    type Payload = Periodic;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        _: Periodic,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            crate::store::jobs::purge_done(tx, core.clock.now_ms() - JOB_RETENTION_MS).await?;
            Ok(())
        })
    }
}

/// Writes the summary audit records of refusal windows that have ended (see
/// `app::audit::record_refusal`).
pub const REFUSAL_SUMMARY_JOB: &str = "refusal_summary";

struct SummariseRefusals;

impl JobKind for SummariseRefusals {
    const KIND: &'static str = REFUSAL_SUMMARY_JOB;
    const LABEL: &'static str = "汇总拒绝访问记录";
    type Payload = Periodic;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        _: Periodic,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            crate::app::audit::summarise_refusals(tx, core.clock.now_ms()).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_licence_expiry_job_is_a_typed_hourly_kind_under_its_released_name() {
        // Rows queued by earlier releases carry this kind and `{}`; both must still be read.
        assert_eq!(<licences::ExpireJob as JobKind>::KIND, "licence_expire");
        assert_eq!(licences::EXPIRE_SECONDS, 3_600);
        assert!(serde_json::from_str::<<licences::ExpireJob as JobKind>::Payload>("{}").is_ok());
        // `add` records the label; the untyped `register` did not.
        assert_eq!(registry().label(licences::EXPIRE_JOB), "标记过期证照");
    }
}
