//! The catalogue: search as people type, guides, the items API and its bad input.

use reqwest::StatusCode;

use crate::common::{TestApp, json};

#[tokio::test]
async fn the_item_api_gives_materials_and_the_form() {
    let app = TestApp::spawn().await;
    app.a_department("SCJGJ", "区市场监管局").await;
    app.an_item().named("个体工商户设立登记").in_department("SCJGJ").await;
    for _ in 0..10 {
        app.an_item().in_department("RSJ").await;
    }
    let client = app.client();
    let body = json(
        app.get(
            &client,
            "/api/v1/items?q=%E4%B8%AA%E4%BD%93%E5%B7%A5%E5%95%86%E6%88%B7%E8%AE%BE%E7%AB%8B%E7%99%BB%E8%AE%B0",
        )
        .await,
    )
    .await;
    let first = &body["items"][0];
    assert_eq!(first["name"], "个体工商户设立登记");
    assert_eq!(first["department"]["name"], "区市场监管局");
    let code = first["code"].as_str().unwrap().to_owned();
    let item = json(app.get(&client, &format!("/api/v1/items/{code}")).await).await;
    for key in ["materials", "form", "subjects", "legal_days", "promised_days", "fully_online", "citywide"] {
        assert!(!item[key].is_null(), "{key}");
    }
    assert!(item["form"]["fields"].as_array().unwrap().len() >= 3);
    assert!(item["materials"][0]["accept"].is_array());
    // Browsing by department and subject.
    let body = json(app.get(&client, "/api/v1/items?department=RSJ&subject=person&page_size=100").await).await;
    assert!(body["total"].as_i64().unwrap() >= 10);
    assert!(body["items"].as_array().unwrap().iter().all(|i| i["department"]["code"] == "RSJ"));
    // The size of the catalogue is the demo's promise: see demo.rs.
}

#[tokio::test]
async fn bad_catalogue_requests_get_clear_errors() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let r = app.get(&client, "/api/v1/items/310112-NOPE-999").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["code"], "not_found");
    let r = app.get(&client, "/api/v1/items?page_size=1000").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(r).await["details"][0]["field"], "page_size");
    let r = app.get(&client, "/api/v1/items?page=abc").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app.get(&client, "/items/310112-NOPE-999").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("页面不存在"));
}

#[tokio::test]
async fn the_guide_page_shows_every_section() {
    let app = TestApp::spawn().await;
    app.an_item().named("失业保险金申领").in_department("RSJ").with(|d| d.keywords = vec!["失业金".into()]).await;
    let client = app.client();
    let body = json(app.get(&client, "/api/v1/items?q=%E5%A4%B1%E4%B8%9A%E9%87%91").await).await;
    let code = body["items"][0]["code"].as_str().unwrap().to_owned();
    let html = app.get(&client, &format!("/items/{code}")).await.text().await.unwrap();
    for section in [
        "失业保险金申领",
        "办理时限",
        "到现场次数",
        "申请条件",
        "申请材料",
        "办理流程",
        "设定依据",
        "咨询电话",
        "在线申请",
    ] {
        assert!(html.contains(section), "{section}");
    }
    // Two-letter queries and the life events are the demo catalogue's: see demo.rs.
}

#[tokio::test]
async fn the_home_page_lists_items_persons_can_do_online_and_drops_a_suspended_one() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.an_item().await;
    }
    app.an_item().with(|d| (d.fully_online, d.visits_required) = (false, 1)).await;
    app.an_item().for_organisations().await;
    let client = app.client();
    let online: Vec<String> = {
        use sqlx::Row;
        sqlx::query(
            "SELECT code FROM items WHERE status = 'published' AND fully_online = 1 AND subjects LIKE '%person%' \
             ORDER BY code LIMIT 12",
        )
        .fetch_all(app.state.core.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("code"))
        .collect()
    };
    assert!(!online.is_empty(), "the catalogue has items persons can do online");
    let html = app.get(&client, "/").await.text().await.unwrap();
    for code in &online {
        assert!(html.contains(&format!("/items/{code}\"")), "{code} on the home page");
    }
    let offline: String = {
        use sqlx::Row;
        sqlx::query("SELECT code FROM items WHERE status = 'published' AND fully_online = 0 ORDER BY code LIMIT 1")
            .fetch_one(app.state.core.db.pool())
            .await
            .unwrap()
            .get("code")
    };
    let section = html.split("全程网办，不用跑腿").nth(1).unwrap().split("</ul>").next().unwrap();
    assert!(!section.contains(&offline), "{offline} is not fully online");

    // A suspension moves the catalogue's revision on; the next visit no longer offers the item.
    let console = tongban::app::Actor::console();
    tongban::app::catalogue::suspend(&app.state.core, &console, &online[0], "系统升级").await.unwrap();
    let html = app.get(&client, "/").await.text().await.unwrap();
    assert!(!html.contains(&format!("/items/{}\"", online[0])), "suspended {} left the home page", online[0]);
}

#[tokio::test]
async fn the_deadline_api_counts_working_days_across_holidays() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for (from, days, expected) in [
        ("2025-09-30", "1", "2025-10-09"),
        ("2026-02-13", "2", "2026-02-24"),
        ("2026-11-26", "5", "2026-12-03"),
        ("2026-11-26", "0", "2026-11-26"),
    ] {
        let body = json(app.get(&client, &format!("/api/v1/calendar/deadline?from={from}&days={days}")).await).await;
        assert_eq!(body["deadline"], expected, "{from} + {days}");
    }
    for bad in ["from=2026-02-30&days=1", "from=2026-01-01&days=-1", "from=yesterday&days=x"] {
        let r = app.get(&client, &format!("/api/v1/calendar/deadline?{bad}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let r = app.get(&client, "/api/v1/calendar/deadline").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "missing parameters");
}
