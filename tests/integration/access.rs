//! Page-level access control: the registry, the role × page matrix, menus, 三员分立.

use reqwest::StatusCode;

use crate::common::{TestApp, json, location};

#[tokio::test]
async fn a_route_served_without_a_declaration_is_refused() {
    use tower::ServiceExt;
    let app = TestApp::spawn().await;
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
    let app = TestApp::spawn().await;
    let reviewer = app.a_reviewer("SCJGJ").await;
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
            ("username", reviewer.username.as_str()),
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
    let app = TestApp::spawn().await;
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
    ("sysadmin", &["/", "/items", "/account", "/admin", "/admin/users", "/admin/users/new", "/admin/org", "/verify"]),
    ("secadmin", &["/", "/items", "/account", "/admin", "/admin/users", "/admin/roles", "/verify"]),
    ("auditor", &["/", "/items", "/account", "/admin", "/admin/audit", "/verify"]),
    ("window", &["/", "/items", "/account", "/hall", "/office", "/verify"]),
    ("reviewer", &["/", "/items", "/account", "/office", "/verify"]),
    ("head", &["/", "/items", "/account", "/office", "/dashboard", "/office/licences", "/verify"]),
    ("leader", &["/", "/items", "/account", "/office", "/dashboard", "/verify"]),
    ("citizen", &["/", "/items", "/my/applications", "/account", "/my/licences", "/verify"]),
    ("business", &["/", "/items", "/my/applications", "/account", "/my/licences", "/verify"]),
    ("catalog_admin", &["/", "/items", "/account", "/admin", "/admin/items", "/admin/synonyms", "/verify"]),
    ("licence_admin", &["/", "/items", "/account", "/admin", "/admin/licence-types", "/admin/licences", "/verify"]),
];

