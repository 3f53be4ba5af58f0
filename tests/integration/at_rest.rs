//! Personal data at rest (issue #12, §2): after the demo and a citizen's journey over HTTP, no
//! demo ID number or phone number is found in the raw database files (SQLite file, WAL and
//! shared memory; a `pg_dump` on PostgreSQL) or in any file of the data directory, in any usual
//! form; the data directory is private; key rotation re-seals every value and file; a database
//! of the previous release is converted at start; phones and ID numbers are masked for staff
//! unless a `pii.reveal` holder asks, and each full view is audited.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::Row;

use crate::cases::{act, api_client, case_of, page_form};
use crate::common::{TestApp, json as body};

/// 个体工商户设立登记: 区市场监管局, issues 个体工商户营业执照 on approval.
const ITEM: &str = "310112-SCJGJ-001";
/// 失业保险金申领: 区人社局, citywide (window intake).
const CITYWIDE_ITEM: &str = "310112-RSJ-004";

/// Every ID number and mobile number in the demo seed's source: runs of 17 digits (completed
/// with their check character), of 18 valid characters, and of 11 digits shaped like a phone.
fn demo_personal_numbers() -> Vec<String> {
    let mut found = Vec::new();
    for source in [include_str!("../../src/demo.rs"), include_str!("../../src/demo_cases.rs")] {
        let chars: Vec<char> = source.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if !chars[i].is_ascii_digit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == 'X') {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let candidate = match run.len() {
                17 => tongban::domain::identity::id_number_with_check(&run),
                18 => tongban::domain::identity::IdNumber::parse(&run).ok().map(|id| id.as_str().to_owned()),
                11 => tongban::domain::identity::Phone::parse(&run).ok().map(|p| p.as_str().to_owned()),
                _ => None,
            };
            if let Some(c) = candidate
                && !found.contains(&c)
            {
                found.push(c);
            }
        }
    }
    found
}

/// The forms a number may take in storage: plain, grouped with spaces or dashes (6-8-4 for ID
/// numbers, 3-4-4 for phones), and UTF-16 (little and big endian). JSON escapes digits and `X`
/// as themselves, so the plain form covers JSON too.
fn variants(number: &str) -> Vec<Vec<u8>> {
    let groups: &[usize] = if number.len() == 18 { &[6, 8, 4] } else { &[3, 4, 4] };
    let mut parts = Vec::new();
    let mut at = 0;
    for g in groups {
        parts.push(&number[at..at + g]);
        at += g;
    }
    let mut texts = vec![number.to_owned(), parts.join(" "), parts.join("-")];
    if number.ends_with('X') {
        texts.push(number.to_lowercase());
    }
    let mut out: Vec<Vec<u8>> = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
    for t in &texts {
        out.push(t.encode_utf16().flat_map(u16::to_le_bytes).collect());
        out.push(t.encode_utf16().flat_map(u16::to_be_bytes).collect());
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Where each personal number was found: (number, place).
async fn scan(app: &TestApp, numbers: &[String]) -> Vec<(String, String)> {
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    // Every file of the data directory: on SQLite the database, its WAL and shared memory too.
    for path in files_under(&app.data_dir) {
        blobs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    if app.database_url.starts_with("postgres") {
        let out = std::process::Command::new("/usr/bin/pg_dump").arg(&app.database_url).output().unwrap();
        assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.len() > 10_000, "the dump holds the database");
        blobs.push(("pg_dump".into(), out.stdout));
    } else {
        assert!(blobs.iter().any(|(p, _)| p.ends_with("tongban.db")), "the SQLite file is scanned");
    }
    let mut found = Vec::new();
    for n in numbers {
        for v in variants(n) {
            for (place, bytes) in &blobs {
                if bytes.windows(v.len()).any(|w| w == v.as_slice()) {
                    found.push((n.clone(), place.clone()));
                }
            }
        }
    }
    found
}

/// A PDF that carries citizen01's ID number and phone in its text, as a scanned form would.
fn pdf_with_personal_data() -> Vec<u8> {
    let mut pdf = tongban::demo::DEMO_PDF.to_vec();
    pdf.extend_from_slice(b"%applicant 310112198503121235 13800138001\n");
    pdf
}

fn pdf_part(bytes: &[u8], name: &str) -> Part {
    Part::bytes(bytes.to_vec()).file_name(format!("{name}.pdf")).mime_str("application/pdf").unwrap()
}

/// citizen01 submits `item` through the API with the demo answers (their ID number and phone)
/// and `file` for every required material; returns (application number, case number).
async fn submit_with(app: &TestApp, item: &str, file: &[u8]) -> (String, String) {
    let def = tongban::app::catalogue::guide(&app.state.core, item).await.unwrap().def;
    let client = api_client(app, "citizen01").await;
    let answers = tongban::demo::demo_answers(&def, "张三");
    let mut form = Form::new().text("item", item.to_owned()).text("form", Value::Object(answers).to_string());
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), pdf_part(file, &m.code));
    }
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let number = body(r).await["number"].as_str().unwrap().to_owned();
    let case = case_of(app, &number).await;
    (number, case)
}

