//! The test harness: a real server on a fresh database (SQLite file by default, PostgreSQL when
//! `TONGBAN_TEST_DATABASE_URL` points at a server), empty but for what the platform itself ships
//! (built-in roles, the work calendar, the shipped workflows), and typed helpers. Tests make what
//! they need with the builders (`crate::builders`); only `demo.rs` starts with the demo data.

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use sqlx::Executor;
use tongban::clock::TestClock;
use tongban::config::Config;
use tongban::web::AppState;

/// The password of every account the builders make (the demo's is `tongban::demo::DEMO_PASSWORD`).
pub const PASSWORD: &str = "Builder#Pass2026";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    /// The server's clock: it starts at the real time and moves only when a test moves it.
    pub clock: TestClock,
    pub database_url: String,
    pub data_dir: PathBuf,
    pg: Option<(String, String)>,
    /// Numbers the builders' default names, so that every made thing is distinct.
    pub(crate) seq: std::sync::atomic::AtomicU64,
}

fn unique() -> String {
    use rand::RngCore;
    format!("{:016x}", rand::rng().next_u64())
}

impl TestApp {
    /// A running server on an empty platform (no departments, accounts or items).
    pub async fn spawn() -> TestApp {
        Self::spawn_configured(|_| {}).await
    }

    /// An empty platform whose settings `configure` changes first.
    pub async fn spawn_configured(configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::start(false, configure).await
    }

    /// A running server in demo mode with the demo data (for `demo.rs` only, which checks what
    /// the demo promises).
    pub async fn with_demo() -> TestApp {
        Self::with_demo_configured(|_| {}).await
    }

    /// [`TestApp::with_demo`] with settings that `configure` changes first.
    pub async fn with_demo_configured(configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::start(true, configure).await
    }

    async fn start(demo: bool, configure: impl FnOnce(&mut Config)) -> TestApp {
        tongban::telemetry::init_logging(false);
        let data_dir = std::env::temp_dir().join(format!("tongban-test-{}", unique()));
        std::fs::create_dir_all(&data_dir).expect("temp dir");
        let (database_url, pg) = match std::env::var("TONGBAN_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("tongban_test_{}", unique());
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL");
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b).to_owned();
                (format!("{base}/{name}"), Some((admin_url.clone(), name)))
            }
            _ => (tongban::config::default_sqlite_url(&data_dir), None),
        };
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.clone(),
            data_dir: data_dir.clone(),
            demo,
            secure_cookies: false,
            public_url: None,
            metrics_token: None,
            log_json: false,
            accounts: tongban::config::AccountsConfig::default(),
        };
        configure(&mut config);
        let clock = TestClock::starting_now();
        let state = tongban::server::build_state_with_clock(&config, clock.clone().into()).await.expect("state");
        if demo {
            tongban::demo::seed(&state.core).await.expect("demo seed");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = tongban::web::build_app(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
        });
        TestApp { base: format!("http://{addr}"), state, clock, database_url, data_dir, pg, seq: Default::default() }
    }

    /// Moves the server's clock to 10:00 China time on `day` (forward or back).
    pub fn move_to_day(&self, day: tongban::domain::day::Day) {
        self.clock.set(tongban::clock::at_hour(day, 10));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests check them).
    pub fn client(&self) -> Client {
        Client::builder().cookie_store(true).redirect(Policy::none()).build().expect("client")
    }

    /// Logs in through the login page, as a person would, and returns the client.
    pub async fn login_as(&self, username: &str) -> Client {
        self.login_as_with(username, PASSWORD).await
    }

    pub async fn login_as_with(&self, username: &str, password: &str) -> Client {
        let client = self.client();
        let response = self.submit_login(&client, username, password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login of {username} failed");
        client
    }

    pub async fn submit_login(&self, client: &Client, username: &str, password: &str) -> Response {
        let token = self.csrf(client, "/login").await;
        client
            .post(self.url("/login"))
            .form(&[("csrf_token", token.as_str()), ("username", username), ("password", password)])
            .send()
            .await
            .expect("login request")
    }

    /// Submits the login page with a `next` target.
    pub async fn submit_login_next(&self, client: &Client, username: &str, next: &str) -> Response {
        let token = self.csrf(client, "/login").await;
        client
            .post(self.url("/login"))
            .form(&[("csrf_token", token.as_str()), ("username", username), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .expect("login request")
    }

    /// Logs in through the API.
    pub async fn api_login(&self, username: &str, password: &str) -> (Client, Response) {
        let client = self.client();
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("api login");
        (client, response)
    }

    /// The CSRF token embedded in a page's forms.
    pub async fn csrf(&self, client: &Client, path: &str) -> String {
        let html = client.get(self.url(path)).send().await.expect("get").text().await.expect("body");
        csrf_in(&html).unwrap_or_else(|| panic!("no csrf token on {path}"))
    }

    /// Posts a form with the CSRF token taken from `form_page`.
    pub async fn post_form(&self, client: &Client, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf(client, form_page).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        client.post(self.url(action)).form(&all).send().await.expect("post")
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("get")
    }

    /// Runs a statement on the test database (to tamper with stored data; move [`TestApp::clock`]
    /// to let time pass).
    pub async fn sql(&self, statement: &'static str) {
        sqlx::query(statement).execute(self.state.core.db.write_pool()).await.expect("sql");
    }

    /// The database id of a user.
    pub async fn user_id(&self, username: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_one(self.state.core.db.pool())
            .await
            .expect("user")
            .get("id")
    }

    /// Audit records of one action, newest first, as (actor, object, result).
    pub async fn audit_rows(&self, action: &'static str) -> Vec<(String, String, String)> {
        use sqlx::Row;
        sqlx::query("SELECT actor, object, result FROM audit_log WHERE action = $1 ORDER BY seq DESC")
            .bind(action)
            .fetch_all(self.state.core.db.pool())
            .await
            .expect("audit rows")
            .iter()
            .map(|r| (r.get("actor"), r.get("object"), r.get("result")))
            .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some((admin_url, name)) = self.pg.take() {
            // Dropping needs its own runtime: the test's runtime is shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await {
                        let _ = conn
                            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

pub fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

pub async fn json(response: Response) -> serde_json::Value {
    response.json().await.expect("json body")
}
