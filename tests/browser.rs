//! Browser tests in real Chromium (Debian's `chromium` and `chromedriver`): every demo role logs
//! in and opens its pages; axe-core (from the npm lockfile) checks each page for serious or
//! critical accessibility violations; a screenshot of each page goes under
//! `target/browser-screenshots/`. Ignored by plain `cargo test` (they need Chromium);
//! run with `cargo test --test browser -- --ignored` (`.ci/run` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "integration/common.rs"]
#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{PASSWORD, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};

struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_browser() -> (Driver, Client) {
    let port = free_port();
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = Command::new(&chromedriver)
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
    let source = std::fs::read_to_string(concat!(env!("TONGBAN_NPM_DIR"), "/node_modules/axe-core/axe.min.js"))
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
    client.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
}

const ROLE_PAGES: &[(&str, &[&str])] = &[
    ("admin", &["/admin", "/admin/users", "/admin/users/new", "/admin/users/citizen01", "/admin/org", "/account"]),
    ("secadmin", &["/admin", "/admin/users/head01", "/admin/roles", "/admin/roles/new"]),
    ("auditor", &["/admin", "/admin/audit", "/admin/audit?verify=1"]),
    ("window01", &["/hall", "/account"]),
    ("reviewer01", &["/office"]),
    ("head01", &["/office", "/dashboard"]),
    ("leader01", &["/dashboard"]),
    ("citizen01", &["/", "/account", "/account/password", "/my/applications", "/items?q=%E7%A4%BE%E4%BF%9D"]),
    ("biz01", &["/account", "/items?subject=organisation"]),
];

#[tokio::test]
#[ignore = "needs Chromium and chromedriver; run with --ignored"]
async fn every_demo_role_logs_in_and_its_pages_pass_axe() {
    let app = TestApp::spawn().await;
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
    let app = TestApp::spawn().await;
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
    let app = TestApp::spawn().await;
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
    use tongban::domain::item::FieldType;
    #[derive(serde::Deserialize)]
    struct Seed {
        items: Vec<tongban::domain::item::ItemDefinition>,
    }
    let app = TestApp::spawn().await;
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
    let pdf = std::env::temp_dir().join(format!("tongban-browser-{}.pdf", std::process::id()));
    std::fs::write(&pdf, tongban::demo::DEMO_PDF).unwrap();

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

    // Fill every field the way a person would: type, choose, tick, attach.
    let answers = tongban::demo::demo_answers(&def, "李四");
    for f in &def.form.fields {
        let value = answers.get(&f.name).cloned().unwrap_or_default();
        match f.kind {
            FieldType::Select => {
                client.find(Locator::Id(&f.name)).await.unwrap().select_by_index(1).await.unwrap();
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
    let _ = std::fs::remove_file(&pdf);
    client.close().await.unwrap();
}
