//! Electronic licences: issuance, the wallet, verification by anyone, signatures that OpenSSL
//! agrees with, privacy of documents, the lifecycle, reuse instead of paper, import, sharing.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json as j};
use tongban::domain::day::Day;

use crate::builders::{Account, TEST_PDF, a_material, answers_for};
use crate::common::{TestApp, json, location};

/// The licence types these tests use, as the catalogue codes them: (code, catalogue code, name,
/// issuing department, held by organisations, face fields, validity).
#[rustfmt::skip]
const TYPES: &[(&str, &str, &str, &str, bool, &str, &str)] = &[
    ("INDIVIDUAL_BUSINESS_LICENCE", "SCJGJ001", "个体工商户营业执照", "SCJGJ", false,
        "holder_name|经营者|必填\nbusiness_name|名称|选填\norganisation_form|组成形式|必填\nbusiness_address|经营场所|必填\nbusiness_scope|经营范围|必填",
        "permanent"),
    ("BUSINESS_LICENCE", "SCJGJ002", "营业执照", "SCJGJ", true,
        "holder_name|名称|必填\nlegal_representative|法定代表人|必填\naddress|住所|必填", "permanent"),
    ("FOOD_LICENCE", "SCJGJ003", "食品经营许可证", "SCJGJ", true,
        "holder_name|经营者名称|必填\nbusiness_address|经营场所|必填\nbusiness_items|经营项目|必填", "years:5"),
    ("DISABILITY_CERT", "CL001", "中华人民共和国残疾人证", "CL", false,
        "holder_name|姓名|必填\ndisability_kind|残疾类别|必填\ndisability_level|残疾等级|必填", "years:10"),
    ("MARRIAGE_CERT", "MZJ001", "结婚证", "MZJ", false,
        "holder_name|持证人|必填\nspouse_name|配偶姓名|必填\nregistered_on|登记日期|必填", "permanent"),
    ("HOUSEHOLD_REGISTER", "GAFJ001", "居民户口簿", "GAFJ", false, "holder_name|户主姓名|必填\naddress|住址|必填", "permanent"),
    ("RESIDENCE_PERMIT", "GAFJ002", "上海市居住证", "GAFJ", false, "holder_name|姓名|必填\naddress|居住地址|必填", "years:3"),
    ("SOCIAL_SECURITY_CARD", "RSJ001", "社会保障卡", "RSJ", false, "holder_name|姓名|必填\ncard_number|卡号|必填", "years:10"),
];

/// The issuing departments and the licence catalogue of [`TYPES`].
async fn licence_types(app: &TestApp) {
    for (code, name) in [
        ("SCJGJ", "区市场监管局"),
        ("MZJ", "区民政局"),
        ("GAFJ", "区公安分局"),
        ("CL", "区残联"),
        ("RSJ", "区人力资源社会保障局"),
        ("SWJ", "区税务局"),
    ] {
        app.a_department(code, name).await;
    }
    for (code, catalog_code, name, department, organisations, face, validity) in TYPES {
        let mut ty = app.a_licence_type(code).catalog_code(catalog_code).named(name).in_department(department);
        if *organisations {
            ty = ty.for_organisations();
        }
        ty.face(face).valid_for(validity).await;
    }
}

/// Wallets with something in them: 张三's 个体工商户营业执照 (闵行区张记小吃店), 结婚证, 户口簿 and an
/// older 居住证 that its department revoked; a restaurant company's 营业执照 and 食品经营许可证.
struct Wallets {
    zhang: Account,
    business: Account,
}

async fn wallets(app: &TestApp) -> Wallets {
    licence_types(app).await;
    let zhang = app.a_citizen().named("张三").await;
    let business = app.an_organisation().named("上海闵味餐饮管理有限公司").await;
    app.a_licence("INDIVIDUAL_BUSINESS_LICENCE")
        .held_by(&zhang)
        .with_face(&[
            ("business_name", "闵行区张记小吃店"),
            ("organisation_form", "个人经营"),
            ("business_address", "闵行区莘庄镇示例路 1 号"),
            ("business_scope", "小型餐饮服务"),
        ])
        .await;
    app.a_licence("MARRIAGE_CERT")
        .held_by(&zhang)
        .with_face(&[("spouse_name", "王芳"), ("registered_on", "2012-05-20")])
        .await;
    app.a_licence("HOUSEHOLD_REGISTER")
        .held_by(&zhang)
        .with_face(&[("address", "上海市闵行区莘庄镇示例路 1 号")])
        .await;
    app.a_licence("BUSINESS_LICENCE")
        .held_by(&business)
        .with_face(&[("legal_representative", "王五"), ("address", "上海市闵行区七宝镇示例路 8 号")])
        .await;
    app.a_licence("FOOD_LICENCE")
        .held_by(&business)
        .with_face(&[("business_address", "上海市闵行区七宝镇示例路 8 号"), ("business_items", "热食类食品制售")])
        .await;
    app.a_licence("RESIDENCE_PERMIT")
        .held_by(&zhang)
        .with_face(&[("address", "上海市闵行区古美路街道示例路 3 号")])
        .revoked("已换发新证")
        .await;
    Wallets { zhang, business }
}

