//! Crash durability: the server is killed with SIGKILL in the middle of concurrent submissions,
//! restarted, and every submission that was answered `201 Created` must be there with all its
//! files intact, nothing half-written may show, and SQLite must pass `PRAGMA integrity_check`
//! (on PostgreSQL: amcheck's `bt_index_check(index, true)` on every B-tree index).
//! `cargo test` runs a few cycles; set `TONGBAN_CRASH_CYCLES=200` for the full run. With
//! `TONGBAN_TEST_DATABASE_URL` set it runs against PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor, Row};

const PASSWORD: &str = "Tongban@2026";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tongban(dir: &Path, database: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tongban"));
    c.args(["--data-dir", dir.to_str().unwrap(), "--database", database]).env("TONGBAN_LOG", "error");
    c
}

async fn start(dir: &Path, database: &str, port: u16) -> Server {
    let child = tongban(dir, database)
        // `--demo`: citizen02 keeps the published password (outside demo mode it must change it).
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not start");
}

/// PostgreSQL's counterpart of `PRAGMA integrity_check`: amcheck's `bt_index_check(index, true)`
/// on every B-tree index of the database, which also checks that every heap tuple is in the index
/// (`heapallindexed`). A damaged index raises an error, which fails the test. Returns how many
/// indexes were checked.
async fn btree_indexes_intact(db: &mut sqlx::AnyConnection) -> i64 {
    db.execute("CREATE EXTENSION IF NOT EXISTS amcheck").await.unwrap();
    let indexes: Vec<String> = sqlx::query(
        "SELECT CAST(c.relname AS TEXT) AS relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.amname = 'btree' AND n.nspname = 'public' AND c.relpersistence = 'p' ORDER BY c.relname",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("relname"))
    .collect();
    for index in &indexes {
        let r = sqlx::query("SELECT 1 AS ok FROM (SELECT bt_index_check(CAST($1 AS regclass), true)) AS checked")
            .bind(index)
            .fetch_one(&mut *db)
            .await;
        assert!(r.is_ok(), "index {index} is damaged: {:?}", r.err());
    }
    indexes.len() as i64
}

/// An acknowledged submission: its number and the SHA-256 of each file sent.
#[derive(Clone)]
struct Acked {
    number: String,
    files: Vec<String>,
}

