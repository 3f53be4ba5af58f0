//! Open-loop mixed load against the machine's own ceilings, on the database of 1,000,000
//! generated cases (issue #6).
//!
//! The release server runs in its own process pinned to CPU 0 (when `taskset` exists), this
//! generator on CPU 1; requests start on a fixed schedule so that a slow response never delays the
//! next one (latency is measured from the *scheduled* start, which avoids coordinated omission).
//! The journeys, with logged-in sessions:
//!
//! - 60% browsing: home page, search, a guide page (20% each);
//! - 20% citizens checking their applications;
//! - 10% staff: a work-queue page (3%) and the queue API (2.5%) as `reviewer01` (department),
//!   `window02` (site) or `leader01` (all) in turn, a case page (2%) and the case API (1.5%) on
//!   random cases of the caller's scope, and `accept` on fresh submitted cases (1%);
//! - 5% submissions with a 1 MB material;
//! - 5% licence verification by anyone: the QR page `/verify/{identifier}` and
//!   `GET /api/v1/licences/{identifier}/verification`, alternately, on licences issued (signed)
//!   before the run.
//!
//! In the same run, on the same machine, the ceilings: C_http, a bare axum handler in its own
//! process on the server's core (this binary re-run with `TONGBAN_BARE_HTTP`), and C_commit, raw
//! commits of one small row, one after another on one connection, at the server's setting
//! (SQLite: WAL + synchronous=FULL, in the data directory; PostgreSQL: the server's defaults, in
//! the benchmark database). Every journey's closed-loop capacity is reported as a ratio to its
//! ceiling (reads to C_http, writes to C_commit as well, submissions also to C_file: 1 MB files
//! written and fsynced with their folder, by as many writers as the submission capacity uses).
//!
//! `cargo bench --bench load -- --scenario smoke|a|b|c|full|capacity [--backend sqlite|postgres]
//! [--database <admin url>] [--seconds N] [--cases N] [--only <word>]`:
//! - `a`: 300 virtual users with 10 s think time = 30 requests/s; `b`: 3,000 users = 300/s;
//!   `c`: the rate stepped up until p99 passes 100 ms; `full`: ceilings, capacities, a, b and c;
//!   `capacity`: ceilings and capacities only, of the journeys whose name holds `--only`;
//! - the server's RSS is reported per open-loop step: at its start and its peak during it;
//! - `--seconds` is each step's length (default 60; the issue's (a) asks for 300);
//! - `smoke` (CI): a fresh small database, every journey once, ceilings and capacities for a
//!   moment, 5 s at 30/s; exits non-zero on any error, never on timings.
//!
//! Full runs write `bench/results/<date>-<host>-<backend>.md` (single scenarios add `-<scenario>`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};
use sqlx::{Connection, Row};
use support::{Backend, Dataset, pct};
use tokio::sync::Mutex;

fn main() {
    if let Ok(port) = std::env::var("TONGBAN_BARE_HTTP") {
        bare_http(port.parse().unwrap());
        return;
    }
    support::pin_self();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(bench());
}

/// C_http: a bare axum handler, as its own process (started on the server's core).
fn bare_http(port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .route("/readyz", axum::routing::get(|| async { "ok" }));
        axum::serve(listener, app).await.unwrap();
    });
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Journey {
    Home,
    Search,
    Guide,
    MyApplications,
    QueuePage,
    QueueApi,
    CasePage,
    CaseApi,
    Accept,
    Submit,
    Licence,
}

/// The mix, in thousandths.
const MIX: [(Journey, u32); 11] = [
    (Journey::Home, 200),
    (Journey::Search, 200),
    (Journey::Guide, 200),
    (Journey::MyApplications, 200),
    (Journey::QueuePage, 30),
    (Journey::QueueApi, 25),
    (Journey::CasePage, 20),
    (Journey::CaseApi, 15),
    (Journey::Accept, 10),
    (Journey::Submit, 50),
    (Journey::Licence, 50),
];

