//! Identification and authentication (issue 12 §5): the password policy with common passwords
//! and history, password age, no user enumeration at login or registration, and rate limits
//! with `Retry-After`.

use reqwest::StatusCode;
use serde_json::json;
use tongban::app::rate_limit::Rate;

use crate::common::{PASSWORD, TestApp, json as body, location};

async fn register(app: &TestApp, fields: serde_json::Value) -> reqwest::Response {
    app.client().post(app.url("/api/v1/auth/register")).json(&fields).send().await.unwrap()
}

fn person(username: &str, id17: &str, password: &str) -> serde_json::Value {
    let id = tongban::domain::identity::id_number_with_check(&id17[..17]).unwrap();
    json!({"kind": "person", "username": username, "name": "测试", "id_number": id, "phone": "13800000000", "password": password})
}

pub async fn change_password(client: &reqwest::Client, app: &TestApp, current: &str, new: &str) -> reqwest::Response {
    client
        .post(app.url("/api/v1/account/password"))
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
        .unwrap()
}

/// The response minus what differs by design (request id, tokens): status, headers that
/// matter, body with the CSRF token and the typed username blanked.
async fn comparable(r: reqwest::Response, typed: &str) -> (u16, Option<String>, Option<String>, String) {
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let mut text = r.text().await.unwrap();
    if let Some(token) = crate::common::csrf_in(&text) {
        text = text.replace(&token, "CSRF");
    }
    (status, content_type, retry, text.replace(typed, "USER"))
}

#[tokio::test]
async fn common_passwords_and_their_thin_variants_are_refused_everywhere() {
    let app = TestApp::spawn().await;
    for (i, weak) in ["Password123", "P@ssw0rd2026", "Admin@123456", "Qwer1234!@#", "Woaini1314!"].iter().enumerate() {
        let r = register(&app, person(&format!("weakling{i}"), &format!("3101121990010100{i}"), weak)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak} was accepted at registration");
        let b = body(r).await;
        assert!(b["details"].as_array().unwrap().iter().any(|d| d["field"] == "password"), "{weak}: {b}");
    }
    let citizen = app.a_citizen().await;
    let client = citizen.api().await;
    let r = change_password(&client, &app, PASSWORD, "Password123!").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await.to_string().contains("常见"));
    // The test accounts' password itself stays valid.
    assert!(tongban::domain::password::policy_violations(&citizen.username, PASSWORD).is_empty());
}

#[tokio::test]
async fn a_new_password_may_not_repeat_any_of_the_last_five() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let client = citizen.api().await;
    let next = ["Minhang#Alpha71", "Minhang#Bravo72", "Minhang#Charlie73", "Minhang#Delta74", "Minhang#Echo75"];
    assert_eq!(change_password(&client, &app, PASSWORD, next[0]).await.status(), StatusCode::NO_CONTENT);
    let r = change_password(&client, &app, next[0], PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "the previous password came back");
    assert_eq!(body(r).await["details"][0]["code"], "reused");
    let r = change_password(&client, &app, next[0], next[0]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "the current password is not a new one");
    for w in next.windows(2) {
        assert_eq!(change_password(&client, &app, w[0], w[1]).await.status(), StatusCode::NO_CONTENT);
    }
    // Five later passwords have pushed the first password out of the history; the first of the
    // five is still in it.
    assert_eq!(change_password(&client, &app, next[4], next[0]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change_password(&client, &app, next[4], PASSWORD).await.status(), StatusCode::NO_CONTENT);
    use sqlx::Row;
    let kept: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM password_history h JOIN users u ON u.id = h.user_id WHERE u.username = $1",
    )
    .bind(&citizen.username)
    .fetch_one(app.state.core.db.pool())
    .await
    .unwrap()
    .get("n");
    assert_eq!(kept, 5, "only the last five hashes are kept");
}

