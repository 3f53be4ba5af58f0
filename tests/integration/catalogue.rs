//! The catalogue: search as people type, guides, the items API and its bad input.

use reqwest::StatusCode;

use crate::common::{TestApp, json};

#[derive(serde::Deserialize)]
struct Case {
    query: String,
    expected: String,
}

#[tokio::test]
async fn everyday_queries_find_the_intended_item_in_the_top_three() {
    let app = TestApp::with_demo().await;
    let cases: Vec<Case> = serde_json::from_str(include_str!("../../seed/search_queries.json")).unwrap();
    assert!(cases.len() >= 30);
    let client = app.client();
    let mut misses = Vec::new();
    for c in &cases {
        let qs = serde_urlencoded::to_string([("q", c.query.as_str()), ("page_size", "3")]).unwrap();
        let r = client.get(app.url(&format!("/api/v1/items?{qs}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", c.query);
        let body = json(r).await;
        let top: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| format!("{} {}", i["code"].as_str().unwrap(), i["name"].as_str().unwrap()))
            .collect();
        if !top.iter().any(|t| t.starts_with(&format!("{} ", c.expected))) {
            misses.push(format!("{} → expected {}, got {:?}", c.query, c.expected, top));
        }
    }
    assert!(misses.is_empty(), "{} of {} queries missed:\n{}", misses.len(), cases.len(), misses.join("\n"));
}

#[tokio::test]
async fn the_item_api_gives_materials_and_the_form() {
    let app = TestApp::with_demo().await;
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
    // At least 150 items across at least 15 departments.
    let body = json(app.get(&client, "/api/v1/items?page_size=100").await).await;
    assert!(body["total"].as_i64().unwrap() >= 150);
}

#[tokio::test]
async fn bad_catalogue_requests_get_clear_errors() {
    let app = TestApp::with_demo().await;
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
    let app = TestApp::with_demo().await;
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
    let html = app.get(&client, "/items?q=%E7%A4%BE%E4%BF%9D").await.text().await.unwrap();
    assert!(html.contains("社会保险"), "两字查询“社保”");
    let html = app.get(&client, "/").await.text().await.unwrap();
    assert!(html.contains("一件事一次办") && html.contains("开办餐饮店"));
}

#[tokio::test]
async fn the_home_page_lists_items_persons_can_do_online_and_drops_a_suspended_one() {
    let app = TestApp::with_demo().await;
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
    assert!(!online.is_empty(), "the demo catalogue has items persons can do online");
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
    let app = TestApp::with_demo().await;
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
