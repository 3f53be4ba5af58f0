//! Administration (/admin): users (system administrator), roles and role assignment (security
//! administrator), organisation, and the audit log (audit administrator); the catalogue, the
//! work calendar and licences in the sub-modules.

pub mod calendar;
pub mod catalogue;
pub mod jobs;
pub mod licences;

use crate::kit::registry::Access::Perm;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tongban_domain::day::Day;
use tongban_domain::permission::Permission as P;

use crate::kit::error::{WebError, WebResult};
use crate::kit::forms::{FormErrors, Pager, page_number, settle, value, values};
use crate::kit::shell::{CurrentUser, Shell, render, render_status};
use crate::{AppState, Routes};
use tongban_app::clock;
use tongban_app::roles::RoleInput;
use tongban_app::users::{NewStaff, UserView};
use tongban_app::views::{self, AuditFilter as Filter, Department, Entry, Role, Site, User, UserFilter, Window};
use tongban_app::{self as app, AppError, audit::ChainReport};
use tongban_domain::permission::Permission;
use tongban_domain::role::DataScope;

pub fn routes(r: Routes) -> Routes {
    let r = jobs::routes(licences::routes(calendar::routes(catalogue::routes(r))));
    r.get("/admin", Perm(P::AdminView), home)
        .get("/admin/users", Perm(P::UserView), users)
        .get("/admin/users/new", Perm(P::UserManage), user_new_page)
        .post("/admin/users/new", Perm(P::UserManage), user_new_submit)
        .get("/admin/users/{username}", Perm(P::UserView), user_detail)
        .post("/admin/users/{username}/disable", Perm(P::UserManage), user_disable)
        .post("/admin/users/{username}/enable", Perm(P::UserManage), user_enable)
        .post("/admin/users/{username}/reset-password", Perm(P::UserManage), user_reset_password)
        .post("/admin/users/{username}/roles", Perm(P::UserAssignRole), user_roles)
        .get("/admin/roles", Perm(P::RoleManage), roles)
        .get("/admin/roles/new", Perm(P::RoleManage), role_new_page)
        .post("/admin/roles/new", Perm(P::RoleManage), role_new_submit)
        .get("/admin/roles/{code}", Perm(P::RoleManage), role_edit_page)
        .post("/admin/roles/{code}", Perm(P::RoleManage), role_edit_submit)
        .get("/admin/org", Perm(P::OrgView), org_page)
        .get("/admin/audit", Perm(P::AuditView), audit)
}

const PAGE_SIZE: i64 = 20;

struct Card {
    href: &'static str,
    title: &'static str,
    text: &'static str,
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    shell: Shell,
    cards: Vec<Card>,
}

async fn home(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    app::authorize(&state.core, &user.actor, Permission::AdminView, "admin").await?;
    let all = [
        (
            Permission::UserView,
            Card {
                href: "/admin/users",
                title: "用户管理",
                text: "查看账户；系统管理员可创建、停用账户和重置密码，安全管理员可分配角色",
            },
        ),
        (
            Permission::RoleManage,
            Card { href: "/admin/roles", title: "角色与权限", text: "维护角色的权限集合和数据范围" },
        ),
        (
            Permission::OrgView,
            Card {
                href: "/admin/org",
                title: "部门与站点",
                text: "实施部门、政务服务中心、社区事务受理服务中心及窗口",
            },
        ),
        (
            Permission::AuditView,
            Card {
                href: "/admin/audit", title: "审计日志", text: "登录、越权访问和所有变更的记录，带 SM3 哈希链校验"
            },
        ),
        (
            Permission::CatalogEdit,
            Card {
                href: "/admin/items",
                title: "事项目录",
                text: "维护政务服务事项、申请材料和表单，发布新版本，暂停办理，批量导入导出",
            },
        ),
        (
            Permission::CatalogEdit,
            Card {
                href: "/admin/synonyms", title: "搜索同义词", text: "把群众的说法对应到事项的规范名称"
            },
        ),
        (
            Permission::CalendarEdit,
            Card {
                href: "/admin/calendar",
                title: "工作日历",
                text: "维护法定节假日和调休上班日，导入导出 CSV；办结时限按工作日计算",
            },
        ),
        (
            Permission::JobsManage,
            Card {
                href: "/admin/jobs",
                title: "后台任务",
                text: "短信、预警等后台任务的排队情况；失败的任务查看原因后重新排队",
            },
        ),
        (
            Permission::LicenceManage,
            Card {
                href: "/admin/licences",
                title: "电子证照",
                text: "证照目录，手工签发，历史证照归集，共享接口客户端",
            },
        ),
    ];
    let cards = all.into_iter().filter(|(p, _)| user.actor.can(*p)).map(|(_, c)| c).collect();
    Ok(render(&HomePage { shell, cards }))
}

