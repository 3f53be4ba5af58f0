//! The work calendar page: system administrators maintain holidays and make-up working days,
//! import and export them, and deadlines follow every edit at once.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use tongban::app::Actor;
use tongban::domain::day::Day;

use crate::common::{TestApp, json, location};

async fn deadline(app: &TestApp, from: &str, days: u32) -> String {
    let url = app.url(&format!("/api/v1/calendar/deadline?from={from}&days={days}"));
    json(app.client().get(url).send().await.unwrap()).await["deadline"].as_str().unwrap().to_owned()
}

async fn import(app: &TestApp, client: &reqwest::Client, csv: &str, replace: bool) -> reqwest::Response {
    let token = app.csrf(client, "/admin/calendar").await;
    let mut form = Form::new().part("file", Part::bytes(csv.as_bytes().to_vec()).file_name("calendar.csv"));
    if replace {
        form = form.text("replace", "1");
    }
    client
        .post(app.url("/admin/calendar/import"))
        .header("x-csrf-token", token.as_str())
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_system_administrator_adds_a_holiday_and_deadlines_move_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.a_sysadmin().await.login().await;
    let home = app.get(&admin, "/admin").await.text().await.unwrap();
    assert!(home.contains("href=\"/admin/calendar\""), "linked from the admin home");
    let page = app.get(&admin, "/admin/calendar?year=2026").await.text().await.unwrap();
    assert!(page.contains("2026-10-01") && page.contains("国庆节") && page.contains("调休上班"), "{page}");

    // Friday 2027-01-01 + 1 working day is Monday 01-04 while 2027 has no listed days.
    assert_eq!(deadline(&app, "2027-01-01", 1).await, "2027-01-04");
    let r = app
        .post_form(
            &admin,
            "/admin/calendar",
            "/admin/calendar",
            &[("day", "2027-01-04"), ("kind", "holiday"), ("name", "元旦")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/admin/calendar?year=2027&saved=2027-01-04");
    assert_eq!(deadline(&app, "2027-01-01", 1).await, "2027-01-05", "seen at once, cache or not");
    assert_eq!(app.audit_rows("calendar.save").await[0].1, "2027-01-04");

    // Changing it to a make-up working day, then removing it.
    app.post_form(
        &admin,
        "/admin/calendar",
        "/admin/calendar",
        &[("day", "2027-01-04"), ("kind", "makeup_workday"), ("name", "元旦")],
    )
    .await;
    assert_eq!(deadline(&app, "2027-01-01", 1).await, "2027-01-04");
    let page = app.get(&admin, "/admin/calendar?year=2027").await.text().await.unwrap();
    assert!(page.contains("2027-01-04") && page.contains("星期一"), "{page}");
    let r = app.post_form(&admin, "/admin/calendar", "/admin/calendar/delete", &[("day", "2027-01-04")]).await;
    assert_eq!(location(&r), "/admin/calendar?year=2027");
    assert!(!app.get(&admin, "/admin/calendar?year=2027").await.text().await.unwrap().contains("2027-01-04"));
    assert_eq!(app.audit_rows("calendar.remove").await.len(), 1);
}

#[tokio::test]
async fn a_bad_day_is_refused_with_every_problem_named() {
    let app = TestApp::spawn().await;
    let admin = app.a_sysadmin().await.login().await;
    let r = app
        .post_form(
            &admin,
            "/admin/calendar",
            "/admin/calendar",
            &[("day", "2027-02-30"), ("kind", "rest"), ("name", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("提交的内容有 3 处需要修改"), "{html}");
    assert!(app.audit_rows("calendar.save").await.is_empty());
}

#[tokio::test]
async fn an_import_with_bad_lines_names_every_one_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.a_sysadmin().await.login().await;
    let bad = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n2027-02-06,rest,春节\n2027-01-01,holiday,元旦\n";
    let r = import(&app, &admin, bad, false).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for line in ["第 3 行", "第 4 行", "第 5 行"] {
        assert!(html.contains(line), "{line} named: {html}");
    }
    assert!(html.contains("提交的内容有 3 处需要修改"), "the good line is not blamed: {html}");
    assert_eq!(deadline(&app, "2026-12-31", 1).await, "2027-01-01", "nothing imported");
    assert!(app.audit_rows("calendar.import").await.is_empty());

    let good = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,makeup_workday,春节\n";
    let r = import(&app, &admin, good, false).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("已导入 2 个日期"));
    assert_eq!(deadline(&app, "2026-12-31", 1).await, "2027-01-04");
    assert_eq!(app.audit_rows("calendar.import").await[0].1, "2027");

    // The export reads back as the import format.
    let r = app.get(&admin, "/admin/calendar/export.csv?year=2027").await;
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(r.text().await.unwrap(), good);

    // Replacing a year: days not in the file go.
    let r = import(&app, &admin, "date,kind,name\n2027-02-06,makeup_workday,春节\n", true).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(deadline(&app, "2026-12-31", 1).await, "2027-01-01");
    let all = app.get(&admin, "/admin/calendar/export.csv").await.text().await.unwrap();
    assert!(all.contains("2026-10-01,holiday,") && all.contains("2027-02-06,makeup_workday,春节"));
    assert!(!all.contains("2027-01-01"));
}

#[tokio::test]
async fn only_holders_of_calendar_edit_maintain_the_calendar() {
    let app = TestApp::spawn().await;
    let catalog = app.a_staff().with_role("catalog_admin").await.login().await;
    assert_eq!(app.get(&catalog, "/admin/calendar").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&catalog, "/admin/calendar/export.csv").await.status(), StatusCode::FORBIDDEN);
    let r = app.post_form(&catalog, "/admin", "/admin/calendar/delete", &[("day", "2026-10-01")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!app.get(&catalog, "/admin").await.text().await.unwrap().contains("/admin/calendar"));
    assert_eq!(deadline(&app, "2026-09-30", 1).await, "2026-10-08", "the holiday is still there");
}

#[tokio::test]
async fn an_edit_is_seen_at_once_through_the_calendar_cache_and_a_removed_shipped_day_stays_removed() {
    let app = TestApp::spawn().await;
    let core = &app.state.core;
    let console = Actor::console();
    let day = Day::from_ymd(2026, 12, 31).unwrap();
    let warm = tongban::app::calendar::load(core).await.unwrap();
    assert!(warm.is_working_day(day));
    tongban::app::calendar::save_day(core, &console, "2026-12-31", "holiday", "元旦前").await.unwrap();
    assert!(!tongban::app::calendar::load(core).await.unwrap().is_working_day(day), "the cache was dropped");

    // A shipped holiday removed by an administrator is not put back at the next start.
    let national_day = Day::from_ymd(2026, 10, 1).unwrap();
    tongban::app::calendar::remove_day(core, &console, "2026-10-01").await.unwrap();
    tongban::app::calendar::seed_builtin(core).await.unwrap();
    assert!(tongban::app::calendar::load(core).await.unwrap().is_working_day(national_day));
}
