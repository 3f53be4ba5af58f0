//! Background jobs: queued in the same transaction as the change that needs them
//! ([`enqueue_in`]), run by any node's worker ([`run_pending`]) exactly once.
//!
//! How "exactly once" holds with several workers on one database:
//! 1. A worker claims a small batch in one short transaction: due, open jobs whose lease is free
//!    (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so two claimers never take the same row; on SQLite
//!    the write transaction already admits one claimer at a time), and leases them to itself.
//! 2. Each job then runs in its own transaction that first marks it done — only if this worker
//!    still holds the lease (`… WHERE id = $1 AND locked_by = $2`, one row or roll back) — and then
//!    carries the handler's effect. The job row stays locked until commit, so the effect and the
//!    "done" mark land together or not at all.
//! 3. A failure rolls all of that back and schedules the next try with a backoff of
//!    30 s × 2^(earlier failures), capped at one hour; after [`MAX_ATTEMPTS`] starts the job is
//!    marked failed with its last error kept.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::AnyConnection;

use super::{AppError, Core};
use tongban_store::jobs::{self as store, Job};

/// A boxed future, so that handlers can be held as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Starts before a job is given up.
pub const MAX_ATTEMPTS: i64 = 6;
/// How long a claim holds before another worker may take the job over.
pub const LEASE_MS: i64 = 5 * 60 * 1000;
/// Jobs claimed at once: small, so that a slow job does not hold many others' leases.
const BATCH: i64 = 10;

/// What a job of one kind does. Its effect must be written through `tx`: the transaction that
/// also marks the job done, so that the two land together or not at all.
trait JobHandler: Send + Sync {
    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), AppError>>;
}

/// A kind of background job: its name, the payload it carries and what it does. The payload is
/// stored as JSON (sealed with the field key when [`JobKind::SEALED`]: it holds personal data);
/// a payload that does not parse as `Payload` cannot be mended by retrying, so such a job goes
/// straight to the failed list (see `/admin/jobs`).
pub trait JobKind: Send + Sync + 'static {
    /// The name stored in the job row; never change it once released.
    const KIND: &'static str;
    /// Shown to administrators, in Chinese.
    const LABEL: &'static str;
    /// Seal the payload at rest.
    const SEALED: bool = false;
    type Payload: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static;

    /// The job's effect, written through `tx` (the transaction that also marks it done).
    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        job: &'a Job,
        payload: Self::Payload,
    ) -> BoxFuture<'a, Result<(), AppError>>;
}

/// The payload of a periodic job: nothing (it is queued as `{}`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Periodic {}

/// A failure that retrying cannot mend (a payload this release cannot read): the job is given up
/// at once instead of after [`MAX_ATTEMPTS`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

/// The untyped handler a [`JobKind`] is held as.
struct Typed<K>(K);

impl<K: JobKind> JobHandler for Typed<K> {
    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        job: &'a Job,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let payload: K::Payload = serde_json::from_str(&job.payload).map_err(|e| {
                AppError::Internal(anyhow::Error::new(Permanent(format!("任务内容无法读取（{}）：{e}", K::KIND))))
            })?;
            self.0.run(tx, core, job, payload).await
        })
    }
}

/// Queues a job of kind `K` inside the caller's transaction. With a `dedupe_key` that was queued
/// before, nothing is added and `false` is returned.
pub async fn enqueue<K: JobKind>(
    tx: &mut AnyConnection,
    core: &Core,
    payload: &K::Payload,
    run_at: i64,
    dedupe_key: Option<&str>,
) -> Result<bool, AppError> {
    let json = serde_json::to_string(payload).map_err(|e| AppError::Internal(e.into()))?;
    let stored = if K::SEALED { core.cipher.encrypt(&json) } else { json };
    Ok(store::insert(tx, K::KIND, &stored, run_at, dedupe_key, core.clock.now_ms()).await?)
}

/// Handlers by kind, and the kinds that are queued periodically.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    schedules: Vec<(&'static str, i64)>,
    labels: HashMap<&'static str, &'static str>,
}

impl Registry {
    /// Registers (or replaces) the untyped handler a typed kind is held as.
    fn register(&mut self, kind: &'static str, handler: impl JobHandler + 'static) -> &mut Self {
        self.handlers.insert(kind, Arc::new(handler));
        self
    }

    /// Registers the handler of a typed kind.
    pub fn add<K: JobKind>(&mut self, handler: K) -> &mut Self {
        self.labels.insert(K::KIND, K::LABEL);
        self.register(K::KIND, Typed(handler))
    }

