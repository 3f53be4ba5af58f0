//! Personal data at rest (issue #12, §2): after a citizen's journey over HTTP, no ID number or
//! phone number of theirs is found in the raw database files (SQLite file, WAL and
//! shared memory; a `pg_dump` on PostgreSQL) or in any file of the data directory, in any usual
//! form; the data directory is private; key rotation re-seals every value and file; a database
//! of the previous release is converted at start; phones and ID numbers are masked for staff
//! unless a `pii.reveal` holder asks, and each full view is audited.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::Row;

use crate::builders::{Account, TEST_PDF, answers_for};
use crate::cases::{Office, act, case_of, office, page_form};
use crate::common::{TestApp, json as body};

/// 个体工商户设立登记: 区市场监管局, issues 个体工商户营业执照 on approval (see [`office`]).
const ITEM: &str = crate::cases::ITEM;
/// 失业保险金申领: 区人社局, citywide (window intake).
const CITYWIDE_ITEM: &str = "310112-RSJ-004";

/// The people of these tests: the 区市场监管局's office with its citizen 张三 (whose ID number
/// and phone the tests look for), a window at 莘庄 taking the 区人社局's citywide item, a
/// reviewer and the head of the 区人社局.
struct People {
    office: Office,
    window: Account,
    rsj_reviewer: Account,
    rsj_head: Account,
    /// 张三's ID number and mobile number.
    id: String,
    phone: String,
}

impl People {
    fn citizen(&self) -> &Account {
        &self.office.citizen
    }

    fn personal_numbers(&self) -> Vec<String> {
        vec![self.id.clone(), self.phone.clone()]
    }
}

async fn people(app: &TestApp) -> People {
    let office = office(app).await;
    app.a_department("RSJ", "区人力资源社会保障局").await;
    app.an_item().code(CITYWIDE_ITEM).named("失业保险金申领").in_department("RSJ").citywide().await;
    let id = office.citizen.id_number.clone().unwrap();
    let phone = office.citizen.phone.clone().unwrap();
    People {
        window: app.a_staff().at_site("xinzhuang").with_role("window").await,
        rsj_reviewer: app.a_reviewer("RSJ").await,
        rsj_head: app.a_head("RSJ").await,
        office,
        id,
        phone,
    }
}

/// The answers to `def` with `who`'s own ID number and phone.
fn answers_of(def: &tongban::domain::item::ItemDefinition, who: &People) -> serde_json::Map<String, Value> {
    use tongban::domain::item::FieldType;
    let mut answers = answers_for(def, "张三");
    for f in &def.form.fields {
        match f.kind {
            FieldType::IdNumber => answers.insert(f.name.clone(), json!(who.id)),
            FieldType::Phone => answers.insert(f.name.clone(), json!(who.phone)),
            _ => None,
        };
    }
    answers
}

/// An ID number as staff and the applicant see it: the first six and last four characters.
fn masked_id(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

/// A phone number as staff see it: the first three and last four digits.
fn masked_phone(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[7..])
}

