//! Keyset paging (issue #13, point 4) of the big lists — cases, licences and the audit log (the
//! messages' own test is in `messages.rs`): walking every page with `after` gives every row once,
//! in the order page numbers give, rows without a due day and ties on the first key included; a
//! row added before the cursor's position meanwhile does not shift the pages that follow; a
//! cursor the server did not make is a field error on `after`.

use reqwest::{Client, StatusCode};
use serde_json::Value;
use tongban::app::paging::{Cursor, PageRequest};
use tongban::domain::day::Day;

use crate::builders::CaseState::{Accepted, Refused, Submitted, Suspended, Withdrawn};
use crate::builders::{Account, Case, Item};
use crate::common::{TestApp, json};

/// `key` of every item of a list page.
fn keys(page: &Value, key: &str) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i[key].as_str().unwrap().to_owned()).collect()
}

/// A list path with more query parameters (`path` may have some already).
fn with(path: &str, query: &str) -> String {
    format!("{path}{}{query}", if path.contains('?') { '&' } else { '?' })
}

/// Every page of a list by page number: the items' `key`s, in order.
async fn by_numbers(app: &TestApp, client: &Client, path: &str, size: usize, key: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for number in 1.. {
        let page = json(app.get(client, &with(path, &format!("page_size={size}&page={number}"))).await).await;
        assert_eq!(page["page"], number, "{page}");
        let items = keys(&page, key);
        if items.is_empty() {
            break;
        }
        seen.extend(items);
    }
    seen
}

/// Every page of a list by cursor from the first page: the items' `key`s, in order. Every page
/// but the last is full and names the next; the last names none.
async fn by_cursor(app: &TestApp, client: &Client, path: &str, size: usize, key: &str) -> Vec<String> {
    by_cursor_adding(app, client, path, size, key, async {}).await.0
}

/// [`by_cursor`], running `meanwhile` (which adds a row) once the first page is read; with the
/// total the last page tells.
async fn by_cursor_adding(
    app: &TestApp,
    client: &Client,
    path: &str,
    size: usize,
    key: &str,
    meanwhile: impl Future<Output = ()>,
) -> (Vec<String>, i64) {
    let first = json(app.get(client, &with(path, &format!("page_size={size}"))).await).await;
    let mut seen = keys(&first, key);
    let mut next = first["next"].as_str().map(str::to_owned);
    let mut total = first["total"].as_i64().unwrap();
    meanwhile.await;
    while let Some(after) = next {
        assert_eq!(seen.len() % size, 0, "only the last page is short: {seen:?}");
        let page = json(app.get(client, &with(path, &format!("page_size={size}&after={after}"))).await).await;
        assert!(page["page"].is_null(), "a page after a cursor has no number: {page}");
        assert_eq!(page["page_size"], size);
        seen.extend(keys(&page, key));
        next = page["next"].as_str().map(str::to_owned);
        total = page["total"].as_i64().unwrap();
    }
    (seen, total)
}

/// The next cursor of a list's first page.
async fn first_next(app: &TestApp, client: &Client, path: &str) -> String {
    json(app.get(client, &with(path, "page_size=1")).await).await["next"].as_str().unwrap().to_owned()
}

/// Cursors the server did not make, or not for this list, are a 422 field error on `after`, never
/// a 500; a page size over 100 is refused as before, with a cursor too.
async fn refuses_bad_cursors(app: &TestApp, client: &Client, path: &str, real: &str) {
    let mut edited = real.to_owned().into_bytes();
    let last = edited.len() - 1;
    edited[last] = if edited[last] == b'0' { b'1' } else { b'0' };
    let edited = String::from_utf8(edited).unwrap();
    let truncated = &real[..real.len() - 1];
    let messages = Cursor::after_key(1).encode();
    // (A NUL is refused before any list sees it, as in every query string.)
    let r = app.get(client, &with(path, "after=c%00")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path} after=c%00");
    for bad in ["x", "zz", "c", "c1", "c-1", "c1234567890abcd", edited.as_str(), truncated, messages.as_str()] {
        let r = app.get(client, &with(path, &format!("after={bad}"))).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path} after={bad}");
        let body = json(r).await;
        assert_eq!(body["code"], "invalid", "{body}");
        assert_eq!(body["details"][0]["field"], "after", "{body}");
        assert_eq!(body["details"][0]["code"], "invalid_cursor", "{body}");
    }
    for query in ["page_size=101".to_owned(), format!("page_size=101&after={real}"), "page=0".to_owned()] {
        let r = app.get(client, &with(path, &query)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path} {query}");
    }
    let full = json(app.get(client, &with(path, "page_size=100")).await).await;
    assert_eq!(full["page_size"], 100, "{full}");
}