/// window02 takes a citywide application for citizen01 at the counter, over the pages.
async fn window_intake(app: &TestApp, file: &[u8]) -> String {
    let def = tongban::app::catalogue::guide(&app.state.core, CITYWIDE_ITEM).await.unwrap().def;
    let window = app.login_as("window02").await;
    let r = app
        .post_form(&window, "/hall", "/hall/intake", &[("item", CITYWIDE_ITEM), ("id_number", "310112198503121235")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(!html.contains("13800138001"), "the window does not see the stored phone");
    let token = crate::common::csrf_in(&html).unwrap();
    let answers = tongban::demo::demo_answers(&def, "张三");
    let seal = crate::cases::hidden_value(&html, "applicant");
    let mut form = page_form(&answers).text("applicant", seal).text("csrf_token", token.clone());
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), pdf_part(file, &m.code));
    }
    let r = window.post(app.url(&format!("/hall/intake/{CITYWIDE_ITEM}"))).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    crate::common::location(&r).split("taken=").nth(1).unwrap().to_owned()
}

/// Accepts, examines and approves a case (which issues its licence); returns the licence id.
async fn approve(app: &TestApp, case: &str) -> String {
    let reviewer = api_client(app, "reviewer01").await;
    let head = api_client(app, "head01").await;
    assert_eq!(act(&reviewer, app, case, json!({"action": "accept"})).await.status(), StatusCode::OK);
    assert_eq!(
        act(&reviewer, app, case, json!({"action": "examine", "comment": "符合"})).await.status(),
        StatusCode::OK
    );
    assert_eq!(act(&head, app, case, json!({"action": "approve", "comment": "同意"})).await.status(), StatusCode::OK);
    sqlx::query("SELECT identifier FROM licences WHERE case_number = $1")
        .bind(case)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("identifier")
}

