//! Redirects, sessions and cookies (issue #12, §4): no open redirect, a login always starts a
//! new session and ends the browser's previous one, logout ends it on the server, cookies are
//! `__Host-`/`Secure` over https, the CSRF token never travels in a URL, and every response
//! carries the security headers.

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};

use crate::common::{PASSWORD, TestApp, csrf_in, location};

/// Targets that some browser resolves on another origin (or that break a header).
const OFF_SITE: &[&str] = &[
    "/\t/evil.example",
    "/\r\n/evil.example",
    "/\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\t//evil.example",
    " //evil.example",
    "https://evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "//user:pass@evil.example",
    "///evil.example",
    "/\u{0}/evil.example",
];

fn stays_on(base: &str, target: &str) -> bool {
    let base = url::Url::parse(base).unwrap();
    base.join(target).is_ok_and(|u| u.origin() == base.origin())
}

#[tokio::test]
async fn next_targets_that_browsers_resolve_elsewhere_never_leave_the_site() {
    // Many logins from one address: the login rate limit is not what this test is about.
    let app = TestApp::spawn_configured(|c| {
        c.accounts.rate_limits = std::mem::take(&mut c.accounts.rate_limits).scaled(100);
    })
    .await;
    let citizen = app.a_citizen().await;
    for next in OFF_SITE {
        let client = app.client();
        let r = app.submit_login_next(&client, &citizen.username, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert!(stays_on(&app.url("/login"), &location(&r)), "login next {next:?} → {}", location(&r));
        let r = app.post_form(&client, "/", "/preferences", &[("toggle", "contrast"), ("next", next)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(stays_on(&app.url("/"), &location(&r)), "preferences next {next:?} → {}", location(&r));
    }
    // A same-site target is kept.
    let client = app.client();
    let r = app.submit_login_next(&client, &citizen.username, "/my/applications?page=2").await;
    assert_eq!(location(&r), "/my/applications?page=2");
}

/// A client without a cookie store: the tests set and read cookies themselves.
fn bare() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (n, v) = pair.split_once('=')?;
        (n == name).then(|| v.to_owned())
    })
}

