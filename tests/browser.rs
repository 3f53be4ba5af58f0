//! Browser tests in real Chromium (Debian's `chromium` and `chromedriver`): every demo role logs
//! in and opens its pages; axe-core (from the npm lockfile) checks each page for serious or
//! critical accessibility violations; a screenshot of each page goes under
//! `target/browser-screenshots/`. Ignored by plain `cargo test` (they need Chromium);
//! run with `cargo test --test browser -- --ignored` (`.ci/run` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "integration/common.rs"]
#[allow(dead_code)]
mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestApp;

/// The browser tests walk the demo (its accounts, items and cases), as a new user would.
const PASSWORD: &str = tongban::demo::DEMO_PASSWORD;
use fantoccini::{Client, ClientBuilder, Locator};

struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in its own process group with the Chromium it started: kill the
        // group, or a test that panics before `client.close()` leaves its browser running.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The demo PDF in a temporary file, removed when the test ends (also when it fails).
struct DemoPdf(PathBuf);

impl DemoPdf {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tongban-{tag}-{}.pdf", std::process::id()));
        std::fs::write(&path, tongban::demo::DEMO_PDF).unwrap();
        Self(path)
    }
}

impl std::ops::Deref for DemoPdf {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for DemoPdf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_browser() -> (Driver, Client) {
    let port = free_port();
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = Command::new(&chromedriver)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {chromedriver} (apt-get install chromium chromium-driver): {e}"));
    let profile = std::env::temp_dir().join(format!("tongban-chromium-{port}"));
    let driver = Driver { child, port, profile: profile.clone() };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": binary,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("WebDriver session");
    (driver, client)
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs axe-core on the current page; returns the serious and critical violations.
async fn axe(client: &Client) -> Vec<String> {
    let source =
        std::fs::read_to_string(format!("{}/node_modules/axe-core/axe.min.js", tongban::web::kit::assets::NPM_DIR))
            .expect("axe-core from npm");
    client.execute(&source, vec![]).await.expect("inject axe");
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))
             ), e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe");
    serde_json::from_value(result).unwrap()
}

async fn check_page(client: &Client, app: &TestApp, who: &str, path: &str, shots: &Path) {
    client.goto(&app.url(path)).await.unwrap();
    let h1 = client.find(Locator::Css("h1")).await.unwrap_or_else(|_| panic!("{who} {path}: no heading"));
    let title = h1.text().await.unwrap();
    assert!(!title.is_empty() && !title.contains("无法访问") && !title.contains("不存在"), "{who} {path}: {title}");
    let violations = axe(client).await;
    assert!(violations.is_empty(), "{who} {path}: accessibility violations:\n{}", violations.join("\n"));
    let name = format!("{who}{}.png", path.replace('/', "_"));
    std::fs::write(shots.join(name), client.screenshot().await.unwrap()).unwrap();
}

