//! Expiry: licences past their validity are marked expired by an hourly job (the status shown
//! is already "expired" before it runs; see `effective_status`).

use chrono::NaiveDate;

use super::{store, ymd};
use crate::{Actor, AppError, Core, audit_in};
use tongban_store::audit::Outcome;

/// Marks every licence whose validity ended before `today` as expired (the expiry job calls
/// this daily); returns how many changed. One audit record names them all.
pub async fn expire_due(core: &Core, today: NaiveDate) -> Result<usize, AppError> {
    let mut tx = core.db.begin().await?;
    let n = expire_due_in(&mut tx, &core.clock, today).await?;
    tx.commit().await?;
    Ok(n)
}

/// The same inside the caller's transaction (the `licence_expire` job's).
pub async fn expire_due_in(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let expired = store::expire_due(tx, &ymd(today), clock.now_ms()).await?;
    if !expired.is_empty() {
        let system = Actor { username: "system".into(), ip: "job".into(), ..Actor::console() };
        let detail = expired.join(",");
        audit_in(tx, clock, &system, "licence.expire", &format!("{} 张", expired.len()), Outcome::Success, &detail)
            .await?;
    }
    Ok(expired.len())
}

/// Marks licences past their validity as expired, every hour.
pub struct ExpireJob;

/// The job kind of [`ExpireJob`].
pub const EXPIRE_JOB: &str = "licence_expire";

impl crate::jobs::JobHandler for ExpireJob {
    fn run<'a>(
        &'a self,
        tx: &'a mut sqlx::AnyConnection,
        core: &'a Core,
        _: &'a tongban_store::jobs::Job,
    ) -> crate::jobs::BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move { expire_due_in(tx, &core.clock, core.clock.today()).await.map(|_| ()) })
    }
}