#[derive(Deserialize, Default)]
struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    shell: Shell,
    q: String,
    kind: String,
    users: Vec<User>,
    pager: Pager,
    can_create: bool,
}

async fn users(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<UsersQuery>,
) -> WebResult {
    let page = page_number(&q.page);
    let filter =
        UserFilter { q: q.q.trim().to_owned(), kind: q.kind.clone(), offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE };
    let (total, users) = app::users::list(&state.core, &user.actor, &filter).await?;
    let pager = Pager::new("/admin/users", &[("q", &q.q), ("kind", &q.kind)], page, PAGE_SIZE, total);
    let can_create = user.actor.can(Permission::UserManage);
    Ok(render(&UsersPage { shell, q: q.q, kind: q.kind, users, pager, can_create }))
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct UserNewPage {
    shell: Shell,
    form: NewStaff,
    departments: Vec<Department>,
    sites: Vec<Site>,
    errors: FormErrors,
}

async fn user_new_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    app::authorize(&state.core, &user.actor, Permission::UserManage, "users").await?;
    let page = UserNewPage {
        shell,
        form: NewStaff::default(),
        departments: views::departments(&state.core).await?,
        sites: views::sites(&state.core).await?,
        errors: FormErrors::default(),
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "admin/secret.html")]
struct SecretPage {
    shell: Shell,
    username: String,
    password: String,
    created: bool,
}

