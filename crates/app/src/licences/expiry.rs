//! Expiry: licences past their validity are marked expired by an hourly job (the status shown
//! is already "expired" before it runs; see `effective_status`).

use sqlx::AnyConnection;
use tongban_domain::day::Day;

use super::store;
use crate::jobs::{BoxFuture, JobKind, Periodic};
use crate::{Actor, AppError, Core, audit_in};
use tongban_store::audit::Outcome;
use tongban_store::jobs::Job;

/// Marks every licence whose validity ended before `today` as expired (`tongban licence expire`;
/// the hourly job runs [`expire_due_in`]); returns how many changed. One audit record names them all.
pub async fn expire_due(core: &Core, today: Day) -> Result<usize, AppError> {
    let mut tx = core.db.begin().await?;
    let n = expire_due_in(&mut tx, &core.clock, today).await?;
    tx.commit().await?;
    Ok(n)
}

/// The same inside the caller's transaction (the `licence_expire` job's).
pub async fn expire_due_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    today: Day,
) -> Result<usize, AppError> {
    let expired = store::expire_due(tx, today, clock.now_ms()).await?;
    if !expired.is_empty() {
        let system = Actor { username: "system".into(), ip: "job".into(), ..Actor::console() };
        let detail = expired.join(",");
        audit_in(tx, clock, &system, "licence.expire", &format!("{} 张", expired.len()), Outcome::Success, &detail)
            .await?;
    }
    Ok(expired.len())
}

/// The job kind of [`ExpireJob`]; stored in job rows, never to change.
pub const EXPIRE_JOB: &str = "licence_expire";
/// How often the expiry job is queued.
pub const EXPIRE_SECONDS: i64 = 3_600;

/// Marks licences past their validity as expired, every hour.
pub struct ExpireJob;

impl JobKind for ExpireJob {
    const KIND: &'static str = EXPIRE_JOB;
    const LABEL: &'static str = "标记过期证照";
    type Payload = Periodic;

    fn run<'a>(
        &'a self,
        tx: &'a mut AnyConnection,
        core: &'a Core,
        _: &'a Job,
        _: Periodic,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move { expire_due_in(tx, &core.clock, core.clock.today()).await.map(|_| ()) })
    }
}