/// A phone number grouped 3-4-4 with `sep`.
fn grouped(phone: &str, sep: &str) -> String {
    format!("{}{sep}{}{sep}{}", &phone[..3], &phone[3..7], &phone[7..])
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
pub async fn scan(app: &TestApp, numbers: &[String]) -> Vec<(String, String)> {
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

/// A PDF that carries the citizen's ID number and phone in its text, as a scanned form would.
fn pdf_with_personal_data(who: &People) -> Vec<u8> {
    let mut pdf = TEST_PDF.to_vec();
    pdf.extend_from_slice(format!("%applicant {} {}\n", who.id, who.phone).as_bytes());
    pdf
}

fn pdf_part(bytes: &[u8], name: &str) -> Part {
    Part::bytes(bytes.to_vec()).file_name(format!("{name}.pdf")).mime_str("application/pdf").unwrap()
}

/// The citizen submits `item` through the API with their own ID number and phone in the answers
/// and `file` for every required material; returns (application number, case number).
async fn submit_with(app: &TestApp, who: &People, item: &str, file: &[u8]) -> (String, String) {
    let def = tongban::app::catalogue::guide(&app.state.core, item).await.unwrap().def;
    let client = who.citizen().api().await;
    let answers = answers_of(&def, who);
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

/// The window takes a citywide application for the citizen at the counter, over the pages.
async fn window_intake(app: &TestApp, who: &People, file: &[u8]) -> String {
    let def = tongban::app::catalogue::guide(&app.state.core, CITYWIDE_ITEM).await.unwrap().def;
    let window = who.window.login().await;
    let r = app.post_form(&window, "/hall", "/hall/intake", &[("item", CITYWIDE_ITEM), ("id_number", &who.id)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(!html.contains(&who.phone), "the window does not see the stored phone");
    let token = crate::common::csrf_in(&html).unwrap();
    let answers = answers_of(&def, who);
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
async fn approve(app: &TestApp, who: &People, case: &str) -> String {
    let reviewer = who.office.reviewer.api().await;
    let head = who.office.head.api().await;
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
async fn no_id_number_or_phone_is_found_in_the_raw_database_or_the_data_directory() {
    let app = TestApp::spawn().await;
    let who = people(&app).await;
    let business = app.an_organisation().await;
    // The citizen's numbers, the other accounts' phones, and the answers' sample numbers.
    let mut numbers = who.personal_numbers();
    numbers.push(business.phone.clone().unwrap());
    let sample = answers_for(&who.office.item.def, "");
    numbers.extend(["id_number", "phone"].map(|f| sample[f].as_str().unwrap().to_owned()));
    let file = pdf_with_personal_data(&who);
    let (application, case) = submit_with(&app, &who, ITEM, &file).await;
    // A second application with the sample answers (numbers that are nobody's account).
    app.a_case().for_item(&who.office.item).by(&app.a_citizen().await).await;
    let taken = window_intake(&app, &who, &file).await;
    let licence = approve(&app, &who, &case).await;
    // Staff's free text quoting the applicant's numbers: an internal remark, and a one-time
    // notice (which reaches the message centre and a text message).
    let reviewer = who.office.reviewer.login().await;
    let remark = format!("已电话联系 {}，身份证 {} 核对无误", who.phone, who.id);
    let r = app
        .post_form(
            &reviewer,
            &format!("/office/cases/{case}"),
            &format!("/office/cases/{case}/notes"),
            &[("comment", remark.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let rsj = who.rsj_reviewer.api().await;
    let taken_case = case_of(&app, &taken).await;
    let def = tongban::app::catalogue::guide(&app.state.core, CITYWIDE_ITEM).await.unwrap().def;
    let first = def.materials.iter().find(|m| m.required).unwrap().code.clone();
    let mut notes = serde_json::Map::new();
    notes.insert(first.clone(), json!(format!("请补充 {} 机主证明", grouped(&who.phone, " "))));
    let r = act(
        &rsj,
        &app,
        &taken_case,
        json!({"action": "request_supplement", "materials": [first], "material_notes": notes,
            "comment": format!("联系电话 {}", who.phone)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let sent = tongban::app::jobs::run_pending(&app.state.core, "test").await.unwrap();
    assert!(sent > 0, "the text messages were sent");
    let html = app.get(&who.citizen().login().await, "/my/messages").await.text().await.unwrap();
    assert!(html.contains("机主证明"), "the message centre reads the sealed bodies");

    // Everything still works from the sealed data: the citizen's application and file, the
    // licence's public verification, the staff's (masked) case page.
    let citizen = who.citizen().login().await;
    let masked_id = masked_id(&who.id);
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains(&masked_id), "the citizen's answers are shown, masked");
    let sha = tongban::store::blobs::sha256_hex(&file);
    let r = app.get(&citizen, &format!("/my/applications/{application}/files/{sha}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), file.as_slice(), "the download route returns the plain file");
    let v = body(app.client().get(app.url(&format!("/api/v1/licences/{licence}/verification"))).send().await.unwrap())
        .await;
    assert_eq!(v["valid"], true);
    let page = app.get(&app.client(), &format!("/verify/{licence}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let head = who.office.head.login().await;
    let r = app.post_form(&head, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/reveal"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains(&who.phone), "the audited full view shows the phone");

    let found = scan(&app, &numbers).await;
    assert!(found.is_empty(), "personal data at rest in plain: {found:?}");
    // The scan can fail: a plain value written anywhere is found.
    sqlx::query("UPDATE notifications SET body = $1 WHERE id = (SELECT MIN(id) FROM notifications)")
        .bind(format!("联系 {}", grouped(&who.phone, "-")))
        .execute(app.state.core.db.write_pool())
        .await
        .unwrap();
    if !app.database_url.starts_with("postgres") {
        sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(app.state.core.db.write_pool()).await.unwrap();
    }
    let found = scan(&app, std::slice::from_ref(&who.phone)).await;
    assert!(!found.is_empty(), "the scan finds a planted phone");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_is_private_to_the_service_and_every_file_in_it_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let who = people(&app).await;
    let _ = submit_with(&app, &who, ITEM, &pdf_with_personal_data(&who)).await;
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
    let app = TestApp::spawn().await;
    let who = people(&app).await;
    let file = pdf_with_personal_data(&who);
    let (application, case) = submit_with(&app, &who, ITEM, &file).await;
    let licence = approve(&app, &who, &case).await;
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
    let citizen = who.citizen().login().await;
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains(&masked_id(&who.id)));
    let r = app.get(&citizen, &format!("/my/applications/{application}/files/{sha}")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), file.as_slice());
    let v = body(app.client().get(app.url(&format!("/api/v1/licences/{licence}/verification"))).send().await.unwrap())
        .await;
    assert_eq!(v["valid"], true);
    let doc = app.get(&citizen, &format!("/my/licences/{licence}")).await;
    assert_eq!(doc.status(), StatusCode::OK);
    // Lookups by ID number (the blind index is not rotated) still find the person.
    let window = who.window.login().await;
    let r = app.post_form(&window, "/hall", "/hall/intake", &[("item", CITYWIDE_ITEM), ("id_number", &who.id)]).await;
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
    let app = TestApp::spawn().await;
    let who = people(&app).await;
    let file = pdf_with_personal_data(&who);
    let (application, _) = submit_with(&app, &who, ITEM, &file).await;
    let core = &app.state.core;
    let pool = core.db.write_pool();
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
    let found = scan(&app, &who.personal_numbers()).await;
    let outside_db: Vec<_> = found.iter().filter(|(_, place)| place.contains("files")).collect();
    assert!(outside_db.is_empty(), "{outside_db:?}");

    // The blind index is HMAC-SM3 under keys/index.key, and the lookup by ID number works.
    let index_key =
        hex::decode(std::fs::read_to_string(app.data_dir.join("keys").join("index.key")).unwrap().trim()).unwrap();
    let mut mac = <hmac::Hmac<sm3::Sm3> as hmac::digest::KeyInit>::new_from_slice(&index_key).unwrap();
    hmac::Mac::update(&mut mac, who.id.as_bytes());
    let expected = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    let digest: String = sqlx::query("SELECT id_number_digest FROM users WHERE username = $1")
        .bind(&who.citizen().username)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(digest, expected);
    let window = who.window.login().await;
    let r = app.post_form(&window, "/hall", "/hall/intake", &[("item", CITYWIDE_ITEM), ("id_number", &who.id)]).await;
    assert_eq!(r.status(), StatusCode::OK, "the walk-in lookup finds the citizen by the recomputed index");
    let citizen = who.citizen().login().await;
    let html = app.get(&citizen, &format!("/my/applications/{application}")).await.text().await.unwrap();
    assert!(html.contains(&masked_id(&who.id)));
}

#[tokio::test]
async fn staff_see_phones_and_id_numbers_masked_and_only_pii_reveal_shows_them_each_view_audited() {
    let app = TestApp::spawn().await;
    let who = people(&app).await;
    let (application, case) = submit_with(&app, &who, ITEM, &pdf_with_personal_data(&who)).await;
    let (id, phone) = (who.id.as_str(), who.phone.as_str());
    let masked_phone = masked_phone(phone);
    let masked_id = masked_id(id);

    // The reviewer's case page and the citizen's own API view: masked, by default.
    let reviewer = who.office.reviewer.login().await;
    let html = app.get(&reviewer, &format!("/office/cases/{case}")).await.text().await.unwrap();
    assert!(html.contains(&masked_phone) && html.contains(&masked_id), "masked on the case page");
    assert!(!html.contains(phone) && !html.contains(id));
    assert!(!html.contains("查看完整信息</button>"), "no full-view button without the permission");
    let citizen = who.citizen().api().await;
    let v = body(citizen.get(app.url(&format!("/api/v1/applications/{application}"))).send().await.unwrap()).await;
    let text = v["form"].to_string();
    assert!(!text.contains(phone) && !text.contains(id), "{text}");
    assert!(text.contains(&masked_phone), "{text}");

    // Without pii.reveal: refused, on the page and in the API, and the refusal is audited.
    let r =
        app.post_form(&reviewer, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/reveal"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let reviewer_api = who.office.reviewer.api().await;
    let r = reviewer_api.post(app.url(&format!("/api/v1/cases/{case}/reveal"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app.audit_rows("pii.reveal").await.is_empty());

    // The department head holds it: the full values, each view one audit record.
    let head = who.office.head.login().await;
    let html = app.get(&head, &format!("/office/cases/{case}")).await.text().await.unwrap();
    assert!(html.contains("查看完整信息") && !html.contains(phone), "masked until asked");
    let r = app.post_form(&head, &format!("/office/cases/{case}"), &format!("/office/cases/{case}/reveal"), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(phone) && html.contains(id));
    let head_api = who.office.head.api().await;
    let r = head_api.post(app.url(&format!("/api/v1/cases/{case}/reveal"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body(r).await["form"].to_string().contains(phone));
    let rows = app.audit_rows("pii.reveal").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|(actor, object, _)| actor == &who.office.head.username && object == &case));
    let details = column(&app, "SELECT detail FROM audit_log WHERE action = 'pii.reveal'").await;
    assert!(details.iter().all(|d| !d.contains(phone) && d.contains(&application)), "{details:?}");

    // Another department's head may not, even with the permission (data scope).
    let other = who.rsj_head.api().await;
    let r = other.post(app.url(&format!("/api/v1/cases/{case}/reveal"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.audit_rows("pii.reveal").await.len(), 2);
}
