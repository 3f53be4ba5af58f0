//! Catalogue management: drafts, publishing versions, suspension, comparison, import/export,
//! synonyms — and applications keep the version they started on.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::builders::TEST_PDF;
use crate::common::{TestApp, json, location};

/// The catalogue administrator's username.
const CATALOGUER: &str = "cataloguer";

/// A catalogue administrator, logged in; the items below are the 区民政局's (MZJ).
async fn admin(app: &TestApp) -> reqwest::Client {
    app.ensure_department("MZJ").await;
    app.a_staff().username(CATALOGUER).with_role("catalog_admin").await.login().await
}

fn item_fields(code: &str, name: &str) -> Vec<(String, String)> {
    let materials = serde_json::json!([{"code": "M01", "name": "身份证", "required": true, "form": "electronic", "count": 1,
        "notes": "", "licence_type": null, "accept": ["application/pdf"], "max_bytes": 1048576}]);
    let form = serde_json::json!({"fields": [{"name": "applicant_name", "label": "申请人姓名", "type": "text", "required": true}]});
    [
        ("code", code),
        ("name", name),
        ("item_type", "公共服务"),
        ("department", "MZJ"),
        ("subjects", "person"),
        ("legal_days", "10"),
        ("promised_days", "5"),
        ("case_kind", "promised"),
        ("visits_required", "0"),
        ("fully_online", "是"),
        ("sites", "all"),
        ("conditions", "本区户籍居民"),
        ("process", "网上申请\n审核\n办结"),
        ("consult_phone", "12345"),
        ("complaint_phone", "12345"),
        ("keywords", "测试说法"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("materials_json".to_owned(), materials.to_string()), ("form_json".to_owned(), form.to_string())])
    .collect()
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form(client, page, action, &borrowed).await
}

