//! The audit log: written with the change, readable only by the audit administrator,
//! hash-chained so that any edit is detected.

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp};

#[tokio::test]
async fn only_the_audit_administrator_reads_the_log_and_can_filter_it() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    let auditor = app.an_auditor().username("auditor").await;
    app.api_login(&citizen.username, "Wrong-password-1").await;
    let auditor = auditor.login().await;
    let html = app.get(&auditor, "/admin/audit?action=auth.login_failed").await.text().await.unwrap();
    assert!(html.contains(&citizen.username) && html.contains("登录失败"));
    assert!(!html.contains(">auditor<"), "filtered to failures only");
    let html = app.get(&auditor, "/admin/audit?verify=1").await.text().await.unwrap();
    assert!(html.contains("完整性校验通过"));
}

#[tokio::test]
async fn editing_any_audit_row_breaks_the_chain() {
    let app = TestApp::spawn().await;
    let users = [app.a_citizen().await, app.a_citizen().await, app.a_head("SCJGJ").await, app.a_citizen().await];
    for user in &users {
        app.api_login(&user.username, PASSWORD).await;
    }
    let report = tongban::app::audit::verify_chain(&app.state.core).await.unwrap();
    assert!(report.broken.is_none());
    assert!(report.checked >= 4);
    app.sql("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3").await;
    let report = tongban::app::audit::verify_chain(&app.state.core).await.unwrap();
    assert_eq!(report.broken.map(|b| b.0), Some(3));
    assert_eq!(report.checked, 2);
}

#[tokio::test]
async fn deleting_the_newest_audit_rows_is_detected() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    app.api_login(&citizen.username, PASSWORD).await;
    app.sql("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)").await;
    let report = tongban::app::audit::verify_chain(&app.state.core).await.unwrap();
    assert!(report.broken.is_some());
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let app = TestApp::spawn().await;
    // One record before the twenty at once, so that the chain has a start to keep.
    let citizen = app.a_citizen().await;
    app.api_login(&citizen.username, PASSWORD).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&serde_json::json!({"username": format!("nobody{i}"), "password": "x"}))
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), StatusCode::UNAUTHORIZED);
    }
    let report = tongban::app::audit::verify_chain(&app.state.core).await.unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    assert!(report.checked >= 21);
}
