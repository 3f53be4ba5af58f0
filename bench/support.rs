//! Shared by the benchmarks (`#[path = "support.rs"] mod support;`): the database of N
//! generated cases, cached between runs; the release server in its own process; percentiles;
//! /proc readings; the machine line of the results files.
//!
//! The cache lives outside the repository (`/var/tmp/tongban-bench/`, or `TONGBAN_BENCH_CACHE`),
//! keyed by backend, the newest migration and the number of cases:
//!
//! - SQLite: `sqlite-m<version>-<cases>/` is a data directory made by `tongban demo --cases N`.
//! - PostgreSQL: the database `tongban_bench_m<version>_<cases>` (with the data directory
//!   `postgres-m<version>-<cases>/` for its keys and files). Generating through single-row
//!   statements ran at about 100 cases/s against PostgreSQL on this shared 2-core machine (a debug
//!   build while others compiled; 1,200/s on SQLite), hours for a million, so the PostgreSQL copy
//!   is made from the SQLite one of the same key: the schema from `tongban migrate`, then every
//!   table copied with `sqlite3 -csv | psql \copy`, identity sequences moved past the copied ids,
//!   `VACUUM ANALYZE`. Same rows, same keys.
//! - When a migration is added, the newest older cache is copied (`cp -a`, or `CREATE DATABASE …
//!   TEMPLATE …`) and migrated forward with `tongban migrate`, as a deployment would be; the older
//!   one stays, so before/after figures of an index migration run on the same rows.
//!
//! Benchmarks run on a working copy, dropped afterwards, so that the cache never changes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

pub fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Re-runs this benchmark pinned to CPU 1 so that the server can have CPU 0 to itself; returns
/// only in the pinned process (or where pinning is impossible).
pub fn pin_self() {
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
}

pub fn pinned() -> bool {
    std::env::var("TONGBAN_LOAD_PINNED").is_ok()
}

pub fn pinning_note() -> &'static str {
    if pinned() {
        "server (and the bare-handler ceiling) on CPU 0, load generator on CPU 1 (taskset)"
    } else {
        "not pinned (no taskset or one CPU)"
    }
}

/// A command on CPU 0 when this process is pinned to CPU 1.
pub fn on_server_core(program: &str) -> Command {
    if pinned() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", program]);
        c
    } else {
        Command::new(program)
    }
}

/// The `tongban` binary with a data directory and a database.
pub fn tongban(data_dir: &Path, database: &str) -> Command {
    let mut c = on_server_core(env!("CARGO_BIN_EXE_tongban"));
    // TONGBAN_BENCH_SERVER_LOG sets the server's log filter (e.g. `warn,tower_http=debug` for
    // each request's latency as the server saw it); the default keeps the server quiet.
    let log = std::env::var("TONGBAN_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into());
    c.args(["--data-dir", data_dir.to_str().unwrap(), "--database", database]).env("TONGBAN_LOG", log);
    c
}

fn run(c: &mut Command, what: &str) {
    let status = c.status().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

fn output(c: &mut Command, what: &str) -> String {
    let out = c.stderr(Stdio::inherit()).output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed: {}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The newest migration of this checkout (the cache key), read once per run.
pub fn migration_version() -> u32 {
    static VERSION: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/store/migrations/sqlite");
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_string_lossy().get(..4).and_then(|v| v.parse().ok()))
            .max()
            .unwrap()
    })
}

pub fn cache_root() -> PathBuf {
    std::env::var("TONGBAN_BENCH_CACHE").map_or_else(|_| PathBuf::from("/var/tmp/tongban-bench"), PathBuf::from)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// The administrative URL (`postgres://root@127.0.0.1:5432/postgres`).
    Postgres(String),
}

