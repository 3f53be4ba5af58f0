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
async fn the_demo_gives_citizen01_some_applications() {
    let app = TestApp::with_demo().await;
    let (client, r) = app.api_login("citizen01", DEMO_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list = json(app.get(&client, "/api/v1/applications").await).await;
    let statuses: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert!(
        statuses.contains(&"submitted") && statuses.contains(&"withdrawn") && statuses.contains(&"draft"),
        "{statuses:?}"
    );
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

#[tokio::test]
async fn the_demo_catalogue_has_at_least_150_items() {
    let app = TestApp::with_demo().await;
    let body = json(app.get(&app.client(), "/api/v1/items?page_size=100").await).await;
    assert!(body["total"].as_i64().unwrap() >= 150);
}

/// The search quality check: everyday queries (seed/search_queries.json) against the demo
/// catalogue, its synonyms and keywords — about the demo's data, so it runs on the demo seed.
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

/// The demo's search synonyms and life events (一件事一次办).
#[tokio::test]
async fn the_demo_answers_two_letter_queries_and_offers_its_life_events() {
    let app = TestApp::with_demo().await;
    let client = app.client();
    let html = app.get(&client, "/items?q=%E7%A4%BE%E4%BF%9D").await.text().await.unwrap();
    assert!(html.contains("社会保险"), "两字查询“社保”");
    let html = app.get(&client, "/").await.text().await.unwrap();
    assert!(html.contains("一件事一次办") && html.contains("开办餐饮店"));
}

/// The demo accounts' password is published: outside demo mode they must change it.
#[tokio::test]
async fn outside_demo_mode_the_demo_accounts_must_change_the_published_password() {
    let app = TestApp::with_demo_configured(|c| c.demo = false).await;
    for who in ["admin", "citizen01", "reviewer01"] {
        let client = app.client();
        let r = app.submit_login(&client, who, DEMO_PASSWORD).await;
        assert_eq!(crate::common::location(&r), "/account/password", "{who}");
    }
    let (client, _) = app.api_login("citizen01", DEMO_PASSWORD).await;
    assert_eq!(
        crate::accounts::change_password(&client, &app, DEMO_PASSWORD, "Minhang#Mine2026").await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, r) = app.api_login("citizen01", "Minhang#Mine2026").await;
    assert_eq!(json(r).await["must_change_password"], false, "a changed password is no longer the published one");

    // In demo mode the demo accounts keep the published password.
    let demo = TestApp::with_demo().await;
    let (_, r) = demo.api_login("admin", DEMO_PASSWORD).await;
    assert_eq!(json(r).await["must_change_password"], false);
}

/// The demo seed's own personal data (its accounts' ID numbers and phones, in src/demo.rs and
/// src/demo_cases.rs) is sealed at rest like any other; see at_rest.rs for the scan.
#[tokio::test]
async fn no_demo_id_number_or_phone_is_found_in_the_raw_database_or_the_data_directory() {
    let numbers = demo_personal_numbers();
    for expected in ["310112198503121235", "13800138001", "13900139002", "13700137003"] {
        assert!(numbers.iter().any(|n| n == expected), "{expected} is collected from the demo source: {numbers:?}");
    }
    let app = TestApp::with_demo().await;
    let found = crate::at_rest::scan(&app, &numbers).await;
    assert!(found.is_empty(), "personal data at rest in plain: {found:?}");
}

/// The demo's generated history (`tongban::demo_cases`, 3,000 cases in `serve --demo`) spreads
/// over the demo's items and accounts, so it is checked on the demo seed: it keeps the queue
/// counters true and gives the dashboards concluded and overdue cases.
#[tokio::test]
async fn generated_history_keeps_the_counters_true() {
    let app = TestApp::with_demo().await;
    let made = tongban::demo_cases::generate(&app.state.core, 300, false).await.unwrap();
    assert_eq!(made, 300);
    use sqlx::Row;
    let pool = app.state.core.db.pool();
    let recount: i64 = sqlx::query("SELECT COUNT(*) AS n FROM cases").fetch_one(pool).await.unwrap().get("n");
    let kept: i64 =
        sqlx::query("SELECT CAST(SUM(n) AS BIGINT) AS n FROM case_counts").fetch_one(pool).await.unwrap().get("n");
    assert_eq!(recount, kept);
    let mismatched: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM cases c JOIN users u ON u.id = c.applicant_id JOIN items i ON i.id = c.item_id \
         WHERE i.subjects NOT LIKE '%' || u.kind || '%'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(mismatched, 0, "persons apply for person items, organisations for theirs");
    let (leader, _) = app.api_login("leader01", DEMO_PASSWORD).await;
    let list = json(leader.get(app.url("/api/v1/cases?queue=concluded")).send().await.unwrap()).await;
    assert!(list["total"].as_i64().unwrap() > 100);
    let overdue = json(leader.get(app.url("/api/v1/cases?queue=overdue")).send().await.unwrap()).await;
    assert!(overdue["total"].as_i64().unwrap() > 0, "a year of history has overdue cases");
    // A generated case opens on its page and takes an action like any other.
    let number = list["items"][0]["number"].as_str().unwrap().to_owned();
    let leader = app.login_as_with("leader01", DEMO_PASSWORD).await;
    let html = app.get(&leader, &format!("/office/cases/{number}")).await.text().await.unwrap();
    assert!(html.contains(&number));
}

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
