//! Reading and verifying the audit log (the audit administrator's), and recording refused
//! attempts (denials, CSRF rejections, throttling, failed reauthentication) with aggregation.

use super::paging::{Cursor, Page, PageRequest};
use super::{Actor, AppError, Core, authorize};
use tongban_domain::permission::Permission;
use tongban_store::audit::{self, Entry, Filter, NewEntry, Outcome};
use tongban_store::refusals;

/// A kind of refused attempt, audited with aggregation (see [`record_refusal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A 403: a permission or data scope the caller lacks.
    Denied,
    /// A state-changing request without a valid CSRF token.
    Csrf,
    /// A 429: too many attempts.
    Throttled,
    /// A wrong current password where the user had to prove it again.
    Reauthentication,
}

impl RefusalKind {
    /// The audit action its records carry.
    pub fn action(self) -> &'static str {
        match self {
            RefusalKind::Denied => "access.denied",
            RefusalKind::Csrf => "security.csrf_refused",
            RefusalKind::Throttled => "security.throttled",
            RefusalKind::Reauthentication => "auth.reauth_failed",
        }
    }
}

/// The length of an aggregation window.
pub const REFUSAL_WINDOW_MS: i64 = 60 * 1000;

/// Records a refused attempt without letting a flood flood the log: the first refusal per
/// (actor, or IP when anonymous; kind; `what` was attempted, e.g. the permission) and minute is
/// audited at once with its object; later ones in that minute are only counted, and
/// [`summarise_refusals`] writes one summary record per window once it has ended. A flood of N
/// requests thus writes O(1) audit records per window. Its own transaction: a refusal changes
/// nothing else.
pub async fn record_refusal(
    core: &Core,
    actor: Option<&Actor>,
    ip: &str,
    kind: RefusalKind,
    what: &str,
    object: &str,
) -> Result<(), AppError> {
    let now = core.clock.now_ms();
    let ip_who = format!("ip:{ip}");
    let (who, name) = match actor {
        Some(a) => (a.username.as_str(), a.username.as_str()),
        None => (ip_who.as_str(), "anonymous"),
    };
    // Untrusted text (a path, a typed name) is kept short, by characters.
    let object: String = object.chars().take(200).collect();
    let what: String = what.chars().take(100).collect();
    let refusal = refusals::Refusal {
        who,
        kind: kind.action(),
        action: &what,
        window_start: now - now.rem_euclid(REFUSAL_WINDOW_MS),
        actor_id: actor.map(|a| a.user_id).filter(|id| *id > 0),
        actor: name,
        ip,
        object: &object,
    };
    let mut tx = core.db.begin().await?;
    if refusals::count(&mut tx, &refusal).await? == 1 {
        let detail = match kind {
            RefusalKind::Denied => format!("缺少权限 {what}"),
            RefusalKind::Csrf => "CSRF 校验失败".to_owned(),
            RefusalKind::Throttled => format!("请求过于频繁：{what}"),
            RefusalKind::Reauthentication => format!("身份再确认失败：{what}"),
        };
        let entry = NewEntry {
            actor_id: refusal.actor_id,
            actor: name,
            ip,
            action: kind.action(),
            object: &object,
            outcome: Outcome::Denied,
            detail: &detail,
        };
        audit::append(&mut tx, &entry, now).await?;
    }
    tx.commit().await?;
    metrics::counter!("refusals_total", "kind" => kind.action()).increment(1);
    Ok(())
}

/// Records a permission denial (an aggregated refusal of kind [`RefusalKind::Denied`]).
pub async fn record_denial(
    core: &Core,
    actor: Option<&Actor>,
    ip: &str,
    permission: &str,
    object: &str,
) -> Result<(), AppError> {
    record_refusal(core, actor, ip, RefusalKind::Denied, permission, object).await
}

/// Writes one summary record for every refusal window that ended before `now` with more than
/// the first refusal in it, and forgets the ended windows. Runs as a periodic job; returns the
/// number of summary records written.
pub async fn summarise_refusals(tx: &mut sqlx::AnyConnection, now: i64) -> Result<u64, AppError> {
    let current = now - now.rem_euclid(REFUSAL_WINDOW_MS);
    let mut written = 0;
    loop {
        let ended = refusals::ended(tx, current, 500).await?;
        if ended.is_empty() {
            break;
        }
        for w in &ended {
            if w.refusals > 1 {
                let detail = format!(
                    "汇总：{} 起 1 分钟内同类拒绝共 {} 次（首次已单独记录），对象示例 {}",
                    crate::clock::display(w.window_start),
                    w.refusals,
                    w.object
                );
                let entry = NewEntry {
                    actor_id: w.actor_id,
                    actor: &w.actor,
                    ip: &w.ip,
                    action: &w.kind,
                    object: &w.action,
                    outcome: Outcome::Denied,
                    detail: &detail,
                };
                audit::append(tx, &entry, now).await?;
                written += 1;
            }
            refusals::delete(tx, w).await?;
        }
    }
    Ok(written)
}