async fn user_new_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(form): Form<NewStaff>,
) -> WebResult {
    match app::users::create_staff(&state.core, &user.actor, &form, &[], None).await {
        Ok(password) => {
            Ok(render(&SecretPage { shell, username: form.username.trim().to_owned(), password, created: true }))
        }
        Err(AppError::Invalid(problems)) => {
            let page = UserNewPage {
                shell,
                form,
                departments: views::departments(&state.core).await?,
                sites: views::sites(&state.core).await?,
                errors: FormErrors(problems),
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Template)]
#[template(path = "admin/user_detail.html")]
struct UserDetailPage {
    shell: Shell,
    view: UserView,
    roles: Vec<Role>,
    scopes: [DataScope; 4],
    can_manage: bool,
    can_assign: bool,
    is_self: bool,
    /// An administrator account: managed only at the console (三员分立).
    administrator: bool,
    locked: bool,
    errors: FormErrors,
}

impl UserDetailPage {
    fn holds(&self, code: &str) -> bool {
        self.view.grants.iter().any(|g| g.role_code == code)
    }

    fn scope_of(&self, role: &Role) -> String {
        self.view
            .grants
            .iter()
            .find(|g| g.role_code == role.code)
            .map_or_else(|| role.scope.clone(), |g| g.scope.clone())
    }
}

async fn detail_page(
    state: &AppState,
    shell: Shell,
    user: &CurrentUser,
    username: &str,
    errors: FormErrors,
) -> Result<UserDetailPage, WebError> {
    let view = app::users::detail(&state.core, &user.actor, username).await?;
    let can_assign = user.actor.can(Permission::UserAssignRole);
    let mut roles = if can_assign { app::roles::list(&state.core, &user.actor).await? } else { Vec::new() };
    // Offer only the roles this account may be given here (and those it holds); the use case
    // checks again.
    roles.retain(|r| view.grants.iter().any(|g| g.role_code == r.code) || app::users::assignable(view.user.kind, r));
    let locked = view.user.locked_until.is_some_and(|t| t > state.core.clock.now_ms());
    Ok(UserDetailPage {
        administrator: view.is_administrator(),
        shell,
        is_self: view.user.username == user.actor.username,
        view,
        roles,
        scopes: DataScope::ALL,
        can_manage: user.actor.can(Permission::UserManage),
        can_assign,
        locked,
        errors,
    })
}

async fn user_detail(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(username): Path<String>,
) -> WebResult {
    Ok(render(&detail_page(&state, shell, &user, &username, FormErrors::default()).await?))
}

async fn user_disable(State(state): State<AppState>, user: CurrentUser, Path(username): Path<String>) -> WebResult {
    app::users::set_disabled(&state.core, &user.actor, &username, true).await?;
    Ok(back_to_user(&username))
}

async fn user_enable(State(state): State<AppState>, user: CurrentUser, Path(username): Path<String>) -> WebResult {
    app::users::set_disabled(&state.core, &user.actor, &username, false).await?;
    Ok(back_to_user(&username))
}

async fn user_reset_password(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(username): Path<String>,
) -> WebResult {
    let password = app::users::reset_password(&state.core, &user.actor, &username).await?;
    Ok(render(&SecretPage { shell, username, password, created: false }))
}

/// Role assignment form: a checkbox `role` per role and a `scope:<code>` select per role.
async fn user_roles(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(username): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let assignments: Vec<(String, String)> = values(&pairs, "role")
        .into_iter()
        .map(|code| {
            let scope = value(&pairs, &format!("scope:{code}"));
            (code, scope)
        })
        .collect();
    let result = app::users::assign_roles(&state.core, &user.actor, &username, &assignments).await;
    settle(
        result,
        |()| back_to_user(&username),
        async |errors| detail_page(&state, shell, &user, &username, errors).await,
    )
    .await
}

fn back_to_user(username: &str) -> Response {
    // Usernames are limited to [A-Za-z0-9_.-], so the path needs no escaping.
    crate::kit::forms::redirect(&format!("/admin/users/{username}"))
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    shell: Shell,
    roles: Vec<Role>,
}

impl RolesPage {
    fn permission_label(&self, name: &str) -> String {
        name.parse::<Permission>().map_or_else(|_| name.to_owned(), |p| p.label().to_owned())
    }

    fn scope_label(&self, name: &str) -> &'static str {
        DataScope::parse(name).map_or("", DataScope::label)
    }
}

async fn roles(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    app::authorize(&state.core, &user.actor, Permission::RoleManage, "roles").await?;
    let roles = app::roles::list(&state.core, &user.actor).await?;
    Ok(render(&RolesPage { shell, roles }))
}

#[derive(Template)]
#[template(path = "admin/role_form.html")]
struct RoleFormPage {
    shell: Shell,
    existing: bool,
    builtin: bool,
    form: RoleInput,
    permissions: Vec<Permission>,
    scopes: [DataScope; 4],
    errors: FormErrors,
}

impl RoleFormPage {
    fn checked(&self, p: &Permission) -> bool {
        self.form.permissions.iter().any(|n| n == p.name())
    }

    /// The account tier a permission belongs to, when it belongs to one only.
    fn duty(&self, p: &Permission) -> &'static str {
        match p.tiers() {
            [one] => one.label(),
            _ => "",
        }
    }
}

fn role_form(shell: Shell, existing: bool, builtin: bool, form: RoleInput, errors: FormErrors) -> RoleFormPage {
    // A custom role may not take an administrator's permission (the server refuses it too), so
    // the editor does not offer them; a built-in role is shown as it is.
    let permissions = Permission::ALL
        .iter()
        .copied()
        .filter(|p| builtin || p.tiers().iter().any(|t| !t.is_administrator()))
        .collect();
    RoleFormPage { shell, existing, builtin, form, permissions, scopes: DataScope::ALL, errors }
}

async fn role_new_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    app::authorize(&state.core, &user.actor, Permission::RoleManage, "roles").await?;
    let form = RoleInput { scope: "department".into(), ..RoleInput::default() };
    Ok(render(&role_form(shell, false, false, form, FormErrors::default())))
}

fn role_input(pairs: &[(String, String)], code: Option<&str>) -> RoleInput {
    RoleInput {
        code: code.map_or_else(|| value(pairs, "code"), str::to_owned),
        name: value(pairs, "name"),
        scope: value(pairs, "scope"),
        description: value(pairs, "description"),
        permissions: values(pairs, "permissions"),
    }
}