#[tokio::test]
async fn a_new_item_is_a_draft_until_published_and_applications_keep_their_version() {
    let app = TestApp::spawn().await;
    let c = admin(&app).await;
    let r =
        post(&app, &c, "/admin/items/new", "/admin/items/new", &item_fields("310112-MZJ-900", "高龄老人助餐补贴申请"))
            .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap_or_default().chars().take(2000).collect::<String>()
    );
    // A draft is invisible to the public.
    assert_eq!(app.get(&app.client(), "/api/v1/items/310112-MZJ-900").await.status(), StatusCode::NOT_FOUND);
    let r = post(&app, &c, "/admin/items/310112-MZJ-900", "/admin/items/310112-MZJ-900/publish", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let item = json(app.get(&app.client(), "/api/v1/items/310112-MZJ-900").await).await;
    assert_eq!(item["version"], 1);
    // Search finds it at once (the index follows the catalogue revision).
    let hits = json(app.get(&app.client(), "/api/v1/items?q=%E6%B5%8B%E8%AF%95%E8%AF%B4%E6%B3%95").await).await;
    assert_eq!(hits["items"][0]["code"], "310112-MZJ-900");

    // A citizen applies on version 1.
    let citizen = app.a_citizen().await.api().await;
    let form = Form::new()
        .text("item", "310112-MZJ-900")
        .text("form", r#"{"applicant_name": "李四"}"#)
        .part("material:M01", Part::bytes(TEST_PDF.to_vec()).file_name("id.pdf"));
    let r = citizen.post(app.url("/api/v1/applications")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let number = json(r).await["number"].as_str().unwrap().to_owned();

    // The edit form shows the current definition, JSON fields included.
    let html = app.get(&c, "/admin/items/310112-MZJ-900/edit").await.text().await.unwrap();
    assert!(html.contains("高龄老人助餐补贴申请") && html.contains("value=\"是\" checked"));
    assert!(html.contains("&#34;code&#34;: &#34;M01&#34;"), "materials JSON, escaped, pretty");
    // Edit: a new draft version; the public still sees version 1 until it is published.
    let r = post(
        &app,
        &c,
        "/admin/items/310112-MZJ-900/edit",
        "/admin/items/310112-MZJ-900/edit",
        &item_fields("x", "高龄老人助餐服务补贴申请"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        json(app.get(&app.client(), "/api/v1/items/310112-MZJ-900").await).await["name"],
        "高龄老人助餐补贴申请"
    );
    let html = app.get(&c, "/admin/items/310112-MZJ-900/compare?a=1&b=2").await.text().await.unwrap();
    assert!(html.contains("高龄老人助餐服务补贴申请") && html.contains(">name<"));
    post(&app, &c, "/admin/items/310112-MZJ-900", "/admin/items/310112-MZJ-900/publish", &[]).await;
    let item = json(app.get(&app.client(), "/api/v1/items/310112-MZJ-900").await).await;
    assert_eq!((item["version"].as_i64(), item["name"].as_str()), (Some(2), Some("高龄老人助餐服务补贴申请")));
    let detail = json(app.get(&citizen, &format!("/api/v1/applications/{number}")).await).await;
    assert_eq!(detail["item_version"], 1, "the application keeps the version it was made on");
    assert!(app.audit_rows("item.publish").await.iter().any(|(a, o, _)| a == CATALOGUER && o == "310112-MZJ-900"));
}

#[tokio::test]
async fn item_forms_report_every_problem_and_suspension_needs_a_reason() {
    let app = TestApp::spawn().await;
    let c = admin(&app).await;
    let mut bad = item_fields("310112-MZJ-901", "");
    for (k, v) in bad.iter_mut() {
        match k.as_str() {
            "promised_days" => *v = "30".into(),
            "materials_json" => *v = "[{\"oops\": 1}".into(),
            _ => {}
        }
    }
    let r = post(&app, &c, "/admin/items/new", "/admin/items/new", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("materials_json") && html.contains("承诺时限不能超过法定时限") && html.contains("请填写事项名称"),
        "all problems listed"
    );
    let item = app.an_item().await;
    let code = item.code.as_str();
    let r = post(
        &app,
        &c,
        &format!("/admin/items/{code}"),
        &format!("/admin/items/{code}/suspend"),
        &[("reason".into(), " ".into())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &app,
        &c,
        &format!("/admin/items/{code}"),
        &format!("/admin/items/{code}/suspend"),
        &[("reason".into(), "政策调整".into())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(json(app.get(&app.client(), &format!("/api/v1/items/{code}")).await).await["status"], "suspended");
    // Cancelled: gone from the public catalogue, and it cannot come back.
    let r = post(
        &app,
        &c,
        &format!("/admin/items/{code}"),
        &format!("/admin/items/{code}/cancel"),
        &[("reason".into(), "依文件取消".into())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&app.client(), &format!("/api/v1/items/{code}")).await.status(), StatusCode::NOT_FOUND);
    let r = post(&app, &c, &format!("/admin/items/{code}"), &format!("/admin/items/{code}/resume"), &[]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_import_with_any_bad_row_changes_nothing_and_the_export_reimports() {
    let app = TestApp::spawn().await;
    let c = admin(&app).await;
    // Items with materials and a form, for the export to carry through a reimport.
    app.an_item().await;
    app.an_item().for_organisations().in_department("MZJ").await;
    let count = |app: &TestApp| {
        let client = app.client();
        let url = app.url("/api/v1/items?page_size=1");
        async move { json(client.get(url).send().await.unwrap()).await["total"].as_i64().unwrap() }
    };
    let before = count(&app).await;
    let csv = "code,name,item_type,department,subjects,legal_days,promised_days,case_kind,visits_required,fully_online,citywide,materials_json,form_json\n\
               310112-MZJ-950,导入事项一,公共服务,MZJ,person,5,3,promised,0,是,否,[],\n\
               310112-MZJ-951,导入事项二,不存在类型,NOPE,person,5,9,promised,0,是,否,[],\n";
    let token = app.csrf(&c, "/admin/items/import").await;
    let upload = |bytes: Vec<u8>, name: &str| Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let r = c
        .post(app.url("/admin/items/import"))
        .header("x-csrf-token", token.as_str())
        .multipart(upload(csv.as_bytes().to_vec(), "items.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("本次没有导入任何事项") && html.contains("310112-MZJ-951") && html.contains("NOPE"));
    assert_eq!(count(&app).await, before, "nothing imported");

    let good = csv.lines().take(2).collect::<Vec<_>>().join("\n");
    let r = c
        .post(app.url("/admin/items/import"))
        .header("x-csrf-token", token.as_str())
        .multipart(upload(good.into_bytes(), "items.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(count(&app).await, before + 1);

    // The export is an XLSX that imports again (every item gets a new version).
    let r = app.get(&c, "/admin/items/export.xlsx").await;
    assert_eq!(r.status(), StatusCode::OK);
    let xlsx = r.bytes().await.unwrap().to_vec();
    assert!(xlsx.starts_with(b"PK"));
    let r = c
        .post(app.url("/admin/items/import"))
        .header("x-csrf-token", token.as_str())
        .multipart(upload(xlsx, "catalogue.xlsx"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        html.chars().skip(html.find("<main").unwrap_or(0)).take(3000).collect::<String>()
    );
    assert!(html.contains("已导入并发布"));
    assert_eq!(count(&app).await, before + 1);
    // Garbage is refused with a reason, not a 500.
    let r = c
        .post(app.url("/admin/items/import"))
        .header("x-csrf-token", token.as_str())
        .multipart(upload(b"PK\x03\x04garbage".to_vec(), "x.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn administrators_teach_search_new_words() {
    let app = TestApp::spawn().await;
    let c = admin(&app).await;
    app.an_item().named("食品经营许可证核发").for_organisations().await;
    app.an_item().named("公共场所卫生许可证核发").for_organisations().await;
    let q = "/api/v1/items?q=%E5%8A%9E%E9%A4%90%E9%A5%AE%E8%AF%81"; // 办餐饮证
    let r = post(
        &app,
        &c,
        "/admin/synonyms",
        "/admin/synonyms",
        &[("term".into(), "办餐饮证".into()), ("canonical".into(), "食品经营许可".into())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let hits = json(app.get(&app.client(), q).await).await;
    assert!(hits["items"][0]["name"].as_str().unwrap().starts_with("食品经营许可"));
    let r = post(
        &app,
        &c,
        "/admin/synonyms",
        "/admin/synonyms",
        &[("term".into(), "".into()), ("canonical".into(), "".into())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Others cannot manage the catalogue.
    let other = app.a_sysadmin().await.login().await;
    assert_eq!(app.get(&other, "/admin/items").await.status(), StatusCode::FORBIDDEN);
    let _ = location;
}