async fn log_in(client: &Client, app: &TestApp, username: &str) {
    client.goto(&app.url("/login")).await.unwrap();
    client.find(Locator::Id("username")).await.unwrap().send_keys(username).await.unwrap();
    client.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    client.find(Locator::Css("form[action='/login'] button[type=submit]")).await.unwrap().click().await.unwrap();
    // The form posts and redirects; wait until the browser has left the login page.
    for _ in 0..100 {
        if client.current_url().await.unwrap().path() != "/login" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{username} could not log in");
}

async fn log_out(client: &Client) {
    // The page before may still be loading after a redirect: wait for the button, not a fixed time.
    let button = Locator::Css("form[action='/logout'] button");
    client.wait().at_most(Duration::from_secs(15)).for_element(button).await.unwrap().click().await.unwrap();
    for _ in 0..150 {
        if client.find(Locator::Css("form[action='/logout']")).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("still logged in 15 s after 退出");
}

const ROLE_PAGES: &[(&str, &[&str])] = &[
    (
        "admin",
        &[
            "/admin",
            "/admin/users",
            "/admin/users/new",
            "/admin/users/citizen01",
            "/admin/org",
            "/admin/calendar",
            "/account",
        ],
    ),
    ("secadmin", &["/admin", "/admin/users/head01", "/admin/roles", "/admin/roles/new"]),
    ("auditor", &["/admin", "/admin/audit", "/admin/audit?verify=1"]),
    ("licence01", &["/admin/licence-types", "/admin/licences", "/admin/licences/issue", "/admin/licences/import"]),
    ("window01", &["/hall", "/account"]),
    ("reviewer01", &["/office", "/my/messages"]),
    ("window02", &["/hall", "/office"]),
    ("head01", &["/office", "/office?queue=concluded", "/dashboard", "/office/licences"]),
    ("leader01", &["/dashboard", "/office?queue=overdue"]),
    (
        "citizen01",
        &[
            "/",
            "/account",
            "/account/password",
            "/my/applications",
            "/my/messages",
            "/my/licences",
            "/events/newborn",
            "/events/newborn/apply",
            "/items?q=%E7%A4%BE%E4%BF%9D",
        ],
    ),
    ("biz01", &["/account", "/items?subject=organisation"]),
];

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn every_demo_role_logs_in_and_its_pages_pass_axe() {
    let app = TestApp::with_demo().await;
    // Two messages for the citizen, one of them read, so that the message centre shows both looks.
    {
        let core = &app.state.core;
        let id = app.user_id("citizen01").await;
        let mut tx = core.db.begin().await.unwrap();
        for (title, link) in [("申请已提交", "/my/applications"), ("请补正材料", "")] {
            tongban::app::notifications::notify_in(&mut tx, core, id, title, "示例消息内容。", link).await.unwrap();
        }
        sqlx::query("UPDATE notifications SET read_at = 1 WHERE title = '请补正材料'").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    let (_driver, client) = start_browser().await;
    let shots = screenshot_dir();
    // The checker itself must be able to fail: plant a violation and expect axe to report it.
    client.goto(&app.url("/login")).await.unwrap();
    client.execute("const i = document.createElement('img'); i.src = '/assets/none.png'; document.querySelector('main').appendChild(i);", vec![]).await.unwrap();
    assert!(axe(&client).await.iter().any(|v| v.starts_with("image-alt")), "axe did not catch a planted violation");
    for path in ["/", "/login", "/register", "/register?kind=organisation", "/no-such-page"] {
        client.goto(&app.url(path)).await.unwrap();
        let violations = axe(&client).await;
        assert!(violations.is_empty(), "anonymous {path}:\n{}", violations.join("\n"));
        std::fs::write(
            shots.join(format!("anonymous{}.png", path.replace(['/', '?', '='], "_"))),
            client.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    for (user, pages) in ROLE_PAGES {
        log_in(&client, &app, user).await;
        for page in *pages {
            check_page(&client, &app, user, page, &shots).await;
        }
        log_out(&client).await;
    }
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn forms_show_all_errors_at_once_and_pass_axe() {
    let app = TestApp::with_demo().await;
    let (_driver, client) = start_browser().await;
    client.goto(&app.url("/register")).await.unwrap();
    client.find(Locator::Id("id_number")).await.unwrap().send_keys("110105194912310021").await.unwrap();
    client.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    let summary =
        client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("error-summary")).await.unwrap();
    let text = summary.text().await.unwrap();
    assert!(text.contains("校验位") && text.contains("手机号码") && text.contains("密码"), "{text}");
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "register with errors:\n{}", violations.join("\n"));
    std::fs::write(screenshot_dir().join("anonymous_register_errors.png"), client.screenshot().await.unwrap()).unwrap();
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn pages_fit_a_360px_phone_and_the_elderly_mode_enlarges_text() {
    let app = TestApp::with_demo().await;
    let (_driver, client) = start_browser().await;
    client.set_window_size(360, 780).await.unwrap();
    log_in(&client, &app, "citizen01").await;
    for path in ["/", "/account", "/account/password"] {
        client.goto(&app.url(path)).await.unwrap();
        let overflow =
            client.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
        assert!(overflow.as_i64().unwrap() <= 0, "{path} scrolls sideways at 360 px by {overflow}");
    }
    client.goto(&app.url("/")).await.unwrap();
    let size = |c: Client| async move {
        c.execute("return parseFloat(getComputedStyle(document.body).fontSize);", vec![])
            .await
            .unwrap()
            .as_f64()
            .unwrap()
    };
    assert!(size(client.clone()).await >= 16.0);
    client.find(Locator::Css("button[value=large]")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(size(client.clone()).await >= 20.0, "长辈模式 text is at least 20 px");
    std::fs::write(screenshot_dir().join("citizen01_phone_large.png"), client.screenshot().await.unwrap()).unwrap();
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn a_citizen_searches_applies_with_a_file_and_finds_the_receipt_in_my_applications() {
    #[derive(serde::Deserialize)]
    struct Seed {
        items: Vec<tongban::domain::item::ItemDefinition>,
    }
    let app = TestApp::with_demo().await;
    let (_driver, client) = start_browser().await;
    let shots = screenshot_dir();
    let seed: Seed = serde_json::from_str(tongban::demo::CATALOGUE_JSON).unwrap();
    let def = seed
        .items
        .into_iter()
        .find(|d| {
            d.fully_online
                && d.subjects.contains(&tongban::domain::item::Subject::Person)
                && d.materials.iter().all(|m| m.accept.iter().any(|a| a == "application/pdf"))
                && d.form.fields.iter().all(|f| f.show_if.is_none())
        })
        .unwrap();
    let pdf = DemoPdf::new("browser");

    log_in(&client, &app, "citizen02").await;
    // Search from the home page, as a person would.
    client.goto(&app.url("/")).await.unwrap();
    client.find(Locator::Id("q")).await.unwrap().send_keys(&def.name).await.unwrap();
    client.find(Locator::Css("form.search button[type=submit]")).await.unwrap().click().await.unwrap();
    let first =
        client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("a.result-title")).await.unwrap();
    assert_eq!(first.text().await.unwrap(), def.name);
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "search results:\n{}", violations.join("\n"));
    first.click().await.unwrap();
    client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("a[href^='/apply/']")).await.unwrap();
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "guide:\n{}", violations.join("\n"));
    std::fs::write(shots.join("citizen02_guide.png"), client.screenshot().await.unwrap()).unwrap();
    client.find(Locator::Css("a[href^='/apply/']")).await.unwrap().click().await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form[enctype='multipart/form-data']"))
        .await
        .unwrap();
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "application form:\n{}", violations.join("\n"));

    fill_application(&client, &def, "李四", &pdf).await;
    std::fs::write(shots.join("citizen02_apply_filled.png"), client.screenshot().await.unwrap()).unwrap();
    client.find(Locator::Css("button[value=submit]")).await.unwrap().click().await.unwrap();
    let Ok(receipt) = client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(".receipt")).await else {
        let body = client.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        panic!("no receipt; the page says:\n{body}");
    };
    let text = receipt.text().await.unwrap();
    assert!(text.contains("申请已提交") && text.contains("申请编号"), "{text}");
    let number = client.find(Locator::Css(".receipt strong.mono")).await.unwrap().text().await.unwrap();
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "receipt:\n{}", violations.join("\n"));
    std::fs::write(shots.join("citizen02_receipt.png"), client.screenshot().await.unwrap()).unwrap();

    client.goto(&app.url("/my/applications")).await.unwrap();
    let table = client.find(Locator::Css("main table")).await.unwrap().text().await.unwrap();
    assert!(table.contains(&number), "{table}");
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "my applications:\n{}", violations.join("\n"));
    client.close().await.unwrap();
}