async fn role_new_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let input = role_input(&pairs, None);
    save_role(&state, shell, &user, input, false).await
}

async fn role_edit_page(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(code): Path<String>,
) -> WebResult {
    let role = app::roles::list(&state.core, &user.actor)
        .await?
        .into_iter()
        .find(|r| r.code == code)
        .ok_or(AppError::NotFound)?;
    app::authorize(&state.core, &user.actor, Permission::RoleManage, &code).await?;
    let form = RoleInput {
        code: role.code,
        name: role.name,
        scope: role.scope,
        description: role.description,
        permissions: role.permissions,
    };
    Ok(render(&role_form(shell, true, role.builtin, form, FormErrors::default())))
}

async fn role_edit_submit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult {
    let input = role_input(&pairs, Some(&code));
    save_role(&state, shell, &user, input, true).await
}

async fn save_role(state: &AppState, shell: Shell, user: &CurrentUser, input: RoleInput, existing: bool) -> WebResult {
    let result = app::roles::save(&state.core, &user.actor, &input, existing).await;
    let done = |()| crate::kit::forms::redirect("/admin/roles");
    settle(result, done, async |errors| Ok(role_form(shell, existing, false, input, errors))).await
}

#[derive(Template)]
#[template(path = "admin/org.html")]
struct OrgPage {
    shell: Shell,
    departments: Vec<Department>,
    sites: Vec<(Site, Vec<Window>)>,
}

async fn org_page(State(state): State<AppState>, shell: Shell, user: CurrentUser) -> WebResult {
    let (departments, sites) = views::organisation(&state.core, &user.actor).await?;
    Ok(render(&OrgPage { shell, departments, sites }))
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
    /// `1` to walk the whole hash chain (on demand: it reads every record).
    #[serde(default)]
    verify: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    shell: Shell,
    q: AuditQuery,
    entries: Vec<Entry>,
    pager: Pager,
    actions: &'static [&'static str],
    chain: Option<ChainReport>,
    errors: FormErrors,
}

impl AuditPage {
    fn action_label(&self, action: &str) -> &'static str {
        app::audit::action_label(action)
    }

    fn result_label(&self, result: &str) -> &'static str {
        match result {
            "success" => "成功",
            "failure" => "失败",
            "denied" => "拒绝",
            _ => "",
        }
    }

    fn time(&self, ms: &i64) -> String {
        clock::display(*ms)
    }
}

/// A `YYYY-MM-DD` date as the China-time midnight it starts, in Unix milliseconds.
fn day_start_ms(s: &str) -> Option<i64> {
    Day::parse(s).map(|d| clock::at_hour(d, 0))
}

async fn audit(
    State(state): State<AppState>,
    shell: Shell,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> WebResult {
    let mut errors = Vec::new();
    let from_ms = match q.from.trim() {
        "" => 0,
        s => day_start_ms(s).unwrap_or_else(|| {
            errors.push(tongban_app::FieldError::new("from", "invalid_date", "起始日期格式应为 2026-01-31"));
            0
        }),
    };
    let to_ms = match q.to.trim() {
        "" => 0,
        s => day_start_ms(s).map(|t| t + 86_400_000).unwrap_or_else(|| {
            errors.push(tongban_app::FieldError::new("to", "invalid_date", "结束日期格式应为 2026-01-31"));
            0
        }),
    };
    let page = page_number(&q.page);
    let filter =
        Filter { actor: q.actor.trim().to_owned(), action: q.action.clone(), result: q.result.clone(), from_ms, to_ms };
    let request = tongban_app::paging::PageRequest::number(page, PAGE_SIZE);
    let list = app::audit::list(&state.core, &user.actor, &filter, &request).await?;
    let (total, entries) = (list.total, list.items);
    let chain = if q.verify == "1" { Some(app::audit::verify_chain(&state.core).await?) } else { None };
    let pager = Pager::new(
        "/admin/audit",
        &[("actor", &q.actor), ("action", &q.action), ("result", &q.result), ("from", &q.from), ("to", &q.to)],
        page,
        PAGE_SIZE,
        total,
    );
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AuditPage { shell, q, entries, pager, actions: app::audit::ACTIONS, chain, errors: FormErrors(errors) };
    Ok(render_status(status, &page))
}