fn number_of(cases: &[&Case]) -> Vec<String> {
    cases.iter().map(|c| c.number.clone()).collect()
}

/// Sets a case's due day by hand; none is what a case in a state without a time limit has.
async fn set_due_day(app: &TestApp, case: &Case, day: Option<&str>) {
    sqlx::query("UPDATE cases SET due_on = $1 WHERE number = $2")
        .bind(day)
        .bind(&case.number)
        .execute(app.state.core.db.write_pool())
        .await
        .unwrap();
}

async fn due_day(app: &TestApp, case: &Case) -> Day {
    let day: String = sqlx::query_scalar("SELECT due_on FROM cases WHERE number = $1")
        .bind(&case.number)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap();
    Day::parse(&day).unwrap()
}

#[tokio::test]
async fn cases_of_a_queue_page_by_cursor_once_each_in_page_order_with_undated_cases_last() {
    let app = TestApp::spawn().await;
    let reviewer = app.a_reviewer("SCJGJ").await;
    // A 承诺件 (two working days to accept) and a 即办件 (one): due on two days, with ties.
    let promised = app.an_item().await;
    let immediate = app.an_item().immediate().await;
    let case = |item: &Item| app.a_case().for_item(item).in_state(Submitted);
    let p1 = case(&promised).await;
    let u1 = case(&promised).await;
    let i1 = case(&immediate).await;
    let p2 = case(&promised).await;
    let i2 = case(&immediate).await;
    let u2 = case(&immediate).await;
    let p3 = case(&promised).await;
    set_due_day(&app, &u1, None).await;
    set_due_day(&app, &u2, None).await;
    // By due day, ties by arrival, the cases without a due day last.
    let expected = number_of(&[&i1, &i2, &p1, &p2, &p3, &u1, &u2]);

    let path = "/api/v1/cases?queue=intake";
    for who in [reviewer.api().await, app.a_staff().with_role("leader").await.api().await] {
        for size in [1, 2, 3, 7, 20] {
            assert_eq!(by_numbers(&app, &who, path, size, "number").await, expected, "by page number, {size} a page");
            assert_eq!(by_cursor(&app, &who, path, size, "number").await, expected, "by cursor, {size} a page");
        }
        let first = json(app.get(&who, &with(path, "page_size=3")).await).await;
        assert_eq!((first["total"].as_i64(), first["page"].as_i64()), (Some(7), Some(1)), "{first}");
        let last = json(app.get(&who, &with(path, "page_size=7")).await).await;
        assert!(last["next"].is_null(), "one page holds them all: {last}");
    }

    // Past their due day the dated ones are overdue; that list pages the same way.
    app.move_to_day(due_day(&app, &p1).await.succ());
    let reviewer = reviewer.api().await;
    let overdue = number_of(&[&i1, &i2, &p1, &p2, &p3]);
    let path = "/api/v1/cases?queue=overdue";
    assert_eq!(by_numbers(&app, &reviewer, path, 2, "number").await, overdue);
    assert_eq!(by_cursor(&app, &reviewer, path, 2, "number").await, overdue);
    let real = first_next(&app, &reviewer, path).await;
    refuses_bad_cursors(&app, &reviewer, path, &real).await;
}

#[tokio::test]
async fn my_cases_page_by_cursor_and_a_case_added_before_the_cursor_shifts_nothing() {
    let app = TestApp::spawn().await;
    let me = app.a_reviewer("SCJGJ").await;
    let actor = app.actor(&me).await;
    let five_days = app.an_item().await;
    let two_days = app.an_item().days(2, 20).await;
    let mut mine = Vec::new();
    // Accepted cases are due on their promised day; suspended ones have no due day.
    for (item, state) in [
        (&five_days, Suspended),
        (&five_days, Accepted),
        (&five_days, Accepted),
        (&two_days, Accepted),
        (&five_days, Accepted),
        (&five_days, Suspended),
    ] {
        let case = app.a_case().for_item(item).in_state(state).await;
        tongban::app::cases::claim(&app.state.core, &actor, &case.number).await.unwrap();
        mine.push(case);
    }
    // Someone else's case is not in my list.
    app.a_case().for_item(&two_days).in_state(Accepted).await;
    let [s1, a1, a2, d2, a3, s2] = &mine[..] else { unreachable!() };
    let expected = number_of(&[d2, a1, a2, a3, s1, s2]);
    let client = me.api().await;
    let path = "/api/v1/cases?queue=mine";
    for size in [1, 2, 4, 6] {
        assert_eq!(by_numbers(&app, &client, path, size, "number").await, expected, "{size} a page");
        assert_eq!(by_cursor(&app, &client, path, size, "number").await, expected, "{size} a page");
    }

    // The first page, then a new case of mine due before the cursor's position.
    let early = async {
        let case = app.a_case().for_item(&two_days).in_state(Accepted).await;
        tongban::app::cases::claim(&app.state.core, &actor, &case.number).await.unwrap();
    };
    let (seen, total) = by_cursor_adding(&app, &client, path, 2, "number", early).await;
    assert_eq!(seen, expected, "the pages after the cursor neither repeat nor lose a case");
    assert_eq!(total, 7, "the total counts it");
    // Page numbers shift: page 2 now starts with the last case of page 1.
    let page2 = json(app.get(&client, &with(path, "page_size=2&page=2")).await).await;
    assert_eq!(keys(&page2, "number")[0], expected[1]);
}

