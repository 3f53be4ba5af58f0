//! The closed-loop load harness the benchmarks share: `clients` concurrent loops for a fixed
//! time, latency percentiles and throughput as a Markdown table row.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fresh data directory under the system's temporary one, with the demo data on SQLite.
pub async fn demo_state(name: &str) -> (PathBuf, tongban::web::AppState) {
    let dir = std::env::temp_dir().join(format!("tongban-bench-{name}{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = tongban::config::Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: tongban::config::default_sqlite_url(&dir),
        data_dir: dir.clone(),
        demo: true,
        secure_cookies: false,
        public_url: None,
        metrics_token: None,
        log_json: false,
        accounts: tongban::config::AccountsConfig::default(),
    };
    let state = tongban::server::build_state(&config).await.unwrap();
    tongban::demo::seed(&state.core).await.unwrap();
    (dir, state)
}

/// Serves the whole application on a loopback port; returns its base URL.
pub async fn serve(state: tongban::web::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = tongban::web::build_app(state);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    base
}

/// A bare axum handler on a loopback port (the C_http ceiling); returns its URL.
pub async fn bare_axum() -> String {
    let bare = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", bare.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        axum::serve(bare, app).await.unwrap();
    });
    url
}

/// A numeric command-line option (`--seconds 5`), or its default.
pub fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub struct Report {
    pub name: &'static str,
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub elapsed: Duration,
}

impl Report {
    pub fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }

    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn row(&mut self) -> String {
        self.latencies.sort();
        format!(
            "| {} | {} | {} | {:.0}/s | {:.2} | {:.2} | {:.2} | {:.2} |",
            self.name,
            self.latencies.len(),
            self.errors,
            self.rate(),
            self.pct(0.50),
            self.pct(0.95),
            self.pct(0.99),
            self.pct(1.0)
        )
    }
}

/// Runs `clients` loops of `request` for `seconds`; each returns whether it succeeded.
pub async fn run<F, Fut>(name: &'static str, clients: u64, seconds: u64, request: F) -> Report
where
    F: Fn(u64, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = request(c, i).await;
                lat.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    Report { name, latencies, errors, elapsed: started.elapsed() }
}
