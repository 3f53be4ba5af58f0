//! Electronic licence benchmark (issue: electronic licences).
//!
//! Runs the real server in-process on a fresh SQLite database with the demo data and reports:
//!
//! - bulk import (历史证照归集) of an XLSX of `--import` licences through the use case, including
//!   row checks, SM2 signing, SM4 encryption of personal data and one all-or-nothing commit;
//! - verification by identifier: `GET /api/v1/licences/{identifier}/verification` over loopback
//!   HTTP with `--clients` concurrent clients (closed loop), random imported identifiers;
//! - the ceilings in the same run: the `sm2` crate's raw sign and verify rates on one core, and
//!   a bare axum handler over the same HTTP client.
//!
//! `cargo bench --bench licences -- --seconds 5 --clients 8 --import 2000`
//! Server and load generator share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{arg, run};
use rand::RngCore;
use tongban::app::Actor;

#[path = "harness.rs"]
mod harness;

/// An XLSX of `n` historical 残疾人证 with distinct, valid holder ID numbers.
fn import_file(n: u64) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header =
        ["licence_type", "holder_name", "holder_code", "issued_on", "face.disability_kind", "face.disability_level"];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let born = tongban::domain::day::Day::from_ymd(1960, 1, 1).unwrap();
    for i in 0..n {
        let day = born.plus_days(i / 900);
        let first17 = format!("310112{}{:03}", day.compact(), 100 + i % 900);
        let id = tongban::domain::identity::id_number_with_check(&first17).unwrap();
        let row = (i + 1) as u32;
        for (c, v) in ["DISABILITY_CERT", "归集测试", id.as_str(), "2020-06-01", "肢体", "三级"].iter().enumerate()
        {
            sheet.write_string(row, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let seconds = arg("--seconds", 10);
    let clients = arg("--clients", 8);
    let imports = arg("--import", 2000);
    let (dir, state) = harness::demo_state("licences-").await;

    // Bulk import, signing included.
    let file = import_file(imports);
    let started = Instant::now();
    let imported = tongban::app::licences::import(&state.core, &Actor::console(), &file).await.unwrap();
    let import_elapsed = started.elapsed();
    assert!(matches!(imported, tongban::app::licences::Imported::Done { licences } if licences as u64 == imports));
    let identifiers: Vec<String> = sqlx::query_scalar::<_, String>("SELECT identifier FROM licences")
        .fetch_all(state.core.db.pool())
        .await
        .unwrap();

    let base = harness::serve(state.clone()).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();

    let ids = Arc::new(identifiers);
    let (h, b, is) = (http.clone(), base.clone(), ids.clone());
    let mut verify = run("verification `GET /api/v1/licences/{id}/verification`", clients, seconds, move |c, i| {
        let url = format!("{b}/api/v1/licences/{}/verification", is[((c * 104_729 + i * 31) as usize) % is.len()]);
        let h = h.clone();
        async move { h.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;

    let bare_url = harness::bare_axum().await;
    let h = http.clone();
    let mut c_http = run("C_http: bare axum handler", clients, seconds, move |_, _| {
        let (h, url) = (h.clone(), bare_url.clone());
        async move { h.get(url).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;

    // Raw SM2 over a typical canonical payload, one core.
    let keys = tongban::signing::KeyRing::load_or_create(&dir.join("raw")).unwrap();
    let mut payload = vec![0u8; 900];
    rand::rng().fill_bytes(&mut payload);
    let half = Duration::from_secs(seconds.div_ceil(2));
    let (mut signed, t) = (0u64, Instant::now());
    let mut last = (String::new(), Vec::new());
    while t.elapsed() < half {
        last = keys.sign(&payload).unwrap();
        signed += 1;
    }
    let sign_rate = signed as f64 / t.elapsed().as_secs_f64();
    let (mut verified, t) = (0u64, Instant::now());
    while t.elapsed() < half {
        assert!(keys.verify(&last.0, &payload, &last.1));
        verified += 1;
    }
    let verify_rate = verified as f64 / t.elapsed().as_secs_f64();

    println!(
        "\n{} licences, {} concurrent clients, {} s per HTTP scenario, SQLite (synchronous=FULL)\n",
        ids.len(),
        clients,
        seconds
    );
    println!("| scenario | requests | errors | throughput | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|");
    println!("{}", verify.row());
    println!("{}", c_http.row());
    println!(
        "\nbulk import: {imports} licences in {:.2} s = {:.0} licences/s (checks, SM2 signing, SM4, one commit)",
        import_elapsed.as_secs_f64(),
        imports as f64 / import_elapsed.as_secs_f64()
    );
    println!("raw sm2 crate on one core: sign {sign_rate:.0}/s, verify {verify_rate:.0}/s");
    println!("ratio: verification {:.0}% of C_http", 100.0 * verify.rate() / c_http.rate());
    let _ = std::fs::remove_dir_all(&dir);
}
