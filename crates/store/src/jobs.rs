//! The jobs table: work queued in the same transaction as the change that needs it, claimed by
//! workers under a lease, marked done in the same transaction as its effect.

use sqlx::{AnyConnection, Row};

use super::Backend;

/// A job as a worker sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub run_at: i64,
    /// Starts so far, this one included once claimed.
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub done_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
}

/// `SELECT … FROM jobs WHERE <condition>` as one literal, so that the SQL stays static text.
macro_rules! select_job_where {
    ($($condition:tt)+) => {
        concat!(
            "SELECT id, kind, payload, run_at, attempts, max_attempts, locked_by, done_at, failed_at, last_error, \
             dedupe_key FROM jobs WHERE ",
            $($condition)+
        )
    };
}

/// Queues a job; with a dedupe key already present, nothing is added and `false` returned.
pub async fn insert(
    c: &mut AnyConnection,
    kind: &str,
    payload: &str,
    run_at: i64,
    dedupe_key: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (kind, payload, run_at, dedupe_key, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(kind)
    .bind(payload)
    .bind(run_at)
    .bind(dedupe_key)
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open jobs that are due and not leased by a live worker, oldest first, locked for the rest
/// of the transaction. PostgreSQL skips rows another claimer holds; SQLite has no row locks,
/// but its write transaction (`BEGIN IMMEDIATE`) already lets one claimer in at a time.
pub async fn due_for_claim(c: &mut AnyConnection, backend: Backend, now: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    const SQLITE: &str = "SELECT id FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= $1 \
                          AND (locked_until IS NULL OR locked_until < $1) ORDER BY run_at, id LIMIT $2";
    const POSTGRES: &str = "SELECT id FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= $1 \
                            AND (locked_until IS NULL OR locked_until < $1) ORDER BY run_at, id LIMIT $2 \
                            FOR UPDATE SKIP LOCKED";
    let sql = if backend == Backend::Postgres { POSTGRES } else { SQLITE };
    let rows = sqlx::query(sql).bind(now).bind(limit).fetch_all(c).await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// True when some job is due: a read, so that an idle worker does not take SQLite's write lock
/// every time it looks.
pub async fn any_due(c: &mut AnyConnection, now: i64) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "SELECT id FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= $1 \
         AND (locked_until IS NULL OR locked_until < $1) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(c)
    .await?;
    Ok(row.is_some())
}

/// True when a job with this dedupe key was ever queued.
pub async fn dedupe_key_taken(c: &mut AnyConnection, key: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("SELECT id FROM jobs WHERE dedupe_key = $1").bind(key).fetch_optional(c).await?.is_some())
}

/// Leases one job to `worker` until `until` and counts the start.
pub async fn lease(c: &mut AnyConnection, id: i64, worker: &str, until: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1 WHERE id = $3")
        .bind(worker)
        .bind(until)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn by_id(c: &mut AnyConnection, id: i64) -> sqlx::Result<Option<Job>> {
    const SQL: &str = select_job_where!("id = $1");
    let row = sqlx::query(SQL).bind(id).fetch_optional(c).await?;
    row.as_ref().map(job_from_row).transpose()
}

/// Marks the job done if `worker` still holds its lease; `false` when it does not (the lease
/// ran out and another worker took the job over, or it is already done). Run first in the
/// transaction that carries the job's effect: on PostgreSQL it row-locks the job until commit.
pub async fn mark_done(c: &mut AnyConnection, id: i64, worker: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET done_at = $1, locked_until = NULL \
         WHERE id = $2 AND locked_by = $3 AND done_at IS NULL AND failed_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(worker)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed start while `worker` holds the lease: either the next try (`retry_at`) or,
/// with `None`, giving up. Returns `false` when the lease was lost.
pub async fn mark_failed(
    c: &mut AnyConnection,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let done = match retry_at {
        Some(at) => {
            sqlx::query(
                "UPDATE jobs SET run_at = $1, last_error = $2, locked_by = NULL, locked_until = NULL \
                 WHERE id = $3 AND locked_by = $4 AND done_at IS NULL AND failed_at IS NULL",
            )
            .bind(at)
            .bind(error)
            .bind(id)
            .bind(worker)
            .execute(c)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE jobs SET failed_at = $1, last_error = $2, locked_until = NULL \
                 WHERE id = $3 AND locked_by = $4 AND done_at IS NULL AND failed_at IS NULL",
            )
            .bind(now)
            .bind(error)
            .bind(id)
            .bind(worker)
            .execute(c)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Deletes jobs done before `before`, except those whose send is on record in `sent_messages`.
pub async fn purge_done(c: &mut AnyConnection, before: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE done_at < $1 AND NOT EXISTS (SELECT 1 FROM sent_messages s WHERE s.job_id = jobs.id)",
    )
    .bind(before)
    .execute(c)
    .await?;
    Ok(done.rows_affected())
}

/// Jobs of one kind, oldest first (for tests and the operator).
pub async fn of_kind(c: &mut AnyConnection, kind: &str) -> sqlx::Result<Vec<Job>> {
    const SQL: &str = select_job_where!("kind = $1 ORDER BY id");
    let rows = sqlx::query(SQL).bind(kind).fetch_all(c).await?;
    rows.iter().map(job_from_row).collect()
}

/// Jobs given up (the dead-letter list), the latest first.
pub async fn failed(c: &mut AnyConnection, limit: i64) -> sqlx::Result<Vec<Job>> {
    const SQL: &str = select_job_where!("failed_at IS NOT NULL ORDER BY failed_at DESC, id DESC LIMIT $1");
    let rows = sqlx::query(SQL).bind(limit).fetch_all(c).await?;
    rows.iter().map(job_from_row).collect()
}

/// Open jobs by kind: (kind, queued, of which due by `now`, failed).
pub async fn counts_by_kind(c: &mut AnyConnection, now: i64) -> sqlx::Result<Vec<(String, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT kind, \
                CAST(SUM(CASE WHEN done_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open, \
                CAST(SUM(CASE WHEN done_at IS NULL AND failed_at IS NULL AND run_at <= $1 THEN 1 ELSE 0 END) AS BIGINT) AS due, \
                CAST(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS failed \
         FROM jobs GROUP BY kind ORDER BY kind",
    )
    .bind(now)
    .fetch_all(c)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("open")?, r.try_get("due")?, r.try_get("failed")?))).collect()
}

/// Puts a failed job back in the queue, due at `now`, with its attempts counted afresh (its last
/// error is kept until the next run). False when the job is not (or no longer) failed.
pub async fn requeue(c: &mut AnyConnection, id: i64, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET failed_at = NULL, attempts = 0, run_at = $2, locked_by = NULL, locked_until = NULL \
         WHERE id = $1 AND failed_at IS NOT NULL AND done_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn job_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        run_at: r.try_get("run_at")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        locked_by: r.try_get("locked_by")?,
        done_at: r.try_get("done_at")?,
        failed_at: r.try_get("failed_at")?,
        last_error: r.try_get("last_error")?,
        dedupe_key: r.try_get("dedupe_key")?,
    })
}

/// Records a message handed to the sender; one per job at most (`job_id` is unique).
pub async fn insert_sent_message(
    c: &mut AnyConnection,
    job_id: i64,
    channel: &str,
    recipient_masked: &str,
    body: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO sent_messages (job_id, channel, recipient, body, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(job_id)
        .bind(channel)
        .bind(recipient_masked)
        .bind(body)
        .bind(now)
        .execute(c)
        .await?;
    Ok(())
}
