//! The hall's queue (issue #15): tickets, fair calling, the moves of a ticket and their period
//! log, the day's rollover across holidays; on SQLite and PostgreSQL.

use std::collections::HashSet;

use tongban::app::clock::at_hour;
use tongban::app::queue::{self, Action, TakeTicket, setup};
use tongban::app::{Actor, AppError};
use tongban::domain::day::Day;
use tongban::domain::queue::{TicketChannel, TicketClass, TicketState, Weights};
use tongban::store::org;

use crate::common::TestApp;

/// A site with queueing open: its services (A 综合, B 社保) and `windows` windows serving both,
/// each with a window staff member signed in; and a reception desk.
struct Hall {
    site_id: i64,
    code: String,
    windows: Vec<(i64, Actor)>,
    reception: Actor,
}

async fn a_hall(app: &TestApp, code: &str, windows: usize) -> Hall {
    let site_id = app.ensure_site(code).await;
    let core = &app.state.core;
    let mut tx = core.db.begin().await.unwrap();
    let services = setup::open_site(
        &mut tx,
        site_id,
        &[
            setup::ServiceSpec { code: "general", name: "综合业务", prefix: "A", target_wait_minutes: 20 },
            setup::ServiceSpec { code: "social", name: "社保业务", prefix: "B", target_wait_minutes: 20 },
        ],
    )
    .await
    .unwrap();
    let existing = hall_windows(&mut tx, site_id).await.len();
    for n in existing..windows {
        org::insert_window(&mut tx, site_id, &format!("{:02}", n + 1), &format!("{}号窗口", n + 1)).await.unwrap();
    }
    let mut window_ids: Vec<i64> = hall_windows(&mut tx, site_id).await.iter().map(|w| w.id).collect();
    window_ids.truncate(windows);
    for w in &window_ids {
        for s in &services {
            setup::serve(&mut tx, *w, *s).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    let mut staffed = Vec::new();
    for w in window_ids {
        let staff = app.a_staff().in_department("MHQ").with_role("window").at_site(code).await;
        let actor = app.actor(&staff).await;
        queue::sign_in(core, &actor, w).await.unwrap();
        staffed.push((w, actor));
    }
    let desk = app.a_staff().in_department("MHQ").with_role("window").at_site(code).await;
    Hall { site_id, code: code.into(), windows: staffed, reception: app.actor(&desk).await }
}

async fn hall_windows(c: &mut sqlx::AnyConnection, site_id: i64) -> Vec<queue::HallWindow> {
    tongban::store::queue::windows_of_site(c, site_id).await.unwrap()
}

fn at(day: &str, hour: u32) -> i64 {
    at_hour(Day::parse(day).unwrap(), hour)
}

async fn take(app: &TestApp, hall: &Hall, class: TicketClass) -> queue::TicketStatus {
    let req = TakeTicket {
        site_code: hall.code.clone(),
        service_code: "general".into(),
        class,
        channel: TicketChannel::Reception,
    };
    queue::take(&app.state.core, &hall.reception, &req).await.unwrap()
}

fn conflict(r: Result<impl std::fmt::Debug, AppError>) -> String {
    match r {
        Err(AppError::Conflict(m)) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn the_window_calls_by_the_weights_and_every_move_is_in_the_period_log() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-12-07", 9));
    let hall = a_hall(&app, "QTEST1", 1).await;
    let core = &app.state.core;
    let mut classes = std::collections::HashMap::new();
    for class in [TicketClass::Ordinary, TicketClass::Appointment, TicketClass::GreenChannel] {
        for _ in 0..4 {
            let t = take(&app, &hall, class).await;
            classes.insert(t.ticket.id, class);
            app.clock.advance(std::time::Duration::from_secs(10));
        }
    }
    let (_, window) = &hall.windows[0];
    let mut order = Vec::new();
    for _ in 0..5 {
        let called = queue::call_next(core, window).await.unwrap();
        assert!(called.announcement.starts_with(&format!("请 {} 号到", called.ticket.label)), "{called:?}");
        assert!(!called.reason.is_empty());
        order.push(classes[&called.ticket.id]);
        queue::act(core, window, called.ticket.id, &Action::Start).await.unwrap();
        let done = queue::act(core, window, called.ticket.id, &Action::Done).await.unwrap();
        assert_eq!(done.state, TicketState::Done);
    }
    use TicketClass::*;
    assert_eq!(order, [GreenChannel, Appointment, Ordinary, GreenChannel, Appointment]);
    // Numbers run per service and day: A001… in the order taken.
    let first = take(&app, &hall, Ordinary).await;
    assert_eq!(first.ticket.label, "A013");
    // The period log of a finished ticket: take, call, start, done.
    let called = queue::call_next(core, window).await.unwrap();
    queue::act(core, window, called.ticket.id, &Action::Done).await.unwrap();
    let log = queue::history(core, window, called.ticket.id).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["take", "call", "done"]);
    assert_eq!(log.last().map(|e| e.state), Some(TicketState::Done));
}

#[tokio::test]
async fn windows_calling_at_the_same_instant_never_get_the_same_ticket() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-12-07", 9));
    let hall = a_hall(&app, "QTEST2", 8).await;
    let mut taken = HashSet::new();
    for i in 0..120 {
        let class = [TicketClass::Ordinary, TicketClass::GreenChannel, TicketClass::Appointment][i % 3];
        taken.insert(take(&app, &hall, class).await.ticket.id);
    }
    let mut tasks = Vec::new();
    for (_, actor) in hall.windows.clone() {
        let core = app.state.core.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                match queue::call_next(&core, &actor).await {
                    Ok(c) => {
                        mine.push(c.ticket.id);
                        queue::act(&core, &actor, c.ticket.id, &Action::Done).await.unwrap();
                    }
                    Err(AppError::Conflict(m)) if m == "暂无等候" => return mine,
                    Err(e) => panic!("{e:?}"),
                }
            }
        }));
    }
    let mut called = Vec::new();
    for t in tasks {
        called.extend(t.await.unwrap());
    }
    let unique: HashSet<i64> = called.iter().copied().collect();
    assert_eq!(unique.len(), called.len(), "a ticket was called twice");
    assert_eq!(unique, taken, "every ticket called once");
}