#[tokio::test]
async fn no_demo_id_number_or_phone_is_found_in_the_raw_database_or_the_data_directory() {
    let numbers = demo_personal_numbers();
    for expected in ["310112198503121235", "13800138001", "13900139002", "13700137003"] {
        assert!(numbers.iter().any(|n| n == expected), "{expected} is collected from the demo source: {numbers:?}");
    }
    let app = TestApp::with_demo().await;
    let file = pdf_with_personal_data();
    let (application, case) = submit_with(&app, ITEM, &file).await;
    let taken = window_intake(&app, &file).await;
    let licence = approve(&app, &case).await;
    // Staff's free text quoting the applicant's numbers: an internal remark, and a one-time
    // notice (which reaches the message centre and a text message).
    let reviewer = app.login_as("reviewer01").await;
    let r = app
        .post_form(
            &reviewer,
            &format!("/office/cases/{case}"),
            &format!("/office/cases/{case}/notes"),
            &[("comment", "已电话联系 13800138001，身份证 310112198503121235 核对无误")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let rsj = api_client(&app, "reviewer02").await;
    let taken_case = case_of(&app, &taken).await;
    let def = tongban::app::catalogue::guide(&app.state.core, CITYWIDE_ITEM).await.unwrap().def;
    let first = def.materials.iter().find(|m| m.required).unwrap().code.clone();
    let mut notes = serde_json::Map::new();
    notes.insert(first.clone(), json!("请补充 138 0013 8001 机主证明"));
    let r = act(
        &rsj,
        &app,
        &taken_case,
        json!({"action": "request_supplement", "materials": [first], "material_notes": notes,
            "comment": "联系电话 13800138001"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let sent = tongban::app::jobs::run_pending(&app.state.core, "test").await.unwrap();
    assert!(sent > 0, "the text messages were sent");
    let html = app.get(&app.login_as("citizen01").await, "/my/messages").await.text().await.unwrap();
    assert!(html.contains("机主证明"), "the message centre reads the sealed bodies");

    // Everything still works from the sealed data: the citizen's application and file, the
    // licence's public verification, the staff's (masked) case page.
    let citizen = app.login_as("citizen01").await;
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains("310112********1235"), "the citizen's answers are shown, masked");
    let sha = tongban::store::blobs::sha256_hex(&file);
    let r = app.get(&citizen, &format!("/my/applications/{application}/files/{sha}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), file.as_slice(), "the download route returns the plain file");
    let v = body(app.client().get(app.url(&format!("/api/v1/licences/{licence}/verification"))).send().await.unwrap())
        .await;
    assert_eq!(v["valid"], true);
    let page = app.get(&app.client(), &format!("/verify/{licence}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let head = app.login_as("head01").await;
    let r = app.post_form(&head, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/reveal"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("13800138001"), "the audited full view shows the phone");

    let found = scan(&app, &numbers).await;
    assert!(found.is_empty(), "personal data at rest in plain: {found:?}");
    // The scan can fail: a plain value written anywhere is found.
    sqlx::query("UPDATE notifications SET body = $1 WHERE id = (SELECT MIN(id) FROM notifications)")
        .bind("联系 138-0013-8001")
        .execute(app.state.core.db.pool())
        .await
        .unwrap();
    if !app.database_url.starts_with("postgres") {
        sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(app.state.core.db.pool()).await.unwrap();
    }
    let found = scan(&app, &["13800138001".to_owned()]).await;
    assert!(!found.is_empty(), "the scan finds a planted phone");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_private_to_the_service_and_every_file_in_it_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::with_demo().await;
    let _ = submit_with(&app, ITEM, &pdf_with_personal_data()).await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&app.data_dir), 0o700);
    let files = files_under(&app.data_dir);
    assert!(files.iter().any(|p| p.starts_with(app.data_dir.join("files"))), "an uploaded file is there");
    assert!(files.iter().any(|p| p.ends_with("index.key")));
    if !app.database_url.starts_with("postgres") {
        assert!(files.iter().any(|p| p.ends_with("tongban.db-wal")), "the WAL is there");
    }
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let mut dir = f.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(&app.data_dir)) {
            assert_eq!(mode(d), 0o700, "{}", d.display());
            dir = d.parent();
        }
    }

    // Files of an earlier release (0644, a 0755 folder) are made private at the next start.
    let loose = app.data_dir.join("files").join("old");
    std::fs::create_dir_all(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(loose.join("x"), b"x").unwrap();
    std::fs::set_permissions(loose.join("x"), std::fs::Permissions::from_mode(0o644)).unwrap();
    if let Some(db) = files.iter().find(|p| p.ends_with("tongban.db")) {
        std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    tongban::store::restrict_data_dir(&app.data_dir, &app.database_url).unwrap();
    assert_eq!(mode(&loose), 0o700);
    assert_eq!(mode(&loose.join("x")), 0o600);
    for f in files_under(&app.data_dir) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

async fn column(app: &TestApp, sql: &'static str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(app.state.core.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn key_rotation_reseals_every_value_and_file_and_the_old_key_can_then_be_removed() {
    let app = TestApp::with_demo().await;
    let file = pdf_with_personal_data();
    let (application, case) = submit_with(&app, ITEM, &file).await;
    let licence = approve(&app, &case).await;
    let core = &app.state.core;
    let before = column(&app, "SELECT form_data FROM applications ORDER BY id").await;
    assert!(before.iter().all(|v| v.starts_with("k1:")), "{before:?}");
    let sha = tongban::store::blobs::sha256_hex(&file);
    let path = app.data_dir.join("files").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    let file_before = std::fs::read(&path).unwrap();

    let r =
        tongban::app::at_rest::rotate(core, &tongban::app::Actor::console(), std::time::Duration::ZERO).await.unwrap();
    assert_eq!(r.key, 2);
    assert!(!r.resumed);
    assert!(r.resealed.values >= before.len() as u64 && r.resealed.files >= 1, "{r:?}");

    // Every sealed column and the file changed, and now names key 2.
    let after = column(&app, "SELECT form_data FROM applications ORDER BY id").await;
    assert!(after.iter().all(|v| v.starts_with("k2:")));
    assert!(before.iter().zip(&after).all(|(b, a)| b != a));
    for sql in [
        "SELECT id_number_enc FROM users WHERE id_number_enc IS NOT NULL",
        "SELECT phone_enc FROM users WHERE phone_enc IS NOT NULL",
        "SELECT holder_code_enc FROM licences",
        "SELECT payload_enc FROM licences",
        "SELECT face_data FROM licences",
    ] {
        let values = column(&app, sql).await;
        assert!(!values.is_empty() && values.iter().all(|v| v.starts_with("k2:")), "{sql}: {values:?}");
    }
    let file_after = std::fs::read(&path).unwrap();
    assert_ne!(file_before, file_after);
    assert_eq!(tongban::crypto::FieldCipher::file_key_of(&file_after), Some(2));
    assert_eq!(app.audit_rows("keys.rotate").await[0].0, "console");

    // The old key removed (and forgotten by the running service), everything still reads.
    std::fs::remove_file(app.data_dir.join("keys").join("field-1.key")).unwrap();
    core.cipher.refresh().unwrap();
    let citizen = app.login_as("citizen01").await;
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains("310112********1235"));
    let r = app.get(&citizen, &format!("/my/applications/{application}/files/{sha}")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), file.as_slice());
    let v = body(app.client().get(app.url(&format!("/api/v1/licences/{licence}/verification"))).send().await.unwrap())
        .await;
    assert_eq!(v["valid"], true);
    let doc = app.get(&citizen, &format!("/my/licences/{licence}")).await;
    assert_eq!(doc.status(), StatusCode::OK);
    // Lookups by ID number (the blind index is not rotated) still find the person.
    let window = app.login_as("window02").await;
    let r = app
        .post_form(&window, "/hall", "/hall/intake", &[("item", CITYWIDE_ITEM), ("id_number", "310112198503121235")])
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // An interrupted rotation (its mark left behind) is finished by running the command again,
    // without making another key.
    let mut tx = core.db.begin().await.unwrap();
    tongban::store::sealed::set_state(&mut tx, "rotation", "2").await.unwrap();
    tx.commit().await.unwrap();
    let r =
        tongban::app::at_rest::rotate(core, &tongban::app::Actor::console(), std::time::Duration::ZERO).await.unwrap();
    assert_eq!((r.key, r.resumed), (2, true));
}

#[tokio::test]
async fn a_database_of_the_previous_release_is_converted_at_start_and_its_lookups_keep_working() {
    let app = TestApp::with_demo().await;
    let file = pdf_with_personal_data();
    let (application, _) = submit_with(&app, ITEM, &file).await;
    let core = &app.state.core;
    let pool = core.db.pool();
    // Make the rows look as the previous release wrote them: plain form data, ciphertexts
    // without a key id, the hand-rolled keyed digest, plain files, and no conversion mark.
    for row in sqlx::query("SELECT id, form_data FROM applications").fetch_all(pool).await.unwrap() {
        let id: i64 = row.get("id");
        let plain = core.cipher.decrypt(&row.get::<String, _>("form_data")).unwrap();
        sqlx::query("UPDATE applications SET form_data = $1 WHERE id = $2")
            .bind(plain)
            .bind(id)
            .execute(pool)
            .await
            .unwrap();
    }
    for row in sqlx::query("SELECT id, id_number_enc, phone_enc FROM users WHERE id_number_enc IS NOT NULL")
        .fetch_all(pool)
        .await
        .unwrap()
    {
        let strip = |v: String| v.split_once(':').map(|(_, b)| b.to_owned()).unwrap();
        sqlx::query("UPDATE users SET id_number_enc = $1, phone_enc = $2, id_number_digest = $3 WHERE id = $4")
            .bind(strip(row.get("id_number_enc")))
            .bind(strip(row.get("phone_enc")))
            .bind(format!("legacy-{}", row.get::<i64, _>("id")))
            .bind(row.get::<i64, _>("id"))
            .execute(pool)
            .await
            .unwrap();
    }
    let sha = tongban::store::blobs::sha256_hex(&file);
    let path = app.data_dir.join("files").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    std::fs::write(&path, &file).unwrap();
    sqlx::query("DELETE FROM key_state").execute(pool).await.unwrap();

    assert!(tongban::app::at_rest::convert_once(core).await.unwrap());
    assert!(!tongban::app::at_rest::convert_once(core).await.unwrap(), "once");
    let forms = column(&app, "SELECT form_data FROM applications").await;
    assert!(forms.iter().all(|v| v.starts_with("k1:")), "{forms:?}");
    let ids = column(&app, "SELECT id_number_enc FROM users WHERE id_number_enc IS NOT NULL").await;
    assert!(ids.iter().all(|v| v.starts_with("k1:")));
    assert_ne!(std::fs::read(&path).unwrap(), file, "the plain file is sealed");
    let found = scan(&app, &["310112198503121235".to_owned(), "13800138001".to_owned()]).await;
    let outside_db: Vec<_> = found.iter().filter(|(_, place)| place.contains("files")).collect();
    assert!(outside_db.is_empty(), "{outside_db:?}");

    // The blind index is HMAC-SM3 under keys/index.key, and the lookup by ID number works.
    let index_key =
        hex::decode(std::fs::read_to_string(app.data_dir.join("keys").join("index.key")).unwrap().trim()).unwrap();
    let mut mac = <hmac::Hmac<sm3::Sm3> as hmac::digest::KeyInit>::new_from_slice(&index_key).unwrap();
    hmac::Mac::update(&mut mac, b"310112198503121235");
    let expected = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    let digest: String = sqlx::query("SELECT id_number_digest FROM users WHERE username = 'citizen01'")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(digest, expected);
    let window = app.login_as("window02").await;
    let r = app
        .post_form(&window, "/hall", "/hall/intake", &[("item", CITYWIDE_ITEM), ("id_number", "310112198503121235")])
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the walk-in lookup finds citizen01 by the recomputed index");
    let citizen = app.login_as("citizen01").await;
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains("310112********1235"));
}

#[tokio::test]
async fn staff_see_phones_and_id_numbers_masked_and_only_pii_reveal_shows_them_each_view_audited() {
    let app = TestApp::with_demo().await;
    let (application, case) = submit_with(&app, ITEM, &pdf_with_personal_data()).await;

    // The reviewer's case page and the citizen's own API view: masked, by default.
    let reviewer = app.login_as("reviewer01").await;
    let html = app.get(&reviewer, &format!("/office/cases/{case}")).await.text().await.unwrap();
    assert!(html.contains("138****8001") && html.contains("310112********1235"), "masked on the case page");
    assert!(!html.contains("13800138001") && !html.contains("310112198503121235"));
    assert!(!html.contains("查看完整信息</button>"), "no full-view button without the permission");
    let citizen = api_client(&app, "citizen01").await;
    let v = body(citizen.get(app.url(&format!("/api/v1/applications/{application}"))).send().await.unwrap()).await;
    let text = v["form"].to_string();
    assert!(!text.contains("13800138001") && !text.contains("310112198503121235"), "{text}");
    assert!(text.contains("138****8001"), "{text}");

    // Without pii.reveal: refused, on the page and in the API, and the refusal is audited.
    let r =
        app.post_form(&reviewer, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/reveal"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let reviewer_api = api_client(&app, "reviewer01").await;
    let r = reviewer_api.post(app.url(&format!("/api/v1/cases/{case}/reveal"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app.audit_rows("pii.reveal").await.is_empty());

    // The department head holds it: the full values, each view one audit record.
    let head = app.login_as("head01").await;
    let html = app.get(&head, &format!("/office/cases/{case}")).await.text().await.unwrap();
    assert!(html.contains("查看完整信息") && !html.contains("13800138001"), "masked until asked");
    let r = app.post_form(&head, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/reveal"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("13800138001") && html.contains("310112198503121235"));
    let head_api = api_client(&app, "head01").await;
    let r = head_api.post(app.url(&format!("/api/v1/cases/{case}/reveal"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body(r).await["form"].to_string().contains("13800138001"));
    let rows = app.audit_rows("pii.reveal").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|(actor, object, _)| actor == "head01" && object == &case));
    let details = column(&app, "SELECT detail FROM audit_log WHERE action = 'pii.reveal'").await;
    assert!(details.iter().all(|d| !d.contains("13800138001") && d.contains(&application)), "{details:?}");

    // Another department's head may not, even with the permission (data scope).
    let other = api_client(&app, "head02").await;
    let r = other.post(app.url(&format!("/api/v1/cases/{case}/reveal"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audit_rows("pii.reveal").await.len(), 2);
}
