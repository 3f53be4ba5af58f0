//! Open-loop load harness: the release server in its own process (pinned to CPU 0 when
//! `taskset` exists), this generator on CPU 1, requests started on a fixed schedule so that a slow
//! response never delays the next one (latency is measured from the *scheduled* start, which
//! avoids coordinated omission). A mix of user journeys with logged-in sessions:
//!
//! - 60% browsing: home page, search, a guide page;
//! - 20% citizens checking their applications;
//! - 10% staff opening their workbench;
//! - 5% submissions with a 1 MB material;
//! - 5% licence verification — not built yet, so these go to guide pages for now.
//!
//! Scenarios (`-- --scenario a|b|c|smoke`): (a) 300 virtual users with 10 s think time = 30
//! requests/s; (b) 3,000 users = 300/s; (c) step the rate up until p99 exceeds 100 ms.
//! `--seconds N` sets each step's length (default 60; the (a) asks for 300).
//! Each run writes `bench/results/<date>-<host>.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};
use tokio::sync::Mutex;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    // Re-run pinned to CPU 1 so that the server can have CPU 0 to itself.
    if std::env::var("TONGBAN_LOAD_PINNED").is_err()
        && have_taskset()
        && std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
    {
        let me = std::env::current_exe().unwrap();
        let status = Command::new("taskset")
            .arg("-c")
            .arg("1")
            .arg(me)
            .args(std::env::args().skip(1))
            .env("TONGBAN_LOAD_PINNED", "1")
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(bench());
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tongban(dir: &Path) -> Command {
    let mut c = if std::env::var("TONGBAN_LOAD_PINNED").is_ok() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", env!("CARGO_BIN_EXE_tongban")]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_tongban"))
    };
    c.args(["--data-dir", dir.to_str().unwrap()]).env("TONGBAN_LOG", "warn");
    c
}

async fn start(dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child =
        tongban(dir).args(["serve", "--listen", &format!("127.0.0.1:{port}")]).stdout(Stdio::null()).spawn().unwrap();
    // Owned by the guard at once, so the process is reaped on every path.
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{}/readyz", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not start");
}

/// Peak resident memory (VmHWM) in MiB and CPU seconds used so far, from /proc.
fn proc_stats(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (hwm, (ticks(11) + ticks(12)) / 100.0)
}

#[derive(Clone, Copy, Debug)]
enum Journey {
    Home,
    Search,
    Guide,
    MyApplications,
    Staff,
    Submit,
}

fn pick(rng: &mut impl Rng) -> Journey {
    match rng.random_range(0..100) {
        0..20 => Journey::Home,
        20..40 => Journey::Search,
        40..60 => Journey::Guide,
        60..80 => Journey::MyApplications,
        80..90 => Journey::Staff,
        90..95 => Journey::Submit,
        _ => Journey::Guide, // licence verification, until licences exist
    }
}

struct Fixture {
    base: String,
    anonymous: reqwest::Client,
    citizens: Vec<reqwest::Client>,
    staff: reqwest::Client,
    queries: Vec<String>,
    codes: Vec<String>,
    item: tongban::domain::item::ItemDefinition,
    answers: String,
}