#[tokio::test]
async fn park_returns_to_the_old_place_and_a_no_show_rejoins_once_at_the_end() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-12-07", 9));
    let hall = a_hall(&app, "QTEST3", 1).await;
    let core = &app.state.core;
    let (_, window) = &hall.windows[0];
    let a = take(&app, &hall, TicketClass::Ordinary).await.ticket;
    app.clock.advance(std::time::Duration::from_secs(60));
    let b = take(&app, &hall, TicketClass::Ordinary).await.ticket;
    app.clock.advance(std::time::Duration::from_secs(60));
    let c = take(&app, &hall, TicketClass::Ordinary).await.ticket;
    // A is called, parked (fetching a paper), and comes back before B and C.
    assert_eq!(queue::call_next(core, window).await.unwrap().ticket.id, a.id);
    queue::act(core, window, a.id, &Action::Park).await.unwrap();
    let back = queue::rejoin(core, window, a.id).await.unwrap();
    assert_eq!(back.ticket.state, TicketState::Waiting);
    assert_eq!(back.ahead, 0, "back at its old place");
    assert_eq!(queue::call_next(core, window).await.unwrap().ticket.id, a.id);
    queue::act(core, window, a.id, &Action::Done).await.unwrap();
    // B is called, recalled up to the limit, then a no-show; it may rejoin once, at the end.
    assert_eq!(queue::call_next(core, window).await.unwrap().ticket.id, b.id);
    queue::act(core, window, b.id, &Action::Recall).await.unwrap();
    queue::act(core, window, b.id, &Action::Recall).await.unwrap();
    assert!(conflict(queue::act(core, window, b.id, &Action::Recall).await).contains("请标记过号"));
    queue::act(core, window, b.id, &Action::NoShow).await.unwrap();
    app.clock.advance(std::time::Duration::from_secs(60));
    let rejoined = queue::rejoin(core, &hall.reception, b.id).await.unwrap();
    assert_eq!(rejoined.ahead, 1, "behind C");
    assert_eq!(queue::call_next(core, window).await.unwrap().ticket.id, c.id);
    queue::act(core, window, c.id, &Action::Done).await.unwrap();
    assert_eq!(queue::call_next(core, window).await.unwrap().ticket.id, b.id);
    queue::act(core, window, b.id, &Action::NoShow).await.unwrap();
    assert!(conflict(queue::rejoin(core, window, b.id).await).contains("已补过一次号"));
    // A parked ticket past the limit must take a new one.
    let d = take(&app, &hall, TicketClass::Ordinary).await.ticket;
    queue::call_next(core, window).await.unwrap();
    queue::act(core, window, d.id, &Action::Park).await.unwrap();
    app.clock.advance(std::time::Duration::from_secs(31 * 60));
    assert!(conflict(queue::rejoin(core, window, d.id).await).contains("请重新取号"));
}

