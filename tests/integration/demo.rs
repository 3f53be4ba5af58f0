//! What the demo promises (README, the login page's hints, the browser tests): its accounts
//! exist and log in with the published password, its halls and items are there, and its
//! accounts have something to look at. The only tests that start from the demo seed; every
//! other test makes what it needs with the builders.

use reqwest::StatusCode;

use crate::common::{TestApp, json};

const DEMO_PASSWORD: &str = tongban::demo::DEMO_PASSWORD;

#[tokio::test]
async fn every_demo_account_logs_in_with_the_published_password() {
    let app = TestApp::with_demo().await;
    for username in [
        "admin",
        "secadmin",
        "auditor",
        "window01",
        "window02",
        "reviewer01",
        "head01",
        "reviewer02",
        "head02",
        "leader01",
        "catalog01",
        "licence01",
        "citizen01",
        "citizen02",
        "biz01",
    ] {
        let (_, r) = app.api_login(username, DEMO_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK, "{username}");
    }
}

#[tokio::test]
async fn the_demo_items_are_published_and_open_to_applicants() {
    let app = TestApp::with_demo().await;
    for def in tongban::demo::catalogue_items() {
        let guide = tongban::app::catalogue::guide(&app.state.core, &def.code).await.unwrap();
        assert!(!guide.is_suspended(), "{}", def.code);
        assert_eq!(guide.def, def, "{}", def.code);
    }
    let person_item = tongban::demo::online_person_item(0).expect("a fully online item for persons");
    let html = app.get(&app.client(), &format!("/items/{}", person_item.code)).await.text().await.unwrap();
    assert!(html.contains(&person_item.name));
}

#[tokio::test]
async fn the_demo_shows_its_banner_and_the_districts_halls() {
    let app = TestApp::with_demo().await;
    let html = app.get(&app.client(), "/").await.text().await.unwrap();
    assert!(html.contains("演示环境"));
    for hall in [
        "闵行区行政服务中心",
        "江川路街道",
        "古美路街道",
        "新虹街道",
        "浦锦街道",
        "莘庄镇",
        "七宝镇",
        "颛桥镇",
        "华漕镇",
        "虹桥镇",
        "梅陇镇",
        "吴泾镇",
        "马桥镇",
        "浦江镇",
        "莘庄工业区",
    ] {
        assert!(html.contains(hall), "{hall}");
    }
    let admin = app.login_as_with("admin", DEMO_PASSWORD).await;
    let org = app.get(&admin, "/admin/org").await.text().await.unwrap();
    assert!(org.matches("<td class=\"mono\">").count() >= 15 + 15, "at least 15 departments and 15 sites");
}
