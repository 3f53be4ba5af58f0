//! Audit and operations endpoints (issue #12, §6): refused attempts are audited without letting
//! a flood flood the log, `/metrics` needs a token or a permission and keeps its series bounded,
//! and every JSON endpoint refuses a malformed body in the API's error shape.

use reqwest::{Method, StatusCode};
use sqlx::Row;

use crate::common::{PASSWORD, TestApp, json};

async fn audit_count(app: &TestApp, action: &str, actor: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = $1 AND actor = $2")
        .bind(action)
        .bind(actor)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("n")
}

async fn summarise(app: &TestApp) -> u64 {
    let mut tx = app.state.core.db.begin().await.unwrap();
    // As the periodic job does once the minute has passed.
    let window = u64::try_from(tongban::app::audit::REFUSAL_WINDOW_MS).unwrap();
    app.clock.advance(std::time::Duration::from_millis(2 * window));
    let n = tongban::app::audit::summarise_refusals(&mut tx, app.clock.now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    n
}

#[tokio::test]
async fn a_flood_of_forbidden_requests_writes_a_bounded_number_of_audit_records() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let citizen = person.login().await;
    for i in 0..40 {
        // Different paths of one privileged room: one permission refused.
        let path = if i % 2 == 0 { "/admin/users".to_owned() } else { format!("/admin/users?q={i}") };
        assert_eq!(app.get(&citizen, &path).await.status(), StatusCode::FORBIDDEN);
    }
    let first = audit_count(&app, "access.denied", &person.username).await;
    assert!(first <= 2, "a flood of 40 wrote {first} records");
    assert!(first >= 1, "the first refusal is recorded at once");
    assert!(summarise(&app).await >= 1);
    let rows = sqlx::query("SELECT detail FROM audit_log WHERE action = 'access.denied' AND actor = $1")
        .bind(&person.username)
        .fetch_all(app.state.core.db.pool())
        .await
        .unwrap();
    assert!(rows.len() as i64 <= first + 2, "one summary per window");
    let details: Vec<String> = rows.iter().map(|r| r.get("detail")).collect();
    assert!(details.iter().any(|d| d.contains("共 40 次") || d.contains("共 39 次")), "{details:?}");
    // Nothing is left to summarise, and the chain still verifies.
    assert_eq!(summarise(&app).await, 0);
    assert!(tongban::app::audit::verify_chain(&app.state.core).await.unwrap().broken.is_none());
}