/// One page of the audit log the filter keeps, newest first: by page number (the audit page) or
/// after a cursor, which names a record by its sequence number.
pub async fn list(core: &Core, actor: &Actor, filter: &Filter, request: &PageRequest) -> Result<Page<Entry>, AppError> {
    authorize(core, actor, Permission::AuditView, "audit_log").await?;
    let before = request.after().map(Cursor::key).transpose()?;
    // One record more than asked for tells whether a next page exists.
    let (total, rows) =
        audit::list(&mut *core.db.conn().await?, filter, before, request.offset(), request.size + 1).await?;
    Ok(Page::from_rows(rows, request.size, total, |e| Cursor::after_key(e.seq)))
}

/// The result of walking the hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub checked: i64,
    /// The first record that does not fit the chain, and why.
    pub broken: Option<(i64, String)>,
}

/// Walks the whole chain: sequence numbers contiguous from 1, each record's `prev_hash` equal to
/// the previous record's hash, each hash recomputed from the record's fields, and the head
/// matching the last record (so that deleting the newest records is detected too).
pub async fn verify_chain(core: &Core) -> Result<ChainReport, AppError> {
    let mut conn = core.db.conn().await?;
    let mut prev_hash = "0".repeat(64);
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let chunk = audit::chunk(&mut conn, expected_seq - 1, 1000).await?;
        if chunk.is_empty() {
            break;
        }
        for e in chunk {
            if e.seq != expected_seq {
                return Ok(ChainReport {
                    checked, broken: Some((expected_seq, "记录缺失（序号不连续）".into()))
                });
            }
            if e.prev_hash != prev_hash {
                return Ok(ChainReport {
                    checked, broken: Some((e.seq, "前序哈希与上一条记录不符".into()))
                });
            }
            if e.expected_hash(&prev_hash) != e.hash {
                return Ok(ChainReport {
                    checked, broken: Some((e.seq, "记录内容与哈希不符（已被修改）".into()))
                });
            }
            prev_hash = e.hash;
            expected_seq += 1;
            checked += 1;
        }
    }
    let (head_seq, head_hash) = audit::head(&mut conn).await?;
    if head_seq != checked || head_hash != prev_hash {
        return Ok(ChainReport { checked, broken: Some((checked + 1, "链尾记录缺失或链头被修改".into())) });
    }
    Ok(ChainReport { checked, broken: None })
}

/// Chinese names of audited actions, for the audit page.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "auth.login" => "登录成功",
        "auth.login_failed" => "登录失败",
        "auth.login_refused" => "拒绝登录",
        "auth.locked" => "账户锁定",
        "auth.throttled" => "登录限流",
        "auth.password_change_required" => "须修改密码",
        "rate.limited" => "请求限流",
        "auth.logout" => "退出登录",
        "auth.password_change" => "修改密码",
        "access.denied" => "越权访问被拒绝",
        "user.register" => "用户注册",
        "user.register_refused" => "注册未成功",
        "user.create" => "创建用户",
        "user.disable" => "停用用户",
        "user.enable" => "启用用户",
        "user.reset_password" => "重置密码",
        "user.assign_roles" => "分配角色",
        "role.create" => "创建角色",
        "role.update" => "修改角色",
        "demo.seed" => "写入演示数据",
        _ => "其他操作",
    }
}

pub const ACTIONS: &[&str] = &[
    "auth.login",
    "auth.login_failed",
    "auth.login_refused",
    "auth.locked",
    "auth.throttled",
    "auth.password_change_required",
    "rate.limited",
    "auth.logout",
    "auth.password_change",
    "access.denied",
    "user.register",
    "user.register_refused",
    "user.create",
    "user.disable",
    "user.enable",
    "user.reset_password",
    "user.assign_roles",
    "role.create",
    "role.update",
    "demo.seed",
];
