//! Page-level access control: the registry, the role × page matrix, menus, 三员分立.

use reqwest::StatusCode;

use crate::common::{TestApp, json, location};

#[tokio::test]
async fn a_route_served_without_a_declaration_is_refused() {
    use tower::ServiceExt;
    let app = TestApp::with_demo().await;
    // Added to the router directly, not declared with an access rule: the guard refuses it, even
    // to the administrator, while a declared route of the same router still answers.
    let router = axum::Router::new()
        .route("/office/undeclared", axum::routing::get(|| async { "open" }))
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    let service = tongban::web::with_middleware(router, app.state.clone());
    let request = axum::http::Request::get("/office/undeclared").body(axum::body::Body::empty()).unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let request = axum::http::Request::get("/healthz").body(axum::body::Body::empty()).unwrap();
    assert_eq!(service.oneshot(request).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn every_api_operation_is_in_the_openapi_document_and_every_documented_one_is_served() {
    let table = tongban::web::route_table();
    let doc = serde_json::to_value(&table.openapi).unwrap();
    let api: Vec<_> = table.registry.specs().iter().filter(|s| s.path.starts_with("/api/v1/")).collect();
    assert!(api.len() >= 30, "the API's operations are declared: {}", api.len());
    for spec in &api {
        let op = &doc["paths"][spec.path.as_str()][spec.method.to_lowercase()];
        assert!(op.is_object(), "{} {} is missing from /api/openapi.json", spec.method, spec.path);
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            assert!(table.registry.lookup(&method, path).is_some(), "{method} {path} is documented but not served");
        }
    }
    // The document served is the one declared.
    let served: serde_json::Value = serde_json::from_slice(&table.openapi_json).unwrap();
    assert_eq!(served, doc);
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login_and_come_back() {
    let app = TestApp::with_demo().await;
    let client = app.client();
    for path in ["/admin", "/office", "/admin/audit", "/account"] {
        let r = app.get(&client, path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&r), format!("/login?next=%2F{}", &path[1..].replace('/', "%2F")), "{path}");
    }
    // After logging in from that page, the user lands where they were going.
    let token = app.csrf(&client, "/login?next=%2Foffice").await;
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "reviewer01"),
            ("password", crate::common::PASSWORD),
            ("next", "/office"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/office");
}

#[tokio::test]
async fn the_api_answers_401_json_to_anonymous_callers() {
    let app = TestApp::with_demo().await;
    let r = app.get(&app.client(), "/api/v1/me").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = json(r).await;
    assert_eq!(body["code"], "unauthenticated");
    assert!(body["message"].as_str().unwrap().contains("登录"));
}

/// Who may open which page: the specification of page-level access control.
#[rustfmt::skip]
const PAGES: &[&str] = &[
    "/", "/items", "/my/applications", "/account", "/hall", "/office", "/dashboard", "/admin", "/admin/users",
    "/admin/users/new", "/admin/roles", "/admin/org", "/admin/audit", "/admin/items", "/admin/synonyms",
    "/my/licences", "/office/licences", "/admin/licence-types", "/admin/licences", "/verify",
];

#[rustfmt::skip]
const MATRIX: &[(&str, &[&str])] = &[
    ("admin", &["/", "/items", "/account", "/admin", "/admin/users", "/admin/users/new", "/admin/org", "/verify"]),
    ("secadmin", &["/", "/items", "/account", "/admin", "/admin/users", "/admin/roles", "/verify"]),
    ("auditor", &["/", "/items", "/account", "/admin", "/admin/audit", "/verify"]),
    ("window01", &["/", "/items", "/account", "/hall", "/office", "/verify"]),
    ("reviewer01", &["/", "/items", "/account", "/office", "/verify"]),
    ("head01", &["/", "/items", "/account", "/office", "/dashboard", "/office/licences", "/verify"]),
    ("leader01", &["/", "/items", "/account", "/office", "/dashboard", "/verify"]),
    ("citizen01", &["/", "/items", "/my/applications", "/account", "/my/licences", "/verify"]),
    ("biz01", &["/", "/items", "/my/applications", "/account", "/my/licences", "/verify"]),
    ("catalog01", &["/", "/items", "/account", "/admin", "/admin/items", "/admin/synonyms", "/verify"]),
    ("licence01", &["/", "/items", "/account", "/admin", "/admin/licence-types", "/admin/licences", "/verify"]),
];

#[tokio::test]
async fn each_builtin_role_opens_exactly_its_pages() {
    let app = TestApp::with_demo().await;
    for (username, allowed) in MATRIX {
        let client = app.login_as(username).await;
        for page in PAGES {
            let r = app.get(&client, page).await;
            let expected = if allowed.contains(page) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(r.status(), expected, "{username} {page}");
            let html = r.text().await.unwrap();
            if expected == StatusCode::FORBIDDEN {
                assert!(
                    html.contains("无法访问") && html.contains("没有访问此页面"),
                    "{username} {page}: Chinese 403 page"
                );
            }
            // The menu offers only pages the user may open.
            for other in PAGES.iter().filter(|p| ["/hall", "/office", "/dashboard", "/admin"].contains(p)) {
                let in_menu = html.contains(&format!("<li><a href=\"{other}\""));
                if in_menu {
                    assert!(allowed.contains(other), "{username} sees {other} in the menu on {page}");
                }
            }
        }
    }
}

#[tokio::test]
async fn head_requests_are_guarded_like_get() {
    let app = TestApp::with_demo().await;
    let citizen = app.login_as("citizen01").await;
    let r = citizen.head(app.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = citizen.head(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client().head(app.url("/admin/audit")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_denied_page_is_audited() {
    let app = TestApp::with_demo().await;
    let citizen = app.login_as("citizen01").await;
    assert_eq!(app.get(&citizen, "/admin").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&citizen, "/office").await.status(), StatusCode::FORBIDDEN);
    let denials = app.audit_rows("access.denied").await;
    assert!(
        denials.iter().any(|(actor, object, result)| actor == "citizen01" && object == "/admin" && result == "denied")
    );
    assert!(denials.iter().any(|(actor, object, _)| actor == "citizen01" && object == "/office"));
}

#[tokio::test]
async fn api_me_describes_the_user() {
    let app = TestApp::with_demo().await;
    let (client, r) = app.api_login("reviewer01", crate::common::PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me = json(app.get(&client, "/api/v1/me").await).await;
    assert_eq!(me["username"], "reviewer01");
    assert_eq!(me["display_name"], "刘志强");
    assert_eq!(me["roles"], serde_json::json!(["reviewer"]));
    assert!(me["permissions"].as_array().unwrap().contains(&serde_json::json!("office.view")));
    assert_eq!(me["department"]["name"], "区市场监管局");
    assert!(me["site"].is_null());
    let (client, _) = app.api_login("window02", crate::common::PASSWORD).await;
    let me = json(app.get(&client, "/api/v1/me").await).await;
    assert_eq!(me["site"]["name"], "莘庄镇社区事务受理服务中心");
}

#[tokio::test]
async fn the_three_administrators_cannot_do_each_others_jobs() {
    let app = TestApp::with_demo().await;
    let admin = app.login_as("admin").await;
    let secadmin = app.login_as("secadmin").await;
    let auditor = app.login_as("auditor").await;

    // The system administrator cannot assign roles, the security administrator cannot create
    // or reset accounts, and neither can read the audit log.
    let r =
        app.post_form(&admin, "/admin/users/citizen02", "/admin/users/citizen02/roles", &[("role", "leader")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.post_form(&secadmin, "/admin/users/citizen02", "/admin/users/citizen02/reset-password", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&secadmin, "/admin/users/new").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&admin, "/admin/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&secadmin, "/admin/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&auditor, "/admin/users").await.status(), StatusCode::FORBIDDEN);

    // Nobody may hold two administrator duties, and nobody may change their own roles.
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/leader01",
            "/admin/users/leader01/roles",
            &[("role", "sysadmin"), ("scope:sysadmin", "all"), ("role", "auditor"), ("scope:auditor", "all")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("三员分立"));
    let r = app.post_form(&secadmin, "/admin/users/admin", "/admin/users/secadmin/roles", &[("role", "auditor")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn use_cases_check_permissions_themselves() {
    let app = TestApp::with_demo().await;
    // An actor built for a citizen, calling administrator use cases directly (no web layer).
    let token = {
        let origin = tongban::app::Origin { ip: "test".into() };
        tongban::app::auth::login(&app.state.core, &origin, "citizen01", crate::common::PASSWORD).await.unwrap().token
    };
    let citizen = tongban::app::auth::actor_for_session(&app.state.core, &token, "test").await.unwrap().unwrap();
    let result = tongban::app::users::reset_password(&app.state.core, &citizen, "admin").await;
    assert!(matches!(result, Err(tongban::app::AppError::Forbidden)));
    let filter = tongban::store::audit::Filter { limit: 10, ..Default::default() };
    assert!(matches!(
        tongban::app::audit::list(&app.state.core, &citizen, &filter).await,
        Err(tongban::app::AppError::Forbidden)
    ));
    assert!(
        app.audit_rows("access.denied")
            .await
            .iter()
            .any(|(actor, object, _)| actor == "citizen01" && object == "admin")
    );
}

#[tokio::test]
async fn the_security_administrator_assigns_roles_with_a_scope() {
    let app = TestApp::with_demo().await;
    let secadmin = app.login_as("secadmin").await;
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/leader01",
            "/admin/users/leader01/roles",
            &[("role", "leader"), ("scope:leader", "all"), ("role", "reviewer"), ("scope:reviewer", "department")],
        )
        .await;
    // leader01 belongs to no department, so a department-scoped role is refused with a reason.
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("不属于任何部门"));
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/head01",
            "/admin/users/head01/roles",
            &[("role", "reviewer"), ("scope:reviewer", "department")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let head = app.login_as("head01").await;
    assert_eq!(app.get(&head, "/dashboard").await.status(), StatusCode::FORBIDDEN, "head01 lost the head role");
    assert_eq!(app.get(&head, "/office").await.status(), StatusCode::OK);
    assert!(
        app.audit_rows("user.assign_roles")
            .await
            .iter()
            .any(|(actor, object, _)| actor == "secadmin" && object == "head01")
    );
}

#[tokio::test]
async fn custom_roles_cannot_mix_administrator_duties() {
    let app = TestApp::with_demo().await;
    let secadmin = app.login_as("secadmin").await;
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/new",
            "/admin/roles/new",
            &[
                ("code", "superuser"),
                ("name", "超级用户"),
                ("scope", "all"),
                ("permissions", "user.manage"),
                ("permissions", "audit.view"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("三员分立"));
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/new",
            "/admin/roles/new",
            &[
                ("code", "hall_lead"),
                ("name", "大厅值班长"),
                ("scope", "site"),
                ("permissions", "hall.view"),
                ("permissions", "dashboard.view"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get(&secadmin, "/admin/roles").await.text().await.unwrap();
    assert!(html.contains("大厅值班长"));
    // Built-in roles are read-only.
    let r =
        app.post_form(&secadmin, "/admin/roles/new", "/admin/roles/auditor", &[("name", "x"), ("scope", "all")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn editing_a_role_cannot_give_a_holder_two_administrator_duties() {
    let app = TestApp::with_demo().await;
    let secadmin = app.login_as("secadmin").await;
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/new",
            "/admin/roles/new",
            &[("code", "hall_helper"), ("name", "大厅协管"), ("scope", "all"), ("permissions", "hall.view")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // admin (system duty) cannot also become a hall helper: administrators hold only their role,
    // and their roles change only at the console.
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/admin",
            "/admin/users/admin/roles",
            &[("role", "sysadmin"), ("scope:sysadmin", "all"), ("role", "hall_helper"), ("scope:hall_helper", "all")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Nor can a custom role carry an audit permission to whoever holds it.
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/hall_helper",
            "/admin/roles/hall_helper",
            &[("name", "大厅协管"), ("scope", "all"), ("permissions", "hall.view"), ("permissions", "audit.view")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("三员分立"));
}
