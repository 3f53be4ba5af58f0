//! The message centre and text messages: what a status change tells the applicant.

use reqwest::StatusCode;
use sqlx::Row;
use tongban::app::jobs::run_pending;
use tongban::app::notifications::notify_in;

use crate::common::{TestApp, json, location};

async fn notify(app: &TestApp, username: &str, title: &str, body: &str, link: &str) {
    let id = app.user_id(username).await;
    let mut tx = app.state.core.db.begin().await.unwrap();
    notify_in(&mut tx, &app.state.core, id, title, body, link).await.unwrap();
    tx.commit().await.unwrap();
}

async fn sent(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query("SELECT channel, recipient, body FROM sent_messages ORDER BY id")
        .fetch_all(app.state.core.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("channel"), r.get("recipient"), r.get("body")))
        .collect()
}

#[tokio::test]
async fn a_status_change_reaches_the_message_centre_and_a_text_message_with_the_phone_masked() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    notify(&app, &person.username, "申请已受理", "您的申请 MH2026 已受理，承诺 5 个工作日内办结。", "/my/applications")
        .await;

    let citizen = person.login().await;
    let html = app.get(&citizen, "/my/messages").await.text().await.unwrap();
    assert!(html.contains("申请已受理") && html.contains("承诺 5 个工作日内办结") && html.contains("未读"), "{html}");
    assert!(html.contains("条未读"), "the menu counts unread messages");

    // The text message goes out through the job, to the phone on file, recorded masked.
    assert!(sent(&app).await.is_empty(), "not before the worker runs");
    assert_eq!(run_pending(&app.state.core, "w").await.unwrap(), 1);
    let sent = sent(&app).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "sms");
    let phone = person.phone.as_deref().unwrap();
    assert_eq!(sent[0].1, format!("{}****{}", &phone[..3], &phone[7..]));
    // The text is sealed at rest like every personal value (issue #12, §2).
    let text = app.state.core.cipher.decrypt(&sent[0].2).unwrap();
    assert!(text.starts_with("【通办】申请已受理："), "{sent:?}");

    let list = json(app.get(&citizen, "/api/v1/messages").await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["unread"], 1);
    assert_eq!(list["page_size"], 20);
    let item = &list["items"][0];
    assert_eq!(item["title"], "申请已受理");
    assert_eq!(item["link"], "/my/applications");
    assert_eq!(item["read"], false);
    assert!(item["at"].as_str().unwrap().ends_with("+08:00"));

    let id = item["id"].as_i64().unwrap();
    let r = citizen.post(app.url(&format!("/api/v1/messages/{id}/read"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["read"], true);
    let list = json(app.get(&citizen, "/api/v1/messages").await).await;
    assert_eq!(list["unread"], 0);
    let html = app.get(&citizen, "/my/messages").await.text().await.unwrap();
    assert!(!html.contains("条未读") && html.contains("全部已读"), "{html}");
}

#[tokio::test]
async fn users_without_a_phone_get_only_the_message_centre_entry() {
    let app = TestApp::spawn().await;
    let staff = app.a_reviewer("SCJGJ").await;
    // Staff accounts have no phone on file; deadline warnings reach them in the message centre.
    notify(&app, &staff.username, "即将超期", "办件 MH2026 明天到期。", "/office").await;
    assert_eq!(run_pending(&app.state.core, "w").await.unwrap(), 0, "no text message queued");
    assert!(sent(&app).await.is_empty());
    let reviewer = staff.login().await;
    let html = app.get(&reviewer, "/my/messages").await.text().await.unwrap();
    assert!(html.contains("即将超期") && html.contains("明天到期"), "{html}");
}

#[tokio::test]
async fn opening_a_message_marks_it_read_and_follows_its_link() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    notify(&app, &person.username, "请补正材料", "请补充营业执照复印件。", "/my/applications").await;
    notify(&app, &person.username, "申请已办结", "您的申请已办结。", "").await;
    let citizen = person.login().await;
    let list = json(app.get(&citizen, "/api/v1/messages").await).await;
    assert_eq!(list["items"][0]["title"], "申请已办结", "newest first");
    let id = list["items"][1]["id"].as_i64().unwrap();
    let path = format!("/my/messages/{id}/read");
    let r = app.post_form(&citizen, "/my/messages", &path, &[("open", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/my/applications");
    let list = json(app.get(&citizen, "/api/v1/messages").await).await;
    assert_eq!((list["items"][1]["read"].as_bool(), list["unread"].as_i64()), (Some(true), Some(1)));

    let r = app.post_form(&citizen, "/my/messages", "/my/messages/read-all", &[]).await;
    assert_eq!(location(&r), "/my/messages");
    assert_eq!(json(app.get(&citizen, "/api/v1/messages").await).await["unread"], 0);
}

#[tokio::test]
async fn nobody_reads_or_marks_another_users_messages() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().named("张三").await;
    notify(&app, &person.username, "申请已受理", "张三的申请已受理。", "").await;
    let owner = person.login().await;
    let id = json(app.get(&owner, "/api/v1/messages").await).await["items"][0]["id"].as_i64().unwrap();

    let other = app.a_citizen().await.login().await;
    let list = json(app.get(&other, "/api/v1/messages").await).await;
    assert_eq!(list["total"], 0);
    let r = other.post(app.url(&format!("/api/v1/messages/{id}/read"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.post_form(&other, "/my/messages", &format!("/my/messages/{id}/read"), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!app.get(&other, "/my/messages").await.text().await.unwrap().contains("张三的申请"));
    assert_eq!(json(app.get(&owner, "/api/v1/messages").await).await["unread"], 1, "still unread");

    let r = app.client().get(app.url("/api/v1/messages")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = other.get(app.url("/api/v1/messages?page_size=101")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_api_pages_messages_by_cursor_without_repeats_while_new_ones_arrive() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    for i in 0..5 {
        notify(&app, &person.username, &format!("第 {i} 条"), "内容", "").await;
    }
    let api = person.api().await;
    let first = json(app.get(&api, "/api/v1/messages?page_size=2").await).await;
    let total = first["total"].as_i64().unwrap();
    assert!(total >= 5, "{first}");
    assert_eq!(first["page"], 1);
    let mut seen: Vec<i64> = first["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    let mut next = first["next"].as_str().map(str::to_owned);
    // A message arriving meanwhile goes on top: the pages that follow neither repeat nor skip.
    notify(&app, &person.username, "新来的", "内容", "").await;
    while let Some(after) = next {
        let page = json(app.get(&api, &format!("/api/v1/messages?page_size=2&after={after}")).await).await;
        assert!(page["page"].is_null(), "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(i64::try_from(seen.len()).unwrap(), total, "every message once: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first: {seen:?}");
    // A cursor the server did not make is a field error, not a 500.
    for bad in ["x", "c", "c%00", "c-1", "c1234567890abcd"] {
        let r = app.get(&api, &format!("/api/v1/messages?after={bad}")).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let body = json(app.get(&api, "/api/v1/messages?after=zz").await).await;
    assert_eq!(body["details"][0]["field"], "after", "{body}");
}