impl Journey {
    fn name(self) -> &'static str {
        match self {
            Journey::Home => "portal home `GET /`",
            Journey::Search => "search `GET /api/v1/items?q=`",
            Journey::Guide => "guide page `GET /items/{code}`",
            Journey::MyApplications => "my applications `GET /api/v1/applications`",
            Journey::QueuePage => "queue page `GET /office?queue=`",
            Journey::QueueApi => "queue API `GET /api/v1/cases?queue=`",
            Journey::CasePage => "case page `GET /office/cases/{n}`",
            Journey::CaseApi => "case API `GET /api/v1/cases/{n}`",
            Journey::Accept => "accept `POST /api/v1/cases/{n}/actions`",
            Journey::Submit => "submission, 1 MB + 2 × 64 KB `POST /api/v1/applications`",
            Journey::Licence => "licence verification (QR page and API)",
        }
    }

    fn writes(self) -> bool {
        matches!(self, Journey::Accept | Journey::Submit)
    }
}

fn pick(rng: &mut impl Rng) -> Journey {
    let mut roll = rng.random_range(0..1000);
    for (j, w) in MIX {
        if roll < w {
            return j;
        }
        roll -= w;
    }
    Journey::Guide
}

const OFFICE_QUEUES: [&str; 7] = ["intake", "examine", "decide", "due_soon", "overdue", "concluded", "mine"];

struct Staff {
    client: reqwest::Client,
    /// Random case numbers in this user's scope.
    cases: Vec<String>,
}

struct Fixture {
    base: String,
    anonymous: reqwest::Client,
    citizens: Vec<reqwest::Client>,
    /// reviewer01 (department), window02 (site), leader01 (all).
    staff: Vec<Staff>,
    /// Fresh submitted cases in reviewer01's department, each accepted once; then generated
    /// submitted ones of that department.
    to_accept: Mutex<Vec<String>>,
    fresh: usize,
    queries: Vec<String>,
    codes: Vec<String>,
    /// Identifiers of valid licences.
    licences: Vec<String>,
    item: tongban::domain::item::ItemDefinition,
    answers: String,
}

/// Licence verification, as anyone scanning a QR code or another system would: the public page
/// and the API, alternately.
async fn licence_request(f: &Fixture, i: usize) -> reqwest::Result<reqwest::Response> {
    let id = &f.licences[i % f.licences.len()];
    if i.is_multiple_of(2) {
        f.anonymous.get(format!("{}/verify/{id}", f.base)).send().await
    } else {
        f.anonymous.get(format!("{}/api/v1/licences/{id}/verification", f.base)).send().await
    }
}

/// Licences to verify: issued (signed with the data directory's key) before the run when the
/// database has fewer than `n`, as an administrator would issue them by hand.
async fn licences(ds: &Dataset, n: usize) -> Vec<String> {
    let config = tongban::config::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: ds.url.clone(),
        data_dir: ds.data_dir.clone(),
        demo: false,
        secure_cookies: false,
        public_url: None,
        metrics_token: None,
        log_json: false,
        accounts: tongban::config::AccountsConfig::default(),
    };
    let state = tongban::server::build_state(&config).await.unwrap();
    let core = &state.core;
    let held =
        sqlx::query("SELECT COUNT(*) AS n FROM licences").fetch_one(core.db.pool()).await.unwrap().get::<i64, _>("n");
    let console = tongban::app::Actor::console();
    for k in held as usize..n {
        let face: serde_json::Map<String, serde_json::Value> = [
            ("organisation_form", "个人经营"),
            ("business_address", "上海市闵行区莘庄镇压测路 1 号"),
            ("business_scope", "压测用经营范围"),
            ("business_name", "压测个体户"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), serde_json::Value::String(format!("{b}{k}"))))
        .collect();
        let req = tongban::app::licences::HandIssue {
            licence_type: "INDIVIDUAL_BUSINESS_LICENCE".into(),
            holder: "citizen01".into(),
            face,
            valid_from: None,
        };
        tongban::app::licences::issue_by_hand(core, &console, &req).await.unwrap();
    }
    let ids = sqlx::query("SELECT identifier FROM licences WHERE status = 'valid' ORDER BY random() LIMIT 1000")
        .fetch_all(core.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("identifier"))
        .collect();
    core.db.pool().close().await;
    ids
}

