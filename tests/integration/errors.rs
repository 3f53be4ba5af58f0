//! Bad input: every kind gets a clear 4xx in Chinese (page or JSON), never a 500.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, json};

#[tokio::test]
async fn malformed_api_requests_get_json_errors() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let post = |body: &'static str, content_type: &'static str| {
        client.post(app.url("/api/v1/auth/login")).header("content-type", content_type).body(body).send()
    };
    let r = post("{not json", "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["code"], "bad_request");
    let r = post("{\"username\": \"x\"}", "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(r).await["code"], "invalid");
    let r = post("username=x", "text/plain").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = json(r).await;
    assert_eq!(body["code"], "unsupported_media_type");
    assert!(body["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn().await;
    let big = format!("{{\"username\":\"{}\",\"password\":\"x\"}}", "a".repeat(3 * 1024 * 1024));
    let r = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(r).await["code"], "payload_too_large");
    // And on a page form (the CSRF check reads the body first).
    let client = app.client();
    let token = app.csrf(&client, "/login").await;
    let body = format!("csrf_token={token}&username={}", "a".repeat(3 * 1024 * 1024));
    let r = client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("内容过大"));
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_clear() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let r = app.get(&client, "/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("页面不存在") && html.contains("请求编号"));
    let r = app.get(&client, "/api/v1/nothing").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["code"], "not_found");
    let r = client.delete(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(r).await["code"], "method_not_allowed");
    let r = client.put(app.url("/login")).send().await.unwrap();
    assert!(r.status().is_client_error());
}

#[tokio::test]
async fn forms_without_a_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let client = app.a_sysadmin().await.login().await;
    let disable = app.url(&format!("/admin/users/{}/disable", citizen.username));
    let r = client.post(&disable).form(&[("x", "y")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("页面已过期"));
    let r = client.post(&disable).form(&[("csrf_token", "forged")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nothing changed.
    let (_, r) = app.api_login(&citizen.username, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A fresh browser with no cookie at all is refused too.
    let r = app
        .client()
        .post(app.url("/login"))
        .form(&[("username", citizen.username.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn invalid_query_values_do_not_break_pages() {
    let app = TestApp::spawn().await;
    let auditor = app.an_auditor().await.login().await;
    let r = app.get(&auditor, "/admin/audit?from=yesterday&page=-3").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("起始日期格式"));
    let admin = app.a_sysadmin().await.login().await;
    assert_eq!(app.get(&admin, "/admin/users?page=abc&kind=%27%3B--").await.status(), StatusCode::OK);
    assert_eq!(app.get(&admin, "/admin/users/nobody").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/login", "/no-such-page", "/api/v1/me", "/assets/app.css"] {
        let r = app.get(&app.client(), path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn pages_have_no_inline_scripts() {
    let app = TestApp::spawn().await;
    let head = app.a_head("SCJGJ").await;
    let client = app.a_secadmin().await.login().await;
    let head_page = format!("/admin/users/{}", head.username);
    for path in ["/", "/login", "/register", head_page.as_str(), "/admin/roles/new"] {
        let html = app.get(&client, path).await.text().await.unwrap();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains("src=\"/assets/"), "{path}: inline script {tag}");
        }
        assert!(!html.contains(" onclick=") && !html.contains(" style=\""), "{path}: inline handler or style");
    }
}
