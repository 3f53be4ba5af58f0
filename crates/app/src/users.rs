//! Administration of accounts: the system administrator creates, disables and resets; the
//! security administrator assigns roles (三员分立, written down in `docs/security.md`).
//!
//! Every account has a tier: public (persons and organisations), staff, or one of the three
//! administrators. A staff account's tier is the least privileged one that can hold all its
//! permissions, so an administrator account is a staff account holding an administrator role.
//! From the web, nobody manages an administrator account or makes one: that is the console's.

use tracing::instrument;

use super::{Actor, AppError, Core, Problems, audit_in, authorize, passwords};
use tongban_crypto::random_password;
use tongban_domain::mask;
use tongban_domain::permission::{Permission, Tier, account_tier, tier_problem};
use tongban_domain::role::DataScope;
use tongban_store::audit::Outcome;
use tongban_store::roles::Grant;
use tongban_store::users::{NewUser, User, UserFilter, UserKind};
use tongban_store::{org, roles, sessions, users};

/// An account as administrators see it: personal data masked.
#[derive(Debug, Clone)]
pub struct UserView {
    pub user: User,
    pub id_number_masked: Option<String>,
    pub phone_masked: Option<String>,
    pub grants: Vec<Grant>,
    /// The account's tier by its kind and roles (`None`: roles of different tiers, left from
    /// before the rule).
    pub tier: Option<Tier>,
}

impl UserView {
    /// An administrator account: managed only at the console (三员分立).
    pub fn is_administrator(&self) -> bool {
        is_administrator(self.user.kind, &permissions_of(&self.grants))
    }

    /// Distinct roles held, with scope, for display.
    pub fn role_list(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        for g in &self.grants {
            if out.last().is_none_or(|(code, _, _)| code != &g.role_code) {
                out.push((g.role_code.clone(), g.role_name.clone(), g.scope.clone()));
            }
        }
        out
    }
}

pub fn view(core: &Core, user: User, grants: Vec<Grant>) -> UserView {
    let decrypt = |v: &Option<String>| v.as_ref().and_then(|s| core.cipher.decrypt(s).ok());
    UserView {
        id_number_masked: decrypt(&user.id_number_enc).map(|s| mask::id_number(&s)),
        phone_masked: decrypt(&user.phone_enc).map(|s| mask::phone(&s)),
        tier: account_tier(kind_tiers(user.kind), permissions_of(&grants)),
        user,
        grants,
    }
}

/// The tiers an account of this kind may belong to.
pub fn kind_tiers(kind: UserKind) -> &'static [Tier] {
    match kind {
        UserKind::Person | UserKind::Organisation => &[Tier::Public],
        UserKind::Staff => &[Tier::Staff, Tier::System, Tier::Security, Tier::Audit],
    }
}

fn permissions_of(grants: &[Grant]) -> Vec<Permission> {
    grants.iter().filter_map(|g| g.permission.as_deref()).filter_map(|n| n.parse().ok()).collect()
}

fn parse_permissions(names: &[String]) -> Vec<Permission> {
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

/// Whether an account of `kind` holding `perms` is an administrator account: its tier is an
/// administrator's, or (for roles mixed before the rule) it holds any administrator permission.
pub fn is_administrator(kind: UserKind, perms: &[Permission]) -> bool {
    perms.iter().any(|p| p.admin_duty().is_some())
        || account_tier(kind_tiers(kind), perms.iter().copied()).is_some_and(Tier::is_administrator)
}

/// Whether a role can be given to an account of `kind` from the web: its permissions fit the
/// kind, and it is no administrator role (those are given at the console).
pub fn assignable(kind: UserKind, role: &roles::Role) -> bool {
    let perms = parse_permissions(&role.permissions);
    account_tier(kind_tiers(kind), perms.iter().copied()).is_some() && !is_administrator(kind, &perms)
}

pub async fn list(core: &Core, actor: &Actor, filter: &UserFilter) -> Result<(i64, Vec<User>), AppError> {
    authorize(core, actor, Permission::UserView, "users").await?;
    Ok(users::list(&mut *core.db.conn().await?, filter).await?)
}

pub async fn detail(core: &Core, actor: &Actor, username: &str) -> Result<UserView, AppError> {
    authorize(core, actor, Permission::UserView, username).await?;
    let mut conn = core.db.conn().await?;
    let user = users::by_username(&mut conn, username).await?.ok_or(AppError::NotFound)?;
    let grants = roles::grants_of(&mut conn, user.id).await?;
    Ok(view(core, user, grants))
}

/// A staff account to create.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub site: String,
}