async fn request(f: &Fixture, j: Journey, seed: u64) -> bool {
    let i = seed as usize;
    let base = &f.base;
    let r = match j {
        Journey::Home => f.anonymous.get(format!("{base}/")).send().await,
        Journey::Search => {
            let q = serde_urlencoded::to_string([("q", f.queries[i % f.queries.len()].as_str())]).unwrap();
            f.anonymous.get(format!("{base}/api/v1/items?{q}")).send().await
        }
        Journey::Guide => f.anonymous.get(format!("{base}/items/{}", f.codes[i % f.codes.len()])).send().await,
        Journey::MyApplications => {
            f.citizens[i % f.citizens.len()].get(format!("{base}/api/v1/applications")).send().await
        }
        Journey::QueuePage | Journey::QueueApi => {
            let s = &f.staff[i % f.staff.len()];
            let queue = OFFICE_QUEUES[(i / 3) % OFFICE_QUEUES.len()];
            let page = (i / 21) % 3 + 1;
            let path = if j == Journey::QueuePage { "office" } else { "api/v1/cases" };
            s.client.get(format!("{base}/{path}?queue={queue}&page={page}")).send().await
        }
        Journey::CasePage | Journey::CaseApi => {
            let s = &f.staff[i % f.staff.len()];
            let n = &s.cases[(i / 3) % s.cases.len()];
            let path = if j == Journey::CasePage { "office/cases" } else { "api/v1/cases" };
            s.client.get(format!("{base}/{path}/{n}")).send().await
        }
        Journey::Accept => {
            let Some(n) = f.to_accept.lock().await.pop() else { return false };
            f.staff[0]
                .client
                .post(format!("{base}/api/v1/cases/{n}/actions"))
                .json(&serde_json::json!({"action": "accept"}))
                .send()
                .await
        }
        Journey::Submit => {
            let mut form =
                reqwest::multipart::Form::new().text("item", f.item.code.clone()).text("form", f.answers.clone());
            // The issue's "submission with a 1 MB material": the first required material is a
            // 1 MB scan, the item's other required materials small ones (64 KB).
            for (k, m) in f.item.materials.iter().filter(|m| m.required).enumerate() {
                let mut bytes = vec![0u8; if k == 0 { 1024 * 1024 } else { 64 * 1024 }];
                bytes[..9].copy_from_slice(b"%PDF-1.7\n");
                rand::rng().fill_bytes(&mut bytes[9..]);
                form = form
                    .part(format!("material:{}", m.code), reqwest::multipart::Part::bytes(bytes).file_name("scan.pdf"));
            }
            f.citizens[i % f.citizens.len()].post(format!("{base}/api/v1/applications")).multipart(form).send().await
        }
        Journey::Licence => licence_request(f, i).await,
    };
    match r {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

struct Outcome {
    rate: f64,
    seconds: u64,
    /// (journey, latency, ok), sorted by latency.
    results: Vec<(Journey, Duration, bool)>,
    /// Resident memory when the step began, and its peak during the step.
    rss_start_mib: f64,
    rss_mib: f64,
    cpu_cores: f64,
}

impl Outcome {
    fn latencies(&self, j: Option<Journey>) -> Vec<Duration> {
        self.results.iter().filter(|r| j.is_none_or(|j| r.0 == j)).map(|r| r.1).collect()
    }

    fn errors(&self) -> usize {
        self.results.iter().filter(|r| !r.2).count()
    }

    fn row(&self, name: &str) -> String {
        let l = self.latencies(None);
        format!(
            "| {name} | {:.0}/s | {:.0}/s | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} / {:.0} MiB | {:.2} |",
            self.rate,
            l.len() as f64 / self.seconds as f64,
            self.errors(),
            pct(&l, 0.5),
            pct(&l, 0.95),
            pct(&l, 0.99),
            pct(&l, 0.999),
            pct(&l, 1.0),
            self.rss_start_mib,
            self.rss_mib,
            self.cpu_cores
        )
    }

    /// Per-journey lines of one step.
    fn journeys(&self) -> String {
        let mut by: BTreeMap<Journey, (usize, usize)> = BTreeMap::new();
        for (j, _, ok) in &self.results {
            let e = by.entry(*j).or_default();
            e.0 += 1;
            e.1 += usize::from(!ok);
        }
        let mut out =
            String::from("| journey | requests | errors | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n");
        for (j, (n, e)) in by {
            let l = self.latencies(Some(j));
            out.push_str(&format!(
                "| {} | {n} | {e} | {:.1} | {:.1} | {:.1} |\n",
                j.name(),
                pct(&l, 0.5),
                pct(&l, 0.99),
                pct(&l, 1.0)
            ));
        }
        out
    }
}

/// Starts requests at `rate` per second for `seconds`, on schedule, whatever the responses do.
async fn open_loop(f: Arc<Fixture>, pid: u32, rate: f64, seconds: u64) -> Outcome {
    let results: Arc<Mutex<Vec<(Journey, Duration, bool)>>> = Arc::default();
    let total = (rate * seconds as f64) as u64;
    // The step's own peak: the kernel resets VmHWM to the current RSS (earlier steps, such as
    // the closed-loop capacities with 16 clients, must not count against this one).
    let rss_start = support::reset_peak_rss(pid);
    let (_, cpu_before) = support::proc_stats(pid);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut rng = rand::rng();
    for n in 0..total {
        let scheduled = start + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(scheduled.into()).await;
        let (f, results, j, seed) = (f.clone(), results.clone(), pick(&mut rng), rng.next_u64());
        tasks.push(tokio::spawn(async move {
            let ok = tokio::time::timeout(Duration::from_secs(30), request(&f, j, seed)).await.unwrap_or(false);
            results.lock().await.push((j, scheduled.elapsed(), ok));
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let (rss, cpu_after) = support::proc_stats(pid);
    let mut results = std::mem::take(&mut *results.lock().await);
    results.sort_by_key(|r| r.1);
    Outcome {
        rate,
        seconds,
        results,
        rss_start_mib: rss_start,
        rss_mib: rss,
        cpu_cores: (cpu_after - cpu_before) / start.elapsed().as_secs_f64(),
    }
}

/// Closed loop: `clients` loops of `request(i)` for `seconds` or `limit` requests; (requests/s,
/// p50, p99, errors).
async fn closed_loop<F, Fut>(clients: usize, seconds: f64, limit: u64, request: F) -> (f64, f64, f64, usize)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let (latencies, errors, elapsed) = support::closed_loop(clients, seconds, limit, request).await;
    (latencies.len() as f64 / elapsed.as_secs_f64(), pct(&latencies, 0.5), pct(&latencies, 0.99), errors)
}

struct Ceilings {
    http: f64,
    commit: f64,
    /// Raw SM2 verifications per second on one core (the `sm2` crate through the key ring).
    sm2: f64,
    /// 1 MB files written and made durable (fsync of the file and of its folder) per second, by
    /// as many writers as the submission capacity uses, in the data directory.
    file: f64,
    lines: String,
}

/// C_http and C_commit, measured now, on this machine.
async fn ceilings(ds: &Dataset, clients: usize, seconds: f64) -> Ceilings {
    // C_http: this binary as a bare axum server on the server's core.
    let port = support::free_port();
    let child = support::on_server_core(std::env::current_exe().unwrap().to_str().unwrap())
        .env("TONGBAN_BARE_HTTP", port.to_string())
        .spawn()
        .unwrap();
    let bare = support::Server { child, base: format!("http://127.0.0.1:{port}") };
    support::wait_ready(&bare.base, "/readyz").await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let url = Arc::new(format!("{}/", bare.base));
    let (http, h50, h99, he) = closed_loop(clients, seconds, u64::MAX, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url.as_str()).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    drop(bare);

    // C_commit: one small row per commit, one connection, at the server's durability setting.
    let (label, url) = match ds.backend {
        Backend::Sqlite => (
            "C_commit: SQLite commits (WAL, synchronous=FULL, in the data directory), 1 connection",
            format!("sqlite://{}/ceiling.db?mode=rwc", ds.data_dir.display()),
        ),
        Backend::Postgres(_) => {
            ("C_commit: PostgreSQL commits (server defaults, synchronous_commit=on), 1 connection", ds.url.clone())
        }
    };
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    if ds.backend == Backend::Sqlite {
        sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL").execute(&mut db).await.unwrap();
    }
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS bench_ceiling (id BIGINT PRIMARY KEY, v TEXT NOT NULL)")
        .execute(&mut db)
        .await
        .unwrap();
    let db = Arc::new(Mutex::new(db));
    let (commit, c50, c99, ce) = closed_loop(1, seconds, u64::MAX, move |i| {
        let db = db.clone();
        async move {
            let mut db = db.lock().await;
            sqlx::query("INSERT INTO bench_ceiling (id, v) VALUES ($1, $2)")
                .bind(i as i64)
                .bind("ceiling row, about 64 bytes of text, committed on its own.")
                .execute(&mut *db)
                .await
                .is_ok()
        }
    })
    .await;
    // C_file: what a durable 1 MB submission must do besides its commit, and nothing else: write
    // the file and fsync it and its folder, by as many writers as the submission capacity uses.
    let dir = Arc::new(ds.data_dir.join("ceiling-files"));
    std::fs::create_dir_all(&*dir).unwrap();
    let megabyte = Arc::new(vec![0x5au8; 1024 * 1024]);
    let (file, f50, f99, fe) = closed_loop(clients.min(4), seconds, u64::MAX, move |i| {
        let (dir, megabyte) = (dir.clone(), megabyte.clone());
        async move {
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::io::Write;
                let path = dir.join(format!("{i}.bin"));
                let mut f = std::fs::File::create(&path)?;
                f.write_all(&megabyte)?;
                f.sync_all()?;
                std::fs::File::open(&*dir)?.sync_all()?;
                std::fs::remove_file(&path)
            })
            .await
            .is_ok_and(|r| r.is_ok())
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(ds.data_dir.join("ceiling-files"));
    // C_sm2: raw SM2 verification of a licence-sized payload, on this (the generator's) core.
    let keys = tongban::signing::KeyRing::load_or_create(&ds.data_dir.join("sm2-ceiling")).unwrap();
    let payload = vec![b'x'; 900];
    let (key, der) = keys.sign(&payload).unwrap();
    let (mut verified, t) = (0u64, Instant::now());
    while t.elapsed().as_secs_f64() < seconds {
        assert!(keys.verify(&key, &payload, &der));
        verified += 1;
    }
    let sm2 = verified as f64 / t.elapsed().as_secs_f64();
    let lines = format!(
        "| C_http: bare axum handler, own process on the server's core, {clients} clients | {http:.0}/s | {h50:.2} | {h99:.2} | {he} |\n\
         | {label} | {commit:.0}/s | {c50:.2} | {c99:.2} | {ce} |\n\
         | C_file: 1 MB files written and fsynced with their folder, {} writers | {file:.0}/s | {f50:.2} | {f99:.2} | {fe} |\n\
         | C_sm2: raw SM2 verifications (900-byte payload), one core | {sm2:.0}/s | — | — | 0 |\n",
        clients.min(4)
    );
    Ceilings { http, commit, sm2, file, lines }
}

/// Every journey's closed-loop capacity and its ratio to the ceilings. `accept` takes at most the
/// cases to accept beyond `reserve` (kept for the open-loop steps): each case is accepted once.
async fn capacities(f: &Arc<Fixture>, c: &Ceilings, clients: usize, seconds: f64, reserve: usize) -> (String, usize) {
    let mut out = String::from(
        "| journey | capacity | p50 ms | p99 ms | errors | of C_http | of C_commit | of C_file | of C_sm2 |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut errors = 0;
    let only = support::arg("--only").unwrap_or_default();
    for (j, _) in MIX.into_iter().filter(|(j, _)| j.name().contains(only.as_str())) {
        // Writes run with fewer clients: a 1 MB upload or an accept per request is heavy enough.
        let n = if j.writes() { clients.min(4) } else { clients };
        let limit =
            if j == Journey::Accept { f.to_accept.lock().await.len().saturating_sub(reserve) as u64 } else { u64::MAX };
        let f2 = f.clone();
        let (rate, p50, p99, e) = closed_loop(n, seconds, limit, move |i| {
            let f = f2.clone();
            async move { request(&f, j, i.wrapping_mul(2_654_435_761) ^ i).await }
        })
        .await;
        errors += e;
        let commit = if j.writes() { format!("{:.0}%", 100.0 * rate / c.commit) } else { "—".to_owned() };
        let sm2 = if j == Journey::Licence { format!("{:.0}%", 100.0 * rate / c.sm2) } else { "—".to_owned() };
        let file = if j == Journey::Submit { format!("{:.0}%", 100.0 * rate / c.file) } else { "—".to_owned() };
        out.push_str(&format!(
            "| {} | {rate:.0}/s | {p50:.1} | {p99:.1} | {e} | {:.1}% | {commit} | {file} | {sm2} |\n",
            j.name(),
            100.0 * rate / c.http
        ));
        println!("capacity {}: {rate:.0}/s, p99 {p99:.1} ms, {e} errors", j.name());
    }
    (out, errors)
}

async fn fixture(base: &str, ds: &Dataset, accepts: usize) -> Fixture {
    #[derive(serde::Deserialize)]
    struct Case {
        query: String,
    }
    let item = tongban::demo::online_person_item(2 * 1024 * 1024).unwrap();
    let anonymous = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let citizens = support::citizens(base, 20).await;
    let mut staff = Vec::new();
    let mut db = sqlx::AnyConnection::connect(&ds.url).await.unwrap();
    for (who, sql) in [
        (
            "reviewer01",
            "SELECT c.number FROM cases c JOIN departments d ON d.id = c.department_id WHERE d.code = 'SCJGJ' \
             ORDER BY random() LIMIT 500",
        ),
        (
            "window02",
            "SELECT c.number FROM cases c JOIN sites s ON s.id = c.site_id WHERE s.code = 'xinzhuang' \
             ORDER BY random() LIMIT 500",
        ),
        ("leader01", "SELECT c.number FROM cases c ORDER BY random() LIMIT 500"),
    ] {
        let cases: Vec<String> =
            sqlx::query(sql).fetch_all(&mut db).await.unwrap().iter().map(|r| r.get::<String, _>("number")).collect();
        assert!(!cases.is_empty(), "no cases in {who}'s scope");
        staff.push(Staff { client: support::login(base, who, support::STAFF_PASSWORD).await, cases });
    }
    let mut to_accept: Vec<String> = sqlx::query(
        "SELECT c.number FROM cases c JOIN departments d ON d.id = c.department_id \
         WHERE d.code = 'SCJGJ' AND c.status = 'submitted' AND c.workflow_code = 'promised' \
         ORDER BY random() LIMIT 5000",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("number"))
    .collect();
    db.close().await.unwrap();
    let fresh = support::fresh_cases(base, &ds.url, &citizens[..4], accepts).await;
    let n = fresh.len();
    to_accept.extend(fresh); // popped from the end: the fresh ones first
    Fixture {
        base: base.to_owned(),
        anonymous,
        citizens,
        staff,
        to_accept: Mutex::new(to_accept),
        fresh: n,
        queries: serde_json::from_str::<Vec<Case>>(include_str!("../seed/search_queries.json"))
            .unwrap()
            .into_iter()
            .map(|c| c.query)
            .collect(),
        codes: tongban::demo::catalogue_items().iter().map(|d| d.code.clone()).collect(),
        licences: licences(ds, 500).await,
        answers: serde_json::Value::Object(tongban::demo::demo_answers(&item, "压测")).to_string(),
        item,
    }
}

async fn bench() {
    sqlx::any::install_default_drivers();
    let scenario = support::arg("--scenario").unwrap_or_else(|| "smoke".into());
    let smoke = scenario == "smoke";
    let seconds: u64 = support::arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(if smoke { 5 } else { 60 });
    let backend = Backend::from_args();
    let cases: u64 =
        support::arg("--cases").and_then(|v| v.parse().ok()).unwrap_or(if smoke { 2_000 } else { 1_000_000 });
    let clients = 16;
    let measure = if smoke { 1.0 } else { (seconds as f64 / 4.0).clamp(3.0, 15.0) };
    let started = Instant::now();
    let ds = if smoke { Dataset::fresh(&backend, cases) } else { Dataset::cached_copy(&backend, cases) };
    let server = support::start(&ds).await;
    let pid = server.child.id();
    // Fresh cases for the accept journey: 1% of the planned open-loop requests plus what the
    // capacity measurement may take; generated submitted cases of the department follow.
    let planned = match scenario.as_str() {
        "smoke" | "a" => 30.0,
        "b" => 300.0,
        "c" => 3000.0,
        _ => 3330.0,
    } * seconds as f64;
    let accepts = if smoke { 12 } else { (0.012 * planned + 100.0 * measure).min(4000.0) as usize };
    let reserve = (0.02 * planned) as usize + 10;
    let f = Arc::new(fixture(&server.base, &ds, accepts).await);
    let mut errors = 0;

    // Every journey once, in order: a broken journey fails the smoke run at once.
    let mut once = String::new();
    for (k, (j, _)) in MIX.iter().enumerate() {
        let t = Instant::now();
        let ok = request(&f, *j, k as u64 * 7 + 1).await;
        once.push_str(&format!(
            "| {} | {} | {:.1} |\n",
            j.name(),
            if ok { "ok" } else { "**failed**" },
            t.elapsed().as_secs_f64() * 1000.0
        ));
        if !ok {
            errors += 1;
            eprintln!("journey failed: {}", j.name());
        }
    }

    // `capacity`: the ceilings and the closed-loop capacities only (with `--only <word>`, of the
    // journeys whose name holds the word), e.g. to profile one journey with perf.
    let full = smoke || scenario == "full" || scenario == "capacity";
    let ceilings = if full { Some(ceilings(&ds, clients, measure).await) } else { None };
    let capacity = match &ceilings {
        Some(c) => {
            let (table, e) = capacities(&f, c, clients, measure, reserve).await;
            errors += e;
            Some(table)
        }
        None => None,
    };

    let mut rows: Vec<(String, Outcome)> = Vec::new();
    if smoke {
        rows.push(("smoke".into(), open_loop(f.clone(), pid, 30.0, seconds).await));
    }
    if scenario == "a" || scenario == "full" {
        rows.push(("(a) 300 users, 10 s think".into(), open_loop(f.clone(), pid, 30.0, seconds).await));
    }
    if scenario == "b" || scenario == "full" {
        rows.push(("(b) 3,000 users, 10 s think".into(), open_loop(f.clone(), pid, 300.0, seconds).await));
    }
    if scenario == "c" || scenario == "full" {
        for rate in [100.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1300.0, 1600.0, 2000.0, 2500.0] {
            let o = open_loop(f.clone(), pid, rate, seconds).await;
            let pass = o.errors() == 0 && pct(&o.latencies(None), 0.99) < 100.0;
            println!("{}", o.row(&format!("(c) {rate:.0}/s")));
            rows.push((format!("(c) step {rate:.0}/s"), o));
            if !pass {
                break;
            }
        }
    }
    errors += rows.iter().map(|(_, o)| o.errors()).sum::<usize>();
    let (rss, cpu) = support::proc_stats(pid);
    drop(server);
    let left = f.to_accept.lock().await.len();

    let mut out = format!(
        "# Load run {} — scenario {scenario} — {}\n\n\
         Machine: {}. tongban {}, release build, migration {:04}. {}. {} generated cases plus the demo data ({}). {}. \
         Open loop, {seconds} s per step; latency from the scheduled start. The 2 cores are shared with other \
         engineers' compilers: every figure is noisy; compare medians of several runs.\n\n\
         The licence-verification 5% alternates the QR page and the verification API over 500+ issued licences.\n",
        tongban::clock::display(tongban::clock::Clock::System.now_ms()),
        ds.backend.name(),
        support::machine(),
        env!("CARGO_PKG_VERSION"),
        support::migration_version(),
        ds.backend.describe(),
        cases,
        if smoke { "fresh, small" } else { "a working copy of the cached database" },
        support::pinning_note(),
    );
    out.push_str("\n## Every journey once\n\n| journey | result | ms |\n|---|---|---|\n");
    out.push_str(&once);
    if let (Some(c), Some(cap)) = (&ceilings, &capacity) {
        out.push_str(&format!(
            "\n## Ceilings, same run, same machine ({measure:.0} s each)\n\n| ceiling | rate | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n{}",
            c.lines
        ));
        out.push_str(&format!(
            "\n## Closed-loop capacity per journey ({clients} clients for reads, 4 for writes, {measure:.0} s each) as a ratio to its ceiling\n\n{cap}"
        ));
    }
    if !rows.is_empty() {
        out.push_str(
            "\n## Open loop\n\n| step | offered | achieved | errors | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | server RSS at start / peak in the step | server CPU (cores) |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for (name, o) in &rows {
            out.push_str(&o.row(name));
            out.push('\n');
        }
        if rows.iter().any(|(n, _)| n.starts_with("(c)")) {
            let best = rows
                .iter()
                .filter(|(n, o)| n.starts_with("(c)") && o.errors() == 0 && pct(&o.latencies(None), 0.99) < 100.0)
                .map(|(_, o)| o.rate)
                .fold(0.0, f64::max);
            out.push_str(&format!("\n(c) highest offered rate with zero errors and p99 < 100 ms: **{best:.0}/s**.\n"));
        }
        for (name, o) in &rows {
            out.push_str(&format!("\n### {name}: per journey\n\n{}", o.journeys()));
        }
    }
    out.push_str(&format!(
        "\n`accept` used {} fresh cases submitted just before the run, then generated submitted cases of the same \
         department ({} left unused). Server RSS peak {rss:.0} MiB (since the last open-loop step began, or over the run without one), CPU {cpu:.0} s over the run. Errors: {errors}. \
         Run took {:.0} s.\n",
        f.fresh,
        left,
        started.elapsed().as_secs_f64()
    ));
    println!("\n{out}");
    if !smoke {
        let suffix = if scenario == "full" { String::new() } else { format!("-{scenario}") };
        support::write_result(
            &format!(
                "{}-{}-{}{suffix}{}.md",
                support::today(),
                support::host_tag(),
                ds.backend.name(),
                support::size_suffix(cases)
            ),
            &out,
        );
    }
    drop(ds);
    if smoke && errors > 0 {
        eprintln!("smoke run: {errors} failed requests");
        std::process::exit(1);
    }
}