#[tokio::test]
async fn csrf_rejections_are_audited_and_aggregated() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let client = app.client();
    app.get(&client, "/").await; // the CSRF cookie, but no token in the form
    for _ in 0..25 {
        let r = client.post(app.url("/preferences")).form(&[("toggle", "large")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let rows = app.audit_rows("security.csrf_refused").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "anonymous");
    // A logged-in user's rejection names them.
    let citizen = person.login().await;
    let r = citizen.post(app.url("/logout")).form(&[("csrf_token", "forged")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(audit_count(&app, "security.csrf_refused", &person.username).await, 1);
    summarise(&app).await;
    let rows = app.audit_rows("security.csrf_refused").await;
    assert_eq!(rows.len(), 3, "the two first ones and one summary: {rows:?}");
}

#[tokio::test]
async fn a_wrong_current_password_is_audited_as_a_failed_reauthentication() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let (client, _) = app.api_login(&person.username, PASSWORD).await;
    for _ in 0..10 {
        let r = client
            .post(app.url("/api/v1/account/password"))
            .json(&serde_json::json!({"current_password": "wrong", "new_password": "Another@2026x", "confirm_password": "Another@2026x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(audit_count(&app, "auth.reauth_failed", &person.username).await, 1, "ten failures, one record for now");
}

#[tokio::test]
async fn metrics_need_the_configured_token_or_the_ops_permission() {
    let app = TestApp::spawn_configured(|c| c.metrics_token = Some("s3cret-token".into())).await;
    let anonymous = app.client();
    let r = app.get(&anonymous, "/metrics").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    for wrong in ["Bearer nope", "Bearer ", "Basic czNjcmV0LXRva2Vu", "s3cret-token"] {
        let r = anonymous.get(app.url("/metrics")).header("authorization", wrong).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    let r = anonymous.get(app.url("/metrics")).bearer_auth("s3cret-token").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("http_requests_total"));
    let person = app.a_citizen().await;
    let citizen = person.login().await;
    assert_eq!(app.get(&citizen, "/metrics").await.status(), StatusCode::FORBIDDEN);
    assert!(app.audit_rows("access.denied").await.iter().any(|(a, o, _)| a == &person.username && o == "/metrics"));
    let admin = app.a_sysadmin().await.login().await;
    assert_eq!(app.get(&admin, "/metrics").await.status(), StatusCode::OK, "the system administrator");
    // Without a configured token, only the permission opens it.
    let plain = TestApp::spawn().await;
    assert_eq!(plain.get(&plain.client(), "/metrics").await.status(), StatusCode::UNAUTHORIZED);
    let r = plain.client().get(plain.url("/metrics")).bearer_auth("").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn metric_labels_stay_bounded_whatever_the_client_sends() {
    let app = TestApp::spawn_configured(|c| c.metrics_token = Some("labels".into())).await;
    let client = app.client();
    let marker: String = format!("zq{:x}", rand::random::<u32>());
    for i in 0..5 {
        let method = Method::from_bytes(format!("{}{i}", marker.to_uppercase()).as_bytes()).unwrap();
        client.request(method, app.url("/healthz")).send().await.unwrap();
        client.get(app.url(&format!("/{marker}/{i}/nowhere"))).send().await.unwrap();
        client.get(app.url(&format!("/items/{marker}{i}"))).send().await.unwrap();
    }
    let text = client.get(app.url("/metrics")).bearer_auth("labels").send().await.unwrap().text().await.unwrap();
    assert!(!text.to_lowercase().contains(&marker), "a client-chosen method or path became a label");
    assert!(text.contains("method=\"other\""));
    assert!(text.contains("route=\"unmatched\""));
    assert!(text.contains("route=\"/items/{code}\""));
}

#[tokio::test]
async fn a_malformed_body_to_any_json_endpoint_is_a_client_error_in_the_api_shape() {
    let app = TestApp::spawn().await;
    let reviewer = app.a_reviewer("SCJGJ").await.api().await;
    let catalog = app.a_staff().with_role("catalog_admin").await.api().await;
    let head = app.a_head("SCJGJ").await.api().await;
    let citizen = app.a_citizen().await.api().await;
    let anonymous = app.client();
    let endpoints = [
        (&anonymous, "/api/v1/licences/verify".to_owned()),
        (&anonymous, "/api/v1/auth/login".to_owned()),
        (&anonymous, "/api/v1/auth/register".to_owned()),
        (&citizen, "/api/v1/account/password".to_owned()),
        (&reviewer, "/api/v1/cases/BJ20261130ABCDEF/actions".to_owned()),
        (&catalog, "/api/v1/workflows".to_owned()),
        (&head, "/api/v1/licences/1.2.156.3005.2.X.X.X.001.X/revoke".to_owned()),
    ];
    let bodies: [(&str, &[u8]); 5] = [
        ("application/json", b"{\"payload\": "),
        ("application/json", b"not json at all"),
        ("application/json", b"[1, 2, 3]"),
        ("application/json", b"{\"payload\": 1, \"signature\": [], \"key_id\": null}"),
        ("text/plain", b"{}"),
    ];
    for (client, path) in &endpoints {
        for (content_type, body) in bodies {
            let r = client
                .post(app.url(path))
                .header("content-type", content_type)
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = String::from_utf8_lossy(body).into_owned();
            assert!(matches!(status, 400 | 404 | 415 | 422), "{path} with {text:?} ({content_type}) → {status}");
            let v = json(r).await;
            assert!(v["code"].is_string() && v["message"].is_string(), "{path}: {v}");
        }
    }
}
