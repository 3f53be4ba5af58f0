//! Accounts and sessions: login, lockout, throttling, registration, password rules, sessions.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, json, location};

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    let app = TestApp::spawn().await;
    let reviewer = app.a_reviewer("SCJGJ").await;
    let who = reviewer.username.as_str();
    for attempt in 1..=4 {
        let (_, r) = app.api_login(who, "Wrong-password-1").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        let body = json(r).await;
        assert_eq!(body["code"], "invalid_credentials");
        assert!(body["message"].as_str().unwrap().contains(&format!("再错 {} 次", 5 - attempt)));
    }
    let (_, r) = app.api_login(who, "Wrong-password-1").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["code"], "account_locked");
    let (_, r) = app.api_login(who, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the right password is refused while locked");
    let body = json(r).await;
    assert_eq!(body["code"], "account_locked");
    assert!(body["message"].as_str().unwrap().contains("后再试"));

    // The failures, the lock and the refusal are all in the audit log.
    assert_eq!(app.audit_rows("auth.login_failed").await.iter().filter(|(a, _, _)| a == who).count(), 5);
    assert_eq!(app.audit_rows("auth.locked").await.len(), 1);
    assert!(app.audit_rows("auth.login_refused").await.iter().any(|(a, _, r)| a == who && r == "denied"));

    // The page says so in Chinese too.
    let r = app.submit_login(&app.client(), who, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("账户已锁定"));

    // Still locked a minute before the lock ends; once it has passed, the right password works
    // again.
    let minute = std::time::Duration::from_secs(60);
    app.clock.advance(std::time::Duration::from_millis(u64::try_from(tongban::app::auth::LOCK_MS).unwrap()) - minute);
    let (_, r) = app.api_login(who, PASSWORD).await;
    assert_eq!(json(r).await["code"], "account_locked");
    app.clock.advance(minute * 2);
    let (_, r) = app.api_login(who, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = TestApp::spawn().await;
    let head = app.a_head("SCJGJ").await;
    for _ in 0..4 {
        app.api_login(&head.username, "Wrong-password-1").await;
    }
    assert_eq!(app.api_login(&head.username, PASSWORD).await.1.status(), StatusCode::OK);
    for _ in 0..4 {
        app.api_login(&head.username, "Wrong-password-1").await;
    }
    assert_eq!(app.api_login(&head.username, PASSWORD).await.1.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_users_get_the_same_answer_as_wrong_passwords() {
    let app = TestApp::spawn().await;
    let (_, r) = app.api_login("nobody-here", "Whatever-123").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["code"], "invalid_credentials");
    assert!(app.audit_rows("auth.login_failed").await.iter().any(|(a, _, _)| a == "nobody-here"));
}

#[tokio::test]
async fn one_address_is_throttled_after_many_failures() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let limit = tongban::app::throttle::MAX_FAILURES_PER_WINDOW;
    for i in 0..limit {
        let (_, r) = app.api_login(&format!("guess{i}"), "Wrong-password-1").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let (_, r) = app.api_login(&citizen.username, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json(r).await["code"], "throttled");
    assert!(!app.audit_rows("auth.throttled").await.is_empty());
}

#[tokio::test]
async fn a_citizen_registers_with_a_valid_id_number_and_sees_it_masked() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let id = tongban::domain::identity::id_number_with_check("31011219700101001").unwrap();
    let r = app
        .post_form(
            &client,
            "/register",
            "/register",
            &[
                ("kind", "person"),
                ("username", "wangfang"),
                ("name", "王芳"),
                ("id_number", &id),
                ("phone", "139 1234 5678"),
                ("password", "Minhang#2026"),
                ("password_confirm", "Minhang#2026"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let client = app.login_as_with("wangfang", "Minhang#2026").await;
    let html = app.get(&client, "/account").await.text().await.unwrap();
    assert!(html.contains("王芳"));
    assert!(!html.contains(&id), "the full ID number must not be shown");
    assert!(html.contains(&tongban::domain::mask::id_number(&id)));
    assert!(html.contains("139****5678"));
    // Stored encrypted, not in clear.
    use sqlx::Row;
    let row = sqlx::query("SELECT id_number_enc, phone_enc FROM users WHERE username = 'wangfang'")
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap();
    assert!(!row.get::<String, _>("id_number_enc").contains(&id));
    assert!(!row.get::<String, _>("phone_enc").contains("13912345678"));
}

#[tokio::test]
async fn registration_lists_every_problem_at_once() {
    let app = TestApp::spawn().await;
    let r = app
        .client()
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({
            "kind": "person", "username": "ab", "name": "", "id_number": "110105194912310021",
            "phone": "12345", "password": "short"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(r).await;
    assert_eq!(body["code"], "invalid");
    let fields: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    for f in ["username", "name", "id_number", "phone", "password"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let id_problem = body["details"].as_array().unwrap().iter().find(|d| d["field"] == "id_number").unwrap();
    assert!(id_problem["message"].as_str().unwrap().contains("校验位"));
}

#[tokio::test]
async fn a_business_registers_with_a_valid_credit_code() {
    let app = TestApp::spawn().await;
    let bad = app
        .client()
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"kind": "organisation", "username": "shop88", "name": "示例商店", "credit_code": "91350100M000100Y44", "contact_name": "赵六", "phone": "13600136000", "password": "Store#Minhang2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(bad).await["details"][0]["field"], "credit_code");
    let good = app
        .client()
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"kind": "organisation", "username": "shop88", "name": "示例商店", "credit_code": "91350100M000100Y43", "contact_name": "赵六", "phone": "13600136000", "password": "Store#Minhang2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::ACCEPTED);
    let (client, r) = app.api_login("shop88", "Store#Minhang2026").await;
    assert_eq!(r.status(), StatusCode::OK);
    let me = json(app.get(&client, "/api/v1/me").await).await;
    assert_eq!(me["kind"], "organisation");
    assert_eq!(me["roles"], serde_json::json!(["business"]));
}

#[tokio::test]
async fn an_id_number_registers_only_once() {
    let app = TestApp::spawn().await;
    let id = app.a_citizen().await.id_number.unwrap();
    let r = app
        .client()
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"kind": "person", "username": "copycat", "name": "张三", "id_number": id, "phone": "13800000000", "password": "Minhang#Reg2026"}))
        .send()
        .await
        .unwrap();
    // The answer does not say that the number is taken (see accounts.rs), but no account is made.
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(app.api_login("copycat", "Minhang#Reg2026").await.1.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_account_made_by_an_administrator_must_change_its_password_first() {
    let app = TestApp::spawn().await;
    app.ensure_department("SCJGJ").await;
    let admin = app.a_sysadmin().await.login().await;
    let r = app
        .post_form(
            &admin,
            "/admin/users/new",
            "/admin/users/new",
            &[("username", "reviewer09"), ("display_name", "钱审"), ("department", "SCJGJ")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let start = html.find("class=\"secret\">").unwrap() + "class=\"secret\">".len();
    let one_time = html[start..start + html[start..].find('<').unwrap()].to_owned();

    // Roles come from the security administrator.
    let secadmin = app.a_secadmin().await.login().await;
    let r = app
        .post_form(
            &secadmin,
            "/admin/users/reviewer09",
            "/admin/users/reviewer09/roles",
            &[("role", "reviewer"), ("scope:reviewer", "department")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let client = app.client();
    let r = app.submit_login(&client, "reviewer09", &one_time).await;
    assert_eq!(location(&r), "/account/password");
    let r = app.get(&client, "/office").await;
    assert_eq!(location(&r), "/account/password", "every other page waits for the new password");
    let r = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the API still says who is logged in");
    assert_eq!(json(r).await["must_change_password"], true);

    let r = app
        .post_form(
            &client,
            "/account/password",
            "/account/password",
            &[("current_password", &one_time), ("new_password", "weak"), ("confirm_password", "weak")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("至少 8 位"));
    let r = app
        .post_form(
            &client,
            "/account/password",
            "/account/password",
            &[
                ("current_password", &one_time),
                ("new_password", "Minhang#Review2026"),
                ("confirm_password", "Minhang#Review2026"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&client, "/office").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let (client, _) = app.api_login(&citizen.username, PASSWORD).await;
    assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::OK);
    let r = client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.audit_rows("auth.logout").await.len(), 1);
}

#[tokio::test]
async fn a_staff_session_expires_after_thirty_idle_minutes() {
    let app = TestApp::spawn().await;
    let reviewer = app.a_reviewer("SCJGJ").await;
    let (client, _) = app.api_login(&reviewer.username, PASSWORD).await;
    let minutes = |n: u64| std::time::Duration::from_secs(n * 60);
    app.clock.advance(minutes(29));
    assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::OK);
    // That request counted as activity: 29 more idle minutes are still within the limit…
    app.clock.advance(minutes(29));
    assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::OK);
    // …31 are not.
    app.clock.advance(minutes(31));
    assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_session_outlives_twelve_hours() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let (client, _) = app.api_login(&citizen.username, PASSWORD).await;
    // Active all along (a request every 50 minutes, within the idle limit) for 11 h 40 min…
    let minutes = |n: u64| std::time::Duration::from_secs(n * 60);
    for step in 1..=14 {
        app.clock.advance(minutes(50));
        assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::OK, "after {} min", step * 50);
    }
    // …and still ended once twelve hours have passed since the login.
    app.clock.advance(minutes(30));
    assert_eq!(app.get(&client, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn session_cookies_are_http_only_and_same_site() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let (_, r) = app.api_login(&citizen.username, PASSWORD).await;
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tb_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let (citizen, _) = app.api_login(&person.username, PASSWORD).await;
    let admin = app.a_sysadmin().await.login().await;
    let page = format!("/admin/users/{}", person.username);
    let r = app.post_form(&admin, &page, &format!("{page}/disable"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&citizen, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    let (_, r) = app.api_login(&person.username, PASSWORD).await;
    assert_eq!(json(r).await["code"], "account_disabled");
}