impl Backend {
    /// `--backend sqlite|postgres` and `--database <admin url>` (default: the local server).
    pub fn from_args() -> Backend {
        match arg("--backend").as_deref() {
            Some("postgres") | Some("pg") => Backend::Postgres(
                arg("--database").unwrap_or_else(|| "postgres://root@127.0.0.1:5432/postgres".to_owned()),
            ),
            _ => Backend::Sqlite,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite => "SQLite (WAL, synchronous=FULL)".to_owned(),
            Backend::Postgres(_) => {
                let v = Command::new("psql")
                    .args(["--version"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                    .unwrap_or_default();
                format!("PostgreSQL (default settings; {v})")
            }
        }
    }
}

fn pg_base(admin: &str) -> &str {
    admin.rsplit_once('/').unwrap().0
}

fn psql(admin: &str, sql: &str) -> String {
    output(Command::new("psql").args([admin, "-v", "ON_ERROR_STOP=1", "-Atqc", sql]), sql)
}

fn pg_exists(admin: &str, db: &str) -> bool {
    psql(admin, &format!("SELECT 1 FROM pg_database WHERE datname = '{db}'")).trim() == "1"
}

fn cp(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    run(Command::new("cp").arg("-a").arg(from).arg(to), "cp -a");
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/tongban.db", dir.display())
}

/// The newest cache of the same kind and size made before the current migration.
fn older(prefix: &str, cases: u64, version: u32) -> Option<u32> {
    (1..version).rev().find(|v| cache_root().join(format!("{prefix}-m{v}-{cases}")).join("complete").exists())
}

/// The cached SQLite data directory holding `cases` generated cases, made when missing.
pub fn sqlite_cache(cases: u64) -> PathBuf {
    let version = migration_version();
    let dir = cache_root().join(format!("sqlite-m{version}-{cases}"));
    if dir.join("complete").exists() {
        return dir;
    }
    std::fs::create_dir_all(cache_root()).unwrap();
    let partial = cache_root().join(format!("sqlite-m{version}-{cases}.partial"));
    let started = Instant::now();
    if let Some(v) = older("sqlite", cases, version) {
        eprintln!("migrating the cached m{v} database of {cases} cases forward to m{version}…");
        cp(&cache_root().join(format!("sqlite-m{v}-{cases}")), &partial);
        let _ = std::fs::remove_file(partial.join("complete"));
        run(tongban(&partial, &sqlite_url(&partial)).arg("migrate"), "tongban migrate");
    } else {
        eprintln!("generating {cases} cases on SQLite into {} (once; cached)…", dir.display());
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).unwrap();
        run(
            tongban(&partial, &sqlite_url(&partial)).args(["demo", "--cases", &cases.to_string()]),
            "tongban demo --cases",
        );
    }
    // A clean checkpoint, so that the file copies of this directory are complete.
    run(Command::new("sqlite3").arg(partial.join("tongban.db")).arg("PRAGMA wal_checkpoint(TRUNCATE);"), "checkpoint");
    std::fs::write(partial.join("complete"), format!("{:.0} s\n", started.elapsed().as_secs_f64())).unwrap();
    std::fs::rename(&partial, &dir).unwrap();
    dir
}

/// The cached PostgreSQL database (and its data directory) holding `cases` generated cases.
pub fn postgres_cache(admin: &str, cases: u64) -> (PathBuf, String) {
    let version = migration_version();
    let name = format!("tongban_bench_m{version}_{cases}");
    let dir = cache_root().join(format!("postgres-m{version}-{cases}"));
    if dir.join("complete").exists() && pg_exists(admin, &name) {
        return (dir, name);
    }
    let partial = format!("{name}_partial");
    psql(admin, &format!("DROP DATABASE IF EXISTS {partial} WITH (FORCE)"));
    let url = format!("{}/{partial}", pg_base(admin));
    let started = Instant::now();
    let from_older =
        older("postgres", cases, version).filter(|v| pg_exists(admin, &format!("tongban_bench_m{v}_{cases}")));
    if let Some(v) = from_older {
        eprintln!("migrating the cached m{v} PostgreSQL database of {cases} cases forward to m{version}…");
        psql(admin, &format!("CREATE DATABASE {partial} TEMPLATE tongban_bench_m{v}_{cases}"));
        cp(&cache_root().join(format!("postgres-m{v}-{cases}")), &dir);
        let _ = std::fs::remove_file(dir.join("complete"));
        run(tongban(&dir, &url).arg("migrate"), "tongban migrate");
    } else {
        let source = sqlite_cache(cases);
        eprintln!("copying the SQLite cache of {cases} cases into PostgreSQL database {name} (once; cached)…");
        psql(admin, &format!("CREATE DATABASE {partial}"));
        cp(&source, &dir);
        let _ = std::fs::remove_file(dir.join("complete"));
        let _ = std::fs::remove_file(dir.join("tongban.db"));
        let _ = std::fs::remove_file(dir.join("tongban.db-wal"));
        let _ = std::fs::remove_file(dir.join("tongban.db-shm"));
        run(tongban(&dir, &url).arg("migrate"), "tongban migrate");
        copy_sqlite_into_postgres(&source.join("tongban.db"), &url);
    }
    // VACUUM as well: copied rows have no visibility map yet, so index-only scans would not be.
    psql(&url, "VACUUM ANALYZE");
    psql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(admin, &format!("ALTER DATABASE {partial} RENAME TO {name}"));
    std::fs::write(dir.join("complete"), format!("{:.0} s\n", started.elapsed().as_secs_f64())).unwrap();
    (dir, name)
}

/// Every table's rows from SQLite into the (migrated, then emptied) PostgreSQL database.
fn copy_sqlite_into_postgres(db: &Path, url: &str) {
    let sqlite = |sql: &str| output(Command::new("sqlite3").arg(db).arg(sql), sql);
    let tables: Vec<String> = sqlite(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .lines()
    .map(str::to_owned)
    .collect();
    psql(url, &format!("TRUNCATE {} RESTART IDENTITY CASCADE", tables.join(", ")));
    for t in &tables {
        let columns: Vec<String> = sqlite(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"))
            .lines()
            .map(str::to_owned)
            .collect();
        let list = columns.join(", ");
        let started = Instant::now();
        let mut dump = Command::new("sqlite3")
            .args(["-csv", "-nullvalue", "\\N"])
            .arg(db)
            .arg(format!("SELECT {list} FROM {t}"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let load = Command::new("psql")
            .args([url, "-v", "ON_ERROR_STOP=1", "-q"])
            .args(["-c", "SET session_replication_role = replica"])
            .args(["-c", &format!("\\copy {t} ({list}) FROM STDIN WITH (FORMAT csv, NULL '\\N')")])
            .stdin(dump.stdout.take().unwrap())
            .status()
            .unwrap();
        assert!(dump.wait().unwrap().success() && load.success(), "copying {t}");
        eprintln!("  {t}: {:.1} s", started.elapsed().as_secs_f64());
    }
    // Identity columns continue after the copied ids.
    psql(
        url,
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT table_name, column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND is_identity = 'YES' LOOP \
         EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), COALESCE((SELECT MAX(%I) FROM %I), 0) + 1, false)', \
         r.table_name, r.column_name, r.column_name, r.table_name); END LOOP; END $$",
    );
}

/// A database to run a benchmark on: a working copy of the cache (or a small fresh one),
/// removed when dropped.
pub struct Dataset {
    pub backend: Backend,
    pub cases: u64,
    pub data_dir: PathBuf,
    /// The URL the server and the benchmark connect to.
    pub url: String,
    pg_name: Option<String>,
}

impl Dataset {
    /// A working copy of the cached database of `cases` generated cases.
    pub fn cached_copy(backend: &Backend, cases: u64) -> Dataset {
        let tag = format!("work-{}", std::process::id());
        let data_dir = cache_root().join(&tag);
        let started = Instant::now();
        let ds = match backend {
            Backend::Sqlite => {
                let source = sqlite_cache(cases);
                cp(&source, &data_dir);
                Dataset { backend: backend.clone(), cases, url: sqlite_url(&data_dir), data_dir, pg_name: None }
            }
            Backend::Postgres(admin) => {
                let (source_dir, source) = postgres_cache(admin, cases);
                let name = format!("tongban_bench_work_{}", std::process::id());
                psql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                psql(admin, &format!("CREATE DATABASE {name} TEMPLATE {source}"));
                cp(&source_dir, &data_dir);
                Dataset {
                    backend: backend.clone(),
                    cases,
                    url: format!("{}/{name}", pg_base(admin)),
                    data_dir,
                    pg_name: Some(name),
                }
            }
        };
        eprintln!("working copy of {cases} cases ready in {:.0} s", started.elapsed().as_secs_f64());
        ds
    }

    /// A fresh small database with `cases` generated cases (for smoke runs; not cached).
    pub fn fresh(backend: &Backend, cases: u64) -> Dataset {
        let data_dir = std::env::temp_dir().join(format!("tongban-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir).unwrap();
        let (url, pg_name) = match backend {
            Backend::Sqlite => (sqlite_url(&data_dir), None),
            Backend::Postgres(admin) => {
                let name = format!("tongban_bench_fresh_{}", std::process::id());
                psql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                psql(admin, &format!("CREATE DATABASE {name}"));
                (format!("{}/{name}", pg_base(admin)), Some(name))
            }
        };
        run(
            tongban(&data_dir, &url).args(["demo", "--cases", &cases.to_string()]).stdout(Stdio::null()),
            "tongban demo --cases",
        );
        Dataset { backend: backend.clone(), cases, data_dir, url, pg_name }
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let (Backend::Postgres(admin), Some(name)) = (&self.backend, &self.pg_name) {
            let _ = Command::new("psql")
                .args([admin.as_str(), "-qc", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .status();
        }
    }
}

pub struct Server {
    pub child: Child,
    pub base: String,
}

/// Stops the server as an operator would: SIGTERM, so that it shuts down gracefully and a profiler
/// running it (callgrind, perf) writes its output; SIGKILL only if it is still up after 10 s.
impl Drop for Server {
    fn drop(&mut self) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        if terminated {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `base/path` answers 2xx.
pub async fn wait_ready(base: &str, path: &str) {
    let client = reqwest::Client::new();
    for _ in 0..1200 {
        if client.get(format!("{base}{path}")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not start");
}

/// The release server on the dataset (on CPU 0 when pinned).
pub async fn start(ds: &Dataset) -> Server {
    let port = free_port();
    let child = tongban(&ds.data_dir, &ds.url)
        // `--demo`: the demo's staff keep the published password (outside demo mode they must
        // change it first); every rate limit ×1000, since every request comes from 127.0.0.1.
        .args(["serve", "--demo", "--rate-limit-scale", "1000", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Owned by the guard at once, so the process is reaped on every path.
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    wait_ready(&server.base, "/readyz").await;
    server
}

/// Resets the process's peak resident memory (VmHWM) to its current RSS (`clear_refs` 5, Linux
/// 4.0+) and returns that RSS in MiB, so the next `proc_stats` gives the peak since now.
pub fn reset_peak_rss(pid: u32) -> f64 {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Peak resident memory (VmHWM) in MiB and CPU seconds used so far, from /proc.
pub fn proc_stats(pid: u32) -> (f64, f64) {
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

/// The `p` quantile (0..=1) of sorted latencies, in milliseconds.
pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

pub fn machine() -> String {
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

/// The short machine tag of results files (the host name, at most 12 characters).
pub fn host_tag() -> String {
    std::fs::read_to_string("/etc/hostname")
        .unwrap_or_else(|_| "host".into())
        .trim()
        .chars()
        .take(12)
        .collect::<String>()
}

pub fn today() -> String {
    tongban::clock::Clock::System.today().to_string()
}

/// Nothing for the standard 1,000,000 cases, `-<n>cases` otherwise (so that a small trial run
/// never overwrites the results of a full one).
pub fn size_suffix(cases: u64) -> String {
    if cases == 1_000_000 { String::new() } else { format!("-{cases}cases") }
}

/// Writes `bench/results/<name>` and says where.
pub fn write_result(name: &str, text: &str) {
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&results).unwrap();
    let file = results.join(name);
    std::fs::write(&file, text).unwrap();
    println!("written to {}", file.display());
}

/// Logs in through the API; the session cookie serves the pages as well.
pub async fn login(base: &str, username: &str, password: &str) -> reqwest::Client {
    let client = reqwest::Client::builder().cookie_store(true).pool_max_idle_per_host(64).build().unwrap();
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "login {username}: {}", r.status());
    client
}

pub const STAFF_PASSWORD: &str = "Tongban@2026";
/// 个体工商户设立登记 (区市场监管局, reviewer01's department): fresh cases for `accept`.
pub const ACCEPT_ITEM: &str = "310112-SCJGJ-001";

/// Submits `n` applications of `ACCEPT_ITEM` (a small PDF each) with `clients` citizens at once;
/// returns the new cases' numbers, read from the database.
pub async fn fresh_cases(base: &str, url: &str, citizens: &[reqwest::Client], n: usize) -> Vec<String> {
    use sqlx::{Connection, Row};
    let seed = tongban::demo::catalogue_items();
    let def = seed.iter().find(|d| d.code == ACCEPT_ITEM).unwrap().clone();
    let answers = serde_json::Value::Object(tongban::demo::demo_answers(&def, "压测")).to_string();
    let numbers = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    let per = n.div_ceil(citizens.len().max(1));
    for (k, client) in citizens.iter().enumerate() {
        let (client, base, def, answers, numbers) =
            (client.clone(), base.to_owned(), def.clone(), answers.clone(), numbers.clone());
        let count = per.min(n.saturating_sub(k * per));
        tasks.push(tokio::spawn(async move {
            for _ in 0..count {
                let mut form =
                    reqwest::multipart::Form::new().text("item", def.code.clone()).text("form", answers.clone());
                for m in def.materials.iter().filter(|m| m.required) {
                    let part = reqwest::multipart::Part::bytes(tongban::demo::DEMO_PDF.to_vec())
                        .file_name(format!("{}.pdf", m.code))
                        .mime_str("application/pdf")
                        .unwrap();
                    form = form.part(format!("material:{}", m.code), part);
                }
                let r = client.post(format!("{base}/api/v1/applications")).multipart(form).send().await.unwrap();
                assert_eq!(r.status(), reqwest::StatusCode::CREATED, "fresh submission");
                let body: serde_json::Value = r.json().await.unwrap();
                numbers.lock().await.push(body["number"].as_str().unwrap().to_owned());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut cases = Vec::new();
    for a in numbers.lock().await.iter() {
        let row = sqlx::query(
            "SELECT c.number FROM cases c JOIN applications a ON a.id = c.application_id WHERE a.number = $1",
        )
        .bind(a)
        .fetch_one(&mut db)
        .await
        .unwrap();
        cases.push(row.get::<String, _>("number"));
    }
    db.close().await.unwrap();
    cases
}

/// Registers and logs in `n` citizens (`load000`…).
pub async fn citizens(base: &str, n: usize) -> Vec<reqwest::Client> {
    let anonymous = reqwest::Client::new();
    let mut out = Vec::new();
    for c in 0..n {
        let id = tongban::domain::identity::id_number_with_check(&format!("31011219800101{c:03}")).unwrap();
        let user = format!("load{c:03}");
        let password = "Load#Minhang2026";
        anonymous
            .post(format!("{base}/api/v1/auth/register"))
            .json(&serde_json::json!({"kind": "person", "username": user, "name": "压测", "id_number": id, "phone": "13900000000", "password": password}))
            .send()
            .await
            .unwrap();
        out.push(login(base, &user, password).await);
    }
    out
}

/// `clients` loops of `request(i)` until `seconds` pass or `limit` requests have started.
pub async fn closed_loop<F, Fut>(
    clients: usize,
    seconds: f64,
    limit: u64,
    request: F,
) -> (Vec<Duration>, usize, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = std::sync::Arc::new(request);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (request, next) = (request.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0);
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let t = Instant::now();
                if !request(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    (latencies, errors, started.elapsed())
}
