//! 三员分立 (separation of duties) as a policy that cannot be bypassed: account tiers, who may
//! manage whom, the last administrator, workflows that cannot hand decisions to viewers, data
//! scope per permission, and window intake bound on the server. The rules are in
//! `docs/security.md`.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;
use tongban::app::users::NewStaff;
use tongban::app::{Actor, AppError};

use crate::builders::Account;
use crate::common::{PASSWORD, TestApp, json as body};

/// The accounts these tests name, each made by the test that names it: the three
/// administrators, staff of the 区市场监管局 (SCJGJ) and the 区人社局 (RSJ), windows at two halls,
/// two citizens and a business.
async fn account(app: &TestApp, username: &str) -> Account {
    let builder = match username {
        "admin" => app.a_sysadmin(),
        "secadmin" => app.a_secadmin(),
        "auditor" => app.an_auditor(),
        "head01" => app.a_head("SCJGJ"),
        "reviewer01" => app.a_reviewer("SCJGJ"),
        "reviewer02" => app.a_reviewer("RSJ"),
        "catalog01" => app.a_staff().with_role("catalog_admin"),
        "window01" => app.a_staff().at_site("district-center").with_role("window"),
        "window02" => app.a_staff().at_site("xinzhuang").with_role("window"),
        "citizen01" => app.a_citizen().named("张三").with_id_number(&citizen01_id()),
        "citizen02" => app.a_citizen(),
        "biz01" => app.an_organisation(),
        other => panic!("no account {other}"),
    };
    builder.username(username).await
}

async fn accounts(app: &TestApp, usernames: &[&str]) {
    for username in usernames {
        account(app, username).await;
    }
}

/// citizen01's ID number (the window intake looks them up by it).
fn citizen01_id() -> String {
    tongban::domain::identity::id_number_with_check("31011219800808001").unwrap()
}

/// The items window intake and data scope use: 个体工商户设立登记 of the 区市场监管局 and the
/// 区人社局's citywide 失业保险金申领.
async fn items(app: &TestApp) {
    app.an_item().code("310112-SCJGJ-001").named("个体工商户设立登记").in_department("SCJGJ").await;
    app.an_item().code("310112-RSJ-004").named("失业保险金申领").in_department("RSJ").citywide().await;
}

/// An operation on another account, as the administration pages offer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    GrantRole,
    RevokeRole,
    ResetPassword,
    Disable,
    EditRole,
}
use Op::*;

const OPS: [Op; 5] = [GrantRole, RevokeRole, ResetPassword, Disable, EditRole];

/// The actors: (who, account).
const ACTORS: [(&str, &str); 5] = [
    ("sysadmin", "admin"),
    ("secadmin", "secadmin"),
    ("auditor", "auditor"),
    ("staff", "head01"),
    ("citizen", "citizen01"),
];

/// The targets: (kind, account). The administrators targeted are second holders made at the
/// console, so that no actor targets itself and no target is the last of its duty.
const TARGETS: [(&str, &str); 6] = [
    ("citizen", "citizen02"),
    ("business", "biz01"),
    ("staff", "reviewer02"),
    ("sysadmin", "sys2"),
    ("secadmin", "sec2"),
    ("auditor", "aud2"),
];

/// THE POLICY: every (actor, target) pair with the operations it allows; every pair or
/// operation not listed is refused.
const ALLOWED: &[(&str, &str, &[Op])] = &[
    ("sysadmin", "citizen", &[ResetPassword, Disable]),
    ("sysadmin", "business", &[ResetPassword, Disable]),
    ("sysadmin", "staff", &[ResetPassword, Disable]),
    ("secadmin", "citizen", &[GrantRole, RevokeRole, EditRole]),
    ("secadmin", "business", &[GrantRole, RevokeRole, EditRole]),
    ("secadmin", "staff", &[GrantRole, RevokeRole, EditRole]),
];

fn allowed(actor: &str, target: &str, op: Op) -> bool {
    ALLOWED.iter().any(|(a, t, ops)| *a == actor && *t == target && ops.contains(&op))
}

