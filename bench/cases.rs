//! Case handling at scale (issue #4, "Speed"): on a database holding 1,000,000 generated cases,
//! the release server in its own process (CPU 0 when `taskset` exists, this client on CPU 1),
//! driven over loopback with a few concurrent clients (closed loop):
//!
//! - every work-queue page and API list (`/office?queue=…`, `/api/v1/cases?queue=…`) for intake,
//!   examine, decide, due_soon, overdue, concluded and mine, as a department-scoped reviewer
//!   (`reviewer01`), a site-scoped window (`window02`) and the all-scoped leader (`leader01`),
//!   pages 1 to 5 in turn;
//! - the case page and `GET /api/v1/cases/{number}` on random cases of the caller's scope;
//! - `accept` through `POST /api/v1/cases/{number}/actions` on fresh submitted cases (submitted
//!   through the API just before, each accepted once).
//!
//! Targets: every queue page and the case page p99 < 50 ms including the scope filter; an action
//! p99 < 30 ms. Timings are reported, never asserted.
//!
//! `cargo bench --bench cases -- --backend sqlite|postgres [--cases 1000000] [--seconds 5]
//! [--clients 2] [--actions 200]`. The database is generated once and cached (see support.rs);
//! each run writes `bench/results/<date>-<host>-cases-<backend>-m<migration>.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Row};
use support::{Backend, Dataset, pct};

const QUEUES: [&str; 7] = ["intake", "examine", "decide", "due_soon", "overdue", "concluded", "mine"];
const STAFF: [(&str, &str); 3] = [("reviewer01", "department"), ("window02", "site"), ("leader01", "all")];

fn main() {
    support::pin_self();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(bench());
}

struct Measured {
    endpoint: String,
    who: String,
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    target_ms: f64,
}

impl Measured {
    fn row(&self) -> String {
        let p99 = pct(&self.latencies, 0.99);
        format!(
            "| {} | {} | {} | {} | {:.0}/s | {:.1} | {:.1} | {:.1} | {:.0} | {} |",
            self.endpoint,
            self.who,
            self.latencies.len(),
            self.errors,
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            pct(&self.latencies, 0.5),
            p99,
            pct(&self.latencies, 1.0),
            self.target_ms,
            if self.errors == 0 && p99 < self.target_ms { "yes" } else { "**no**" }
        )
    }
}