    /// Queues the typed kind `K` (its payload [`Periodic`]) once every `seconds`.
    pub fn every_kind<K: JobKind<Payload = Periodic>>(&mut self, seconds: i64) -> &mut Self {
        self.every(K::KIND, seconds)
    }

    /// The administrators' name of a kind (the kind itself when it has none).
    pub fn label<'a>(&self, kind: &'a str) -> &'a str {
        self.labels.get(kind).copied().unwrap_or(kind)
    }

    /// Queues `kind` once every `seconds` (see [`schedule_due`]).
    fn every(&mut self, kind: &'static str, seconds: i64) -> &mut Self {
        self.schedules.push((kind, seconds.max(1)));
        self
    }

    fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}

/// Queues a job inside the caller's transaction. With a `dedupe_key` that was queued before,
/// nothing is added and `false` is returned.
pub async fn enqueue_in(
    tx: &mut AnyConnection,
    clock: &crate::clock::Clock,
    kind: &str,
    payload: &serde_json::Value,
    run_at: i64,
    dedupe_key: Option<&str>,
) -> Result<bool, AppError> {
    Ok(store::insert(tx, kind, &payload.to_string(), run_at, dedupe_key, clock.now_ms()).await?)
}

/// The delay before the next try after `attempts` starts have failed: 30 s × 2^(attempts − 1),
/// at most one hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    let doublings = u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(0);
    (30_000i64 << doublings).min(3_600_000)
}

/// Claims one batch of due jobs and runs them; returns how many were claimed (0: nothing due).
pub async fn run_pending(core: &Core, worker: &str) -> Result<usize, AppError> {
    let ids = claim(core, worker).await?;
    for id in &ids {
        run_claimed(core, worker, *id).await?;
    }
    Ok(ids.len())
}

/// Leases a batch of due jobs to `worker` (the first half of [`run_pending`]).
pub async fn claim(core: &Core, worker: &str) -> Result<Vec<i64>, AppError> {
    let now = core.clock.now_ms();
    if !store::any_due(&mut *core.db.conn().await?, now).await? {
        return Ok(Vec::new());
    }
    let mut tx = core.db.begin().await?;
    let ids = store::due_for_claim(&mut tx, core.db.backend(), now, BATCH).await?;
    for id in &ids {
        store::lease(&mut tx, *id, worker, now + LEASE_MS).await?;
    }
    tx.commit().await?;
    Ok(ids)
}

