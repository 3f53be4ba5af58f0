//! Catalogue and submission benchmark (issue: service catalogue and online applications).
//!
//! Runs the real server in-process on a fresh SQLite database holding 3,000 published items
//! (the demo catalogue plus generated variants), then drives it over loopback HTTP with a fixed
//! number of concurrent clients (closed loop) and reports latency percentiles and throughput:
//!
//! - search: `GET /api/v1/items?q=` with the everyday queries of seed/search_queries.json;
//! - item page: `GET /items/{code}` (the 办事指南 page, HTML);
//! - submissions: `POST /api/v1/applications` with a distinct 1 MB PDF each (no dedup).
//!
//! `cargo bench --bench catalogue` (add `-- --seconds 20 --clients 16` to change the load).
//! Server and load generator share the machine's cores; the open-loop, separate-process
//! harness with ceilings belongs to the benchmark issue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use harness::{Report, arg, run};
use rand::RngCore;
use tongban::app::Actor;
use tongban::domain::item::ItemDefinition;

#[path = "harness.rs"]
mod harness;

const ITEMS: usize = 3000;

#[derive(serde::Deserialize)]
struct Seed {
    items: Vec<ItemDefinition>,
}

#[derive(serde::Deserialize)]
struct Case {
    query: String,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let seconds = arg("--seconds", 10);
    let clients = arg("--clients", 8);
    let (dir, state) = harness::demo_state("").await;

    // Grow the catalogue to 3,000 published items with variants of the demo items.
    let seed: Seed = serde_json::from_str(tongban::demo::CATALOGUE_JSON).unwrap();
    let sites = [
        "江川路",
        "古美路",
        "新虹",
        "浦锦",
        "莘庄",
        "七宝",
        "颛桥",
        "华漕",
        "虹桥",
        "梅陇",
        "吴泾",
        "马桥",
        "浦江",
        "莘庄工业区",
    ];
    let console = Actor::console();
    let mut tx = state.core.db.begin().await.unwrap();
    let mut codes: Vec<String> = seed.items.iter().map(|d| d.code.clone()).collect();
    let mut n = 0;
    while codes.len() < ITEMS {
        let base = &seed.items[n % seed.items.len()];
        let mut def = base.clone();
        def.code = format!("310112-BENCH-{n:05}");
        def.name = format!("{}（{}受理点）", base.name, sites[(n / seed.items.len()) % sites.len()]);
        tongban::app::catalogue::publish_in(&mut tx, &state.core.clock, &console, &def).await.unwrap();
        codes.push(def.code);
        n += 1;
    }
    tongban::store::catalogue::bump_revision(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    let base = harness::serve(state.clone()).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    // Warm the search index (built once per catalogue revision).
    http.get(format!("{base}/api/v1/items?q=warm")).send().await.unwrap();

    let queries: Vec<String> = serde_json::from_str::<Vec<Case>>(include_str!("../seed/search_queries.json"))
        .unwrap()
        .into_iter()
        .map(|c| c.query)
        .collect();
    let queries = Arc::new(queries);
    let (h, b, q) = (http.clone(), base.clone(), queries.clone());
    let mut search = run("search `GET /api/v1/items?q=`", clients, seconds, move |c, i| {
        let url = format!("{b}/api/v1/items?q={}", urlencode(&q[((c * 7919 + i) as usize) % q.len()]));
        let h = h.clone();
        async move { h.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;

    let codes = Arc::new(codes);
    let (h, b, cs) = (http.clone(), base.clone(), codes.clone());
    let mut item = run("item page `GET /items/{code}`", clients, seconds, move |c, i| {
        let url = format!("{b}/items/{}", cs[((c * 104_729 + i * 31) as usize) % cs.len()]);
        let h = h.clone();
        async move { h.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;

    // Submissions: one logged-in citizen per client, each file distinct (1 MB).
    let target = tongban::demo::online_person_item(2 * 1024 * 1024).expect("an item taking 1 MB PDFs");
    let mut sessions = Vec::new();
    for c in 0..clients {
        let id = tongban::domain::identity::id_number_with_check(&format!("31011219800101{:03}", c)).unwrap();
        let user = format!("bench{c:03}");
        let r = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&serde_json::json!({"kind": "person", "username": user, "name": "压测", "id_number": id, "phone": "13900000000", "password": "Bench#Minhang2026"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "register {}", r.status());
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let r = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": user, "password": "Bench#Minhang2026"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        sessions.push(client);
    }
    let sessions = Arc::new(sessions);
    let answers = serde_json::Value::Object(tongban::demo::demo_answers(&target, "压测")).to_string();
    let (b, t, s) = (base.clone(), Arc::new(target), sessions.clone());
    let answers = Arc::new(answers);
    let mut submit = run("submission with a 1 MB file", clients, seconds, move |c, _| {
        let mut form = reqwest::multipart::Form::new()
            .text("item", t.code.clone())
            .text("form", answers.as_str().to_owned());
        for m in t.materials.iter().filter(|m| m.required) {
            let mut bytes = vec![0u8; 1024 * 1024];
            bytes[..9].copy_from_slice(b"%PDF-1.7\n");
            rand::rng().fill_bytes(&mut bytes[9..]);
            form = form.part(
                format!("material:{}", m.code),
                reqwest::multipart::Part::bytes(bytes).file_name("scan.pdf"),
            );
        }
        let h = s[c as usize].clone();
        let url = format!("{b}/api/v1/applications");
        async move {
            h.post(url)
                .multipart(form)
                .send()
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED)
        }
    })
    .await;

    // Ceilings on the same machine, in the same run, with the same client: a bare axum handler
    // (C_http) and raw SQLite commits at the synchronous setting the server uses (C_commit).
    let bare_url = harness::bare_axum().await;
    let h = http.clone();
    let mut c_http = run("C_http: bare axum handler", clients, seconds, move |_, _| {
        let (h, url) = (h.clone(), bare_url.clone());
        async move { h.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    let commit_db = dir.join("commit.db");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(clients as u32)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&commit_db)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)").execute(&pool).await.unwrap();
    let mut c_commit = run("C_commit: SQLite commit (WAL, FULL)", clients, seconds, move |_, _| {
        let pool = pool.clone();
        async move {
            let Ok(mut tx) = pool.begin_with("BEGIN IMMEDIATE").await else { return false };
            let ok = sqlx::query("INSERT INTO t (v) VALUES ($1)").bind(vec![7u8; 256]).execute(&mut *tx).await.is_ok();
            ok && tx.commit().await.is_ok()
        }
    })
    .await;

    let rate = |r: &Report| r.rate();
    let (http_ceiling, commit_ceiling) = (rate(&c_http), rate(&c_commit));
    println!(
        "\n{} items, {} concurrent clients, {} s per scenario, SQLite (synchronous=FULL), one process\n",
        codes.len(),
        clients,
        seconds
    );
    println!("| scenario | requests | errors | throughput | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|");
    println!("{}", search.row());
    println!("{}", item.row());
    println!("{}", submit.row());
    println!("{}", c_http.row());
    println!("{}", c_commit.row());
    println!(
        "\nratios: search {:.0}% and guide page {:.0}% of C_http; durable submissions {:.0}% of C_commit",
        100.0 * rate(&search) / http_ceiling,
        100.0 * rate(&item) / http_ceiling,
        100.0 * rate(&submit) / commit_ceiling
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("q", s)]).unwrap_or_default().trim_start_matches("q=").to_owned()
}