#[tokio::test]
async fn each_bad_request_gets_a_clear_refusal_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-12-07", 9));
    let hall = a_hall(&app, "QTEST4", 2).await;
    let other = a_hall(&app, "QTEST5", 1).await;
    let core = &app.state.core;
    let (_, window) = &hall.windows[0];
    assert_eq!(conflict(queue::call_next(core, window).await), "暂无等候");
    let t = take(&app, &hall, TicketClass::Ordinary).await.ticket;
    // Another site's staff can neither act on it nor read it.
    let (_, stranger) = &other.windows[0];
    assert!(matches!(queue::act(core, stranger, t.id, &Action::Done).await, Err(AppError::Forbidden)));
    assert!(matches!(queue::history(core, stranger, t.id).await, Err(AppError::Forbidden)));
    // The reception desk of another site cannot give this site's tickets.
    let req = TakeTicket {
        site_code: hall.code.clone(),
        service_code: "general".into(),
        class: TicketClass::Ordinary,
        channel: TicketChannel::Reception,
    };
    assert!(matches!(queue::take(core, &other.reception, &req).await, Err(AppError::Forbidden)));
    // A ticket not in hand cannot be finished.
    assert!(conflict(queue::act(core, window, t.id, &Action::Done).await).contains("不在本窗口"));
    let called = queue::call_next(core, window).await.unwrap();
    assert!(conflict(queue::call_next(core, window).await).contains("请先处理当前号"));
    // A transfer to a service no open window serves.
    let (_, second) = &hall.windows[1];
    queue::pause(core, second, Some("午休")).await.unwrap();
    assert!(conflict(queue::sign_out(core, window).await).contains("请先处理当前号"));
    let mut tx = core.db.begin().await.unwrap();
    let tax = setup::ServiceSpec { code: "tax", name: "税务业务", prefix: "C", target_wait_minutes: 15 };
    setup::open_site(&mut tx, hall.site_id, &[tax]).await.unwrap();
    tx.commit().await.unwrap();
    let to_tax = Action::Transfer { service_code: "tax".into(), window_id: None, note: String::new() };
    assert!(conflict(queue::act(core, window, called.ticket.id, &to_tax).await).contains("没有开放的窗口"));
    let after = queue::status(core, window, called.ticket.id).await.unwrap();
    assert_eq!(after.ticket.state, TicketState::Called, "nothing changed");
    // A paused window does not call.
    assert!(conflict(queue::call_next(core, second).await).contains("暂停"));
    // A citizen takes an ordinary ticket by phone, once per service, and only ordinary.
    let citizen = app.a_citizen().await;
    let person = app.actor(&citizen).await;
    let phone = TakeTicket { channel: TicketChannel::Phone, ..req.clone() };
    let mine = queue::take(core, &person, &phone).await.unwrap();
    assert!(conflict(queue::take(core, &person, &phone).await).contains("请勿重复取号"));
    let green = TakeTicket { class: TicketClass::GreenChannel, ..phone.clone() };
    assert!(conflict(queue::take(core, &person, &green).await).contains("导服台"));
    // A person sees their own ticket, not another's.
    assert_eq!(queue::status(core, &person, mine.ticket.id).await.unwrap().ticket.id, mine.ticket.id);
    assert!(queue::status(core, &person, called.ticket.id).await.is_err());
    // A citizen cannot call.
    assert!(matches!(queue::call_next(core, &person).await, Err(AppError::Forbidden)));
    // After closing time no more tickets.
    app.clock.set(at("2026-12-07", 18));
    assert!(conflict(queue::take(core, &hall.reception, &req).await).contains("今日取号已结束"));
}