#[tokio::test]
async fn each_builtin_role_opens_exactly_its_pages() {
    let app = TestApp::spawn().await;
    for (role, allowed) in MATRIX {
        // Each role where it works: a window at a hall, reviewers and heads in a department.
        let account = match *role {
            "citizen" => app.a_citizen().await,
            "business" => app.an_organisation().await,
            "window" => app.a_staff().at_site("xinzhuang").with_role(role).await,
            "reviewer" | "head" => app.a_staff().in_department("SCJGJ").with_role(role).await,
            _ => app.a_staff().with_role(role).await,
        };
        let username = &account.username;
        let client = account.login().await;
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
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await.login().await;
    let r = citizen.head(app.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = citizen.head(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client().head(app.url("/admin/audit")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_denied_page_is_audited() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let citizen = person.login().await;
    assert_eq!(app.get(&citizen, "/admin").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&citizen, "/office").await.status(), StatusCode::FORBIDDEN);
    let denials = app.audit_rows("access.denied").await;
    assert!(
        denials
            .iter()
            .any(|(actor, object, result)| actor == &person.username && object == "/admin" && result == "denied")
    );
    assert!(denials.iter().any(|(actor, object, _)| actor == &person.username && object == "/office"));
}

#[tokio::test]
async fn api_me_describes_the_user() {
    let app = TestApp::spawn().await;
    app.a_department("SCJGJ", "区市场监管局").await;
    let reviewer = app.a_reviewer("SCJGJ").named("刘志强").await;
    let (client, r) = app.api_login(&reviewer.username, crate::common::PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me = json(app.get(&client, "/api/v1/me").await).await;
    assert_eq!(me["username"], reviewer.username.as_str());
    assert_eq!(me["display_name"], "刘志强");
    assert_eq!(me["roles"], serde_json::json!(["reviewer"]));
    assert!(me["permissions"].as_array().unwrap().contains(&serde_json::json!("office.view")));
    assert_eq!(me["department"]["name"], "区市场监管局");
    assert!(me["site"].is_null());
    let window = app.a_staff().at_site("xinzhuang").with_role("window").await;
    let (client, _) = app.api_login(&window.username, crate::common::PASSWORD).await;
    let me = json(app.get(&client, "/api/v1/me").await).await;
    assert_eq!(me["site"]["name"], "测试服务中心 xinzhuang");
}

#[tokio::test]
async fn the_three_administrators_cannot_do_each_others_jobs() {
    let app = TestApp::spawn().await;
    let admin_account = app.a_sysadmin().await;
    let secadmin_account = app.a_secadmin().await;
    let citizen = app.a_citizen().await;
    let leader = app.a_staff().with_role("leader").await;
    let admin = admin_account.login().await;
    let secadmin = secadmin_account.login().await;
    let auditor = app.an_auditor().await.login().await;
    let citizen_page = format!("/admin/users/{}", citizen.username);
    let leader_page = format!("/admin/users/{}", leader.username);

    // The system administrator cannot assign roles, the security administrator cannot create
    // or reset accounts, and neither can read the audit log.
    let r = app.post_form(&admin, &citizen_page, &format!("{citizen_page}/roles"), &[("role", "leader")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.post_form(&secadmin, &citizen_page, &format!("{citizen_page}/reset-password"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&secadmin, "/admin/users/new").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&admin, "/admin/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&secadmin, "/admin/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&auditor, "/admin/users").await.status(), StatusCode::FORBIDDEN);

    // Nobody may hold two administrator duties, and nobody may change their own roles.
    let r = app
        .post_form(
            &secadmin,
            &leader_page,
            &format!("{leader_page}/roles"),
            &[("role", "sysadmin"), ("scope:sysadmin", "all"), ("role", "auditor"), ("scope:auditor", "all")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("三员分立"));
    let own_roles = format!("/admin/users/{}/roles", secadmin_account.username);
    let r = app
        .post_form(&secadmin, &format!("/admin/users/{}", admin_account.username), &own_roles, &[("role", "auditor")])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn use_cases_check_permissions_themselves() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let admin = app.a_sysadmin().await;
    // An actor built for a citizen, calling administrator use cases directly (no web layer).
    let token = {
        let origin = tongban::app::Origin { ip: "test".into() };
        tongban::app::auth::login(&app.state.core, &origin, &person.username, crate::common::PASSWORD)
            .await
            .unwrap()
            .token
    };
    let citizen = tongban::app::auth::actor_for_session(&app.state.core, &token, "test").await.unwrap().unwrap();
    let result = tongban::app::users::reset_password(&app.state.core, &citizen, &admin.username).await;
    assert!(matches!(result, Err(tongban::app::AppError::Forbidden)));
    let filter = tongban::store::audit::Filter::default();
    let first = tongban::app::paging::PageRequest::number(1, 10);
    assert!(matches!(
        tongban::app::audit::list(&app.state.core, &citizen, &filter, &first).await,
        Err(tongban::app::AppError::Forbidden)
    ));
    assert!(
        app.audit_rows("access.denied")
            .await
            .iter()
            .any(|(actor, object, _)| actor == &person.username && object == &admin.username)
    );
}

#[tokio::test]
async fn the_security_administrator_assigns_roles_with_a_scope() {
    let app = TestApp::spawn().await;
    let secadmin_account = app.a_secadmin().await;
    let secadmin = secadmin_account.login().await;
    let leader = app.a_staff().with_role("leader").await;
    let head_account = app.a_head("SCJGJ").await;
    let leader_page = format!("/admin/users/{}", leader.username);
    let head_page = format!("/admin/users/{}", head_account.username);
    let r = app
        .post_form(
            &secadmin,
            &leader_page,
            &format!("{leader_page}/roles"),
            &[("role", "leader"), ("scope:leader", "all"), ("role", "reviewer"), ("scope:reviewer", "department")],
        )
        .await;
    // The leader belongs to no department, so a department-scoped role is refused with a reason.
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("不属于任何部门"));
    let r = app
        .post_form(
            &secadmin,
            &head_page,
            &format!("{head_page}/roles"),
            &[("role", "reviewer"), ("scope:reviewer", "department")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let head = head_account.login().await;
    assert_eq!(app.get(&head, "/dashboard").await.status(), StatusCode::FORBIDDEN, "the head lost the head role");
    assert_eq!(app.get(&head, "/office").await.status(), StatusCode::OK);
    assert!(
        app.audit_rows("user.assign_roles")
            .await
            .iter()
            .any(|(actor, object, _)| actor == &secadmin_account.username && object == &head_account.username)
    );
}

#[tokio::test]
async fn custom_roles_cannot_mix_administrator_duties() {
    let app = TestApp::spawn().await;
    let secadmin = app.a_secadmin().await.login().await;
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
    let app = TestApp::spawn().await;
    let admin = app.a_sysadmin().await;
    let secadmin = app.a_secadmin().await.login().await;
    let admin_page = format!("/admin/users/{}", admin.username);
    let r = app
        .post_form(
            &secadmin,
            "/admin/roles/new",
            "/admin/roles/new",
            &[("code", "hall_helper"), ("name", "大厅协管"), ("scope", "all"), ("permissions", "hall.view")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The system administrator cannot also become a hall helper: administrators hold only their
    // role, and their roles change only at the console.
    let r = app
        .post_form(
            &secadmin,
            &admin_page,
            &format!("{admin_page}/roles"),
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
