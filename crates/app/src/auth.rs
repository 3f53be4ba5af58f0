//! Login, logout, sessions and password changes.

use std::collections::BTreeSet;

use tracing::instrument;

use super::rate_limit::{self, Limit};
use super::{AccountRules, Actor, AppError, Core, HeldRole, Origin, Problems, passwords};
use tongban_crypto::{random_token, sm3_hex};
use tongban_domain::password::policy_violations;
use tongban_domain::role::DataScope;
use tongban_store::audit::{NewEntry, Outcome};
use tongban_store::users::{User, UserKind};
use tongban_store::{audit, roles, sessions, users};

/// Consecutive failures that lock an account.
pub const LOCK_AFTER_FAILURES: i64 = 5;
pub const LOCK_MS: i64 = 15 * 60 * 1000;
/// Idle timeout of staff sessions (等保: short for privileged users).
pub const STAFF_IDLE_SECS: i64 = 30 * 60;
/// Idle timeout of citizens' and businesses' sessions: long forms take time to fill.
pub const PUBLIC_IDLE_SECS: i64 = 60 * 60;
/// No session outlives this, whatever its activity.
pub const ABSOLUTE_MS: i64 = 12 * 3600 * 1000;
/// Activity is written back at most this often, to keep reads free of writes.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// A successful login.
pub struct LoggedIn {
    pub token: String,
    pub user: User,
}

/// Logs in. An unknown name and a wrong password get the same answer, after the same argon2
/// work, with the same count of remaining tries and the same lock after five (names that are no
/// account are counted by the throttle) — nothing tells a stranger which accounts exist.
#[instrument(skip_all, fields(ip = %origin.ip))]
pub async fn login(core: &Core, origin: &Origin, username: &str, password: &str) -> Result<LoggedIn, AppError> {
    let now = core.clock.now_ms();
    let username = username.trim();
    rate_limit::enforce(core, Limit::LoginPerAccount, &username.to_lowercase(), &origin.ip, None).await?;
    if let Some((ms, first)) = core.throttle.refusal(&origin.ip, now) {
        if first {
            let detail = "同一地址登录失败次数过多（本时段内后续拒绝不再逐条记录）";
            audit_anonymous(core, origin, username, "auth.throttled", Outcome::Denied, detail).await?;
        }
        return Err(AppError::Throttled { retry_after_secs: u64::try_from(ms.div_euclid(1000) + 1).unwrap_or(1) });
    }
    let user = users::by_username(&mut *core.db.conn().await?, username).await?;
    match &user {
        Some(u) if u.locked_until.is_some_and(|until| until > now) => {
            audit_user(core, origin, u, "auth.login_refused", Outcome::Denied, "账户锁定期间尝试登录").await?;
            return Err(AppError::Locked { until_ms: u.locked_until.unwrap_or(now) });
        }
        None => {
            if let Some(until) = core.throttle.unknown_locked_until(username, now) {
                let detail = "用户名不存在，锁定期间再次尝试";
                audit_anonymous(core, origin, username, "auth.login_refused", Outcome::Denied, detail).await?;
                return Err(AppError::Locked { until_ms: until });
            }
        }
        Some(_) => {}
    }
    let ok = core.passwords.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let Some(mut user) = user else {
        core.throttle.record_failure(&origin.ip, now);
        let (failures, locked) = core.throttle.record_unknown_failure(username, now);
        let detail = format!("用户名不存在（连续第 {failures} 次）");
        audit_anonymous(core, origin, username, "auth.login_failed", Outcome::Failure, &detail).await?;
        if let Some(until) = locked {
            return Err(AppError::Locked { until_ms: until });
        }
        return Err(AppError::InvalidCredentials { remaining: LOCK_AFTER_FAILURES - failures });
    };
    if !ok {
        core.throttle.record_failure(&origin.ip, now);
        let mut tx = core.db.begin().await?;
        let failures = users::record_failure(&mut tx, user.id, now).await?;
        append(
            &mut tx,
            &core.clock,
            origin,
            &user,
            "auth.login_failed",
            Outcome::Failure,
            &format!("密码错误（连续第 {failures} 次）"),
        )
        .await?;
        if failures >= LOCK_AFTER_FAILURES {
            let until = now + LOCK_MS;
            users::lock_until(&mut tx, user.id, until, now).await?;
            append(
                &mut tx,
                &core.clock,
                origin,
                &user,
                "auth.locked",
                Outcome::Success,
                "连续 5 次密码错误，锁定 15 分钟",
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::Locked { until_ms: until });
        }
        tx.commit().await?;
        return Err(AppError::InvalidCredentials { remaining: LOCK_AFTER_FAILURES - failures });
    }
    if user.disabled {
        audit_user(core, origin, &user, "auth.login_refused", Outcome::Denied, "账户已停用").await?;
        return Err(AppError::Disabled);
    }
    let token = random_token();
    let idle = if user.kind == UserKind::Staff { STAFF_IDLE_SECS } else { PUBLIC_IDLE_SECS };
    let mut tx = core.db.begin().await?;
    users::clear_failures(&mut tx, user.id, now).await?;
    if !user.must_change_password
        && let Some(reason) = password_change_due(&core.account_rules, &user, now)
    {
        users::require_password_change(&mut tx, user.id, now).await?;
        append(&mut tx, &core.clock, origin, &user, "auth.password_change_required", Outcome::Success, reason).await?;
        user.must_change_password = true;
    }
    sessions::insert(&mut tx, &sm3_hex(token.as_bytes()), user.id, now, idle, &origin.ip).await?;
    append(&mut tx, &core.clock, origin, &user, "auth.login", Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(LoggedIn { token, user })
}

/// Why the user must choose a new password before anything else, if they must: the password
/// is older than the age limit of their kind of account, or it is the demo's published one
/// outside demo mode (in demo mode the demo's accounts are exempt from both).
pub fn password_change_due(rules: &AccountRules, user: &User, now: i64) -> Option<&'static str> {
    if user.demo_account {
        return (!rules.demo).then_some("演示账户的密码是公开的，非演示模式下须修改");
    }
    let max = rules.password_max_age.for_kind(user.kind)?;
    (now - user.password_changed_at > max).then_some("密码已超过有效期，须修改")
}

