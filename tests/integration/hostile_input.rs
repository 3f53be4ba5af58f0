//! No panic, ever, on any input (issue #12, §3): public references are parsed at the edge, input
//! never breaks a header, a panic is an opaque 500 with a request id that the metrics count, and a
//! property test sends hostile Unicode to every route that takes a parameter.

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Client, StatusCode};
use tower::ServiceExt;

use crate::common::{TestApp, csrf_in, location};

/// A multibyte character at byte 10 (where the date of a number ends).
const NUMBERS: [&str; 4] = ["SQ2026113é12345", "BJ2026113é12345", "SQ20261130ABCDÉ", "BJ２０２６1130ABCDEF"];

fn encoded(segment: &str) -> String {
    let mut u = url::Url::parse("http://x/").unwrap();
    u.path_segments_mut().unwrap().push(segment);
    u.path()[1..].to_owned()
}

#[tokio::test]
async fn a_public_number_with_a_multibyte_character_is_not_found_on_every_route_that_takes_one() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let staff = app.a_reviewer("SCJGJ").await;
    let citizen = person.login().await;
    let reviewer = staff.login().await;
    let api_citizen = person.api().await;
    let api_reviewer = staff.api().await;
    for raw in NUMBERS {
        let n = encoded(raw);
        let gets: [(&Client, String); 6] = [
            (&citizen, format!("/my/applications/{n}")),
            (&citizen, format!("/my/applications/{n}/files/abc")),
            (&reviewer, format!("/office/cases/{n}")),
            (&reviewer, format!("/office/cases/{n}/files/abc")),
            (&api_citizen, format!("/api/v1/applications/{n}")),
            (&api_reviewer, format!("/api/v1/cases/{n}")),
        ];
        for (client, path) in gets {
            let r = app.get(client, &path).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {path}");
        }
        for (client, page, path) in [
            (&citizen, "/my/applications", format!("/my/applications/{n}/withdraw")),
            (&reviewer, "/office", format!("/office/cases/{n}/claim")),
            (&reviewer, "/office", format!("/office/cases/{n}/notes")),
        ] {
            let r = app.post_form(client, page, &path, &[("comment", "x")]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "POST {path}");
        }
        let r = api_citizen.post(app.url(&format!("/api/v1/applications/{n}/withdraw"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(crate::common::json(r).await["code"], "not_found", "the API's error shape");
        let r = api_reviewer
            .post(app.url(&format!("/api/v1/cases/{n}/actions")))
            .json(&serde_json::json!({"action": "accept"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    // A licence identifier with a line break must not reach the download's header.
    let r = app.get(&api_citizen, "/api/v1/licences/1.2.156.3005.2.X%0D%0A/document").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_line_break_in_any_redirect_target_is_never_a_server_error() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    for next in ["/a\r\nSet-Cookie: evil=1", "/\n/evil.example", "/items\u{0}", "/a\u{7f}b"] {
        let client = app.client();
        let r = app.submit_login_next(&client, &person.username, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&r), "/", "{next:?}");
        assert!(r.headers().get("set-cookie").is_some_and(|c| !c.to_str().unwrap_or("").contains("evil")));
        let r = app.post_form(&client, "/", "/preferences", &[("toggle", "large"), ("next", next)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&r), "/");
    }
    // Path parameters echoed into a redirect (an item code, a licence identifier) cannot break it.
    let catalog = app.a_staff().with_role("catalog_admin").await.login().await;
    let r = app.post_form(&catalog, "/admin/items", "/admin/items/A%0D%0AB/publish", &[]).await;
    assert!(!r.status().is_server_error(), "{}", r.status());
    let citizen = person.login().await;
    let r = app.post_form(&citizen, "/my/licences", "/my/licences/X%0D%0ALocation:%20http:%2F%2Fevil/grant", &[]).await;
    assert!(!r.status().is_server_error(), "{}", r.status());
}

#[tokio::test]
async fn a_panic_is_an_opaque_error_with_a_request_id_security_headers_and_its_metrics() {
    let app = TestApp::spawn().await;
    async fn boom() -> &'static str {
        #[allow(clippy::panic)]
        {
            panic!("a bug in a handler")
        }
    }
    // A registered route (the guard lets it through) whose handler panics, in the real stack.
    let router = axum::Router::new()
        .route("/api/v1/licences/keys", axum::routing::get(boom))
        .route("/verify", axum::routing::get(boom));
    let service = tongban::web::with_middleware(router, app.state.clone());
    let before = panics(&app).await;
    for (path, api) in [("/api/v1/licences/keys", true), ("/verify", false)] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers().clone();
        let id = headers.get("x-request-id").expect("a request id").to_str().unwrap().to_owned();
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains(&id), "the request id is shown: {body}");
        assert!(!body.contains("a bug in a handler"), "never the panic text");
        if api {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["code"], "internal");
            assert_eq!(v["request_id"], id.as_str());
        } else {
            assert!(body.contains("系统繁忙"));
        }
    }
    assert!(panics(&app).await >= before + 2.0, "counted in http_panics_total");
    let metrics = metrics_text(&app).await;
    assert!(
        metrics.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/verify\"")
            && l.contains("status=\"500\"")),
        "the request is counted with status 500"
    );
}

