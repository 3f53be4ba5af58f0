//! Roles: the security administrator's domain. Built-in roles are code and read-only here;
//! custom roles are sets of permissions plus a default data scope.

use super::{Actor, AppError, Core, Problems, audit_in, authorize};
use tongban_domain::permission::{Permission, Tier, account_tier, mixed_admin_duties, tier_problem};
use tongban_domain::role::{BUILTIN_ROLES, DataScope};
use tongban_store::audit::Outcome;
use tongban_store::roles::{self, Role};
use tongban_store::users::UserKind;

/// Writes the built-in roles' current definitions (run at every start).
pub async fn sync_builtin(core: &Core) -> Result<(), AppError> {
    let mut tx = core.db.begin().await?;
    for b in BUILTIN_ROLES {
        let role = Role {
            code: b.code.to_owned(),
            name: b.name.to_owned(),
            builtin: true,
            scope: b.scope.name().to_owned(),
            description: String::new(),
            permissions: b.permissions.iter().map(|p| p.name().to_owned()).collect(),
        };
        roles::upsert(&mut tx, &role).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn list(core: &Core, actor: &Actor) -> Result<Vec<Role>, AppError> {
    // Listing roles serves both the security administrator and whoever assigns them.
    if !actor.can(Permission::UserAssignRole) {
        authorize(core, actor, Permission::RoleManage, "roles").await?;
    }
    Ok(roles::list(&mut *core.db.conn().await?).await?)
}

/// A custom role as submitted by the security administrator.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub code: String,
    pub name: String,
    pub scope: String,
    pub description: String,
    pub permissions: Vec<String>,
}

/// Creates (`existing = false`) or updates a custom role.
pub async fn save(core: &Core, actor: &Actor, input: &RoleInput, existing: bool) -> Result<(), AppError> {
    authorize(core, actor, Permission::RoleManage, &input.code).await?;
    let mut p = Problems::default();
    let code = input.code.trim();
    if code.is_empty()
        || code.len() > 32
        || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        p.add("code", "invalid", "角色代码只能包含小写字母、数字和下划线，最长 32 位");
    }
    if input.name.trim().is_empty() {
        p.add("name", "required", "请填写角色名称");
    }
    if DataScope::parse(&input.scope).is_none() {
        p.add("scope", "invalid", "请选择数据范围");
    }
    let mut perms = Vec::new();
    for name in &input.permissions {
        match name.parse::<Permission>() {
            Ok(perm) => perms.push(perm),
            Err(_) => p.add("permissions", "unknown", format!("权限 {name} 不存在")),
        }
    }
    // One tier per role, and no administrator permission: the three administrator roles are the
    // built-in ones, so a custom role can never make a fourth administrator.
    if let Some(m) = tier_problem(&Tier::ALL, &perms) {
        p.add("permissions", "separation_of_duties", format!("一个角色的权限须属于同一账户层级：{m}"));
    } else {
        let admin: Vec<&str> = perms
            .iter()
            .filter(|perm| !perm.tiers().iter().any(|t| !t.is_administrator()))
            .map(|perm| perm.label())
            .collect();
        if !admin.is_empty() {
            p.add(
                "permissions",
                "administrator_permission",
                format!(
                    "三员分立：「{}」是管理员权限，只属于内置的系统管理员、安全管理员、审计管理员角色",
                    admin.join("」「")
                ),
            );
        }
    }
    let mut tx = core.db.begin().await?;
    let current = roles::get(&mut tx, code).await?;
    match (&current, existing) {
        (Some(r), _) if r.builtin => return Err(AppError::Conflict("内置角色不能修改".into())),
        (Some(_), false) => p.add("code", "taken", "该角色代码已存在"),
        (None, true) => return Err(AppError::NotFound),
        _ => {}
    }
    // A changed role is re-checked against every holder: it must still fit the holder's tier
    // (no two administrator duties, no public and staff permissions together), and a role an
    // administrator holds changes only at the console, like the administrator's other roles.
    if let Some(current) = current.as_ref().filter(|_| existing) {
        let before: Vec<Permission> = current.permissions.iter().filter_map(|n| n.parse().ok()).collect();
        for h in roles::holders(&mut tx, code).await? {
            let kind = UserKind::parse(&h.kind).unwrap_or(UserKind::Staff);
            let others: Vec<Permission> = h.other_permissions.iter().filter_map(|n| n.parse().ok()).collect();
            let held: Vec<Permission> = others.iter().chain(&before).copied().collect();
            if !actor.is_console() && super::users::is_administrator(kind, &held) {
                p.add(
                    "permissions",
                    "administrator_holder",
                    format!("三员分立：该角色由管理员账户 {} 持有，只能由服务器控制台调整", h.username),
                );
                continue;
            }
            let all: Vec<Permission> = others.iter().copied().chain(perms.iter().copied()).collect();
            if let Some(duties) = mixed_admin_duties(all.iter().copied()) {
                let names: Vec<&str> = duties.iter().map(|d| d.label()).collect();
                p.add(
                    "permissions",
                    "separation_of_duties",
                    format!("三员分立：修改后用户 {} 将同时承担{}职责", h.username, names.join("、")),
                );
            } else if account_tier(super::users::kind_tiers(kind), all.iter().copied()).is_none() {
                p.add(
                    "permissions",
                    "holder_tier",
                    format!("修改后用户 {}（{}）将持有不属于其账户层级的权限", h.username, kind.label()),
                );
            }
        }
    }
    p.into_result()?;
    perms.sort();
    perms.dedup();
    let role = Role {
        code: code.to_owned(),
        name: input.name.trim().to_owned(),
        builtin: false,
        scope: input.scope.clone(),
        description: input.description.trim().to_owned(),
        permissions: perms.iter().map(|p| p.name().to_owned()).collect(),
    };
    roles::upsert(&mut tx, &role).await?;
    let action = if existing { "role.update" } else { "role.create" };
    audit_in(&mut tx, &core.clock, actor, action, code, Outcome::Success, &role.permissions.join(",")).await?;
    tx.commit().await?;
    Ok(())
}