/// Fills an application form the way a person would: type, choose, tick, attach a PDF to every
/// material. Fields hidden by a condition are left alone.
async fn fill_application(client: &Client, def: &tongban::domain::item::ItemDefinition, name: &str, pdf: &Path) {
    use tongban::domain::item::FieldType;
    let answers = tongban::demo::demo_answers(def, name);
    for f in def.form.fields.iter().filter(|f| def.form.applies(f, &answers)) {
        let value = answers.get(&f.name).cloned().unwrap_or_default();
        match f.kind {
            FieldType::Select => {
                let el = client.find(Locator::Id(&f.name)).await.unwrap();
                match value.as_str() {
                    Some(v) if !v.is_empty() => el.select_by_value(v).await.unwrap(),
                    _ => el.select_by_index(1).await.unwrap(),
                };
            }
            FieldType::Checkbox => {
                let b = client.find(Locator::Id(&f.name)).await.unwrap();
                if !b.is_selected().await.unwrap() {
                    b.click().await.unwrap();
                }
            }
            FieldType::Table => {
                for row in value.as_array().into_iter().flatten().take(1) {
                    for (c, v) in row.as_object().unwrap() {
                        let css = format!("input[name='f.{}.0.{c}']", f.name);
                        client
                            .find(Locator::Css(&css))
                            .await
                            .unwrap()
                            .send_keys(v.as_str().unwrap_or_default())
                            .await
                            .unwrap();
                    }
                }
            }
            FieldType::Date => {
                // A date input's typed order follows the browser's locale; set it through the DOM.
                let el = client.find(Locator::Id(&f.name)).await.unwrap();
                client
                    .execute(
                        "arguments[0].value = arguments[1];",
                        vec![serde_json::to_value(&el).unwrap(), value.clone()],
                    )
                    .await
                    .unwrap();
            }
            _ => {
                let input = client.find(Locator::Id(&f.name)).await.unwrap();
                input.clear().await.unwrap();
                input.send_keys(value.as_str().unwrap_or_default()).await.unwrap();
            }
        }
    }
    for m in &def.materials {
        let input = client.find(Locator::Id(&format!("material:{}", m.code))).await.unwrap();
        input.send_keys(pdf.to_str().unwrap()).await.unwrap();
    }
}