async fn metrics_text(app: &TestApp) -> String {
    let admin = app.a_sysadmin().await.login().await;
    app.get(&admin, "/metrics").await.text().await.unwrap()
}

async fn panics(app: &TestApp) -> f64 {
    metrics_text(app)
        .await
        .lines()
        .find(|l| l.starts_with("http_panics_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Hostile parameter values: any Unicode, combining marks, right-to-left overrides, control
/// characters, percent sequences (valid and not), number-shaped text with multibyte characters,
/// and very long text.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{1,24}",
        "[\\u{0}-\\u{1f}\\u{7f}-\\u{9f}]{1,6}",
        "a[\\u{300}-\\u{36f}]{1,8}",
        "[\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}][א-ת]{1,8}",
        "(%[0-9A-Fa-f]{2}){1,6}",
        "(SQ|BJ)[0-9]{7}[é中０-９][2-9A-Z]{5}",
        "1\\.2\\.156\\.3005\\.2\\.[A-Z]{3}\\.[0-9A-Z]{18}\\.[0-9A-Z]{1,20}\\.[0-9]{3}\\.\\PC",
        "\\PC{1000,3000}",
        Just("../../../etc/passwd".to_owned()),
        Just("\r\nSet-Cookie: x=1".to_owned()),
    ]
}

/// Values that found a server error before (a NUL reached the database, which PostgreSQL refuses
/// in text and SQLite cuts at), sent on every run before the random ones.
const FIXED: &[&str] = &["\0\n\t", "\0", "a\0b", "%00", "\u{7f}\u{9f}", "\u{feff}\u{202e}x"];

/// Query names the pages and the API read (each route ignores the others).
const QUERY_NAMES: &[&str] = &[
    "q",
    "page",
    "page_size",
    "next",
    "queue",
    "kind",
    "year",
    "from",
    "days",
    "status",
    "saved",
    "submitted",
    "done",
    "taken",
    "a",
    "b",
    "identifier",
    "holder_code",
    "licence_type",
    "item",
    "actor",
    "action",
    "result",
    "granted",
    "changed",
    "issued",
    "department",
    "site",
    "subject",
    "sort",
];

struct Caller {
    name: &'static str,
    client: Client,
    csrf: Option<String>,
}

#[tokio::test]
async fn no_route_answers_a_server_error_to_hostile_unicode_in_its_parameters() {
    let app = TestApp::spawn().await;
    // Something for the pages to list: a citizen's submitted application, with its item.
    let person = app.a_citizen().await;
    app.an_application().by(&person).await;
    let mut callers = vec![Caller { name: "anonymous", client: app.client(), csrf: None }];
    for name in ["citizen", "reviewer", "sysadmin", "catalog_admin"] {
        let account = match name {
            "citizen" => person.clone(),
            "reviewer" => app.a_reviewer("SCJGJ").await,
            _ => app.a_staff().with_role(name).await,
        };
        let client = account.login().await;
        let html = app.get(&client, "/account").await.text().await.unwrap();
        callers.push(Caller { name, csrf: csrf_in(&html), client });
    }
    let anonymous_csrf = app.csrf(&callers[0].client, "/login").await;
    callers[0].csrf = Some(anonymous_csrf);

    let mut runner = TestRunner::new(proptest::test_runner::Config { cases: 10, ..Default::default() });
    let strategy = hostile();
    let mut sent = 0;
    let started = std::time::Instant::now();
    // The values that once found a 5xx are always sent; ten random ones follow.
    let fixed = FIXED.iter().map(|v| (*v).to_owned());
    let random = (0..10).map(|_| strategy.new_tree(&mut runner).unwrap().current());
    for value in fixed.chain(random) {
        // Also sent as raw bytes in the path, percent sequences left as they are.
        let raw_path_value = if value.starts_with('%') { value.clone() } else { encoded(&value) };
        for spec in tongban::web::route_table().registry.specs() {
            let has_path_param = spec.path.contains('{');
            if !has_path_param && spec.method != "GET" {
                continue;
            }
            let path = fill(&spec.path, &raw_path_value);
            // Every name gets the value (cut to 100 characters, so that the whole query stays within
            // what the HTTP server reads as a request head); `q` gets it whole.
            let short: String = value.chars().take(100).collect();
            let mut pairs: Vec<(&str, &str)> = QUERY_NAMES.iter().map(|n| (*n, short.as_str())).collect();
            pairs[0].1 = value.as_str();
            let query = serde_urlencoded::to_string(pairs).unwrap();
            for caller in &callers {
                let url = app.url(&format!("{path}?{query}"));
                let request = match spec.method {
                    "GET" => caller.client.get(&url),
                    _ if spec.path.starts_with("/api/") => {
                        caller.client.post(&url).json(&serde_json::json!({ "value": value, "action": value }))
                    }
                    _ => {
                        let token = caller.csrf.clone().unwrap_or_default();
                        caller.client.post(&url).form(&[("csrf_token", token.as_str()), ("value", value.as_str())])
                    }
                };
                let r = request.send().await.unwrap_or_else(|e| {
                    panic!("{} {} as {} with {:?}: no answer: {e:?}", spec.method, spec.path, caller.name, value)
                });
                sent += 1;
                assert!(
                    !r.status().is_server_error(),
                    "{} {} as {} with {:?} → {}",
                    spec.method,
                    spec.path,
                    caller.name,
                    value,
                    r.status()
                );
            }
        }
    }
    eprintln!("{sent} hostile requests, no 5xx, in {:.1} s", started.elapsed().as_secs_f64());
}

/// The route template with every parameter replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(value);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn a_page_number_past_any_list_is_refused_not_an_overflow() {
    let app = TestApp::spawn().await;
    let person = app.a_citizen().await;
    let staff = app.a_reviewer("SCJGJ").await;
    let citizen = person.api().await;
    let reviewer = staff.api().await;
    for (client, list) in [
        (&citizen, "/api/v1/messages"),
        (&citizen, "/api/v1/applications"),
        (&reviewer, "/api/v1/cases"),
        (&citizen, "/api/v1/items"),
    ] {
        for page in ["9223372036854775806", "9223372036854775807", "1000001"] {
            let r = app.get(client, &format!("{list}?page={page}&page_size=100")).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{list}?page={page}");
            assert_eq!(crate::common::json(r).await["code"], "invalid");
        }
        assert_eq!(app.get(client, &format!("{list}?page=1000000")).await.status(), StatusCode::OK, "{list}");
    }
    for page in ["/office?page=9223372036854775807", "/my/messages?page=9223372036854775807"] {
        let client = if page.starts_with("/office") { staff.login().await } else { person.login().await };
        assert_eq!(app.get(&client, page).await.status(), StatusCode::OK, "{page}: the page falls back to page 1");
    }
}

#[tokio::test]
async fn a_nul_in_a_query_or_a_path_is_refused_in_the_usual_shape_on_every_database() {
    let app = TestApp::spawn().await;
    let catalog = app.a_staff().with_role("catalog_admin").await.login().await;
    for path in ["/admin/items?q=%00", "/items?q=a%00b", "/verify/1.2.156%00"] {
        let r = app.get(&catalog, path).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(r.text().await.unwrap().contains("空字符"), "{path}: a page that says why");
    }
    let r = app.client().get(app.url("/api/v1/items?q=%00")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = crate::common::json(r).await;
    assert_eq!(body["code"], "invalid");
    assert_eq!(body["details"][0]["code"], "invalid_character");
}