fn set_cookie_line(r: &Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

/// Logs in on the page with the given session cookie already in the browser; the new session.
async fn page_login(app: &TestApp, username: &str, session: Option<&str>) -> String {
    let page = bare().get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = set_cookie(&page, "tb_csrf").unwrap();
    let token = csrf_in(&page.text().await.unwrap()).unwrap();
    let mut cookies = format!("tb_csrf={csrf_cookie}");
    if let Some(s) = session {
        cookies.push_str(&format!("; tb_session={s}"));
    }
    let r = bare()
        .post(app.url("/login"))
        .header("cookie", cookies)
        .form(&[("csrf_token", token.as_str()), ("username", username), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    set_cookie(&r, "tb_session").unwrap()
}

async fn api_login(app: &TestApp, username: &str, session: Option<&str>) -> String {
    let mut request = bare().post(app.url("/api/v1/auth/login"));
    if let Some(s) = session {
        request = request.header("cookie", format!("tb_session={s}"));
    }
    let r = request.json(&serde_json::json!({ "username": username, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    set_cookie(&r, "tb_session").unwrap()
}

async fn works(app: &TestApp, session: &str) -> bool {
    let r = bare().get(app.url("/api/v1/me")).header("cookie", format!("tb_session={session}")).send().await.unwrap();
    r.status() == StatusCode::OK
}

async fn sessions_of(app: &TestApp, username: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1")
        .bind(app.user_id(username).await)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("n")
}

#[tokio::test]
async fn a_session_id_that_existed_before_login_is_never_the_one_after() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let planted = "0123456789abcdef0123456789abcdef";
    let after = page_login(&app, &citizen.username, Some(planted)).await;
    assert_ne!(after, planted);
    let after_api = api_login(&app, &citizen.username, Some(planted)).await;
    assert_ne!(after_api, planted);
    assert!(!works(&app, planted).await);
}

#[tokio::test]
async fn logging_in_as_another_user_ends_the_first_users_session_on_that_browser() {
    let app = TestApp::spawn().await;
    let (first, second) = (app.a_citizen().await.username, app.a_citizen().await.username);
    let business = app.an_organisation().await.username;
    // Pages.
    let a = page_login(&app, &first, None).await;
    assert!(works(&app, &a).await);
    let b = page_login(&app, &second, Some(&a)).await;
    assert_ne!(a, b);
    assert!(!works(&app, &a).await, "the first citizen's session ended");
    assert!(works(&app, &b).await);
    assert_eq!(sessions_of(&app, &first).await, 0, "the row is gone");
    // The API.
    let c = api_login(&app, &business, None).await;
    let d = api_login(&app, &first, Some(&c)).await;
    assert!(!works(&app, &c).await, "the business's session ended");
    assert!(works(&app, &d).await);
    assert_eq!(sessions_of(&app, &business).await, 0);
    // Logging in again as the same user also replaces the session.
    let e = api_login(&app, &first, Some(&d)).await;
    assert!(!works(&app, &d).await && works(&app, &e).await);
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await.username;
    let client = app.client();
    let r = app.submit_login(&client, &citizen, PASSWORD).await;
    let token = set_cookie(&r, "tb_session").unwrap();
    assert_eq!(sessions_of(&app, &citizen).await, 1);
    let r = app.post_form(&client, "/account", "/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(sessions_of(&app, &citizen).await, 0);
    assert!(!works(&app, &token).await, "the old cookie no longer works");
    let token = api_login(&app, &citizen, None).await;
    let r = bare()
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", format!("tb_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!works(&app, &token).await);
    assert_eq!(sessions_of(&app, &citizen).await, 0);
}

#[tokio::test]
async fn over_https_cookies_are_secure_with_the_host_prefix_and_hsts_is_sent() {
    let app = TestApp::spawn_configured(|c| {
        c.public_url = Some(url::Url::parse("https://zwfw.example.gov.cn").unwrap());
    })
    .await;
    let citizen = app.a_citizen().await;
    let page = bare().get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let csrf = set_cookie_line(&page, "__Host-tb_csrf");
    for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(csrf.contains(part), "{csrf}");
    }
    assert!(!csrf.contains("Domain"), "{csrf}");
    let csrf_value = set_cookie(&page, "__Host-tb_csrf").unwrap();
    let token = csrf_in(&page.text().await.unwrap()).unwrap();
    let r = bare()
        .post(app.url("/login"))
        .header("cookie", format!("__Host-tb_csrf={csrf_value}"))
        .form(&[("csrf_token", token.as_str()), ("username", citizen.username.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "CSRF still works with the prefixed cookie");
    let session = set_cookie_line(&r, "__Host-tb_session");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(part), "{session}");
    }
    let value = set_cookie(&r, "__Host-tb_session").unwrap();
    let me = bare().get(app.url("/api/v1/me")).header("cookie", format!("__Host-tb_session={value}")).send().await;
    assert_eq!(me.unwrap().status(), StatusCode::OK);
    // The unprefixed name is not honoured over https (a subdomain could have set it).
    let me = bare().get(app.url("/api/v1/me")).header("cookie", format!("tb_session={value}")).send().await;
    assert_eq!(me.unwrap().status(), StatusCode::UNAUTHORIZED);
    let prefs = bare()
        .post(app.url("/preferences"))
        .header("cookie", format!("__Host-tb_csrf={csrf_value}"))
        .form(&[("csrf_token", token.as_str()), ("toggle", "large")])
        .send()
        .await
        .unwrap();
    assert!(set_cookie_line(&prefs, "__Host-tb_prefs").contains("Secure"));
}

#[tokio::test]
async fn on_plain_http_the_demo_keeps_working_without_secure_cookies() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let r = bare()
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": citizen.username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let line = set_cookie_line(&r, "tb_session");
    assert!(line.contains("HttpOnly") && line.contains("SameSite=Lax") && !line.contains("Secure"), "{line}");
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn the_csrf_token_never_appears_in_a_url() {
    let app = TestApp::spawn().await;
    let person_item = app.an_item().await.def;
    let pages: &[(&str, &[&str])] = &[
        ("citizen", &["/", "/items", "/my/applications", "/my/licences", "/my/messages", "/account"]),
        ("catalog_admin", &["/admin/items", "/admin/items/import", "/admin/synonyms"]),
        ("sysadmin", &["/admin", "/admin/users", "/admin/calendar"]),
        ("licence_admin", &["/admin/licences", "/admin/licences/import", "/admin/licences/issue"]),
        ("window", &["/hall"]),
        ("reviewer", &["/office"]),
    ];
    for (user, paths) in pages {
        let account = match *user {
            "citizen" => app.a_citizen().await,
            "window" => app.a_staff().at_site("xinzhuang").with_role(user).await,
            "reviewer" => app.a_reviewer("SCJGJ").await,
            _ => app.a_staff().with_role(user).await,
        };
        let client = account.login().await;
        let mut paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        if *user == "citizen" {
            paths.push(format!("/apply/{}", person_item.code));
        }
        for path in paths {
            let html = app.get(&client, &path).await.text().await.unwrap();
            assert!(csrf_in(&html).is_some(), "{path} has a form");
            assert!(!html.contains("csrf_token="), "{user} {path}: the token is in a URL");
        }
    }
    // An upload form carries it in its body; in the query string alone it is refused.
    let admin = app.a_sysadmin().await.login().await;
    let token = app.csrf(&admin, "/admin/calendar").await;
    let csv = "date,kind,name\n2031-01-01,holiday,元旦\n";
    let form = |with_token: bool| {
        let mut f = reqwest::multipart::Form::new();
        if with_token {
            f = f.text("csrf_token", token.clone());
        }
        f.part("file", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("c.csv"))
    };
    let r = admin.post(app.url("/admin/calendar/import")).multipart(form(true)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the token in the body is accepted");
    assert!(r.text().await.unwrap().contains("已导入 1 个日期"));
    let r = admin
        .post(app.url(&format!("/admin/calendar/import?csrf_token={token}")))
        .multipart(form(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a token in the URL is not accepted");
}

fn assert_security_headers(what: &str, r: &Response) {
    let h = r.headers();
    let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp:?}");
    let script = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src") || d.starts_with("default-src"));
    assert!(script.is_some() && !csp.contains("'unsafe-inline'") && !csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert!(h.get("referrer-policy").is_some(), "{what}");
    assert!(h.get("x-request-id").is_some(), "{what}");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let long = format!("/items?q={}", "长".repeat(5000));
    for (what, r) in [
        ("a page", app.get(&c, "/").await),
        ("an asset", app.get(&c, "/assets/app.css").await),
        ("a missing page", app.get(&c, "/no/such/page").await),
        ("a missing API resource", app.get(&c, "/api/v1/no-such").await),
        ("a login redirect", app.get(&c, "/admin").await),
        ("a CSRF refusal", c.post(app.url("/preferences")).form(&[("toggle", "large")]).send().await.unwrap()),
        ("a wrong method", c.delete(app.url("/")).send().await.unwrap()),
        ("an API error", c.get(app.url("/api/v1/me")).send().await.unwrap()),
        ("a probe", app.get(&c, "/healthz").await),
        ("the spec", app.get(&c, "/api/openapi.json").await),
        ("a long query", app.get(&c, &long).await),
        ("a bad request", app.get(&c, "/api/v1/items?page=x%FF").await),
    ] {
        assert_security_headers(what, &r);
    }
}

#[tokio::test]
async fn a_read_connection_refuses_writes_and_the_pool_still_serves_write_transactions() {
    let app = TestApp::spawn().await;
    let db = &app.state.core.db;
    // On SQLite a write belongs in a write transaction (the writer turn, the lock taken up front);
    // one slipped onto a read connection fails every time, not once in a while under load.
    // PostgreSQL has no lock upgrade to fail, and no such check.
    if db.backend() == tongban::store::Backend::Sqlite {
        let mut conn = db.conn().await.unwrap();
        let e = sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at").execute(&mut *conn).await.unwrap_err();
        assert!(e.to_string().contains("readonly"), "{e}");
    }
    // Back in the pool, every connection serves writes again.
    for _ in 0..12 {
        let _reader = db.conn().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_session_used_again_after_a_few_minutes_is_marked_seen_and_keeps_working() {
    let app = TestApp::spawn().await;
    let admin = app.a_sysadmin().await.login().await;
    // More than the minute after which a request marks the session seen (a write), within the
    // administrators' idle limit.
    app.clock.advance(std::time::Duration::from_secs(150));
    for path in ["/admin/users", "/admin/users?q=wang&kind=staff", "/account"] {
        let r = app.get(&admin, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let seen: i64 =
        sqlx::query_scalar("SELECT MAX(last_seen_at) FROM sessions").fetch_one(app.state.core.db.pool()).await.unwrap();
    assert!(seen >= app.clock.now_ms() - 1000, "the session was marked seen at the moved time");
}
