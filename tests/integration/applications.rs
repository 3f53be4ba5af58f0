//! Online applications through the API and the pages: submission, receipt, idempotency,
//! privacy, withdrawal, and every kind of bad input.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::builders::{TEST_PDF, a_material, answers_for};
use crate::common::{TestApp, json, location};

const PDF: &[u8] = TEST_PDF;

/// A fully online item for persons with two required PDF materials and a form with an ID number.
async fn person_item(app: &TestApp) -> tongban::domain::item::ItemDefinition {
    let materials = vec![a_material("M01", "身份证明"), a_material("M02", "申请书")];
    app.an_item().with_materials(materials).await.def
}

fn submission(def: &tongban::domain::item::ItemDefinition, with_materials: bool) -> Form {
    let answers = answers_for(def, "张三");
    let mut form =
        Form::new().text("item", def.code.clone()).text("form", serde_json::Value::Object(answers).to_string());
    if with_materials {
        for m in def.materials.iter().filter(|m| m.required) {
            form = form.part(
                format!("material:{}", m.code),
                Part::bytes(PDF.to_vec()).file_name(format!("{}.pdf", m.code)).mime_str("application/pdf").unwrap(),
            );
        }
    }
    form
}

async fn citizen(app: &TestApp) -> reqwest::Client {
    app.a_citizen().await.api().await
}

