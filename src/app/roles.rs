//! Roles: the security administrator's domain. Built-in roles are code and read-only here;
//! custom roles are sets of permissions plus a default data scope.

use super::{Actor, AppError, Core, Problems, audit_in, authorize};
use crate::domain::permission::{Permission, mixed_admin_duties};
use crate::domain::role::{BUILTIN_ROLES, DataScope};
use crate::store::audit::Outcome;
use crate::store::roles::{self, Role};

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
    if let Some(duties) = mixed_admin_duties(perms.iter().copied()) {
        let names: Vec<&str> = duties.iter().map(|d| d.label()).collect();
        p.add("permissions", "separation_of_duties", format!("三员分立：一个角色不能同时包含{}权限", names.join("、")));
    }
    let mut tx = core.db.begin().await?;
    let current = roles::get(&mut tx, code).await?;
    match (&current, existing) {
        (Some(r), _) if r.builtin => return Err(AppError::Conflict("内置角色不能修改".into())),
        (Some(_), false) => p.add("code", "taken", "该角色代码已存在"),
        (None, true) => return Err(AppError::NotFound),
        _ => {}
    }
    // A changed role must not give any of its holders two administrator duties.
    if existing {
        for (username, others) in roles::holders_other_permissions(&mut tx, code).await? {
            let all = others.iter().filter_map(|n| n.parse::<Permission>().ok()).chain(perms.iter().copied());
            if let Some(duties) = mixed_admin_duties(all) {
                let names: Vec<&str> = duties.iter().map(|d| d.label()).collect();
                p.add(
                    "permissions",
                    "separation_of_duties",
                    format!("三员分立：修改后用户 {username} 将同时承担{}职责", names.join("、")),
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
    audit_in(&mut tx, actor, action, code, Outcome::Success, &role.permissions.join(",")).await?;
    tx.commit().await?;
    Ok(())
}
