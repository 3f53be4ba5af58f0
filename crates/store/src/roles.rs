//! Roles (sets of permissions plus a data scope) and their assignment to users.

use sqlx::{AnyConnection, Row};

use super::flag;

#[derive(Debug, Clone)]
pub struct Role {
    pub code: String,
    pub name: String,
    pub builtin: bool,
    pub scope: String,
    pub description: String,
    pub permissions: Vec<String>,
}

/// One role held by a user, with the scope it was given.
#[derive(Debug, Clone)]
pub struct Grant {
    pub role_code: String,
    pub role_name: String,
    pub scope: String,
    pub permission: Option<String>,
}

pub async fn list(c: &mut AnyConnection) -> sqlx::Result<Vec<Role>> {
    let rows = sqlx::query(
        "SELECT r.code, r.name, r.builtin, r.scope, r.description, rp.permission \
         FROM roles r LEFT JOIN role_permissions rp ON rp.role_code = r.code \
         ORDER BY r.builtin DESC, r.code, rp.permission",
    )
    .fetch_all(c)
    .await?;
    let mut roles: Vec<Role> = Vec::new();
    for r in &rows {
        let code: String = r.try_get("code")?;
        if roles.last().is_none_or(|last| last.code != code) {
            roles.push(Role {
                code,
                name: r.try_get("name")?,
                builtin: flag(r, "builtin")?,
                scope: r.try_get("scope")?,
                description: r.try_get("description")?,
                permissions: Vec::new(),
            });
        }
        if let (Some(role), Some(p)) = (roles.last_mut(), r.try_get::<Option<String>, _>("permission")?) {
            role.permissions.push(p);
        }
    }
    Ok(roles)
}

pub async fn get(c: &mut AnyConnection, code: &str) -> sqlx::Result<Option<Role>> {
    Ok(list(c).await?.into_iter().find(|r| r.code == code))
}

/// Creates or replaces a role and its permission set.
pub async fn upsert(c: &mut AnyConnection, role: &Role) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO roles (code, name, builtin, scope, description) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, builtin = excluded.builtin, \
         scope = excluded.scope, description = excluded.description",
    )
    .bind(&role.code)
    .bind(&role.name)
    .bind(i64::from(role.builtin))
    .bind(&role.scope)
    .bind(&role.description)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM role_permissions WHERE role_code = $1").bind(&role.code).execute(&mut *c).await?;
    for p in &role.permissions {
        sqlx::query("INSERT INTO role_permissions (role_code, permission) VALUES ($1, $2)")
            .bind(&role.code)
            .bind(p)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// The user's roles joined with their permissions: one row per (role, permission).
pub async fn grants_of(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT ur.role_code, r.name AS role_name, ur.scope, rp.permission FROM user_roles ur \
         JOIN roles r ON r.code = ur.role_code \
         LEFT JOIN role_permissions rp ON rp.role_code = ur.role_code \
         WHERE ur.user_id = $1 ORDER BY ur.role_code, rp.permission",
    )
    .bind(user_id)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Grant {
                role_code: r.try_get("role_code")?,
                role_name: r.try_get("role_name")?,
                scope: r.try_get("scope")?,
                permission: r.try_get("permission")?,
            })
        })
        .collect()
}

/// Replaces the user's roles.
pub async fn set_user_roles(c: &mut AnyConnection, user_id: i64, roles: &[(String, String)]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
    for (code, scope) in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role_code, scope) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(code)
            .bind(scope)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// How many users hold each role.
pub async fn holder_counts(c: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT role_code, COUNT(*) AS n FROM user_roles GROUP BY role_code").fetch_all(c).await?;
    rows.iter().map(|r| Ok((r.try_get("role_code")?, r.try_get("n")?))).collect()
}

/// A holder of a role, with the permissions of their *other* roles.
#[derive(Debug, Clone)]
pub struct Holder {
    pub user_id: i64,
    pub username: String,
    pub kind: String,
    pub other_permissions: Vec<String>,
}

/// Every holder of `role_code`, with the permissions of their other roles.
pub async fn holders(c: &mut AnyConnection, role_code: &str) -> sqlx::Result<Vec<Holder>> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.kind, rp.permission FROM user_roles holder \
         JOIN users u ON u.id = holder.user_id \
         LEFT JOIN user_roles other ON other.user_id = holder.user_id AND other.role_code <> holder.role_code \
         LEFT JOIN role_permissions rp ON rp.role_code = other.role_code \
         WHERE holder.role_code = $1 ORDER BY u.username",
    )
    .bind(role_code)
    .fetch_all(c)
    .await?;
    let mut out: Vec<Holder> = Vec::new();
    for r in &rows {
        let username: String = r.try_get("username")?;
        if out.last().is_none_or(|h| h.username != username) {
            out.push(Holder {
                user_id: r.try_get("id")?,
                username,
                kind: r.try_get("kind")?,
                other_permissions: Vec::new(),
            });
        }
        if let (Some(h), Some(p)) = (out.last_mut(), r.try_get::<Option<String>, _>("permission")?) {
            h.other_permissions.push(p);
        }
    }
    Ok(out)
}

/// Takes the role's row lock for the rest of the transaction (a no-op update: a row lock on
/// PostgreSQL, the write lock on SQLite), so that two transactions counting its holders take
/// turns — the last holder of an administrator role cannot be removed twice at once.
pub async fn lock(c: &mut AnyConnection, role_code: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE roles SET name = name WHERE code = $1").bind(role_code).execute(c).await?;
    Ok(())
}

/// How many enabled accounts other than `except_user` hold the role.
pub async fn active_holders_except(c: &mut AnyConnection, role_code: &str, except_user: i64) -> sqlx::Result<i64> {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM user_roles ur JOIN users u ON u.id = ur.user_id \
         WHERE ur.role_code = $1 AND u.id <> $2 AND u.disabled = 0",
    )
    .bind(role_code)
    .bind(except_user)
    .fetch_one(c)
    .await?
    .try_get("n")
}