/// 个体工商户变更登记, whose required 个体工商户营业执照 (M01) an electronic licence may replace.
async fn change_registration(app: &TestApp) -> tongban::domain::item::ItemDefinition {
    let licence = tongban::domain::item::Material {
        licence_type: Some("INDIVIDUAL_BUSINESS_LICENCE".into()),
        ..a_material("M01", "个体工商户营业执照")
    };
    app.an_item()
        .code("310112-SCJGJ-002")
        .named("个体工商户变更登记")
        .in_department("SCJGJ")
        .with_materials(vec![
            licence,
            a_material("M02", "经营者居民身份证"),
            a_material("M03", "个体工商户变更登记申请书"),
        ])
        .await
        .def
}

fn licence_admin(app: &TestApp) -> crate::builders::AccountBuilder<'_> {
    app.a_staff().with_role("licence_admin")
}

/// The identifier of the caller's first licence of a type.
async fn licence_of(app: &TestApp, client: &reqwest::Client, licence_type: &str) -> String {
    let list = json(app.get(client, "/api/v1/licences").await).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["licence_type"] == licence_type)
        .unwrap_or_else(|| panic!("no {licence_type} in {list}"))["identifier"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = app.get(client, path).await;
    (r.status(), r.text().await.unwrap())
}

fn query_value(location: &str, key: &str) -> String {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_licence_issued_by_hand_reaches_the_wallet_verifies_as_valid_and_then_as_revoked() {
    let app = TestApp::spawn().await;
    licence_types(&app).await;
    let li = app.a_citizen().named("李四").await;
    let head_account = app.a_head("SCJGJ").await;
    let admin = licence_admin(&app).await.login().await;
    let holder = li.username.as_str();
    let form_page = "/admin/licences/issue?licence_type=INDIVIDUAL_BUSINESS_LICENCE";
    let html = app.get(&admin, form_page).await.text().await.unwrap();
    assert!(html.contains("经营场所"), "the face fields of the type are asked for");
    // Every missing face field is reported at once.
    let r = app
        .post_form(
            &admin,
            form_page,
            "/admin/licences/issue",
            &[("licence_type", "INDIVIDUAL_BUSINESS_LICENCE"), ("holder", holder)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("请填写照面信息「经营场所」") && html.contains("请填写照面信息「经营范围」"), "{html}");
    assert!(html.contains(&format!("value=\"{holder}\"")), "the page comes back with what was typed");
    let r = app
        .post_form(
            &admin,
            form_page,
            "/admin/licences/issue",
            &[
                ("licence_type", "INDIVIDUAL_BUSINESS_LICENCE"),
                ("holder", holder),
                ("face.organisation_form", "个人经营"),
                ("face.business_address", "闵行区七宝镇测试路 2 号"),
                ("face.business_scope", "小吃服务"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let identifier = query_value(&location(&r), "issued");
    assert!(identifier.starts_with("1.2.156.3005.2.SCJGJ001."), "{identifier}");
    assert_eq!(app.audit_rows("licence.issue").await[0].1, identifier);

    // The holder sees it in the wallet, with its face and a QR code that opens the verification page.
    let citizen = li.login().await;
    let (status, html) = page(&app, &citizen, "/my/licences").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("个体工商户营业执照") && html.contains("有效"));
    let (status, html) = page(&app, &citizen, &format!("/my/licences/{identifier}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("闵行区七宝镇测试路 2 号") && html.contains("<svg"), "face and QR code");
    assert!(html.contains(&format!("/verify/{identifier}")));

    // Anyone verifies it, with the holder masked.
    let anonymous = app.client();
    let (status, html) = page(&app, &anonymous, &format!("/verify/{identifier}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("该证照真实有效"), "{html}");
    assert!(html.contains("李*，3101**********"), "masked holder: {html}");
    assert!(!html.contains("李四"), "the full name is not shown");
    let v = json(app.get(&anonymous, &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert_eq!((v["valid"].clone(), v["status"].clone()), (j!(true), j!("valid")));
    assert_eq!(v["type"], "个体工商户营业执照");
    assert_eq!(v["issuer"], "区市场监管局");
    assert!(v["expires_on"].is_null(), "permanent");

    // The issuing department's head revokes it; the verification says so at once.
    let head = head_account.login().await;
    let detail = format!("/office/licences/{identifier}");
    let r = app.post_form(&head, &detail, &format!("{detail}/status"), &[("action", "revoke")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let r = app
        .post_form(&head, &detail, &format!("{detail}/status"), &[("action", "revoke"), ("reason", "虚假登记")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &anonymous, &format!("/verify/{identifier}")).await;
    assert!(html.contains("已吊销") && html.contains("虚假登记"), "{html}");
    assert!(!html.contains("该证照真实有效"));
    let v = json(app.get(&anonymous, &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert_eq!((v["valid"].clone(), v["status"].clone()), (j!(false), j!("revoked")));
    assert_eq!(
        app.audit_rows("licence.revoke").await[0],
        (head_account.username, identifier.clone(), "success".into())
    );
    // An ended licence stays ended.
    let r = app.post_form(&head, &detail, &format!("{detail}/status"), &[("action", "restore")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

fn openssl_verify(dir: &std::path::Path, pem: &str, payload: &[u8], signature: &[u8]) -> bool {
    std::fs::write(dir.join("pub.pem"), pem).unwrap();
    std::fs::write(dir.join("payload"), payload).unwrap();
    std::fs::write(dir.join("sig.der"), signature).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-pubin"])
        .arg("-inkey")
        .arg(dir.join("pub.pem"))
        .arg("-in")
        .arg(dir.join("payload"))
        .arg("-sigfile")
        .arg(dir.join("sig.der"))
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    out.status.success() && stdout.contains("Signature Verified Successfully")
}

#[tokio::test]
async fn openssl_verifies_a_downloaded_document_and_rejects_it_after_one_byte_changes() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let citizen = wallets(&app).await.zhang.api().await;
    let identifier = licence_of(&app, &citizen, "INDIVIDUAL_BUSINESS_LICENCE").await;
    let doc = json(app.get(&citizen, &format!("/api/v1/licences/{identifier}/document")).await).await;
    assert_eq!(doc["algorithm"], "SM2-SM3");
    let payload = doc["payload"].as_str().unwrap().to_owned();
    let parsed: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(parsed["metadata"]["identifier"], identifier.as_str());
    assert_eq!(parsed["metadata"]["holder_name"], "张三");
    assert_eq!(parsed["face"]["business_name"], "闵行区张记小吃店");
    assert_eq!(tongban::domain::licence::canonical_json(&parsed), payload, "the payload is in canonical form");
    let signature = base64::engine::general_purpose::STANDARD.decode(doc["signature"].as_str().unwrap()).unwrap();
    let keys = json(app.get(&app.client(), "/api/v1/licences/keys").await).await;
    let key = keys["keys"].as_array().unwrap().iter().find(|k| k["key_id"] == doc["key_id"]).expect("the signing key");
    assert_eq!(key["algorithm"], "SM2");
    let pem = key["public_key_pem"].as_str().unwrap();

    let dir = app.data_dir.join("openssl");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(openssl_verify(&dir, pem, payload.as_bytes(), &signature), "OpenSSL 3 verifies the signature");
    let mut changed = payload.clone().into_bytes();
    let at = payload.find("张记").unwrap();
    changed[at + 3] ^= 0x01;
    assert!(!openssl_verify(&dir, pem, &changed, &signature), "one changed byte breaks it");
}

#[tokio::test]
async fn a_tampered_or_truncated_document_is_not_genuine_and_a_non_document_is_refused() {
    let app = TestApp::spawn().await;
    let wallets = wallets(&app).await;
    let citizen = wallets.zhang.api().await;
    let identifier = licence_of(&app, &citizen, "MARRIAGE_CERT").await;
    let doc = json(app.get(&citizen, &format!("/api/v1/licences/{identifier}/document")).await).await;
    let anonymous = app.client();
    let check = |body: Vec<u8>| {
        let request = anonymous
            .post(app.url("/api/v1/licences/verify"))
            .header("content-type", "application/json")
            .body(body)
            .send();
        async move {
            let r = request.await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let ok = check(doc.to_string().into_bytes()).await;
    assert_eq!((ok["signature_valid"].clone(), ok["valid"].clone()), (j!(true), j!(true)));
    assert_eq!(ok["identifier"], identifier.as_str());

    let mut tampered = doc.clone();
    tampered["payload"] = j!(doc["payload"].as_str().unwrap().replace("王芳", "王芬"));
    let mut truncated_signature = doc.clone();
    let sig = doc["signature"].as_str().unwrap();
    truncated_signature["signature"] = j!(&sig[..sig.len() - 8]);
    let mut truncated_payload = doc.clone();
    let payload = doc["payload"].as_str().unwrap();
    truncated_payload["payload"] = j!(&payload[..payload.len() - 1]);
    let mut other_key = doc.clone();
    other_key["key_id"] = j!("SM2-0000000000000000");
    let text = doc.to_string();
    for body in [
        tampered.to_string().into_bytes(),
        truncated_signature.to_string().into_bytes(),
        truncated_payload.to_string().into_bytes(),
        other_key.to_string().into_bytes(),
    ] {
        let answer = check(body.clone()).await;
        assert_eq!(answer["signature_valid"], false, "{}", String::from_utf8_lossy(&body));
        assert_eq!(answer["valid"], false);
    }
    // A body that is not a document at all is a client error in the API's shape (issue #12).
    for body in [
        text.as_bytes()[..text.len() / 2].to_vec(),
        b"not json at all".to_vec(),
        j!({"payload": 1, "signature": [], "key_id": null}).to_string().into_bytes(),
    ] {
        let r = anonymous
            .post(app.url("/api/v1/licences/verify"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 400 | 422), "{} → {}", String::from_utf8_lossy(&body), r.status());
        assert!(json(r).await["code"].is_string());
    }
    // A genuine document of a revoked licence: the signature is fine, the licence is not valid.
    let head = app.a_head("SCJGJ").await.login().await;
    let other = wallets.business.api().await;
    let food = licence_of(&app, &other, "FOOD_LICENCE").await;
    let food_doc = json(app.get(&other, &format!("/api/v1/licences/{food}/document")).await).await;
    let r = head
        .post(app.url(&format!("/api/v1/licences/{food}/revoke")))
        .json(&j!({"reason": "停业", "kind": "cancel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["status"], "cancelled");
    let answer = check(food_doc.to_string().into_bytes()).await;
    assert_eq!((answer["signature_valid"].clone(), answer["valid"].clone()), (j!(true), j!(false)));
    assert_eq!(answer["status"], "cancelled");
}

#[tokio::test]
async fn another_citizen_cannot_fetch_someone_elses_licence() {
    let app = TestApp::spawn().await;
    let zhang = wallets(&app).await.zhang;
    let owner = zhang.api().await;
    let identifier = licence_of(&app, &owner, "INDIVIDUAL_BUSINESS_LICENCE").await;
    let other = app.a_citizen().await.api().await;
    let r = app.get(&other, &format!("/api/v1/licences/{identifier}/document")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["code"], "not_found");
    assert_eq!(app.get(&other, &format!("/my/licences/{identifier}")).await.status(), StatusCode::NOT_FOUND);
    let list = json(app.get(&other, "/api/v1/licences").await).await;
    assert_eq!(list["total"], 0, "the other citizen holds none");
    // Staff of a department without the holder's grant get nothing either; with it, they do.
    let reviewer = app.a_reviewer("SCJGJ").await.api().await;
    let path = format!("/api/v1/licences/{identifier}/document");
    assert_eq!(app.get(&reviewer, &path).await.status(), StatusCode::NOT_FOUND);
    let holder = zhang.login().await;
    let mine = format!("/my/licences/{identifier}");
    let r = app
        .post_form(
            &holder,
            &mine,
            &format!("{mine}/grant"),
            &[("department", "SCJGJ"), ("purpose", "办理食品经营许可")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app.get(&reviewer, &path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(json(r).await["payload"].as_str().unwrap().contains(&identifier));
    let (_, html) = page(&app, &holder, &mine).await;
    assert!(html.contains("区市场监管局") && html.contains("持证人已授权"), "the use is in the holder's log");
}

#[tokio::test]
async fn unknown_identifiers_say_no_such_licence_and_bad_check_characters_are_unprocessable() {
    let app = TestApp::spawn().await;
    let anonymous = app.client();
    let credit = tongban::domain::identity::credit_code_with_check("11310112MB0000001").unwrap();
    let unknown =
        tongban::domain::licence::LicenceIdentifier::new("SCJGJ001", &credit, "999999999999", 1).unwrap().to_string();
    let (status, html) = page(&app, &anonymous, &format!("/verify/{unknown}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("查无此证"), "{html}");
    let r = app.get(&anonymous, &format!("/api/v1/licences/{unknown}/verification")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let last = unknown.chars().last().unwrap();
    let wrong = format!("{}{}", &unknown[..unknown.len() - 1], if last == 'A' { 'B' } else { 'A' });
    let (status, html) = page(&app, &anonymous, &format!("/verify/{wrong}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("校验位不正确"), "{html}");
    let r = app.get(&anonymous, &format!("/api/v1/licences/{wrong}/verification")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(r).await["details"][0]["code"], "check_character");
    let r = app.get(&anonymous, "/api/v1/licences/not-an-identifier/verification").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The form page sends a typed identifier on to its result page.
    let r = app.get(&anonymous, &format!("/verify?identifier={}", unknown.to_lowercase())).await;
    assert_eq!(location(&r), format!("/verify/{unknown}"));
}

#[tokio::test]
async fn only_the_issuing_departments_head_may_revoke_and_a_refusal_is_audited() {
    let app = TestApp::spawn().await;
    let citizen = wallets(&app).await.zhang.api().await;
    let head_account = app.a_head("SCJGJ").await;
    // 结婚证 is issued by 区民政局; the head heads 区市场监管局.
    let identifier = licence_of(&app, &citizen, "MARRIAGE_CERT").await;
    let head = head_account.api().await;
    let r = head
        .post(app.url(&format!("/api/v1/licences/{identifier}/revoke")))
        .json(&j!({"reason": "越权测试"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let denied = app.audit_rows("access.denied").await;
    assert!(
        denied.iter().any(|(actor, object, _)| actor == &head_account.username && object == &identifier),
        "{denied:?}"
    );
    let v = json(app.get(&app.client(), &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert_eq!(v["status"], "valid", "nothing changed");
    // Reviewers cannot revoke at all; citizens neither.
    let reviewer = app.a_reviewer("SCJGJ").await.api().await;
    let r = reviewer
        .post(app.url(&format!("/api/v1/licences/{identifier}/revoke")))
        .json(&j!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The revoked residence permit says so publicly.
    let list = json(app.get(&citizen, "/api/v1/licences").await).await;
    let revoked =
        list["items"].as_array().unwrap().iter().find(|l| l["status"] == "revoked").expect("a revoked licence");
    let (_, html) = page(&app, &app.client(), &format!("/verify/{}", revoked["identifier"].as_str().unwrap())).await;
    assert!(html.contains("已吊销"));
}

#[tokio::test]
async fn a_licence_replaces_a_required_material_and_the_use_appears_in_the_holders_log() {
    let app = TestApp::spawn().await;
    let wallets = wallets(&app).await;
    let def = change_registration(&app).await;
    let citizen = wallets.zhang.api().await;
    let identifier = licence_of(&app, &citizen, "INDIVIDUAL_BUSINESS_LICENCE").await;
    let replaced =
        def.materials.iter().find(|m| m.licence_type.as_deref() == Some("INDIVIDUAL_BUSINESS_LICENCE")).unwrap();
    assert!(replaced.required);

    // The form offers the licence instead of an upload, as a box to tick (no script needed).
    let pages = wallets.zhang.login().await;
    let (_, html) = page(&app, &pages, "/apply/310112-SCJGJ-002").await;
    assert!(html.contains(&format!("name=\"licence:{}\" value=\"{identifier}\"", replaced.code)), "{html}");

    let submission = |pick: Option<&str>| {
        let answers = answers_for(&def, "张三");
        let mut form = Form::new().text("item", def.code.clone()).text("form", Value::Object(answers).to_string());
        for m in def.materials.iter().filter(|m| m.required && m.code != replaced.code) {
            form = form.part(
                format!("material:{}", m.code),
                Part::bytes(TEST_PDF.to_vec()).file_name("a.pdf").mime_str("application/pdf").unwrap(),
            );
        }
        if let Some(p) = pick {
            form = form.text(format!("licence:{}", replaced.code), p.to_owned());
        }
        form
    };
    // Another holder's licence cannot be used.
    let biz = wallets.business.api().await;
    let foreign = licence_of(&app, &biz, "BUSINESS_LICENCE").await;
    let r = citizen.post(app.url("/api/v1/applications")).multipart(submission(Some(&foreign))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(r).await;
    let fields: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&format!("material:{}", replaced.code).as_str()), "{body}");

    let r =
        citizen.post(app.url("/api/v1/applications")).multipart(submission(Some(&identifier))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let number = json(r).await["number"].as_str().unwrap().to_owned();

    // The reviewer's case page can list it, verified.
    let application_id: i64 = sqlx::query_scalar::<_, i64>("SELECT id FROM applications WHERE number = $1")
        .bind(&number)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap();
    let used = tongban::app::licences::used_in_application(&app.state.core, application_id).await.unwrap();
    assert_eq!(used.len(), 1);
    assert_eq!(
        (used[0].identifier.as_str(), used[0].material_code.as_str()),
        (identifier.as_str(), replaced.code.as_str())
    );
    assert!(used[0].signature_valid && used[0].valid);

    // The use is in the holder's log, with the department and the application.
    let (_, html) = page(&app, &pages, "/my/licences").await;
    assert!(html.contains(&number) && html.contains("区市场监管局") && html.contains("个体工商户变更登记"), "{html}");
    assert_eq!(app.audit_rows("licence.use").await[0].1, identifier);
}

fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn licence_count(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM licences").fetch_one(app.state.core.db.pool()).await.unwrap()
}

#[tokio::test]
async fn importing_historical_licences_is_all_or_nothing_with_a_row_by_row_report() {
    let app = TestApp::spawn().await;
    licence_types(&app).await;
    let admin = licence_admin(&app).await.login().await;
    let citizen02 = tongban::domain::identity::id_number_with_check("31011219920708456").unwrap();
    let li = app.a_citizen().named("李四").with_id_number(&citizen02).await;
    let stranger = tongban::domain::identity::id_number_with_check("31011219700101001").unwrap();
    let header = vec![
        "licence_type",
        "holder_name",
        "holder_code",
        "number",
        "issued_on",
        "valid_to",
        "face.disability_kind",
        "face.disability_level",
    ];
    let good1 =
        vec!["DISABILITY_CERT", "李四", citizen02.as_str(), "31011219920708456X41", "2019-03-01", "", "肢体", "四级"];
    let good2 = vec!["DISABILITY_CERT", "王某", stranger.as_str(), "", "2010-01-01", "2020-01-01", "视力", "二级"];
    let bad = vec!["NO_SUCH_TYPE", "", "123", "", "2019-13-01", "", "", ""];
    let bad2 = vec!["DISABILITY_CERT", "赵某", stranger.as_str(), "", "2019-01-01", "", "", "一级"];
    let before = licence_count(&app).await;
    let upload = |bytes: Vec<u8>| Form::new().part("file", Part::bytes(bytes).file_name("licences.xlsx"));
    let token = app.csrf(&admin, "/admin/licences/import").await;
    let url = app.url("/admin/licences/import");
    let r = admin
        .post(&url)
        .header("x-csrf-token", token.as_str())
        .multipart(upload(xlsx(&[header.clone(), good1.clone(), bad, good2.clone(), bad2])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("其中 2 行有问题，本次没有导入任何证照"), "{html}");
    assert!(html.contains("证照类型“NO_SUCH_TYPE”不存在") && html.contains("发证日期“2019-13-01”应为日期"));
    assert!(html.contains("请填写照面信息「残疾类别」"), "row 5's missing face field: {html}");
    assert_eq!(licence_count(&app).await, before, "nothing imported");

    let r = admin
        .post(&url)
        .header("x-csrf-token", token.as_str())
        .multipart(upload(xlsx(&[header, good1, good2])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("已归集并签名 2 张证照"));
    assert_eq!(licence_count(&app).await, before + 2);
    // The holder with an account finds it in the wallet, signed; the expired one is expired.
    let holder = li.api().await;
    let identifier = licence_of(&app, &holder, "DISABILITY_CERT").await;
    let v = json(app.get(&holder, &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert_eq!(
        (v["valid"].clone(), v["issued_on"].clone(), v["expires_on"].clone()),
        (j!(true), j!("2019-03-01"), j!("2029-02-28"))
    );
    let doc = json(app.get(&holder, &format!("/api/v1/licences/{identifier}/document")).await).await;
    let check = app.client().post(app.url("/api/v1/licences/verify")).json(&doc).send().await.unwrap();
    assert_eq!(json(check).await["signature_valid"], true);
    let expired: i64 = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM licences WHERE status = 'expired' AND holder_user_id IS NULL",
    )
    .fetch_one(app.state.core.db.pool())
    .await
    .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(app.audit_rows("licence.import").await[0].2, "success");
}

#[tokio::test]
async fn an_api_client_acts_within_its_scopes_and_every_access_is_audited() {
    let app = TestApp::spawn().await;
    let zhang = wallets(&app).await.zhang;
    let core = &app.state.core;
    let console = tongban::app::Actor::console();
    let (verifier_id, verifier) =
        tongban::app::licences::create_client(core, &console, "人社业务系统", "RSJ", &["licence.verify".into()])
            .await
            .unwrap();
    let (_, querier) =
        tongban::app::licences::create_client(core, &console, "税务业务系统", "SWJ", &["licence.query".into()])
            .await
            .unwrap();
    let citizen = zhang.api().await;
    let identifier = licence_of(&app, &citizen, "INDIVIDUAL_BUSINESS_LICENCE").await;
    let http = app.client();
    let call = |secret: Option<&str>, path: String| {
        let mut request = http.get(app.url(&path));
        if let Some(s) = secret {
            request = request.bearer_auth(s);
        }
        request.send()
    };
    let r = call(None, format!("/api/v1/share/licences/{identifier}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = call(Some("wrong-secret"), format!("/api/v1/share/licences/{identifier}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = call(Some(&verifier), format!("/api/v1/share/licences/{identifier}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["status"], "valid");
    assert_eq!(
        app.audit_rows("licence.share.verify").await[0],
        (verifier_id.clone(), identifier.clone(), "success".into())
    );

    // Without the query scope: 403, audited.
    let holder_code = zhang.id_number.clone().unwrap();
    let query = format!("/api/v1/share/licences?holder_code={holder_code}&licence_type=INDIVIDUAL_BUSINESS_LICENCE");
    let r = call(Some(&verifier), query.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app.audit_rows("access.denied").await.iter().any(|(actor, _, _)| actor == &verifier_id));
    // With it, but neither a grant nor a legal basis: nothing; with a legal basis: the licence.
    let r = call(Some(&querier), query.clone()).await.unwrap();
    assert_eq!(json(r).await["items"], j!([]));
    let r = call(
        Some(&querier),
        format!(
            "{query}&legal_basis=%E3%80%8A%E7%A8%8E%E6%94%B6%E5%BE%81%E6%94%B6%E7%AE%A1%E7%90%86%E6%B3%95%E3%80%8B"
        ),
    )
    .await
    .unwrap();
    let items = json(r).await["items"].clone();
    assert_eq!(items[0]["identifier"], identifier.as_str());
    assert_eq!(items[0]["holder"], format!("张*，3101**********{}", &holder_code[14..]));
    let query_audit = app.audit_rows("licence.share.query").await;
    assert_eq!(query_audit.len(), 2, "both queries are audited");
    // The use is in the holder's log.
    let (_, html) = page(&app, &zhang.login().await, "/my/licences").await;
    assert!(html.contains("区税务局") && html.contains("法定依据"), "{html}");
    // A document needs its own scope.
    let r = call(Some(&querier), format!("/api/v1/share/licences/{identifier}/document")).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_rotated_key_signs_new_licences_and_old_ones_still_verify() {
    let app = TestApp::spawn().await;
    let zhang = wallets(&app).await.zhang;
    let core = &app.state.core;
    let citizen = zhang.api().await;
    let old = licence_of(&app, &citizen, "MARRIAGE_CERT").await;
    let old_doc = json(app.get(&citizen, &format!("/api/v1/licences/{old}/document")).await).await;
    let console = tongban::app::Actor::console();
    let new_key = tongban::app::licences::rotate_key(core, &console).await.unwrap();
    assert_ne!(old_doc["key_id"], new_key.as_str());
    let req = tongban::app::licences::HandIssue {
        licence_type: "SOCIAL_SECURITY_CARD".into(),
        holder: zhang.username.clone(),
        face: [("card_number".to_owned(), j!("M12345678"))].into_iter().collect(),
        valid_from: None,
    };
    let issued = tongban::app::licences::issue_by_hand(core, &console, &req).await.unwrap();
    assert_eq!(issued.key_id, new_key);
    let keys = json(app.get(&app.client(), "/api/v1/licences/keys").await).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    for doc in
        [old_doc, json(app.get(&citizen, &format!("/api/v1/licences/{}/document", issued.identifier)).await).await]
    {
        let r = app.client().post(app.url("/api/v1/licences/verify")).json(&doc).send().await.unwrap();
        assert_eq!(json(r).await["signature_valid"], true);
    }
}

#[tokio::test]
async fn licences_past_their_validity_expire_and_say_so() {
    let app = TestApp::spawn().await;
    let business = wallets(&app).await.business;
    let biz = business.api().await;
    let identifier = licence_of(&app, &biz, "FOOD_LICENCE").await;
    let v = json(app.get(&biz, &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert!(v["expires_on"].as_str().unwrap() > "2030-01-01", "five years: {v}");
    // On its last day it is still valid; the day after, it is not.
    let last_day = Day::parse(v["expires_on"].as_str().unwrap()).unwrap();
    app.move_to_day(last_day);
    // Years later, the holder logs in afresh.
    let biz = business.api().await;
    let v = json(app.get(&biz, &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert_eq!((v["valid"].clone(), v["status"].clone()), (j!(true), j!("valid")));
    app.move_to_day(last_day.succ());
    let biz = business.api().await;
    // Verification says expired at once, before the job has run …
    let v = json(app.get(&biz, &format!("/api/v1/licences/{identifier}/verification")).await).await;
    assert_eq!((v["valid"].clone(), v["status"].clone()), (j!(false), j!("expired")));
    assert_eq!(stored_status(&app, &identifier).await, "valid");
    // … and the job records it, with every other licence whose validity ended by then.
    let ended = stored_ended_by(&app, app.clock.today()).await;
    let n = tongban::app::licences::expire_due(&app.state.core, app.clock.today()).await.unwrap();
    assert_eq!(n as i64, ended);
    assert_eq!(stored_status(&app, &identifier).await, "expired");
    let (_, html) = page(&app, &app.client(), &format!("/verify/{identifier}")).await;
    assert!(html.contains("已过期"));
    assert_eq!(tongban::app::licences::expire_due(&app.state.core, app.clock.today()).await.unwrap(), 0);
}

#[tokio::test]
async fn an_approved_case_issues_its_licence_inside_the_callers_transaction() {
    let app = TestApp::spawn().await;
    licence_types(&app).await;
    app.an_item().code("310112-SCJGJ-001").named("个体工商户设立登记").issuing("INDIVIDUAL_BUSINESS_LICENCE").await;
    let li = app.a_citizen().named("李四").await;
    let core = &app.state.core;
    let item = json(app.get(&app.client(), "/api/v1/items/310112-SCJGJ-001").await).await;
    assert_eq!(item["licence_type"], "INDIVIDUAL_BUSINESS_LICENCE", "the item names the licence it produces");
    let form: serde_json::Map<String, Value> = serde_json::from_value(j!({
        "applicant_name": "李四", "business_name": "李记修鞋", "organisation_form": "个人经营",
        "business_address": "闵行区浦江镇测试路 9 号"
    }))
    .unwrap();
    let head = tongban::app::Actor::console();
    let extra = serde_json::Map::new();
    let req = tongban::app::licences::CaseIssue {
        case_number: "C-TEST-1",
        item_code: "310112-SCJGJ-001",
        licence_type: "INDIVIDUAL_BUSINESS_LICENCE",
        holder_user_id: li.id,
        form_data: &form,
        extra_fields: &extra,
        today: core.clock.today(),
    };
    // Incomplete face data: refused, naming the field; the caller's transaction rolls back.
    let mut tx = core.db.begin().await.unwrap();
    match tongban::app::licences::issue_in(&mut tx, core, &head, &req).await {
        Err(tongban::app::AppError::Invalid(problems)) => {
            assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), vec!["face.business_scope"])
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    drop(tx);
    // The approver fills in what the form lacks; the licence commits with the caller's transaction.
    let mut filled = extra.clone();
    filled.insert("business_scope".into(), j!("修鞋、配钥匙"));
    let req = tongban::app::licences::CaseIssue { extra_fields: &filled, ..req };
    let mut tx = core.db.begin().await.unwrap();
    let issued = tongban::app::licences::issue_in(&mut tx, core, &head, &req).await.unwrap();
    tx.rollback().await.unwrap();
    let r = app.get(&app.client(), &format!("/api/v1/licences/{}/verification", issued.identifier)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "rolled back with the caller's transaction");
    let mut tx = core.db.begin().await.unwrap();
    let issued = tongban::app::licences::issue_in(&mut tx, core, &head, &req).await.unwrap();
    tx.commit().await.unwrap();
    let holder = li.api().await;
    assert_eq!(licence_of(&app, &holder, "INDIVIDUAL_BUSINESS_LICENCE").await, issued.identifier);
    let doc = json(app.get(&holder, &format!("/api/v1/licences/{}/document", issued.identifier)).await).await;
    let payload: Value = serde_json::from_str(doc["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["metadata"]["related_item"], "310112-SCJGJ-001");
    assert_eq!(payload["face"]["business_scope"], "修鞋、配钥匙");
    assert_eq!(payload["face"]["holder_name"], "李四");
}

#[tokio::test]
async fn a_change_issues_a_new_version_that_supersedes_the_old_one() {
    let app = TestApp::spawn().await;
    let citizen = wallets(&app).await.zhang.api().await;
    let old = licence_of(&app, &citizen, "HOUSEHOLD_REGISTER").await;
    let admin_account = licence_admin(&app).await;
    let admin = admin_account.login().await;
    let detail = format!("/admin/licences/{old}");
    let (status, html) = page(&app, &admin, &detail).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("上海市闵行区莘庄镇示例路 1 号"), "the current face is prefilled");
    let change = format!("{detail}/change");
    let r = app.post_form(&admin, &detail, &change, &[("face.address", "上海市闵行区浦江镇新路 5 号")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    assert!(r.text().await.unwrap().contains("浦江镇新路 5 号"), "the new face typed is kept");
    let r = app
        .post_form(&admin, &detail, &change, &[("face.address", "上海市闵行区浦江镇新路 5 号"), ("reason", "户籍迁移")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let new = location(&r).trim_start_matches("/admin/licences/").split('?').next().unwrap().to_owned();
    assert_ne!(new, old);
    let (old_id, new_id) = (
        tongban::domain::licence::LicenceIdentifier::parse(&old).unwrap(),
        tongban::domain::licence::LicenceIdentifier::parse(&new).unwrap(),
    );
    assert_eq!((old_id.serial(), old_id.version() + 1), (new_id.serial(), new_id.version()));

    let anonymous = app.client();
    let v = json(app.get(&anonymous, &format!("/api/v1/licences/{old}/verification")).await).await;
    assert_eq!((v["status"].clone(), v["superseded_by"].clone()), (j!("superseded"), j!(new.as_str())));
    let (_, html) = page(&app, &anonymous, &format!("/verify/{old}")).await;
    assert!(html.contains("已变更") && html.contains(&format!("/verify/{new}")), "{html}");
    let v = json(app.get(&anonymous, &format!("/api/v1/licences/{new}/verification")).await).await;
    assert_eq!(v["valid"], true);
    // The wallet holds the new version only, and its signed face has the new address.
    assert_eq!(licence_of(&app, &citizen, "HOUSEHOLD_REGISTER").await, new);
    let doc = json(app.get(&citizen, &format!("/api/v1/licences/{new}/document")).await).await;
    assert!(doc["payload"].as_str().unwrap().contains("浦江镇新路 5 号"));
    assert_eq!(app.audit_rows("licence.change").await[0], (admin_account.username, old, "success".into()));
}

#[tokio::test]
async fn on_the_form_a_ticked_licence_is_kept_in_the_draft_and_unticking_withdraws_it() {
    let app = TestApp::spawn().await;
    let zhang = wallets(&app).await.zhang;
    change_registration(&app).await;
    let api = zhang.api().await;
    let identifier = licence_of(&app, &api, "INDIVIDUAL_BUSINESS_LICENCE").await;
    let client = zhang.login().await;
    let code = "310112-SCJGJ-002";
    let token = app.csrf(&client, &format!("/apply/{code}")).await;
    let action = app.url(&format!("/apply/{code}"));
    // The form sends an empty value first, then the ticked box.
    let ticked = Form::new().text("action", "save").text("licence:M01", "").text("licence:M01", identifier.clone());
    let r = client.post(&action).header("x-csrf-token", token.as_str()).multipart(ticked).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get(&client, &format!("/apply/{code}")).await.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{identifier}\" checked")), "the draft remembers the pick");
    // Unticked: only the empty value is sent; submitting now misses the material.
    let unticked = Form::new().text("action", "submit").text("licence:M01", "");
    let r = client.post(&action).header("x-csrf-token", token.as_str()).multipart(unticked).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("请上传「个体工商户营业执照」"), "{html}");
    assert!(!html.contains(&format!("value=\"{identifier}\" checked")));
}

/// The status stored for a licence (what the expiry job writes; verification computes its own).
async fn stored_status(app: &TestApp, identifier: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT status FROM licences WHERE identifier = $1")
        .bind(identifier)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("status")
}

/// How many valid or suspended licences had their last valid day before `today`.
async fn stored_ended_by(app: &TestApp, today: Day) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM licences WHERE status IN ('valid', 'suspended') AND valid_to < $1")
        .bind(today.to_string())
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("n")
}
