//! The binary's administrative commands, run as an operator would.

use std::process::Command;

use crate::common::TestApp;

fn tongban(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["--data-dir", app.data_dir.to_str().unwrap(), "--database", &app.database_url])
        .args(args)
        .env("TONGBAN_LOG", "error")
        .output()
        .expect("run tongban")
}

#[tokio::test]
async fn audit_verify_passes_then_names_the_first_tampered_record() {
    let app = TestApp::spawn().await;
    let citizen = app.a_citizen().await;
    app.api_login(&citizen.username, "Wrong-password-1").await;
    app.api_login(&citizen.username, crate::common::PASSWORD).await;
    let out = tongban(&app, &["audit", "verify"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("校验通过"));
    // An edit that changes the record whatever its detail was (the login's is empty).
    app.sql("UPDATE audit_log SET detail = detail || '（改）' WHERE seq = 2").await;
    let out = tongban(&app, &["audit", "verify"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("第 2 条"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_first_administrator_is_made_from_the_console() {
    let app = TestApp::spawn().await;
    let out = tongban(&app, &["user", "create", "--username", "root01", "--name", "首任管理员", "--role", "sysadmin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let password =
        stdout.lines().find_map(|l| l.strip_prefix("一次性密码：")).expect("printed password").trim().to_owned();
    let client = app.client();
    let r = app.submit_login(&client, "root01", &password).await;
    assert_eq!(crate::common::location(&r), "/account/password");
    // Separation of duties holds at the console too.
    let out = tongban(
        &app,
        &["user", "create", "--username", "root02", "--name", "兼任", "--role", "sysadmin", "--role", "auditor"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("三员分立"));
    let out = tongban(&app, &["user", "reset-password", "root01"]);
    assert!(out.status.success());
    // The last system administrator cannot be disabled, not even here; after a successor, yes.
    let out = tongban(&app, &["user", "disable", "root01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("最后一位"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = tongban(&app, &["user", "create", "--username", "root03", "--name", "继任", "--role", "sysadmin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = tongban(&app, &["user", "disable", "root01"]);
    assert!(out.status.success());
    let (_, r) = app.api_login("root01", "anything-Else-1").await;
    assert_ne!(r.status(), reqwest::StatusCode::OK);
    assert!(
        app.audit_rows("user.create").await.iter().any(|(actor, object, _)| actor == "console" && object == "root01")
    );
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let app = TestApp::spawn().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["--data-dir", app.data_dir.to_str().unwrap(), "--database", &app.database_url, "serve"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("TONGBAN_LOG", "error")
        .spawn()
        .expect("start server");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "server did not become ready");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("server did not stop within 10 s of SIGTERM")
    });
    assert!(status.success(), "exit status {status}");
}