/// The main text of the current page.
async fn main_text(client: &Client) -> String {
    client.find(Locator::Css("main")).await.unwrap().text().await.unwrap()
}

/// Opens the case page and takes one action through its form: opens the action's panel, fills
/// what is given (`#id` → text, or a checkbox to tick when the text is empty) and confirms.
async fn take_action(client: &Client, app: &TestApp, case: &str, action: &str, fill: &[(&str, &str)]) {
    client.goto(&app.url(&format!("/office/cases/{case}"))).await.unwrap();
    let summary = format!("summary[data-action='{action}']");
    client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(&summary)).await.unwrap();
    // Open the panel through the DOM: a click on <summary> can be lost while the page settles.
    client.execute(&format!("document.querySelector(\"{summary}\").parentElement.open = true;"), vec![]).await.unwrap();
    for (id, text) in fill {
        let el = client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id(id)).await.unwrap();
        if text.is_empty() {
            el.click().await.unwrap();
        } else {
            el.send_keys(text).await.unwrap();
            // Keystrokes that went elsewhere (a PDF preview once took the focus while loading)
            // would leave a required field empty and the browser would refuse the submit silently.
            let typed = el.prop("value").await.unwrap().unwrap_or_default();
            assert_eq!(typed, *text, "{action} on {case}: typed into #{id}");
        }
    }
    let form = format!("details:has({summary}) form button[type=submit]");
    client.find(Locator::Css(&form)).await.unwrap().click().await.unwrap();
    // The form posts and redirects to the case page with `?done=<action>`; a debug build on a
    // loaded machine can take seconds, so wait for the redirect, not a fixed time.
    let url = client.current_url().await.unwrap();
    assert!(left_for_done(client, 300).await, "{action} on {case}: still at {url}: {}", main_text(client).await);
    let done = client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css("main .notice.ok")).await;
    assert!(done.is_ok(), "{action} on {case}: {}", main_text(client).await);
}