async fn console_staff(app: &TestApp, username: &str, role: &str) {
    let staff =
        NewStaff { username: username.into(), display_name: format!("{username} 管理员"), ..NewStaff::default() };
    tongban::app::users::create_staff(
        &app.state.core,
        &Actor::console(),
        &staff,
        &[(role.to_owned(), String::new())],
        Some(PASSWORD.into()),
    )
    .await
    .unwrap();
}

/// (role code, scope) pairs an account holds.
async fn roles_of(app: &TestApp, username: &str) -> Vec<(String, String)> {
    sqlx::query(
        "SELECT ur.role_code, ur.scope FROM user_roles ur JOIN users u ON u.id = ur.user_id \
         WHERE u.username = $1 ORDER BY ur.role_code",
    )
    .bind(username)
    .fetch_all(app.state.core.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("role_code"), r.get("scope")))
    .collect()
}

/// What an operation could change: password hash, disabled flag, roles, the name of its role.
async fn snapshot(app: &TestApp, username: &str) -> (String, i64, Vec<(String, String)>, String) {
    let pool = app.state.core.db.pool();
    let row = sqlx::query("SELECT password_hash, disabled FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap();
    let name: String = sqlx::query("SELECT name FROM roles WHERE code = $1")
        .bind(format!("mine_{username}"))
        .fetch_one(pool)
        .await
        .unwrap()
        .get("name");
    (row.get("password_hash"), row.get("disabled"), roles_of(app, username).await, name)
}

/// Puts a target back as it was before an allowed operation (the password stays changed).
async fn restore(app: &TestApp, username: &str, roles: &[(String, String)]) {
    let id = app.user_id(username).await;
    let mut tx = app.state.core.db.begin().await.unwrap();
    tongban::store::roles::set_user_roles(&mut tx, id, roles).await.unwrap();
    tongban::store::users::set_disabled(&mut tx, id, false, 0).await.unwrap();
    sqlx::query("UPDATE roles SET name = $1 WHERE code = $2")
        .bind("本人专用")
        .bind(format!("mine_{username}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn perform(app: &TestApp, client: &reqwest::Client, target: &str, op: Op) -> StatusCode {
    // Every logged-in account can open the password page, so its CSRF token serves every form.
    let page = "/account/password";
    let current = roles_of(app, target).await;
    let mine = format!("mine_{target}");
    let role_fields = |roles: Vec<(String, String)>| {
        roles
            .into_iter()
            .flat_map(|(code, scope)| [("role".to_owned(), code.clone()), (format!("scope:{code}"), scope)])
    };
    let r = match op {
        GrantRole | RevokeRole => {
            let mut roles: Vec<(String, String)> = current.clone();
            if op == GrantRole {
                roles.push(("extra".into(), "own".into()));
            } else {
                roles.retain(|(c, _)| *c != mine);
            }
            let fields: Vec<(String, String)> = role_fields(roles).collect();
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.post_form(client, page, &format!("/admin/users/{target}/roles"), &fields).await
        }
        ResetPassword => app.post_form(client, page, &format!("/admin/users/{target}/reset-password"), &[]).await,
        Disable => app.post_form(client, page, &format!("/admin/users/{target}/disable"), &[]).await,
        EditRole => {
            let fields = [("name", "改名"), ("scope", "own"), ("permissions", "account.self")];
            app.post_form(client, page, &format!("/admin/roles/{mine}"), &fields).await
        }
    };
    r.status()
}

#[tokio::test]
async fn who_may_manage_whom_is_exactly_the_written_policy() {
    let app = TestApp::spawn().await;
    accounts(&app, &["admin", "secadmin", "auditor", "head01", "citizen01", "citizen02", "biz01", "reviewer02"]).await;
    console_staff(&app, "sys2", "sysadmin").await;
    console_staff(&app, "sec2", "secadmin").await;
    console_staff(&app, "aud2", "auditor").await;
    // A custom role {account.self} per target, held by it (given at the console), and one more to grant.
    let console = Actor::console();
    for code in std::iter::once("extra".to_owned()).chain(TARGETS.iter().map(|(_, u)| format!("mine_{u}"))) {
        let input = tongban::app::roles::RoleInput {
            code,
            name: "本人专用".into(),
            scope: "own".into(),
            description: String::new(),
            permissions: vec!["account.self".into()],
        };
        tongban::app::roles::save(&app.state.core, &console, &input, false).await.unwrap();
    }
    let mut original = Vec::new();
    for (_, username) in TARGETS {
        let mut roles = roles_of(&app, username).await;
        roles.push((format!("mine_{username}"), "own".into()));
        tongban::app::users::assign_roles(&app.state.core, &console, username, &roles).await.unwrap();
        original.push(roles_of(&app, username).await);
    }

    let mut wrong = Vec::new();
    for (actor, account) in ACTORS {
        let client = app.login_as(account).await;
        for ((target_kind, target), roles) in TARGETS.iter().zip(&original) {
            for op in OPS {
                let before = snapshot(&app, target).await;
                let status = perform(&app, &client, target, op).await;
                let after = snapshot(&app, target).await;
                assert!(!status.is_server_error(), "{actor} {op:?} {target}: {status}");
                let done = status.is_success() || status.is_redirection();
                let changed = before != after;
                let expected = allowed(actor, target_kind, op);
                if done != expected || changed != expected {
                    wrong.push(format!("{actor} {op:?} {target_kind}: status {status}, changed {changed}"));
                }
                if changed {
                    restore(&app, target, roles).await;
                }
            }
        }
    }
    assert!(wrong.is_empty(), "cells that differ from the policy:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn secadmin_cannot_grant_an_admin_role_to_a_public_account() {
    let app = TestApp::spawn().await;
    accounts(&app, &["secadmin", "citizen02"]).await;
    let secadmin = app.login_as("secadmin").await;
    for role in ["sysadmin", "auditor", "secadmin"] {
        let scope = format!("scope:{role}");
        let r = app
            .post_form(
                &secadmin,
                "/admin/users/citizen02",
                "/admin/users/citizen02/roles",
                &[("role", "citizen"), ("scope:citizen", "own"), ("role", role), (&scope, "all")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{role}");
        assert!(r.text().await.unwrap().contains("不能授予自然人账户"), "{role}");
    }
    assert_eq!(roles_of(&app, "citizen02").await, [("citizen".to_owned(), "own".to_owned())]);
    // The page offers a citizen only the roles a citizen may hold.
    let html = app.get(&secadmin, "/admin/users/citizen02").await.text().await.unwrap();
    assert!(html.contains("value=\"business\"") && !html.contains("value=\"sysadmin\""));
    assert!(!html.contains("value=\"reviewer\""));
}

/// A form field: (name, value).
type Field<'a> = (&'a str, &'a str);

#[tokio::test]
async fn an_account_holds_only_roles_of_its_own_tier() {
    let app = TestApp::spawn().await;
    accounts(&app, &["secadmin", "reviewer02", "citizen01", "citizen02"]).await;
    let secadmin = app.login_as("secadmin").await;
    // A staff role for a citizen, a citizen's role for staff, an administrator role for staff.
    let cases: [(&str, &[Field], &str); 3] = [
        ("citizen02", &[("role", "reviewer"), ("scope:reviewer", "all")], "不能授予自然人账户"),
        (
            "reviewer02",
            &[("role", "reviewer"), ("scope:reviewer", "department"), ("role", "citizen")],
            "不能授予工作人员账户",
        ),
        ("reviewer02", &[("role", "reviewer"), ("scope:reviewer", "department"), ("role", "auditor")], "三员分立"),
    ];
    for (user, fields, message) in cases {
        let before = roles_of(&app, user).await;
        let r = app
            .post_form(&secadmin, &format!("/admin/users/{user}"), &format!("/admin/users/{user}/roles"), fields)
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{user} {fields:?}");
        assert!(r.text().await.unwrap().contains(message), "{user} {fields:?}");
        assert_eq!(roles_of(&app, user).await, before);
    }
    // Not even the console gives a staff account a public role, or a citizen a staff one.
    let staff = NewStaff { username: "mixed01".into(), display_name: "混合".into(), ..NewStaff::default() };
    let result = tongban::app::users::create_staff(
        &app.state.core,
        &Actor::console(),
        &staff,
        &[("leader".into(), String::new()), ("citizen".into(), String::new())],
        Some(PASSWORD.into()),
    )
    .await;
    assert!(matches!(result, Err(AppError::Invalid(_))), "{result:?}");
    let result = tongban::app::users::assign_roles(
        &app.state.core,
        &Actor::console(),
        "citizen01",
        &[("citizen".into(), String::new()), ("leader".into(), String::new())],
    )
    .await;
    assert!(matches!(result, Err(AppError::Invalid(_))), "{result:?}");
}

#[tokio::test]
async fn a_custom_role_cannot_mix_tiers_nor_take_an_administrator_permission() {
    let app = TestApp::spawn().await;
    accounts(&app, &["secadmin"]).await;
    let secadmin = app.login_as("secadmin").await;
    let attempts: [(&str, &[&str], &str); 3] = [
        ("mixed_one", &["portal.mine", "hall.view"], "同一账户层级"),
        ("user_boss", &["office.view", "user.manage"], "同一账户层级"),
        ("fourth_admin", &["admin.view", "audit.view"], "管理员权限"),
    ];
    for (code, permissions, message) in attempts {
        let mut fields = vec![("code", code), ("name", "自定义"), ("scope", "all")];
        fields.extend(permissions.iter().map(|p| ("permissions", *p)));
        let r = app.post_form(&secadmin, "/admin/roles/new", "/admin/roles/new", &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        let html = r.text().await.unwrap();
        assert!(html.contains(message) && html.contains("field-error"), "{code}: the field says why");
    }
    let roles = tongban::app::roles::list(&app.state.core, &Actor::console()).await.unwrap();
    assert!(!roles.iter().any(|r| ["mixed_one", "user_boss", "fourth_admin"].contains(&r.code.as_str())));
    // The editor does not even offer administrator-only permissions.
    let html = app.get(&secadmin, "/admin/roles/new").await.text().await.unwrap();
    assert!(html.contains("value=\"hall.view\"") && !html.contains("value=\"audit.view\""));
}

#[tokio::test]
async fn editing_a_role_rechecks_every_holder() {
    let app = TestApp::spawn().await;
    accounts(&app, &["secadmin", "citizen02"]).await;
    let secadmin = app.login_as("secadmin").await;
    // A role any tier may hold, given to a citizen next to their own role.
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/new",
            "/admin/roles/new",
            &[("code", "notice_reader"), ("name", "通知阅读"), ("scope", "own"), ("permissions", "account.self")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/citizen02",
            "/admin/users/citizen02/roles",
            &[("role", "citizen"), ("scope:citizen", "own"), ("role", "notice_reader"), ("scope:notice_reader", "own")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Making it a staff role would give the citizen a staff permission.
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/notice_reader",
            "/admin/roles/notice_reader",
            &[("name", "通知阅读"), ("scope", "own"), ("permissions", "account.self"), ("permissions", "office.view")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("修改后用户 citizen02"));
    let citizen = app.login_as("citizen02").await;
    assert_eq!(app.get(&citizen, "/office").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_system_administrator_cannot_reset_or_disable_the_other_administrators() {
    let app = TestApp::spawn().await;
    accounts(&app, &["admin", "secadmin", "auditor"]).await;
    let admin = app.login_as("admin").await;
    for target in ["auditor", "secadmin"] {
        for op in ["reset-password", "disable"] {
            let r = app.post_form(&admin, "/admin/users/new", &format!("/admin/users/{target}/{op}"), &[]).await;
            assert_eq!(r.status(), StatusCode::CONFLICT, "{op} {target}");
            assert!(r.text().await.unwrap().contains("三员分立"), "a Chinese reason");
        }
        // They still log in with their own password.
        app.login_as(target).await;
    }
    assert!(
        app.audit_rows("access.denied").await.iter().any(|(actor, object, _)| actor == "admin" && object == "auditor")
    );
    // The page says why instead of offering the buttons.
    let html = app.get(&admin, "/admin/users/auditor").await.text().await.unwrap();
    assert!(html.contains("服务器控制台") && !html.contains("/admin/users/auditor/disable"));
}

#[tokio::test]
async fn the_last_active_holder_of_an_administrator_role_is_never_removed() {
    let app = TestApp::spawn().await;
    accounts(&app, &["auditor"]).await;
    let console = Actor::console();
    let core = &app.state.core;
    // Not even from the console: the duty would have nobody.
    let r = tongban::app::users::set_disabled(core, &console, "auditor", true).await;
    assert!(matches!(&r, Err(AppError::Conflict(m)) if m.contains("最后一位")), "{r:?}");
    let r = tongban::app::users::assign_roles(core, &console, "auditor", &[("leader".into(), String::new())]).await;
    assert!(matches!(&r, Err(AppError::Invalid(_))), "{r:?}");
    assert_eq!(roles_of(&app, "auditor").await, [("auditor".to_owned(), "all".to_owned())]);
    // With a successor appointed, the first may go.
    console_staff(&app, "aud2", "auditor").await;
    tongban::app::users::set_disabled(core, &console, "auditor", true).await.unwrap();
    let r = tongban::app::users::set_disabled(core, &console, "aud2", true).await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "aud2 is now the last one");
}

#[tokio::test]
async fn a_workflow_action_cannot_require_a_viewing_permission() {
    let app = TestApp::spawn().await;
    accounts(&app, &["catalog01"]).await;
    let (catalog, _) = app.api_login("catalog01", PASSWORD).await;
    let list = body(catalog.get(app.url("/api/v1/workflows")).send().await.unwrap()).await;
    let mut promised =
        list.as_array().unwrap().iter().find(|w| w["definition"]["code"] == "promised").unwrap()["definition"].clone();
    let approve = promised["actions"].as_array().unwrap().iter().position(|a| a["name"] == "approve").unwrap();
    for permission in ["office.view", "dashboard.view", "user.manage"] {
        let mut bad = promised.clone();
        bad["actions"][approve]["permission"] = json!(permission);
        let r = catalog.post(app.url("/api/v1/workflows")).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{permission}");
        let v = body(r).await;
        let field = format!("actions[{approve}].permission");
        assert!(v["details"].as_array().unwrap().iter().any(|d| d["field"] == field.as_str()), "{v}");
    }
    // An applicant's action keeps the applicant's permission.
    let withdraw = promised["actions"].as_array().unwrap().iter().position(|a| a["name"] == "withdraw").unwrap();
    promised["actions"][withdraw]["permission"] = json!("case.decide");
    let r = catalog.post(app.url("/api/v1/workflows")).json(&promised).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_stored_workflow_that_lets_a_viewer_decide_stops_the_start() {
    let app = TestApp::spawn().await;
    // A version saved before the rule (or written behind the application's back).
    let json = tongban::domain::workflow::SHIPPED[0].replace(
        r#""name": "approve", "label": "准予许可", "from": ["examined"], "to": "approved", "permission": "case.decide""#,
        r#""name": "approve", "label": "准予许可", "from": ["examined"], "to": "approved", "permission": "office.view""#,
    );
    assert!(json.contains("office.view"));
    let mut tx = app.state.core.db.begin().await.unwrap();
    tongban::store::cases::insert_workflow(&mut tx, "promised", 2, &json, "tamper", 0).await.unwrap();
    tx.commit().await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["--data-dir", app.data_dir.to_str().unwrap(), "--database", &app.database_url, "migrate"])
        .env("TONGBAN_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the node refuses to start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("promised") && stderr.contains("第 2 版") && stderr.contains("准予许可"), "{stderr}");
}

#[tokio::test]
async fn a_role_scope_applies_only_to_that_roles_permissions() {
    let app = TestApp::spawn().await;
    accounts(&app, &["secadmin", "reviewer01"]).await;
    items(&app).await;
    // reviewer01 (区市场监管局) also becomes a leader: district-wide viewing, departmental handling.
    let secadmin = app.login_as("secadmin").await;
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/reviewer01",
            "/admin/users/reviewer01/roles",
            &[("role", "leader"), ("scope:leader", "all"), ("role", "reviewer"), ("scope:reviewer", "department")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let applicant = app.a_citizen().await;
    let (_, own) = crate::cases::submit(&app, "310112-SCJGJ-001", &applicant).await;
    let (_, other) = crate::cases::submit(&app, "310112-RSJ-004", &applicant).await;
    let (reviewer, _) = app.api_login("reviewer01", PASSWORD).await;

    // Viewing reaches the other department's case, handling does not.
    let r = reviewer.get(app.url(&format!("/api/v1/cases/{other}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["available_actions"], json!([]), "no action is offered");
    let r = crate::cases::act(&reviewer, &app, &other, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = app.login_as("reviewer01").await;
    let r = app.post_form(&page, &format!("/office/cases/{other}"), &format!("/office/cases/{other}/claim"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "nor can it take the case");
    let r = reviewer.get(app.url(&format!("/api/v1/cases/{other}"))).send().await.unwrap();
    assert_eq!(body(r).await["status"], "submitted");
    // Its own department's case is handled as before.
    let r = crate::cases::act(&reviewer, &app, &own, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

/// Window intake step 1 for citizen01 at 莘庄; returns the page.
async fn intake_step_one(app: &TestApp, window: &reqwest::Client, item: &str) -> String {
    let id_number = citizen01_id();
    let r = app.post_form(window, "/hall", "/hall/intake", &[("item", item), ("id_number", &id_number)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn intake_step_two(
    app: &TestApp,
    window: &reqwest::Client,
    html: &str,
    item: &str,
    applicant: &str,
) -> StatusCode {
    let def = tongban::app::catalogue::guide(&app.state.core, item).await.unwrap().def;
    let token = crate::common::csrf_in(html).unwrap();
    let mut form =
        crate::cases::page_form(&crate::builders::answers_for(&def, "张三")).text("applicant", applicant.to_owned());
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), crate::cases::pdf(&m.code));
    }
    let r = window
        .post(app.url(&format!("/hall/intake/{item}")))
        .header("x-csrf-token", token.as_str())
        .multipart(form)
        .send()
        .await
        .unwrap();
    r.status()
}

async fn applications_of(app: &TestApp, username: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM applications a JOIN users u ON u.id = a.applicant_id WHERE u.username = $1")
        .bind(username)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("n")
}

#[tokio::test]
async fn tampering_the_intake_form_does_not_file_for_another_person() {
    let app = TestApp::spawn().await;
    accounts(&app, &["window01", "window02", "citizen01", "citizen02"]).await;
    items(&app).await;
    let item = "310112-RSJ-004";
    let window = app.login_as("window02").await;
    let html = intake_step_one(&app, &window, item).await;
    let seal = crate::cases::hidden_value(&html, "applicant");
    let before = applications_of(&app, "citizen02").await;

    // Another person's username, another seal from a different session, a damaged seal.
    let other_session = app.login_as("window02").await;
    let foreign = crate::cases::hidden_value(&intake_step_one(&app, &other_session, item).await, "applicant");
    let mut damaged = seal.clone();
    damaged.replace_range(0..1, if damaged.starts_with('A') { "B" } else { "A" });
    for forged in ["citizen02", foreign.as_str(), damaged.as_str(), ""] {
        let status = intake_step_two(&app, &window, &html, item, forged).await;
        assert!(status.is_client_error(), "{forged}: {status}");
    }
    // Nor does another window's account get anywhere with this window's seal.
    let window01 = app.login_as("window01").await;
    let their_page = intake_step_one(&app, &window01, item).await;
    let mine = applications_of(&app, "citizen01").await;
    assert!(intake_step_two(&app, &window01, &their_page, item, &seal).await.is_client_error());
    assert_eq!(applications_of(&app, "citizen01").await, mine);
    assert_eq!(applications_of(&app, "citizen02").await, before, "nothing filed for citizen02");
    assert!(!html.contains("citizen01"), "the page does not name the account");
    // The page's own seal files for the person step 1 verified.
    let mine = applications_of(&app, "citizen01").await;
    assert_eq!(intake_step_two(&app, &window, &html, item, &seal).await, StatusCode::SEE_OTHER);
    assert_eq!(applications_of(&app, "citizen01").await, mine + 1);
}