#[tokio::test]
async fn a_staff_password_past_its_age_must_be_changed_at_next_login_but_a_citizens_need_not() {
    let app = TestApp::spawn().await;
    let (reviewer, citizen) = (app.a_reviewer("SCJGJ").await, app.a_citizen().await);
    let (reviewer, citizen) = (reviewer.username.as_str(), citizen.username.as_str());
    // Passwords set 91 days ago: past the staff limit of 90.
    app.clock.advance(days(91));
    let staff = app.client();
    let r = app.submit_login(&staff, reviewer, PASSWORD).await;
    assert_eq!(location(&r), "/account/password");
    assert_eq!(location(&app.get(&staff, "/office").await), "/account/password");
    let (api, r) = app.api_login(reviewer, PASSWORD).await;
    assert_eq!(body(r).await["must_change_password"], true);
    assert_eq!(app.get(&api, "/api/v1/cases").await.status(), StatusCode::FORBIDDEN);
    assert!(!app.audit_rows("auth.password_change_required").await.is_empty());
    let (_, r) = app.api_login(citizen, PASSWORD).await;
    assert_eq!(body(r).await["must_change_password"], false, "public accounts have no age limit by default");
    // After the change, the new password is young.
    assert_eq!(change_password(&api, &app, PASSWORD, "Minhang#Review2026").await.status(), StatusCode::NO_CONTENT);
    let (_, r) = app.api_login(reviewer, "Minhang#Review2026").await;
    assert_eq!(body(r).await["must_change_password"], false);
}

#[tokio::test]
async fn the_password_age_limit_is_configured_per_kind_of_account() {
    let app = TestApp::spawn_configured(|c| {
        c.accounts.password_max_age.staff = 0;
        c.accounts.password_max_age.person = 30;
    })
    .await;
    let (reviewer, citizen) = (app.a_reviewer("SCJGJ").await, app.a_citizen().await);
    let (reviewer, citizen) = (reviewer.username.as_str(), citizen.username.as_str());
    app.clock.advance(days(29));
    let (_, r) = app.api_login(citizen, PASSWORD).await;
    assert_eq!(body(r).await["must_change_password"], false, "29 days: within the 30");
    app.clock.advance(days(2));
    let (_, r) = app.api_login(reviewer, PASSWORD).await;
    assert_eq!(body(r).await["must_change_password"], false);
    let (_, r) = app.api_login(citizen, PASSWORD).await;
    assert_eq!(body(r).await["must_change_password"], true);
}