#[tokio::test]
async fn concluded_cases_page_newest_first_by_cursor_with_dated_ones_after() {
    let app = TestApp::spawn().await;
    let reviewer = app.a_reviewer("SCJGJ").await;
    let item = app.an_item().await;
    let mut done = Vec::new();
    for state in [Refused, Withdrawn, Refused, Refused, Withdrawn] {
        done.push(app.a_case().for_item(&item).in_state(state).await);
    }
    // The workflows leave no due day on a concluded case; were one left, it still pages once.
    set_due_day(&app, &done[1], Some("2026-01-05")).await;
    set_due_day(&app, &done[3], Some("2026-01-05")).await;
    set_due_day(&app, &done[2], Some("2026-02-01")).await;
    let [k1, k2, k3, k4, k5] = &done[..] else { unreachable!() };
    let expected = number_of(&[k5, k1, k3, k4, k2]);
    let client = reviewer.api().await;
    let path = "/api/v1/cases?queue=concluded";
    for size in [1, 2, 3, 5] {
        assert_eq!(by_numbers(&app, &client, path, size, "number").await, expected, "{size} a page");
        assert_eq!(by_cursor(&app, &client, path, size, "number").await, expected, "{size} a page");
    }
    // A case concluded while paging is the newest: before the cursor, so not on a later page.
    let newest = async {
        app.a_case().for_item(&item).in_state(Refused).await;
    };
    let (seen, total) = by_cursor_adding(&app, &client, path, 2, "number", newest).await;
    assert_eq!((seen, total), (expected, 6));
    let real = first_next(&app, &client, path).await;
    refuses_bad_cursors(&app, &client, path, &real).await;
    // A cursor of another list's shape (a licence's: a time in milliseconds) is refused too.
    let licence = Cursor::after_pair(Some(1_764_800_000_000), 3).encode();
    let r = app.get(&client, &with(path, &format!("after={licence}"))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_licence_at(app: &TestApp, licence_type: &str, holder: &Account, at_ms: i64) -> String {
    app.clock.set(at_ms);
    app.a_licence(licence_type).held_by(holder).await
}

#[tokio::test]
async fn licences_page_newest_first_by_cursor_with_ties_on_the_time() {
    let app = TestApp::spawn().await;
    let licence_type = app.a_licence_type("TEST_PERMIT").await;
    let holder = app.a_citizen().await;
    let t0 = app.state.core.clock.now_ms();
    // Two at one time, three a second later, then one issued with an earlier time.
    let a = a_licence_at(&app, &licence_type, &holder, t0).await;
    let b = a_licence_at(&app, &licence_type, &holder, t0).await;
    let c = a_licence_at(&app, &licence_type, &holder, t0 + 1000).await;
    let d = a_licence_at(&app, &licence_type, &holder, t0 + 1000).await;
    let e = a_licence_at(&app, &licence_type, &holder, t0 + 1000).await;
    let f = a_licence_at(&app, &licence_type, &holder, t0 - 5000).await;
    app.a_licence(&licence_type).held_by(&app.a_citizen().await).await;
    app.clock.set(t0 + 2000);
    let expected = vec![e, d, c, b, a, f];
    let client = holder.api().await;
    let path = "/api/v1/licences";
    for size in [1, 2, 4, 6] {
        assert_eq!(by_numbers(&app, &client, path, size, "identifier").await, expected, "{size} a page");
        assert_eq!(by_cursor(&app, &client, path, size, "identifier").await, expected, "{size} a page");
    }
    let all = json(app.get(&client, path).await).await;
    assert_eq!((all["total"].as_i64(), all["page"].as_i64(), all["page_size"].as_i64()), (Some(6), Some(1), Some(20)));
    assert!(all["next"].is_null());

    // A licence issued while paging is the newest: before the cursor, so not on a later page.
    let newest = async {
        a_licence_at(&app, &licence_type, &holder, t0 + 3000).await;
    };
    let (seen, total) = by_cursor_adding(&app, &client, path, 2, "identifier", newest).await;
    assert_eq!((seen, total), (expected, 7));
    let real = first_next(&app, &client, path).await;
    refuses_bad_cursors(&app, &client, path, &real).await;
    // A case's cursor (no time) is not a licence's.
    let case = Cursor::after_pair(None, 3).encode();
    assert_eq!(app.get(&client, &format!("{path}?after={case}")).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_by_cursor_as_by_page_number() {
    let app = TestApp::spawn().await;
    let auditor = app.actor(&app.an_auditor().await).await;
    let core = &app.state.core;
    // Each refusal of another permission is audited at once (see `record_refusal`).
    let refuse = |what: String| async move {
        tongban::app::audit::record_denial(core, None, "192.0.2.1", &what, "/somewhere").await.unwrap();
    };
    for i in 0..7 {
        refuse(format!("perm.{i}")).await;
    }
    let filter = tongban::store::audit::Filter { action: "access.denied".into(), ..Default::default() };
    let list = |request: PageRequest| {
        let (filter, auditor) = (filter.clone(), auditor.clone());
        async move { tongban::app::audit::list(core, &auditor, &filter, &request).await.unwrap() }
    };
    let seqs = |page: &tongban::app::paging::Page<tongban::store::audit::Entry>| -> Vec<i64> {
        page.items.iter().map(|e| e.seq).collect()
    };
    let first = seqs(&list(PageRequest::number(1, 100)).await);
    assert_eq!(first.len(), 7);
    assert!(first.windows(2).all(|w| w[0] > w[1]), "newest first: {first:?}");
    for (i, size) in [1, 2, 3, 7].into_iter().enumerate() {
        let all = seqs(&list(PageRequest::number(1, 100)).await);
        assert_eq!(all.len(), 7 + i, "one more record each round");
        let mut numbered = Vec::new();
        for n in 1..=12 {
            numbered.extend(seqs(&list(PageRequest::number(n, size)).await));
        }
        assert_eq!(numbered, all, "{size} a page");
        let mut page = list(PageRequest::number(1, size)).await;
        let mut walked = seqs(&page);
        let mut added = false;
        while let Some(next) = page.next.clone() {
            if !added {
                // A record written while paging is the newest: not on a later page.
                refuse(format!("new.{size}")).await;
                added = true;
            }
            page = list(PageRequest::from_query(None, Some(size), Some(&next.encode())).unwrap()).await;
            assert_eq!(page.total, i64::try_from(all.len()).unwrap() + 1);
            walked.extend(seqs(&page));
        }
        assert_eq!(walked, all, "{size} a page");
        if !added {
            refuse(format!("new.{size}")).await;
        }
    }
    // Cursors the server did not make, or for a list with another key.
    for bad in ["zz", "c1", "c-1"] {
        assert!(matches!(
            PageRequest::from_query(None, None, Some(bad)),
            Err(tongban::app::AppError::Invalid(e)) if e[0].field == "after"
        ));
    }
    let pair = PageRequest::from_query(None, None, Some(&Cursor::after_pair(None, 3).encode())).unwrap();
    assert!(matches!(
        tongban::app::audit::list(core, &auditor, &filter, &pair).await,
        Err(tongban::app::AppError::Invalid(e)) if e[0].field == "after"
    ));
}

#[tokio::test]
async fn the_openapi_document_names_after_and_next_for_each_cursor_paged_list() {
    let app = TestApp::spawn().await;
    let doc = json(app.get(&app.client(), "/api/openapi.json").await).await;
    for (path, list) in
        [("/api/v1/cases", "CaseList"), ("/api/v1/licences", "WalletList"), ("/api/v1/messages", "MessageList")]
    {
        let params: Vec<(String, String)> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has parameters"))
            .iter()
            .map(|p| (p["name"].as_str().unwrap().to_owned(), p["in"].as_str().unwrap().to_owned()))
            .collect();
        for name in ["page", "page_size", "after"] {
            assert!(params.contains(&(name.to_owned(), "query".to_owned())), "{path}: {params:?}");
        }
        let properties = &doc["components"]["schemas"][list]["properties"];
        for field in ["total", "page", "page_size", "next", "items"] {
            assert!(properties[field].is_object(), "{list}.{field}: {properties}");
        }
    }
}