async fn request(f: &Fixture, j: Journey, rng_seed: u64) -> bool {
    let i = rng_seed as usize;
    let r = match j {
        Journey::Home => f.anonymous.get(format!("{}/", f.base)).send().await,
        Journey::Search => {
            let q = serde_urlencoded::to_string([("q", f.queries[i % f.queries.len()].as_str())]).unwrap();
            f.anonymous.get(format!("{}/api/v1/items?{q}", f.base)).send().await
        }
        Journey::Guide => f.anonymous.get(format!("{}/items/{}", f.base, f.codes[i % f.codes.len()])).send().await,
        Journey::MyApplications => {
            f.citizens[i % f.citizens.len()].get(format!("{}/api/v1/applications", f.base)).send().await
        }
        Journey::Staff => f.staff.get(format!("{}/office", f.base)).send().await,
        Journey::Submit => {
            let mut form =
                reqwest::multipart::Form::new().text("item", f.item.code.clone()).text("form", f.answers.clone());
            for m in f.item.materials.iter().filter(|m| m.required) {
                let mut bytes = vec![0u8; 1024 * 1024];
                bytes[..9].copy_from_slice(b"%PDF-1.7\n");
                rand::rng().fill_bytes(&mut bytes[9..]);
                form = form
                    .part(format!("material:{}", m.code), reqwest::multipart::Part::bytes(bytes).file_name("scan.pdf"));
            }
            f.citizens[i % f.citizens.len()]
                .post(format!("{}/api/v1/applications", f.base))
                .multipart(form)
                .send()
                .await
        }
    };
    match r {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

struct Outcome {
    rate: f64,
    seconds: u64,
    latencies: Vec<Duration>,
    errors: usize,
    rss_mib: f64,
    cpu_cores: f64,
}

impl Outcome {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies[((self.latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0}/s | {:.0}/s | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} MiB | {:.2} |",
            self.rate,
            self.latencies.len() as f64 / self.seconds as f64,
            self.errors,
            self.pct(0.5),
            self.pct(0.95),
            self.pct(0.99),
            self.pct(0.999),
            self.pct(1.0),
            self.rss_mib,
            self.cpu_cores
        )
    }
}

/// Starts requests at `rate` per second for `seconds`, on schedule, whatever the responses do.
async fn open_loop(f: Arc<Fixture>, pid: u32, rate: f64, seconds: u64) -> Outcome {
    let results: Arc<Mutex<Vec<(Duration, bool)>>> = Arc::default();
    let total = (rate * seconds as f64) as u64;
    let (_, cpu_before) = proc_stats(pid);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut rng = rand::rng();
    for n in 0..total {
        let scheduled = start + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(scheduled.into()).await;
        let (f, results, j, seed) = (f.clone(), results.clone(), pick(&mut rng), rng.next_u64());
        tasks.push(tokio::spawn(async move {
            let ok = tokio::time::timeout(Duration::from_secs(30), request(&f, j, seed)).await.unwrap_or(false);
            results.lock().await.push((scheduled.elapsed(), ok));
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let (rss, cpu_after) = proc_stats(pid);
    let results = results.lock().await;
    let mut latencies: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    Outcome {
        rate,
        seconds,
        errors: results.iter().filter(|(_, ok)| !ok).count(),
        latencies,
        rss_mib: rss,
        cpu_cores: (cpu_after - cpu_before) / start.elapsed().as_secs_f64(),
    }
}

async fn fixture(base: &str) -> Fixture {
    #[derive(serde::Deserialize)]
    struct Seed {
        items: Vec<tongban::domain::item::ItemDefinition>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        query: String,
    }
    let seed: Seed = serde_json::from_str(tongban::demo::CATALOGUE_JSON).unwrap();
    let item = tongban::demo::online_person_item(2 * 1024 * 1024).unwrap();
    let anonymous = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let mut citizens = Vec::new();
    for c in 0..20 {
        let id = tongban::domain::identity::id_number_with_check(&format!("31011219800101{c:03}")).unwrap();
        let user = format!("load{c:03}");
        let password = "Load#Minhang2026";
        anonymous
            .post(format!("{base}/api/v1/auth/register"))
            .json(&serde_json::json!({"kind": "person", "username": user, "name": "压测", "id_number": id, "phone": "13900000000", "password": password}))
            .send()
            .await
            .unwrap();
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let r = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        citizens.push(client);
    }
    let staff = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let r = staff
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "reviewer01", "password": "Tongban@2026"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    Fixture {
        base: base.to_owned(),
        anonymous,
        citizens,
        staff,
        queries: serde_json::from_str::<Vec<Case>>(include_str!("../seed/search_queries.json"))
            .unwrap()
            .into_iter()
            .map(|c| c.query)
            .collect(),
        codes: seed.items.iter().map(|d| d.code.clone()).collect(),
        answers: serde_json::Value::Object(tongban::demo::demo_answers(&item, "压测")).to_string(),
        item,
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
        / 1024.0;
    // Counted from /proc: inside taskset this process itself sees only one CPU.
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    format!("{cpu}, {cores} cores, {mem:.0} GiB")
}

async fn bench() {
    let scenario = arg("--scenario").unwrap_or_else(|| "smoke".into());
    let seconds: u64 =
        arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(if scenario == "smoke" { 10 } else { 60 });
    let dir = std::env::temp_dir().join(format!("tongban-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(tongban(&dir).arg("demo").stdout(Stdio::null()).status().unwrap().success());
    let server = start(&dir).await;
    let pid = server.child.id();
    let f = Arc::new(fixture(&server.base).await);
    let mut rows = Vec::new();
    match scenario.as_str() {
        "a" => rows.push(("(a) 300 users, 10 s think", open_loop(f.clone(), pid, 30.0, seconds).await)),
        "b" => rows.push(("(b) 3,000 users, 10 s think", open_loop(f.clone(), pid, 300.0, seconds).await)),
        _ => {
            let steps: &[f64] = if scenario == "smoke" {
                &[30.0, 100.0]
            } else {
                &[100.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1300.0, 1600.0, 2000.0, 2500.0]
            };
            for &rate in steps {
                let o = open_loop(f.clone(), pid, rate, seconds).await;
                let pass = o.errors == 0 && o.pct(0.99) < 100.0;
                println!("{}", o.row(&format!("{rate:.0}/s")));
                rows.push(("(c) step", o));
                if !pass {
                    break;
                }
            }
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let pinned = if std::env::var("TONGBAN_LOAD_PINNED").is_ok() {
        "server on CPU 0, load generator on CPU 1 (taskset)"
    } else {
        "not pinned (no taskset)"
    };
    let mut out = format!(
        "# Load run {} — scenario {scenario}\n\nMachine: {}. tongban {}. SQLite, synchronous=FULL, demo catalogue. {pinned}. Open loop, {seconds} s per step; latency from the scheduled start.\n\n\
         | step | offered | achieved | errors | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | server peak RSS | server CPU (cores) |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        tongban::clock::display(tongban::clock::now_ms()),
        machine(),
        env!("CARGO_PKG_VERSION"),
    );
    for (name, o) in &rows {
        out.push_str(&o.row(name));
        out.push('\n');
    }
    if scenario == "c" {
        let best =
            rows.iter().filter(|(_, o)| o.errors == 0 && o.pct(0.99) < 100.0).map(|(_, o)| o.rate).fold(0.0, f64::max);
        out.push_str(&format!("\nHighest offered rate with zero errors and p99 < 100 ms: **{best:.0}/s**.\n"));
    }
    println!("\n{out}");
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&results).unwrap();
    let host = std::fs::read_to_string("/etc/hostname")
        .unwrap_or_else(|_| "host".into())
        .trim()
        .chars()
        .take(12)
        .collect::<String>();
    let file = results.join(format!(
        "{}-{host}-{scenario}.md",
        tongban::clock::to_china(tongban::clock::now_ms()).format("%Y-%m-%d")
    ));
    std::fs::write(&file, out).unwrap();
    println!("written to {}", file.display());
}
