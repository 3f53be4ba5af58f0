//! Reading and verifying the audit log (the audit administrator's), and recording denials.

use super::{Actor, AppError, Core, authorize};
use crate::clock::now_ms;
use crate::domain::permission::Permission;
use crate::store::audit::{self, Entry, Filter, NewEntry, Outcome};

/// Records a permission denial in its own transaction (a denial changes nothing else).
pub async fn record_denial(
    core: &Core,
    actor: Option<&Actor>,
    ip: &str,
    permission: &str,
    object: &str,
) -> Result<(), AppError> {
    let mut tx = core.db.begin().await?;
    let detail = format!("缺少权限 {permission}");
    let entry = NewEntry {
        actor_id: actor.map(|a| a.user_id).filter(|id| *id > 0),
        actor: actor.map_or("anonymous", |a| a.username.as_str()),
        ip,
        action: "access.denied",
        object,
        outcome: Outcome::Denied,
        detail: &detail,
    };
    audit::append(&mut tx, &entry, now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(core: &Core, actor: &Actor, filter: &Filter) -> Result<(i64, Vec<Entry>), AppError> {
    authorize(core, actor, Permission::AuditView, "audit_log").await?;
    Ok(audit::list(&mut *core.db.conn().await?, filter).await?)
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