#[tokio::test]
async fn acknowledged_submissions_survive_sigkill() {
    let cycles: u32 = std::env::var("TONGBAN_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = std::env::temp_dir().join(format!("tongban-crash-{}", rand::rng().next_u64()));
    std::fs::create_dir_all(&dir).unwrap();
    let (database, pg) = match std::env::var("TONGBAN_TEST_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("tongban_crash_{}", rand::rng().next_u32());
            sqlx::any::install_default_drivers();
            let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
            c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
            let base = admin.rsplit_once('/').unwrap().0.to_owned();
            (format!("{base}/{name}"), Some((admin, name)))
        }
        _ => (tongban::config::default_sqlite_url(&dir), None),
    };
    assert!(tongban(&dir, &database).arg("demo").status().unwrap().success());

    let item = tongban::demo::online_person_item(64 * 1024).unwrap();
    let answers = serde_json::Value::Object(tongban::demo::demo_answers(&item, "李四")).to_string();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();

    let mut checked = 0;
    for cycle in 0..cycles {
        let port = free_port();
        let server = start(&dir, &database, port).await;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let r = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "citizen02", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let mut workers = Vec::new();
        for w in 0..4 {
            let (client, base, item, answers, acked) =
                (client.clone(), base.clone(), item.clone(), answers.clone(), acked.clone());
            workers.push(tokio::spawn(async move {
                for n in 0.. {
                    let mut form =
                        reqwest::multipart::Form::new().text("item", item.code.clone()).text("form", answers.clone());
                    let mut hashes = Vec::new();
                    for m in item.materials.iter().filter(|m| m.required) {
                        let mut bytes = vec![0u8; 64 * 1024];
                        bytes[..9].copy_from_slice(b"%PDF-1.7\n");
                        rand::rng().fill_bytes(&mut bytes[9..]);
                        hashes.push(hex::encode(Sha256::digest(&bytes)));
                        form = form.part(
                            format!("material:{}", m.code),
                            reqwest::multipart::Part::bytes(bytes).file_name("scan.pdf"),
                        );
                    }
                    let key = format!("crash-{cycle}-{w}-{n}");
                    let Ok(r) = client
                        .post(format!("{base}/api/v1/applications"))
                        .header("Idempotency-Key", key)
                        .multipart(form)
                        .send()
                        .await
                    else {
                        return; // the server is gone
                    };
                    if r.status() == reqwest::StatusCode::CREATED {
                        let number = r
                            .json::<serde_json::Value>()
                            .await
                            .map(|b| b["number"].as_str().unwrap_or_default().to_owned());
                        if let Ok(number) = number {
                            acked.lock().unwrap().push(Acked { number, files: hashes });
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(300..900))).await;
        // SIGKILL: no chance to flush anything.
        let status = Command::new("kill").args(["-KILL", &server.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        for w in workers {
            let _ = w.await;
        }
        drop(server);

        // After the crash: restart and check every acknowledged submission.
        let port = free_port();
        let server = start(&dir, &database, port).await;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "citizen02", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        // This cycle's acknowledgements (earlier cycles' were checked after their own crash).
        let all: Vec<Acked> = acked.lock().unwrap()[checked..].to_vec();
        checked += all.len();
        for a in &all {
            let r = client.get(format!("{base}/api/v1/applications/{}", a.number)).send().await.unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::OK, "cycle {cycle}: acknowledged {} is missing", a.number);
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["status"], "submitted");
            let stored: Vec<&str> =
                body["materials"].as_array().unwrap().iter().map(|m| m["sha256"].as_str().unwrap()).collect();
            for h in &a.files {
                assert!(stored.contains(&h.as_str()), "cycle {cycle}: {} lost a file", a.number);
                let path = dir.join("files").join(&h[..2]).join(&h[2..4]).join(h);
                let sealed = std::fs::read(&path).unwrap_or_else(|_| panic!("cycle {cycle}: file {h} missing on disk"));
                // Files are encrypted at rest; opening one also proves it whole (SM4-GCM's tag).
                assert!(tongban::crypto::FieldCipher::file_key_of(&sealed).is_some(), "cycle {cycle}: {h} in plain");
                let cipher = tongban::crypto::FieldCipher::load_or_create(&dir).unwrap();
                let bytes = cipher.decrypt_bytes(&sealed).unwrap_or_else(|e| panic!("cycle {cycle}: file {h}: {e}"));
                assert_eq!(hex::encode(Sha256::digest(&bytes)), *h, "cycle {cycle}: file {h} is damaged");
            }
        }
        drop(server);
        // Nothing half-written: every submitted application (the generated demo history has no
        // snapshot and is left out) has all its required materials and its case, written in the
        // same transaction; every referenced file exists.
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&database).await.unwrap();
        let orphans: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM applications a WHERE a.status = 'submitted' AND a.snapshot IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.application_id = a.id)",
        )
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
        assert_eq!(orphans, 0, "cycle {cycle}: a submitted application without its case");
        let rows = sqlx::query(
            "SELECT a.number, COUNT(m.file_sha256) AS n FROM applications a \
             LEFT JOIN application_materials m ON m.application_id = a.id \
             WHERE a.status = 'submitted' AND a.snapshot IS NOT NULL GROUP BY a.number",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        let required = item.materials.iter().filter(|m| m.required).count() as i64;
        for r in rows {
            let n: i64 = r.get("n");
            assert!(n >= required.min(1), "cycle {cycle}: {} is half-written", r.get::<String, _>("number"));
        }
        if pg.is_none() {
            let ok: String = sqlx::query("PRAGMA integrity_check").fetch_one(&mut db).await.unwrap().get(0);
            assert_eq!(ok, "ok", "cycle {cycle}");
        } else {
            let checked = btree_indexes_intact(&mut db).await;
            assert!(checked > 10, "cycle {cycle}: only {checked} B-tree indexes found to check");
        }
        db.close().await.unwrap();
    }
    // Finally, every acknowledgement of every cycle is still there after all the later crashes.
    let mut db = sqlx::AnyConnection::connect(&database).await.unwrap();
    let every: Vec<Acked> = acked.lock().unwrap().clone();
    for a in &every {
        let row = sqlx::query("SELECT status FROM applications WHERE number = $1")
            .bind(&a.number)
            .fetch_optional(&mut db)
            .await
            .unwrap();
        assert_eq!(
            row.map(|r| r.get::<String, _>("status")).as_deref(),
            Some("submitted"),
            "{} lost in a later crash",
            a.number
        );
    }
    db.close().await.unwrap();
    let total = acked.lock().unwrap().len();
    assert!(total > 0, "no submission was acknowledged: the test proved nothing");
    eprintln!("{cycles} SIGKILL cycles, {total} acknowledged submissions all intact");
    let _ = std::fs::remove_dir_all(&dir);
    if let Some((admin, name)) = pg {
        let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
        let _ = c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
    }
}