/// Creates a staff account with a one-time password (returned, shown once, to be changed at
/// first login). Roles are the security administrator's to give, except from the console.
#[instrument(skip_all, fields(username = %s.username))]
pub async fn create_staff(
    core: &Core,
    actor: &Actor,
    s: &NewStaff,
    initial_roles: &[(String, String)],
    password: Option<String>,
) -> Result<String, AppError> {
    authorize(core, actor, Permission::UserManage, &s.username).await?;
    if !initial_roles.is_empty() {
        authorize(core, actor, Permission::UserAssignRole, &s.username).await?;
    }
    let mut p = Problems::default();
    let username = s.username.trim();
    if let Some(m) = super::accounts::username_problem(username) {
        p.add("username", "invalid", m);
    }
    let name = s.display_name.trim();
    if name.is_empty() {
        p.add("display_name", "required", "请填写姓名");
    }
    let mut conn = core.db.conn().await?;
    let department = match s.department.trim() {
        "" => None,
        code => {
            let d = org::department_by_code(&mut conn, code).await?;
            if d.is_none() {
                p.add("department", "unknown", "所选部门不存在");
            }
            d
        }
    };
    let site = match s.site.trim() {
        "" => None,
        code => {
            let st = org::site_by_code(&mut conn, code).await?;
            if st.is_none() {
                p.add("site", "unknown", "所选站点不存在");
            }
            st
        }
    };
    if !p.has("username") && users::username_taken(&mut conn, username).await? {
        p.add("username", "taken", "该用户名已被使用");
    }
    if let Some(pw) = &password {
        for m in tongban_domain::password::policy_violations(username, pw) {
            p.add("password", "weak_password", m);
        }
    }
    drop(conn);
    p.into_result()?;
    let password = password.unwrap_or_else(random_password);
    let hash = passwords::hash(password.clone()).await?;
    let now = core.clock.now_ms();
    let mut tx = core.db.begin().await?;
    let new = NewUser {
        username,
        display_name: name,
        kind: UserKind::Staff,
        department_id: department.as_ref().map(|d| d.id),
        site_id: site.as_ref().map(|s| s.id),
        password_hash: &hash,
        must_change_password: true,
        id_number_enc: None,
        id_number_digest: None,
        phone_enc: None,
        credit_code: None,
        contact_name: None,
        now,
    };
    let id = users::insert(&mut tx, &new).await?;
    audit_in(&mut tx, &core.clock, actor, "user.create", username, Outcome::Success, "").await?;
    if !initial_roles.is_empty() {
        let target = users::by_id(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let checked = check_roles(&mut tx, actor, &target, initial_roles).await?;
        roles::set_user_roles(&mut tx, id, &checked).await?;
        audit_in(&mut tx, &core.clock, actor, "user.assign_roles", username, Outcome::Success, &describe(&checked))
            .await?;
    }
    tx.commit().await?;
    Ok(password)
}

/// Refuses, and audits, an operation of a web actor on an administrator account: 三员分立 gives
/// no administrator power over another, so administrator accounts are managed at the console.
async fn refuse_administrator_target(
    core: &Core,
    actor: &Actor,
    user: &User,
    grants: &[Grant],
    operation: &str,
) -> Result<(), AppError> {
    if actor.is_console() || !is_administrator(user.kind, &permissions_of(grants)) {
        return Ok(());
    }
    super::audit::record_denial(core, Some(actor), &actor.ip, operation, &user.username).await?;
    Err(AppError::Conflict(format!(
        "三员分立：{} 是管理员账户，只能由服务器控制台（tongban user …）管理",
        user.username
    )))
}

/// Inside the write transaction: the target is still no administrator (a console change may
/// have landed since it was read).
async fn still_manageable(tx: &mut sqlx::AnyConnection, actor: &Actor, user: &User) -> Result<(), AppError> {
    if actor.is_console() {
        return Ok(());
    }
    let grants = roles::grants_of(tx, user.id).await?;
    if is_administrator(user.kind, &permissions_of(&grants)) {
        return Err(AppError::Conflict(format!("三员分立：{} 已是管理员账户，请刷新后再操作", user.username)));
    }
    Ok(())
}

/// The target and its roles, read before any write transaction begins (a refusal is audited in
/// its own transaction).
async fn target(core: &Core, username: &str) -> Result<(User, Vec<Grant>), AppError> {
    let mut conn = core.db.conn().await?;
    let user = users::by_username(&mut conn, username).await?.ok_or(AppError::NotFound)?;
    let grants = roles::grants_of(&mut conn, user.id).await?;
    Ok((user, grants))
}

/// The administrator roles `user` holds that no other enabled account holds, among `roles`.
/// Each role's row is locked first, so that two removals of its last two holders take turns.
async fn last_holder_of(
    tx: &mut sqlx::AnyConnection,
    user: &User,
    grants: &[Grant],
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for g in grants {
        let duty = g.permission.as_deref().and_then(|n| n.parse::<Permission>().ok()).and_then(Permission::admin_duty);
        if duty.is_none() || keep(&g.role_code) || out.contains(&g.role_name) {
            continue;
        }
        roles::lock(tx, &g.role_code).await?;
        if roles::active_holders_except(tx, &g.role_code, user.id).await? == 0 {
            out.push(g.role_name.clone());
        }
    }
    Ok(out)
}

pub async fn set_disabled(core: &Core, actor: &Actor, username: &str, disabled: bool) -> Result<(), AppError> {
    authorize(core, actor, Permission::UserManage, username).await?;
    if username == actor.username {
        return Err(AppError::Conflict("不能停用自己的账户".into()));
    }
    let (user, grants) = target(core, username).await?;
    let operation = if disabled { "user.disable" } else { "user.enable" };
    refuse_administrator_target(core, actor, &user, &grants, operation).await?;
    let mut tx = core.db.begin().await?;
    still_manageable(&mut tx, actor, &user).await?;
    if disabled {
        // Even the console cannot leave an administrator duty without an active holder.
        let last = last_holder_of(&mut tx, &user, &grants, |_| false).await?;
        if !last.is_empty() {
            return Err(AppError::Conflict(format!(
                "{username} 是最后一位在岗的「{}」，不能停用；请先为该职责设立另一位管理员",
                last.join("、")
            )));
        }
    }
    users::set_disabled(&mut tx, user.id, disabled, core.clock.now_ms()).await?;
    if disabled {
        sessions::delete_for_user(&mut tx, user.id).await?;
    }
    let action = if disabled { "user.disable" } else { "user.enable" };
    audit_in(&mut tx, &core.clock, actor, action, username, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a one-time password, unlocks the account and ends its sessions; returns the password.
pub async fn reset_password(core: &Core, actor: &Actor, username: &str) -> Result<String, AppError> {
    authorize(core, actor, Permission::UserManage, username).await?;
    if username == actor.username {
        return Err(AppError::Conflict("不能重置自己的密码，请在“修改密码”中修改".into()));
    }
    let (user, grants) = target(core, username).await?;
    refuse_administrator_target(core, actor, &user, &grants, "user.reset_password").await?;
    let password = random_password();
    let hash = passwords::hash(password.clone()).await?;
    let mut tx = core.db.begin().await?;
    still_manageable(&mut tx, actor, &user).await?;
    users::set_password(&mut tx, user.id, &hash, true, core.clock.now_ms()).await?;
    sessions::delete_for_user(&mut tx, user.id).await?;
    audit_in(&mut tx, &core.clock, actor, "user.reset_password", username, Outcome::Success, "").await?;
    tx.commit().await?;
    Ok(password)
}

/// Replaces a user's roles. `assignments` are (role code, scope name) pairs.
pub async fn assign_roles(
    core: &Core,
    actor: &Actor,
    username: &str,
    assignments: &[(String, String)],
) -> Result<(), AppError> {
    authorize(core, actor, Permission::UserAssignRole, username).await?;
    if username == actor.username {
        return Err(AppError::Conflict("不能修改自己的角色，请由另一位安全管理员操作".into()));
    }
    let (user, grants) = target(core, username).await?;
    refuse_administrator_target(core, actor, &user, &grants, "user.assign_roles").await?;
    let mut tx = core.db.begin().await?;
    still_manageable(&mut tx, actor, &user).await?;
    let checked = check_roles(&mut tx, actor, &user, assignments).await?;
    let last = last_holder_of(&mut tx, &user, &grants, |code| checked.iter().any(|(c, _)| c == code)).await?;
    if !last.is_empty() {
        return Err(AppError::Invalid(vec![tongban_domain::FieldError::new(
            "roles",
            "last_administrator",
            format!("{username} 是最后一位在岗的「{}」，不能取消该角色", last.join("、")),
        )]));
    }
    roles::set_user_roles(&mut tx, user.id, &checked).await?;
    sessions::delete_for_user(&mut tx, user.id).await?;
    audit_in(&mut tx, &core.clock, actor, "user.assign_roles", username, Outcome::Success, &describe(&checked)).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks the roles an account is to hold: each exists with a scope the account can use, all of
/// them fit one tier the account's kind allows, and — from the web — none is an administrator's.
async fn check_roles(
    tx: &mut sqlx::AnyConnection,
    actor: &Actor,
    user: &User,
    assignments: &[(String, String)],
) -> Result<Vec<(String, String)>, AppError> {
    let all = roles::list(tx).await?;
    let allowed = kind_tiers(user.kind);
    let mut p = Problems::default();
    let mut perms: Vec<Permission> = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    for (code, scope) in assignments {
        let Some(role) = all.iter().find(|r| &r.code == code) else {
            p.add("roles", "unknown", format!("角色 {code} 不存在"));
            continue;
        };
        if out.iter().any(|(c, _)| c == code) {
            continue;
        }
        let scope = if scope.is_empty() { role.scope.clone() } else { scope.clone() };
        match DataScope::parse(&scope) {
            None => p.add("roles", "invalid_scope", format!("角色「{}」的数据范围无效", role.name)),
            Some(DataScope::Department) if user.department.is_none() => {
                p.add("roles", "no_department", format!("角色「{}」按本部门授权，但该用户不属于任何部门", role.name));
            }
            Some(DataScope::Site) if user.site.is_none() => {
                p.add("roles", "no_site", format!("角色「{}」按本站点授权，但该用户不属于任何站点", role.name));
            }
            Some(_) => {}
        }
        let role_perms = parse_permissions(&role.permissions);
        if account_tier(allowed, role_perms.iter().copied()).is_none() {
            p.add(
                "roles",
                "wrong_tier",
                format!("角色「{}」不能授予{}账户（账户只能持有本层级的角色）", role.name, user.kind.label()),
            );
        } else if !actor.is_console() && is_administrator(user.kind, &role_perms) {
            p.add(
                "roles",
                "administrator_role",
                format!("三员分立：管理员角色「{}」只能由服务器控制台（tongban user …）授予", role.name),
            );
        }
        perms.extend(role_perms);
        out.push((code.clone(), scope));
    }
    if !p.has("roles")
        && let Some(m) = tier_problem(allowed, &perms)
    {
        p.add("roles", "separation_of_duties", format!("同一账户的角色须属于同一层级：{m}"));
    }
    p.into_result()?;
    Ok(out)
}

fn describe(assignments: &[(String, String)]) -> String {
    assignments.iter().map(|(c, s)| format!("{c}({s})")).collect::<Vec<_>>().join(", ")
}