/// Waits up to `tenths` × 100 ms for the redirect after an action (`?done=` in the URL).
async fn left_for_done(client: &Client, tenths: u32) -> bool {
    for _ in 0..tenths {
        if client.current_url().await.unwrap().query().is_some_and(|q| q.contains("done=")) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Applies online for `def` as the logged-in citizen; returns the number on the receipt.
async fn apply_online(
    client: &Client,
    app: &TestApp,
    def: &tongban::domain::item::ItemDefinition,
    pdf: &Path,
) -> String {
    client.goto(&app.url(&format!("/apply/{}", def.code))).await.unwrap();
    fill_application(client, def, "张三", pdf).await;
    client.find(Locator::Css("button[value=submit]")).await.unwrap().click().await.unwrap();
    match client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(".receipt strong.mono")).await {
        Ok(el) => el.text().await.unwrap(),
        Err(_) => panic!("no receipt: {}", main_text(client).await),
    }
}

/// citizen01 applies online for `def` and logs out; returns the application's and the case's numbers.
async fn citizen01_applies(
    client: &Client,
    app: &TestApp,
    def: &tongban::domain::item::ItemDefinition,
    pdf: &Path,
) -> (String, String) {
    log_in(client, app, "citizen01").await;
    let number = apply_online(client, app, def, pdf).await;
    let case = case_of(app, &number).await;
    log_out(client).await;
    (number, case)
}

async fn case_of(app: &TestApp, application: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT c.number FROM cases c JOIN applications a ON a.id = c.application_id WHERE a.number = $1")
        .bind(application)
        .fetch_one(app.state.core.db.pool())
        .await
        .unwrap()
        .get("number")
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn a_case_runs_from_application_through_supplement_to_the_heads_approval() {
    let app = TestApp::with_demo().await;
    let (_driver, client) = start_browser().await;
    let shots = screenshot_dir();
    // 个体工商户设立登记: 区市场监管局 (reviewer01, head01), a promised case.
    let def = tongban::app::catalogue::guide(&app.state.core, "310112-SCJGJ-001").await.unwrap().def;
    let pdf = DemoPdf::new("case");

    // The citizen applies.
    let (number, case) = citizen01_applies(&client, &app, &def, &pdf).await;

    // The reviewer finds it in the intake queue and asks for a supplement (one-time notice).
    log_in(&client, &app, "reviewer01").await;
    client.goto(&app.url("/office")).await.unwrap();
    let queue = main_text(&client).await;
    assert!(queue.contains(&case) && queue.contains("待受理"), "{queue}");
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "office queue:\n{}", violations.join("\n"));
    std::fs::write(shots.join("reviewer01_office_queue.png"), client.screenshot().await.unwrap()).unwrap();
    // J moves to the first case of the queue, K stays at the top; Enter opens the focused one.
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.send_keys("jk").await.unwrap();
    let focused = client.execute("return document.activeElement.getAttribute('href');", vec![]).await.unwrap();
    let first = client.find(Locator::Css("table.cases tbody a")).await.unwrap().attr("href").await.unwrap();
    assert_eq!(focused.as_str(), first.as_deref(), "j focuses the queue's first case");
    client.goto(&app.url(&format!("/office/cases/{case}"))).await.unwrap();
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "case page:\n{}", violations.join("\n"));
    std::fs::write(shots.join("reviewer01_case.png"), client.screenshot().await.unwrap()).unwrap();
    // Keyboard shortcuts: "1" opens the first action with the cursor in its form; keys typed in a
    // field stay text; "q" goes back to the queue.
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.send_keys("1").await.unwrap();
    let state = client
        .execute(
            "const d = document.querySelector('summary[data-shortcut=\"1\"]').parentElement; \
             return [d.open, d.contains(document.activeElement), document.activeElement.tagName];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state[0], true, "key 1 opens the first action: {state}");
    assert_eq!(state[1], true, "and puts the cursor in its form: {state}");
    let note = client.find(Locator::Id("note")).await.unwrap();
    note.send_keys("q").await.unwrap();
    assert_eq!(note.prop("value").await.unwrap().as_deref(), Some("q"), "a key typed in a field is text");
    assert_eq!(client.current_url().await.unwrap().path(), format!("/office/cases/{case}"));
    client.execute("document.activeElement.blur();", vec![]).await.unwrap();
    body.send_keys("q").await.unwrap();
    let mut back = false;
    for _ in 0..100 {
        if client.current_url().await.unwrap().path() == "/office" {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "q goes back to the queue");
    take_action(
        &client,
        &app,
        &case,
        "request_supplement",
        &[("m-request_supplement-M01", ""), ("n-request_supplement-M01", "照片不清晰，请重新拍摄")],
    )
    .await;
    log_out(&client).await;

    // The citizen reads the notice and uploads only what was asked.
    log_in(&client, &app, "citizen01").await;
    client.goto(&app.url(&format!("/my/applications/{number}"))).await.unwrap();
    let page = main_text(&client).await;
    assert!(page.contains("请补正材料") && page.contains("照片不清晰"), "{page}");
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "supplement notice:\n{}", violations.join("\n"));
    std::fs::write(shots.join("citizen01_supplement.png"), client.screenshot().await.unwrap()).unwrap();
    client.find(Locator::Id("s-M01")).await.unwrap().send_keys(pdf.to_str().unwrap()).await.unwrap();
    client.find(Locator::Css("form[action*='/supplement'] button[type=submit]")).await.unwrap().click().await.unwrap();
    for _ in 0..150 {
        if client.current_url().await.unwrap().query().is_some_and(|q| q.contains("supplied=1")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(main_text(&client).await.contains("已补正材料"), "the supplement was taken");
    log_out(&client).await;

    // The reviewer accepts and passes it; the head approves.
    log_in(&client, &app, "reviewer01").await;
    take_action(&client, &app, &case, "accept", &[]).await;
    take_action(&client, &app, &case, "examine", &[("c-examine", "材料齐全，符合设立条件")]).await;
    log_out(&client).await;
    log_in(&client, &app, "head01").await;
    take_action(&client, &app, &case, "approve", &[("c-approve", "同意")]).await;
    log_out(&client).await;

    // The citizen sees every step.
    log_in(&client, &app, "citizen01").await;
    client.goto(&app.url(&format!("/my/applications/{number}"))).await.unwrap();
    let page = main_text(&client).await;
    for step in ["一次性告知", "已补正材料", "已受理", "审查通过", "准予许可"] {
        assert!(page.contains(step), "{step} missing:\n{page}");
    }
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "my application:\n{}", violations.join("\n"));
    std::fs::write(shots.join("citizen01_case_concluded.png"), client.screenshot().await.unwrap()).unwrap();
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn a_community_window_takes_a_citywide_application_that_lands_in_the_owning_departments_queue() {
    let app = TestApp::with_demo().await;
    let (_driver, client) = start_browser().await;
    let shots = screenshot_dir();
    // 失业保险金申领: 区人社局, citywide; taken at the 莘庄 community centre.
    let def = tongban::app::catalogue::guide(&app.state.core, "310112-RSJ-004").await.unwrap().def;
    let pdf = DemoPdf::new("intake");
    let id_number = tongban::domain::identity::id_number_with_check("31011219850312123").unwrap();

    log_in(&client, &app, "window02").await;
    client.goto(&app.url("/hall")).await.unwrap();
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "hall:\n{}", violations.join("\n"));
    client.find(Locator::Id("intake-item")).await.unwrap().select_by_value(&def.code).await.unwrap();
    client.find(Locator::Id("intake-id")).await.unwrap().send_keys(&id_number).await.unwrap();
    client.find(Locator::Css("form[action='/hall/intake'] button[type=submit]")).await.unwrap().click().await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form[enctype='multipart/form-data']"))
        .await
        .unwrap();
    let page = main_text(&client).await;
    assert!(page.contains("帮办收件") && page.contains("张三"), "{page}");
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "intake form:\n{}", violations.join("\n"));
    fill_application(&client, &def, "张三", &pdf).await;
    std::fs::write(shots.join("window02_intake.png"), client.screenshot().await.unwrap()).unwrap();
    client.find(Locator::Css("button[value=submit]")).await.unwrap().click().await.unwrap();
    let taken =
        client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css("main .notice.ok strong.mono")).await;
    let number = match taken {
        Ok(el) => el.text().await.unwrap(),
        Err(_) => panic!("not taken: {}", main_text(&client).await),
    };
    let case = case_of(&app, &number).await;
    log_out(&client).await;

    // It waits in 区人社局's intake queue, marked as taken at 莘庄.
    log_in(&client, &app, "reviewer02").await;
    client.goto(&app.url("/office?queue=intake")).await.unwrap();
    let queue = main_text(&client).await;
    assert!(queue.contains(&case) && queue.contains("莘庄镇社区事务受理服务中心"), "{queue}");
    log_out(&client).await;
    // And the citizen follows it online like any other.
    log_in(&client, &app, "citizen01").await;
    client.goto(&app.url("/my/applications")).await.unwrap();
    assert!(main_text(&client).await.contains(&number));
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn an_approved_case_puts_a_licence_in_the_wallet_whose_qr_page_follows_its_revocation() {
    let app = TestApp::with_demo().await;
    let (_driver, client) = start_browser().await;
    let shots = screenshot_dir();
    let def = tongban::app::catalogue::guide(&app.state.core, "310112-SCJGJ-001").await.unwrap().def;
    let pdf = DemoPdf::new("licence");

    let (_, case) = citizen01_applies(&client, &app, &def, &pdf).await;

    log_in(&client, &app, "reviewer01").await;
    take_action(&client, &app, &case, "accept", &[]).await;
    take_action(&client, &app, &case, "examine", &[("c-examine", "符合设立条件")]).await;
    log_out(&client).await;
    // The head approves; the approval form shows the licence's face facts taken from the form.
    log_in(&client, &app, "head01").await;
    take_action(&client, &app, &case, "approve", &[("c-approve", "同意")]).await;
    let issued = main_text(&client).await;
    assert!(issued.contains("已签发电子证照"), "{issued}");
    log_out(&client).await;

    // The citizen finds it in 我的证照, with its QR code; the QR's page says it is valid.
    log_in(&client, &app, "citizen01").await;
    client.goto(&app.url("/my/licences")).await.unwrap();
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "wallet:\n{}", violations.join("\n"));
    let identifier: String = {
        use sqlx::Row;
        sqlx::query("SELECT identifier FROM licences WHERE case_number = $1")
            .bind(&case)
            .fetch_one(app.state.core.db.pool())
            .await
            .unwrap()
            .get("identifier")
    };
    assert!(client.source().await.unwrap().contains(&format!("/my/licences/{identifier}")), "in the wallet");
    client.find(Locator::Css(&format!("a[href='/my/licences/{identifier}']"))).await.unwrap().click().await.unwrap();
    client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("figure.licence-qr")).await.unwrap();
    let page = client.source().await.unwrap();
    assert!(page.contains("<svg") || page.contains("data:image/svg"), "the face carries a QR code");
    std::fs::write(shots.join("citizen01_licence_face.png"), client.screenshot().await.unwrap()).unwrap();
    let verify = format!("/verify/{identifier}");
    log_out(&client).await;
    client.goto(&app.url(&verify)).await.unwrap();
    let verdict = client.find(Locator::Css(".verdict-word")).await.unwrap().text().await.unwrap();
    assert!(verdict.contains("真实有效"), "{verdict}");
    let violations = axe(&client).await;
    assert!(violations.is_empty(), "verification:\n{}", violations.join("\n"));

    // The issuing department's head revokes it; the same QR page now says so.
    log_in(&client, &app, "head01").await;
    client.goto(&app.url(&format!("/office/licences/{identifier}"))).await.unwrap();
    client.find(Locator::Id("reason")).await.unwrap().send_keys("以欺骗手段取得许可").await.unwrap();
    client.find(Locator::Css("button[value=revoke]")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    log_out(&client).await;
    client.goto(&app.url(&verify)).await.unwrap();
    let verdict = client.find(Locator::Css(".verdict-word")).await.unwrap().text().await.unwrap();
    assert!(verdict.contains("吊销"), "{verdict}");
    std::fs::write(shots.join("anonymous_verify_revoked.png"), client.screenshot().await.unwrap()).unwrap();
    client.close().await.unwrap();
}