async fn ok(r: reqwest::Result<reqwest::Response>) -> bool {
    match r {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

/// Random case numbers in a scope (`department` / `site` code, or all).
async fn sample(url: &str, scope: &str, n: i64) -> Vec<String> {
    let mut db = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = match scope {
        "department" => {
            "SELECT c.number FROM cases c JOIN departments d ON d.id = c.department_id WHERE d.code = 'SCJGJ' \
             ORDER BY random() LIMIT $1"
        }
        "site" => {
            "SELECT c.number FROM cases c JOIN sites s ON s.id = c.site_id WHERE s.code = 'xinzhuang' \
             ORDER BY random() LIMIT $1"
        }
        _ => "SELECT c.number FROM cases c ORDER BY random() LIMIT $1",
    };
    let rows = sqlx::query(sql).bind(n).fetch_all(&mut db).await.unwrap();
    db.close().await.unwrap();
    rows.iter().map(|r| r.get::<String, _>("number")).collect()
}

async fn bench() {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_args();
    let cases: u64 = support::arg("--cases").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let seconds: f64 = support::arg("--seconds").and_then(|v| v.parse().ok()).unwrap_or(5.0);
    let clients: usize = support::arg("--clients").and_then(|v| v.parse().ok()).unwrap_or(2);
    let actions: usize = support::arg("--actions").and_then(|v| v.parse().ok()).unwrap_or(200);
    let ds = Dataset::cached_copy(&backend, cases);
    let server = support::start(&ds).await;
    let base = Arc::new(server.base.clone());
    let mut rows: Vec<Measured> = Vec::new();

    for (who, scope) in STAFF {
        let client = support::login(&base, who, support::STAFF_PASSWORD).await;
        for queue in QUEUES {
            for api in [false, true] {
                let (client, base) = (client.clone(), base.clone());
                let (latencies, errors, elapsed) = support::closed_loop(clients, seconds, u64::MAX, move |i| {
                    let page = i % 5 + 1;
                    let url = if api {
                        format!("{base}/api/v1/cases?queue={queue}&page={page}")
                    } else {
                        format!("{base}/office?queue={queue}&page={page}")
                    };
                    let client = client.clone();
                    async move { ok(client.get(url).send().await).await }
                })
                .await;
                let endpoint =
                    if api { format!("`GET /api/v1/cases?queue={queue}`") } else { format!("`/office?queue={queue}`") };
                let m =
                    Measured { endpoint, who: format!("{who} ({scope})"), latencies, errors, elapsed, target_ms: 50.0 };
                println!("{}", m.row());
                rows.push(m);
            }
        }
        let numbers = Arc::new(sample(&ds.url, scope, 500).await);
        for api in [false, true] {
            let (client, base, numbers) = (client.clone(), base.clone(), numbers.clone());
            let (latencies, errors, elapsed) = support::closed_loop(clients, seconds, u64::MAX, move |i| {
                let n = &numbers[i as usize % numbers.len()];
                let url = if api { format!("{base}/api/v1/cases/{n}") } else { format!("{base}/office/cases/{n}") };
                let client = client.clone();
                async move { ok(client.get(url).send().await).await }
            })
            .await;
            let endpoint = if api { "`GET /api/v1/cases/{number}`" } else { "`/office/cases/{number}` (case page)" };
            let m = Measured {
                endpoint: endpoint.to_owned(),
                who: format!("{who} ({scope})"),
                latencies,
                errors,
                elapsed,
                target_ms: 50.0,
            };
            println!("{}", m.row());
            rows.push(m);
        }
    }

    // Actions: fresh submitted cases in reviewer01's department, each accepted once.
    let citizens = support::citizens(&base, 4).await;
    let fresh = Arc::new(support::fresh_cases(&base, &ds.url, &citizens, actions).await);
    let reviewer = support::login(&base, "reviewer01", support::STAFF_PASSWORD).await;
    {
        let (client, base, fresh) = (reviewer.clone(), base.clone(), fresh.clone());
        let (latencies, errors, elapsed) = support::closed_loop(clients, 600.0, fresh.len() as u64, move |i| {
            let url = format!("{base}/api/v1/cases/{}/actions", fresh[i as usize]);
            let client = client.clone();
            async move { ok(client.post(url).json(&serde_json::json!({"action": "accept"})).send().await).await }
        })
        .await;
        let m = Measured {
            endpoint: "`POST /api/v1/cases/{number}/actions` accept".to_owned(),
            who: "reviewer01 (department)".to_owned(),
            latencies,
            errors,
            elapsed,
            target_ms: 30.0,
        };
        println!("{}", m.row());
        rows.push(m);
    }
    drop(server);

    let missed: Vec<&Measured> =
        rows.iter().filter(|m| m.errors > 0 || pct(&m.latencies, 0.99) >= m.target_ms).collect();
    let errors: usize = rows.iter().map(|m| m.errors).sum();
    let mut out = format!(
        "# Case handling at scale — {} — {}\n\n\
         Machine: {}. tongban {}, release build, migration {:04}. {}. {} generated cases (plus the demo data). {}.\n\
         Closed loop, {clients} concurrent clients, {seconds} s per endpoint (queue pages 1–5 in turn; case pages on 500 random \
         cases of the caller's scope); `accept` on {} fresh cases submitted through the API just before. \
         The machine's 2 cores are shared with other engineers' compilers: figures are noisy, compare medians of several runs.\n\n\
         | endpoint | user (scope) | requests | errors | throughput | p50 ms | p99 ms | max ms | target p99 ms | met |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        ds.backend.name(),
        tongban::clock::display(tongban::clock::Clock::System.now_ms()),
        support::machine(),
        env!("CARGO_PKG_VERSION"),
        support::migration_version(),
        ds.backend.describe(),
        cases,
        support::pinning_note(),
        fresh.len(),
    );
    for m in &rows {
        out.push_str(&m.row());
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{} of {} endpoints met their target; {errors} errors.\n",
        rows.len() - missed.len(),
        rows.len()
    ));
    println!("\n{out}");
    support::write_result(
        &format!(
            "{}-{}-cases-{}-m{:04}{}.md",
            support::today(),
            support::host_tag(),
            ds.backend.name(),
            support::migration_version(),
            support::size_suffix(cases)
        ),
        &out,
    );
    drop(ds);
    if errors > 0 {
        eprintln!("{errors} requests failed");
        std::process::exit(1);
    }
}