#[tokio::test]
async fn a_password_reset_by_an_administrator_must_be_changed_at_next_login() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let admin = app.a_sysadmin().await.login().await;
    let page = format!("/admin/users/{}", citizen.username);
    let r = app.post_form(&admin, &page, &format!("{page}/reset-password"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let start = html.find("class=\"secret\">").unwrap() + "class=\"secret\">".len();
    let one_time = html[start..start + html[start..].find('<').unwrap()].to_owned();
    let client = app.client();
    let r = app.submit_login(&client, &citizen.username, &one_time).await;
    assert_eq!(location(&r), "/account/password");
    assert_eq!(location(&app.get(&client, "/my/applications").await), "/account/password");
    assert_eq!(app.api_login(&citizen.username, PASSWORD).await.1.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answers_through_the_lock() {
    let app = TestApp::spawn().await;
    let (reviewer, head) = (app.a_reviewer("SCJGJ").await, app.a_head("SCJGJ").await);
    // API: six attempts each — the counts of remaining tries, then the lock, read the same.
    for attempt in 1..=6 {
        let (_, real) = app.api_login(&reviewer.username, "Wrong-password-1").await;
        let (_, ghost) = app.api_login("reviewer77", "Wrong-password-1").await;
        let real = comparable(real, &reviewer.username).await;
        let ghost = comparable(ghost, "reviewer77").await;
        assert_eq!(real, ghost, "attempt {attempt}");
    }
    // The page: the same, attempt by attempt.
    for attempt in 1..=3 {
        let real = app.submit_login(&app.client(), &head.username, "Wrong-password-1").await;
        let ghost = app.submit_login(&app.client(), "head99", "Wrong-password-1").await;
        assert_eq!(comparable(real, &head.username).await, comparable(ghost, "head99").await, "page attempt {attempt}");
    }
}

#[tokio::test]
async fn both_login_failures_run_one_argon2_verification() {
    let app = TestApp::spawn().await;
    let head = app.a_head("SCJGJ").await;
    let checker = &app.state.core.passwords;
    let before = checker.verifications();
    let (_, r) = app.api_login("nobody-at-all", "Wrong-password-1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(checker.verifications(), before + 1, "an unknown user is checked against the dummy hash");
    let (_, r) = app.api_login(&head.username, "Wrong-password-1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(checker.verifications(), before + 2);
}

#[tokio::test]
async fn registration_does_not_tell_whether_an_id_number_or_a_username_is_registered() {
    let app = TestApp::spawn().await;
    let owner = app.a_citizen().await;
    let other = app.a_citizen().await;
    let owners_id = owner.id_number.clone().unwrap();
    let fresh = register(&app, person("newcomer1", "31011219900202001", "Minhang#Reg2026")).await;
    // The owner's ID number, a new name.
    let copy = register(&app, person("newcomer2", &owners_id, "Minhang#Reg2026")).await;
    // Another citizen's name, a new ID number.
    let name = register(&app, person(&other.username, "31011219900202002", "Minhang#Reg2026")).await;
    let fresh = comparable(fresh, "newcomer1").await;
    assert_eq!(fresh.0, 202);
    assert_eq!(fresh, comparable(copy, "newcomer2").await);
    assert_eq!(fresh, comparable(name, &other.username).await);

    // The page answers alike too, and the login page says how to go on.
    let client = app.client();
    let form = |u: &str, id: &str| {
        let id = tongban::domain::identity::id_number_with_check(&id[..17]).unwrap();
        [
            ("kind", "person"),
            ("username", u),
            ("name", "测试"),
            ("phone", "13800000000"),
            ("password", "Minhang#Reg2026"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain([("id_number".to_owned(), id)])
        .collect::<Vec<_>>()
    };
    for (u, id) in [("newcomer3", "31011219900202003"), ("newcomer4", owners_id.as_str())] {
        let fields = form(u, id);
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = app.post_form(&client, "/register", "/register", &refs).await;
        assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, "/login?registered=1".to_owned()), "{u}");
    }
    let html = app.get(&client, "/login?registered=1").await.text().await.unwrap();
    assert!(html.contains("如果无法登录"));

    // Only the new identities got accounts; the owner of the copied ID number is told, and
    // every refused attempt is audited.
    assert_eq!(app.api_login("newcomer1", "Minhang#Reg2026").await.1.status(), StatusCode::OK);
    assert_eq!(app.api_login("newcomer2", "Minhang#Reg2026").await.1.status(), StatusCode::UNAUTHORIZED);
    let refused = app.audit_rows("user.register_refused").await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|(_, _, result)| result == "denied"));
    let citizen = owner.login().await;
    let inbox = app.get(&citizen, "/my/messages").await.text().await.unwrap();
    assert!(inbox.contains("注册提醒"));
}

#[tokio::test]
async fn registration_is_limited_per_identity_with_retry_after() {
    let app = TestApp::spawn().await;
    let id = app.a_citizen().await.id_number.unwrap();
    let per = tongban::app::rate_limit::RateLimits::default().register_per_identity.count;
    for i in 0..per {
        let r = register(&app, person(&format!("repeat{i:02}"), &id, "Minhang#Reg2026")).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let r = register(&app, person("repeat99", &id, "Minhang#Reg2026")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(body(r).await["code"], "throttled");
}

#[tokio::test]
async fn logins_are_limited_per_account_and_per_address_with_retry_after_and_one_audit_record() {
    let app = TestApp::spawn().await;
    let per_account = tongban::app::rate_limit::RateLimits::default().login_per_account.count;
    for _ in 0..per_account {
        let (_, r) = app.api_login("nobody-x", "Wrong-password-1").await;
        assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    for _ in 0..3 {
        let (_, r) = app.api_login("nobody-x", "Wrong-password-1").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let secs: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
        let b = body(r).await;
        assert_eq!(b["code"], "throttled");
        assert!(b["message"].as_str().unwrap().contains("秒后再试"));
    }
    assert_eq!(app.audit_rows("rate.limited").await.len(), 1, "a flood of refusals is audited once");

    let app =
        TestApp::spawn_configured(|c| c.accounts.rate_limits.login_per_ip = Rate { count: 2, per_secs: 60 }).await;
    let (first, second, business) = (app.a_citizen().await, app.a_citizen().await, app.an_organisation().await);
    for who in [&first, &second] {
        assert_eq!(app.submit_login(&app.client(), &who.username, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    }
    let r = app.submit_login(&app.client(), &business.username, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    let html = r.text().await.unwrap();
    assert!(html.contains("操作过于频繁"), "a Chinese page");
}

#[tokio::test]
async fn licence_verification_is_limited_per_address_on_the_page_and_the_api() {
    let app =
        TestApp::spawn_configured(|c| c.accounts.rate_limits.verify_per_ip = Rate { count: 2, per_secs: 60 }).await;
    let anyone = app.client();
    for _ in 0..2 {
        assert_ne!(app.get(&anyone, "/verify/no-such-licence").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let r = app.get(&anyone, "/verify/no-such-licence").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert!(r.text().await.unwrap().contains("操作过于频繁"));
    let r = anyone.post(app.url("/api/v1/licences/verify")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(body(r).await["code"], "throttled");
}

#[tokio::test]
async fn password_changes_are_limited_per_account() {
    let app = TestApp::spawn_configured(|c| {
        c.accounts.rate_limits.password_change_per_account = Rate { count: 2, per_secs: 900 }
    })
    .await;
    let client = app.a_citizen().await.api().await;
    for _ in 0..2 {
        let r = change_password(&client, &app, "Not-the-password-1", "Minhang#New2026").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = change_password(&client, &app, "Not-the-password-1", "Minhang#New2026").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn case_actions_that_message_the_applicant_are_limited_per_account() {
    let app =
        TestApp::spawn_configured(|c| c.accounts.rate_limits.message_per_account = Rate { count: 1, per_secs: 60 })
            .await;
    let case = app.a_case().await.number;
    let reviewer = app.a_reviewer("SCJGJ").await.api().await;
    let r = crate::cases::act(&reviewer, &app, &case, json!({"action": "accept"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = crate::cases::act(&reviewer, &app, &case, json!({"action": "examine"})).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    // Another account is counted apart.
    let head = app.a_head("SCJGJ").await.api().await;
    let r = crate::cases::act(&head, &app, &case, json!({"action": "examine"})).await;
    assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_client_address_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
    let limited =
        |c: &mut tongban::config::Config| c.accounts.rate_limits.login_per_ip = Rate { count: 1, per_secs: 60 };
    let send = |app: &TestApp, forwarded: &'static str| {
        app.client()
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"username": "nobody", "password": "Wrong-password-1"}))
            .send()
    };
    // Not trusted: the header is ignored, both requests come from 127.0.0.1.
    let app = TestApp::spawn_configured(limited).await;
    assert_eq!(send(&app, "203.0.113.1").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, "203.0.113.2").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // Behind a trusted proxy on 127.0.0.1: two clients.
    let app = TestApp::spawn_configured(|c| {
        limited(c);
        c.accounts.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(send(&app, "203.0.113.1").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, "198.51.100.7, 203.0.113.2").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(&app, "203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

fn days(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n * 86_400)
}

#[tokio::test]
async fn a_nul_character_in_a_json_body_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let mut fields = person("nulname01", "31011219900303001", "Minhang#Reg2026");
    fields["name"] = json!("张\u{0}三");
    let r = register(&app, fields).await;
    let status = r.status();
    assert!(status.is_client_error(), "{status}");
    let body = crate::common::json(r).await;
    assert_eq!(body["code"], "invalid", "{body}");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = 'nulname01'")
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