#[tokio::test]
async fn the_rollover_closes_yesterdays_tickets_across_a_holiday_and_numbering_restarts() {
    let app = TestApp::spawn().await;
    let core = &app.state.core;
    // Sunday 2026-09-20 is a make-up working day: the hall is open.
    app.clock.set(at("2026-09-20", 9));
    let hall = a_hall(&app, "QTEST6", 1).await;
    assert_eq!(take(&app, &hall, TicketClass::Ordinary).await.ticket.label, "A001");
    // Thursday 2026-09-24: three tickets; one called, one parked, one waiting; nobody closes.
    app.clock.set(at("2026-09-24", 15));
    let (_, window) = &hall.windows[0];
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(take(&app, &hall, TicketClass::Ordinary).await.ticket.id);
    }
    // Yesterday's ticket (the 20th) was never called: the window calls today's first.
    let called = queue::call_next(core, window).await.unwrap();
    assert_eq!(called.ticket.label, "A001");
    assert_eq!(called.ticket.day, Day::parse("2026-09-24").unwrap());
    // Friday 25th is a holiday (中秋节): no tickets.
    app.clock.set(at("2026-09-25", 9));
    assert!(
        conflict(
            queue::take(
                core,
                &hall.reception,
                &TakeTicket {
                    site_code: hall.code.clone(),
                    service_code: "general".into(),
                    class: TicketClass::Ordinary,
                    channel: TicketChannel::Reception
                }
            )
            .await
        )
        .contains("不是工作日")
    );
    // Monday 28th, before anyone called: the rollover closes everything of earlier days.
    app.clock.set(at("2026-09-28", 8));
    let mut tx = core.db.begin().await.unwrap();
    let closed = queue::rollover_in(&mut tx, core).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(closed, 4, "the 20th's ticket and the 24th's three");
    for id in &open {
        let t = queue::status(core, window, *id).await.unwrap().ticket;
        assert_eq!(t.state, TicketState::Expired, "{}", t.label);
        let log = queue::history(core, window, *id).await.unwrap();
        assert_eq!(log.last().map(|e| e.action.as_str()), Some("expire"));
    }
    // The window is free again and numbering restarts.
    app.clock.set(at("2026-09-28", 9));
    assert_eq!(take(&app, &hall, TicketClass::Ordinary).await.ticket.label, "A001");
    // At closing time the day's waiting tickets expire too.
    app.clock.set(at("2026-09-28", 17) + 31 * 60_000);
    let mut tx = core.db.begin().await.unwrap();
    assert_eq!(queue::rollover_in(&mut tx, core).await.unwrap(), 1);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn weights_of_zero_are_refused() {
    let app = TestApp::spawn().await;
    let hall = a_hall(&app, "QTEST7", 1).await;
    let mut tx = app.state.core.db.begin().await.unwrap();
    let bad = Weights { green_channel: 0, appointment: 1, ordinary: 1 };
    assert!(matches!(setup::set_weights(&mut tx, hall.site_id, bad, 30).await, Err(AppError::Invalid(_))));
}