/// Runs one job leased to `worker` (the second half of [`run_pending`]); nothing happens when
/// the lease was lost meanwhile. A failure is recorded on the job, not returned.
pub async fn run_claimed(core: &Core, worker: &str, id: i64) -> Result<(), AppError> {
    let mut tx = core.db.begin().await?;
    // First, so that the job row is locked while the handler works and the check is the lease.
    if !store::mark_done(&mut tx, id, worker, core.clock.now_ms()).await? {
        tx.rollback().await?;
        tracing::warn!(job = id, worker, "job lease lost before it ran; another worker has it");
        metrics::counter!("jobs_runs_total", "kind" => "unknown", "outcome" => "lease_lost").increment(1);
        return Ok(());
    }
    let Some(mut job) = store::by_id(&mut tx, id).await? else {
        return Ok(());
    };
    // Sealed payloads (and any sealed by a key rotation) are opened here, for every handler.
    job.payload = core.cipher.open_or_plain(&job.payload)?;
    let outcome = match core.jobs.handler(&job.kind) {
        Some(handler) => handler.run(&mut tx, core, &job).await,
        // Retried like any failure: in a rolling upgrade an older node may meet a newer kind.
        None => Err(AppError::Internal(anyhow::anyhow!("unknown job kind `{}`", job.kind))),
    };
    match outcome {
        Ok(()) => {
            tx.commit().await?;
            metrics::counter!("jobs_runs_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
        }
        Err(e) => {
            tx.rollback().await?;
            record_failure(core, worker, &job, &e).await?;
        }
    }
    Ok(())
}

async fn record_failure(core: &Core, worker: &str, job: &Job, error: &AppError) -> Result<(), AppError> {
    let text = match error {
        AppError::Internal(e) => format!("{e:#}"),
        other => other.to_string(),
    };
    let now = core.clock.now_ms();
    let permanent = matches!(error, AppError::Internal(e) if e.downcast_ref::<Permanent>().is_some());
    let give_up = permanent || job.attempts >= job.max_attempts;
    let retry_at = (!give_up).then(|| now + backoff_ms(job.attempts));
    let mut tx = core.db.begin().await?;
    let recorded = store::mark_failed(&mut tx, job.id, worker, &text, retry_at, now).await?;
    tx.commit().await?;
    let outcome = if give_up { "failed" } else { "retry" };
    if recorded {
        metrics::counter!("jobs_runs_total", "kind" => job.kind.clone(), "outcome" => outcome).increment(1);
        if give_up {
            tracing::error!(job = job.id, kind = %job.kind, attempts = job.attempts, error = %text, "job gave up");
        } else {
            tracing::warn!(job = job.id, kind = %job.kind, attempts = job.attempts, error = %text, "job failed; will retry");
        }
    }
    Ok(())
}

/// Queues every periodic kind whose current time slot has no job yet. The dedupe key names the
/// slot, so any number of nodes calling this queue each slot's job once.
pub async fn schedule_due(core: &Core, now: i64) -> Result<usize, AppError> {
    // Read first: most calls find this slot queued already and need no write transaction.
    let mut missing = Vec::new();
    {
        let mut conn = core.db.conn().await?;
        for (kind, seconds) in &core.jobs.schedules {
            let every_ms = seconds * 1000;
            let slot = now / every_ms;
            let key = format!("{kind}@{slot}");
            if !store::dedupe_key_taken(&mut conn, &key).await? {
                missing.push((*kind, slot * every_ms, key));
            }
        }
    }
    if missing.is_empty() {
        return Ok(0);
    }
    let mut added = 0;
    let mut tx = core.db.begin().await?;
    for (kind, run_at, key) in &missing {
        if enqueue_in(&mut tx, &core.clock, kind, &serde_json::json!({}), *run_at, Some(key)).await? {
            added += 1;
        }
    }
    tx.commit().await?;
    Ok(added)
}

/// A job kind's queue, as administrators see it.
#[derive(Debug, Clone)]
pub struct KindCounts {
    pub kind: String,
    pub label: String,
    pub open: i64,
    pub due: i64,
    pub failed: i64,
}

/// A job given up after its attempts (or at once, when its payload could not be read).
#[derive(Debug, Clone)]
pub struct FailedJob {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub attempts: i64,
    pub failed_at: i64,
    /// The last error, with ID and mobile numbers masked.
    pub error: String,
}

/// How many failed jobs the page lists (the latest).
pub const FAILED_LISTED: i64 = 200;

/// The queues by kind and the failed jobs, for the system administrator.
pub async fn overview(core: &Core, actor: &super::Actor) -> Result<(Vec<KindCounts>, Vec<FailedJob>), AppError> {
    super::authorize(core, actor, tongban_domain::permission::Permission::JobsManage, "jobs").await?;
    let mut conn = core.db.conn().await?;
    let kinds = store::counts_by_kind(&mut conn, core.clock.now_ms())
        .await?
        .into_iter()
        .map(|(kind, open, due, failed)| KindCounts {
            label: core.jobs.label(&kind).to_owned(),
            kind,
            open,
            due,
            failed,
        })
        .collect();
    let failed = store::failed(&mut conn, FAILED_LISTED)
        .await?
        .into_iter()
        .map(|j| FailedJob {
            id: j.id,
            label: core.jobs.label(&j.kind).to_owned(),
            attempts: j.attempts,
            failed_at: j.failed_at.unwrap_or_default(),
            error: tongban_domain::mask::in_text(j.last_error.as_deref().unwrap_or_default()),
            kind: j.kind,
        })
        .collect();
    Ok((kinds, failed))
}

/// Puts a failed job back in the queue, due now, with its attempts counted afresh; audited in
/// the same transaction. Not found when the job is not failed (already retried, say).
pub async fn retry(core: &Core, actor: &super::Actor, id: i64) -> Result<(), AppError> {
    super::authorize(core, actor, tongban_domain::permission::Permission::JobsManage, "jobs").await?;
    let mut tx = core.db.begin().await?;
    let Some(job) = store::by_id(&mut tx, id).await? else { return Err(AppError::NotFound) };
    if !store::requeue(&mut tx, id, core.clock.now_ms()).await? {
        return Err(AppError::NotFound);
    }
    let detail = format!("{}，此前已尝试 {} 次", core.jobs.label(&job.kind), job.attempts);
    super::audit_in(
        &mut tx,
        &core.clock,
        actor,
        "job.retry",
        &id.to_string(),
        tongban_store::audit::Outcome::Success,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_thirty_seconds_up_to_an_hour() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 60_000);
        assert_eq!(backoff_ms(5), 480_000);
        assert_eq!(backoff_ms(8), 3_600_000);
        assert_eq!(backoff_ms(60), 3_600_000);
    }
}
