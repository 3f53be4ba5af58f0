//! Operations endpoints and assets.

use reqwest::StatusCode;

use crate::common::{TestApp, json};

#[tokio::test]
async fn probes_metrics_and_the_openapi_document_answer() {
    let app = TestApp::spawn().await;
    let client = app.client();
    assert_eq!(app.get(&client, "/healthz").await.text().await.unwrap(), "ok");
    assert_eq!(app.get(&client, "/readyz").await.status(), StatusCode::OK);
    app.get(&client, "/login").await;
    // The system administrator holds `ops.metrics`.
    let admin = app.a_sysadmin().await.login().await;
    let metrics = app.get(&admin, "/metrics").await.text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("route=\"/login\""));
    assert!(metrics.contains("db_pool_connections"));
    let doc = json(app.get(&client, "/api/openapi.json").await).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/me"]["get"].is_object());
}

#[tokio::test]
async fn assets_are_served_by_the_binary_itself() {
    let app = TestApp::spawn().await;
    let r = app.get(&app.client(), "/assets/htmx.min.js").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(r.text().await.unwrap().contains("htmx"));
    let r = app.get(&app.client(), "/assets/app.css").await;
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(app.get(&app.client(), "/assets/../Cargo.toml").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn preferences_switch_to_the_large_font_mode_without_javascript() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let r = app.post_form(&client, "/", "/preferences", &[("toggle", "large"), ("next", "/login")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::common::location(&r), "/login");
    let html = app.get(&client, "/login").await.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-CN\" class=\"large\">"));
    assert!(html.contains("aria-pressed=\"true\">长辈模式"));
    let r =
        app.post_form(&client, "/", "/preferences", &[("toggle", "contrast"), ("next", "https://evil.example/")]).await;
    assert_eq!(crate::common::location(&r), "/", "no open redirect");
    let html = app.get(&client, "/").await.text().await.unwrap();
    assert!(html.contains("class=\"large contrast\""));
}