#[tokio::test]
async fn a_citizen_submits_through_the_api_and_follows_the_application() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let client = citizen(&app).await;
    let r = client.post(app.url("/api/v1/applications")).multipart(submission(&def, true)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created = json(r).await;
    let number = created["number"].as_str().unwrap().to_owned();
    assert!(tongban::domain::application::looks_like_number(&number), "{number}");
    assert_eq!(created["status"], "submitted");
    let deadline = created["promised_deadline"].as_str().unwrap();
    let calendar = tongban::domain::calendar::WorkCalendar::builtin();
    let today = app.clock.today();
    assert_eq!(deadline, calendar.add_working_days(today, def.promised_days).to_string());

    let list = json(app.get(&client, "/api/v1/applications").await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["number"], number.as_str());
    let detail = json(app.get(&client, &format!("/api/v1/applications/{number}")).await).await;
    assert_eq!(detail["status"], "submitted");
    assert_eq!(detail["timeline"].as_array().unwrap().last().unwrap()["kind"], "submitted");
    assert_eq!(detail["materials"].as_array().unwrap().len(), def.materials.iter().filter(|m| m.required).count());

    // The stored file is the uploaded one, content-addressed.
    let sha = detail["materials"][0]["sha256"].as_str().unwrap();
    assert_eq!(app.state.core.blobs.get(sha).await.unwrap().as_ref(), PDF);

    // The applicant can open the file; nobody else can.
    let file_url = format!("/my/applications/{number}/files/{sha}");
    let r = app.get(&client, &file_url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);

    // Nobody else sees it, and nobody else can withdraw it.
    let other = citizen(&app).await;
    assert_eq!(app.get(&other, &format!("/api/v1/applications/{number}")).await.status(), StatusCode::NOT_FOUND);
    let r = other.post(app.url(&format!("/api/v1/applications/{number}/withdraw"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&other, &format!("/my/applications/{number}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&other, &file_url).await.status(), StatusCode::NOT_FOUND);

    // The applicant withdraws before acceptance; a second withdrawal conflicts.
    let r = client.post(app.url(&format!("/api/v1/applications/{number}/withdraw"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["status"], "withdrawn");
    let r = client.post(app.url(&format!("/api/v1/applications/{number}/withdraw"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_same_idempotency_key_never_makes_two_applications() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let client = citizen(&app).await;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let r = client
            .post(app.url("/api/v1/applications"))
            .header("Idempotency-Key", "retry-7f3a")
            .multipart(submission(&def, true))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        numbers.push(json(r).await["number"].as_str().unwrap().to_owned());
    }
    assert!(numbers.windows(2).all(|w| w[0] == w[1]), "{numbers:?}");
    assert_eq!(json(app.get(&client, "/api/v1/applications").await).await["total"], 1);
}

#[tokio::test]
async fn missing_fields_and_materials_are_listed_all_at_once() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let client = citizen(&app).await;
    let form = Form::new().text("item", def.code.clone()).text("form", "{}");
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(r).await;
    let fields: Vec<String> =
        body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_owned()).collect();
    for f in def.form.fields.iter().filter(|f| f.required && f.show_if.is_none()) {
        assert!(fields.contains(&f.name), "{} missing from {fields:?}", f.name);
    }
    for m in def.materials.iter().filter(|m| m.required) {
        assert!(fields.contains(&format!("material:{}", m.code)), "material {} missing from {fields:?}", m.code);
    }
    assert!(
        body["details"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| { d["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) })
    );
    // Nothing was created by the failed API call.
    assert_eq!(json(app.get(&client, "/api/v1/applications").await).await["total"], 0);
}

#[tokio::test]
async fn a_wrong_check_character_in_an_id_number_is_refused() {
    let app = TestApp::spawn().await;
    let is_id =
        |f: &tongban::domain::item::Field| f.kind == tongban::domain::item::FieldType::IdNumber && f.show_if.is_none();
    let def = person_item(&app).await;
    let field = def.form.fields.iter().find(|f| is_id(f)).unwrap().clone();
    let client = citizen(&app).await;
    let mut answers = answers_for(&def, "李四");
    answers.insert(field.name.clone(), serde_json::json!("110105194912310021"));
    let mut form =
        Form::new().text("item", def.code.clone()).text("form", serde_json::Value::Object(answers).to_string());
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), Part::bytes(PDF.to_vec()).file_name("a.pdf"));
    }
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(r).await;
    assert_eq!(body["details"][0]["field"], field.name.as_str());
    assert!(body["details"][0]["message"].as_str().unwrap().contains("校验位"));
}

#[tokio::test]
async fn files_are_checked_by_content_size_and_name() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let m = def.materials.iter().find(|m| m.required).unwrap().clone();
    let client = citizen(&app).await;
    let with_file = |bytes: Vec<u8>, name: &str| {
        let mut form = submission(&def, false);
        for other in def.materials.iter().filter(|o| o.required && o.code != m.code) {
            form = form.part(format!("material:{}", other.code), Part::bytes(PDF.to_vec()).file_name("ok.pdf"));
        }
        form.part(format!("material:{}", m.code), Part::bytes(bytes).file_name(name.to_owned()))
    };
    // An executable renamed to .pdf: refused by its content.
    let r = client
        .post(app.url("/api/v1/applications"))
        .multipart(with_file(b"MZ\x90\x00\x03rest-of-an-exe".to_vec(), "scan.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(json(r).await["message"].as_str().unwrap().contains(&m.name));
    // Over the material's limit: 413 naming the limit.
    let mut big = PDF.to_vec();
    big.resize(m.max_bytes as usize + 1, b' ');
    let r = client.post(app.url("/api/v1/applications")).multipart(with_file(big, "big.pdf")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let message = json(r).await["message"].as_str().unwrap().to_owned();
    assert!(message.contains(&tongban::app::applications::human_size(m.max_bytes)), "{message}");
    // A hostile name is harmless.
    let r = client
        .post(app.url("/api/v1/applications"))
        .multipart(with_file(PDF.to_vec(), "../../etc/<b>passwd</b>.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let number = json(r).await["number"].as_str().unwrap().to_owned();
    let detail = json(app.get(&client, &format!("/api/v1/applications/{number}")).await).await;
    let names: Vec<&str> =
        detail["materials"].as_array().unwrap().iter().map(|f| f["file_name"].as_str().unwrap()).collect();
    assert!(names.iter().all(|n| !n.contains('/') && !n.contains('<')), "{names:?}");
}

#[tokio::test]
async fn unknown_suspended_and_unsuitable_items_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let client = citizen(&app).await;
    let form = Form::new().text("item", "310112-NOPE-001").text("form", "{}");
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let console = tongban::app::Actor::console();
    tongban::app::catalogue::suspend(&app.state.core, &console, &def.code, "系统升级，12月1日恢复").await.unwrap();
    let r = client.post(app.url("/api/v1/applications")).multipart(submission(&def, true)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(json(r).await["message"].as_str().unwrap().contains("系统升级，12月1日恢复"));
    let html = app.get(&client, &format!("/items/{}", def.code)).await.text().await.unwrap();
    assert!(html.contains("暂停办理") && html.contains("系统升级"));
    tongban::app::catalogue::resume(&app.state.core, &console, &def.code).await.unwrap();

    // An item only for organisations, applied for by a person.
    let org_only = app.an_item().for_organisations().await.code;
    let form = Form::new().text("item", org_only).text("form", "{}");
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Staff cannot apply as citizens.
    let staff = app.a_reviewer("SCJGJ").await.api().await;
    let r = staff.post(app.url("/api/v1/applications")).multipart(submission(&def, true)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Malformed form JSON.
    let form = Form::new().text("item", def.code.clone()).text("form", "[1,2");
    let r = client.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(r).await["details"][0]["field"], "form");
}

#[tokio::test]
async fn the_application_page_saves_a_draft_then_submits_and_shows_the_receipt() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let citizen = app.a_citizen().await;
    let client = citizen.login().await;
    let page = app.get(&client, &format!("/apply/{}", def.code)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let token = crate::common::csrf_in(&html).unwrap();
    let action = format!("/apply/{}", def.code);
    // Save a draft with one material; the page comes back with it.
    let m = def.materials.iter().find(|m| m.required).unwrap();
    let form = Form::new()
        .text("action", "save")
        .part(format!("material:{}", m.code), Part::bytes(PDF.to_vec()).file_name("身份证.pdf"));
    let r = client.post(app.url(&action)).header("x-csrf-token", token.as_str()).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get(&client, &location(&r)).await.text().await.unwrap();
    assert!(html.contains("草稿已保存") && html.contains("已上传：身份证.pdf"));
    // Submitting with nothing filled lists every problem, and keeps the uploaded file.
    let r = client
        .post(app.url(&action))
        .header("x-csrf-token", token.as_str())
        .multipart(Form::new().text("action", "submit"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("error-summary") && html.contains("已上传：身份证.pdf"));
    // Without the token, the upload is refused.
    let r = client
        .post(app.url(&format!("/apply/{}", def.code)))
        .multipart(Form::new().text("action", "save"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Now everything (the page sends every material again; the stored one is replaced).
    let form = page_form(&def, "page-test");
    let r = client.post(app.url(&action)).header("x-csrf-token", token.as_str()).multipart(form).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap_or_default().chars().take(3000).collect::<String>()
    );
    let receipt_url = location(&r);
    let html = app.get(&client, &receipt_url).await.text().await.unwrap();
    assert!(html.contains("申请已提交") && html.contains("预计"), "receipt");
    let number = receipt_url.trim_start_matches("/my/applications/").split('?').next().unwrap().to_owned();
    let list = app.get(&client, "/my/applications").await.text().await.unwrap();
    assert!(list.contains(&number));
}

/// The page's multipart form with every answer and material, carrying `key` as its form key.
fn page_form(def: &tongban::domain::item::ItemDefinition, key: &str) -> Form {
    let mut form = Form::new().text("action", "submit").text("idempotency_key", key.to_owned());
    for (k, v) in answers_for(def, "李四") {
        match v {
            serde_json::Value::String(s) => form = form.text(format!("f.{k}"), s),
            serde_json::Value::Bool(true) => form = form.text(format!("f.{k}"), "on"),
            serde_json::Value::Array(rows) => {
                for (i, row) in rows.iter().enumerate() {
                    for (c, cell) in row.as_object().unwrap() {
                        form = form.text(format!("f.{k}.{i}.{c}"), cell.as_str().unwrap_or_default().to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    for m in def.materials.iter().filter(|m| m.required) {
        form = form.part(format!("material:{}", m.code), Part::bytes(PDF.to_vec()).file_name("x.pdf"));
    }
    form
}

#[tokio::test]
async fn submitting_the_same_page_twice_makes_one_application() {
    let app = TestApp::spawn().await;
    let def = person_item(&app).await;
    let citizen = app.a_citizen().await;
    let client = citizen.login().await;
    let html = app.get(&client, &format!("/apply/{}", def.code)).await.text().await.unwrap();
    let token = crate::common::csrf_in(&html).unwrap();
    assert!(html.contains("name=\"idempotency_key\""));
    let action = app.url(&format!("/apply/{}", def.code));
    let first = client
        .post(&action)
        .header("x-csrf-token", token.as_str())
        .multipart(page_form(&def, "same-form-1"))
        .send()
        .await
        .unwrap();
    let second = client
        .post(&action)
        .header("x-csrf-token", token.as_str())
        .multipart(page_form(&def, "same-form-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), location(&second));
    let api = citizen.api().await;
    assert_eq!(json(app.get(&api, "/api/v1/applications").await).await["total"], 1);
}