/// Ends the session behind `token`.
pub async fn logout(core: &Core, actor: &Actor, token: &str) -> Result<(), AppError> {
    let mut tx = core.db.begin().await?;
    sessions::delete(&mut tx, &sm3_hex(token.as_bytes())).await?;
    super::audit_in(&mut tx, &core.clock, actor, "auth.logout", &actor.username, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Ends the session behind `token`, if there is one (a new login on the same browser replaces
/// it, so that no session id that existed before a login survives it). Audited when a session
/// actually ended.
pub async fn end_session(core: &Core, token: &str, origin: &Origin) -> Result<(), AppError> {
    let hash = sm3_hex(token.as_bytes());
    let mut tx = core.db.begin().await?;
    if let Some(session) = sessions::get(&mut tx, &hash).await? {
        sessions::delete(&mut tx, &hash).await?;
        if let Some(user) = users::by_id(&mut tx, session.user_id).await? {
            append(
                &mut tx,
                &core.clock,
                origin,
                &user,
                "auth.logout",
                Outcome::Success,
                "同一浏览器重新登录，原会话结束",
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Resolves a session cookie to the logged-in user, enforcing the idle and absolute limits.
/// Expired or unknown sessions resolve to `None` (the caller then treats the user as anonymous).
pub async fn actor_for_session(core: &Core, token: &str, ip: &str) -> Result<Option<Actor>, AppError> {
    let now = core.clock.now_ms();
    let hash = sm3_hex(token.as_bytes());
    // Reads on a read connection; the writes they may call for (ending the session, marking it
    // seen) in a write transaction of their own, never on the read connection.
    let (session, user, grants) = {
        let mut conn = core.db.conn().await?;
        let Some(session) = sessions::get(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let user = users::by_id(&mut conn, session.user_id).await?;
        let grants = match &user {
            Some(u) if !u.disabled => roles::grants_of(&mut conn, u.id).await?,
            _ => Vec::new(),
        };
        (session, user, grants)
    };
    let expired = now - session.last_seen_at > session.idle_secs * 1000 || now - session.created_at > ABSOLUTE_MS;
    let user = match user {
        Some(u) if !u.disabled && !expired => u,
        _ => {
            let mut tx = core.db.begin().await?;
            sessions::delete(&mut tx, &hash).await?;
            tx.commit().await?;
            return Ok(None);
        }
    };
    if now - session.last_seen_at > TOUCH_EVERY_MS {
        let mut tx = core.db.begin().await?;
        sessions::touch(&mut tx, &hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(actor_from(user, grants, ip)))
}

/// The actor for a user, without a session (console tools and demo data act as someone).
pub async fn actor_for_user(core: &Core, user_id: i64, ip: &str) -> Result<Option<Actor>, AppError> {
    let mut conn = core.db.conn().await?;
    let Some(user) = users::by_id(&mut conn, user_id).await? else {
        return Ok(None);
    };
    let grants = roles::grants_of(&mut conn, user.id).await?;
    Ok(Some(actor_from(user, grants, ip)))
}

fn actor_from(user: User, grants: Vec<roles::Grant>, ip: &str) -> Actor {
    let mut held: Vec<HeldRole> = Vec::new();
    let mut permissions = BTreeSet::new();
    for g in grants {
        if held.last().is_none_or(|h| h.code != g.role_code) {
            held.push(HeldRole {
                code: g.role_code.clone(),
                name: g.role_name.clone(),
                scope: DataScope::parse(&g.scope).unwrap_or(DataScope::Own),
                permissions: BTreeSet::new(),
            });
        }
        // A permission name this release does not know (left by a newer one) grants nothing.
        if let Some(p) = g.permission.and_then(|p| p.parse::<tongban_domain::permission::Permission>().ok()) {
            permissions.insert(p);
            if let Some(role) = held.last_mut() {
                role.permissions.insert(p);
            }
        }
    }
    Actor {
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        kind: user.kind,
        department: user.department,
        site: user.site,
        roles: held,
        permissions,
        must_change_password: user.must_change_password,
        ip: ip.to_owned(),
    }
}

/// Changes the actor's own password; other sessions of the user end.
pub async fn change_password(
    core: &Core,
    actor: &Actor,
    current_token: &str,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AppError> {
    rate_limit::enforce(core, Limit::PasswordChangePerAccount, &actor.user_id.to_string(), &actor.ip, Some(actor))
        .await?;
    let mut problems = Problems::default();
    let user = users::by_id(&mut *core.db.conn().await?, actor.user_id).await?.ok_or(AppError::NotFound)?;
    if !core.passwords.verify(current, Some(&user.password_hash)).await? {
        // A failed reauthentication: audited (aggregated, so that guessing cannot flood the log).
        super::audit::record_refusal(
            core,
            Some(actor),
            &actor.ip,
            super::audit::RefusalKind::Reauthentication,
            "auth.password_change",
            &actor.username,
        )
        .await?;
        problems.add("current_password", "wrong_password", "当前密码不正确");
    }
    for message in policy_violations(&actor.username, new) {
        problems.add("new_password", "weak_password", message);
    }
    if new != confirm {
        problems.add("confirm_password", "mismatch", "两次输入的新密码不一致");
    }
    // The history is checked only for a caller who proved the current password: otherwise it
    // would answer questions about old passwords.
    if problems.0.is_empty() && reuses_a_recent_password(core, actor.user_id, new).await? {
        problems.add("new_password", "reused", "新密码不能与最近 5 次使用过的密码相同");
    }
    problems.into_result()?;
    let hash = passwords::hash(new.to_owned()).await?;
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    users::set_password(&mut tx, actor.user_id, &hash, false, now).await?;
    sessions::delete_others(&mut tx, actor.user_id, &sm3_hex(current_token.as_bytes())).await?;
    super::audit_in(&mut tx, &core.clock, actor, "auth.password_change", &actor.username, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

async fn reuses_a_recent_password(core: &Core, user_id: i64, new: &str) -> Result<bool, AppError> {
    let recent = users::recent_password_hashes(&mut *core.db.conn().await?, user_id).await?;
    for hash in &recent {
        if core.passwords.verify(new, Some(hash)).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn append(
    tx: &mut sqlx::AnyConnection,
    clock: &crate::clock::Clock,
    origin: &Origin,
    user: &User,
    action: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), AppError> {
    let entry = NewEntry {
        actor_id: Some(user.id),
        actor: &user.username,
        ip: &origin.ip,
        action,
        object: &user.username,
        outcome,
        detail,
    };
    audit::append(tx, &entry, clock.now_ms()).await?;
    Ok(())
}

async fn audit_user(
    core: &Core,
    origin: &Origin,
    user: &User,
    action: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), AppError> {
    let mut tx = core.db.begin().await?;
    append(&mut tx, &core.clock, origin, user, action, outcome, detail).await?;
    tx.commit().await?;
    Ok(())
}

async fn audit_anonymous(
    core: &Core,
    origin: &Origin,
    username: &str,
    action: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), AppError> {
    // The typed name is kept (truncated) so that guessing is visible, but it is not an account.
    let typed: String = username.chars().take(64).collect();
    let mut tx = core.db.begin().await?;
    let entry = NewEntry { actor_id: None, actor: &typed, ip: &origin.ip, action, object: &typed, outcome, detail };
    audit::append(&mut tx, &entry, core.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