#[tokio::test]
async fn the_workbench_the_phone_page_the_api_and_the_screen_work_over_http() {
    use reqwest::StatusCode;
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-12-07", 9));
    let hall = a_hall(&app, "QWEB", 0).await;
    let core = &app.state.core;
    // One window, not yet signed in; its staff member works through the pages.
    let mut tx = core.db.begin().await.unwrap();
    org::insert_window(&mut tx, hall.site_id, "09", "9号窗口").await.unwrap();
    let window = hall_windows(&mut tx, hall.site_id).await.into_iter().find(|w| w.code == "09").unwrap();
    let general = tongban::store::queue::service_by_code(&mut tx, hall.site_id, "general").await.unwrap().unwrap();
    setup::serve(&mut tx, window.id, general.id).await.unwrap();
    tx.commit().await.unwrap();
    let staff = app.a_staff().in_department("MHQ").with_role("window").at_site("QWEB").await;
    let desk = staff.login().await;
    let page = app.get(&desk, "/hall").await.text().await.unwrap();
    assert!(page.contains("签到窗口") && page.contains("9号窗口"), "{page}");
    let r = app.post_form(&desk, "/hall", "/hall/window/sign-in", &[("window", &window.id.to_string())]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Nobody waiting: the workbench again, with the reason, 409.
    let r = app.post_form(&desk, "/hall", "/hall/call-next", &[]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("暂无等候"));
    // A citizen takes a ticket on the phone page; another through the API.
    let citizen = app.a_citizen().await;
    let phone = citizen.login().await;
    let r = app.post_form(&phone, "/my/tickets", "/my/tickets", &[("queue", "QWEB|general")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mine = app.get(&phone, "/my/tickets").await.text().await.unwrap();
    assert!(mine.contains("A001") && mine.contains("前面还有"), "{mine}");
    let r = app.post_form(&phone, "/my/tickets", "/my/tickets", &[("queue", "QWEB|general")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "one open ticket per service");
    let r = app.post_form(&phone, "/my/tickets", "/my/tickets", &[("queue", "nonsense")]).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let other = app.a_citizen().await;
    let api = other.api().await;
    let r = api
        .post(app.url("/api/v1/tickets"))
        .json(&serde_json::json!({"site": "QWEB", "service": "general"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: serde_json::Value = r.json().await.unwrap();
    assert_eq!(created["label"], "A002");
    assert_eq!(created["ahead"], 1);
    let r = api
        .post(app.url("/api/v1/tickets"))
        .json(&serde_json::json!({"site": "NOPE", "service": "general"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["code"].is_string() && body["message"].is_string());
    // The screen: public, its stream's first event is the screen whole.
    let anonymous = app.client();
    let r = app.get(&anonymous, "/hall/screen/QWEB").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("等候人数"));
    assert_eq!(app.get(&anonymous, "/hall/screen/NOPE").await.status(), StatusCode::NOT_FOUND);
    // The window calls A001; the screen's stream shows it.
    let r = app.post_form(&desk, "/hall", "/hall/call-next", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = app.get(&desk, "/hall").await.text().await.unwrap();
    assert!(page.contains("A001") && page.contains("开始办理"), "{page}");
    let mut stream = app.get(&anonymous, "/hall/screen/QWEB/events").await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = stream.chunk().await.unwrap().expect("an event");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: screen\n"), "{text}");
    assert!(text.contains("请 A001 号到 9号窗口 办理"), "{text}");
    // The person's ticket is now called to window 9, as the API says; another's is 404.
    let id = created["id"].as_i64().unwrap();
    let r = phone.get(app.url(&format!("/api/v1/tickets/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let list: serde_json::Value = phone.get(app.url("/api/v1/tickets")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"][0]["state"], "called");
    assert_eq!(list["items"][0]["window"], "9号窗口");
}
