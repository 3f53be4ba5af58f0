//! Every "now" comes from the injectable clock (`app::Core::clock`), so that tests move time
//! instead of rewriting rows: the files under `src`, `crates/*/src` and `bench` are scanned for
//! reads of the system's wall time outside `crates/app/src/clock.rs`; and every calendar date
//! outside the domain is a `domain::day::Day`, never a string or a chrono date handled by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::{Path, PathBuf};

/// The one file that reads the wall time.
const CLOCK: &str = "crates/app/src/clock.rs";

/// Reads of the wall clock that only [`CLOCK`] may make.
const WALL_TIME: [&str; 5] = ["Utc::now", "Local::now", "SystemTime::now", "OffsetDateTime::now", "Utc::today"];

/// `Instant::now` measures durations, which no test needs to move; these files use it for that
/// and for nothing else. Any other file must read the clock.
const INSTANT_ALLOWED: [(&str, &str); 6] = [
    ("crates/web/src/kit/middleware.rs", "the latency of a request, for the metrics"),
    ("crates/app/src/at_rest.rs", "how long re-sealing took, for the log"),
    ("crates/app/src/calendar.rs", "the age of the work-calendar cache (a refresh interval, not a time of day)"),
    ("src/cli.rs", "how long a command took, for its output"),
    ("crates/crypto/src/sm4x.rs", "the throughput test (ignored by default) times its own runs"),
    ("bench/", "benchmarks measure latency and throughput"),
];

/// Ways of handling a calendar date by hand that, outside `crates/domain`, must go through `Day`
/// (its parsing, `Display`, `compact`, `chinese`; the clock's `today`, `day_of`, `at_hour`).
const HAND_DATES: [&str; 5] = ["NaiveDate", "\"%Y-%m-%d\"", "\"%Y%m%d\"", "date_naive(", "%Y年%-m月%-d日"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// What on `line` of the file at `relative` reads the time without the clock, if anything.
fn offence(relative: &str, line: &str) -> Option<&'static str> {
    if let Some(p) = WALL_TIME.iter().find(|p| line.contains(**p)) {
        return Some(p);
    }
    // A free `now_ms()` (the removed `clock::now_ms`), as opposed to a method on a clock.
    let free_now_ms = line.match_indices("now_ms(").any(|(i, _)| {
        let before = &line[..i];
        !before.ends_with('.') && !before.ends_with("fn ")
    });
    if free_now_ms {
        return Some("a free now_ms()");
    }
    if line.contains("Instant::now") && !INSTANT_ALLOWED.iter().any(|(allowed, _)| relative.starts_with(allowed)) {
        return Some("Instant::now");
    }
    None
}

fn sources(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for member in std::fs::read_dir(root.join("crates")).unwrap() {
        rust_files(&member.unwrap().path().join("src"), &mut files);
    }
    rust_files(&root.join("bench"), &mut files);
    assert!(files.len() > 80, "expected the sources and benchmarks, found {}", files.len());
    files
}

/// What on `line` handles a calendar date by hand, if anything.
fn hand_date(line: &str) -> Option<&'static str> {
    HAND_DATES.iter().find(|p| line.contains(**p)).copied()
}

#[test]
fn calendar_dates_outside_the_domain_are_days() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = sources(root);
    rust_files(&root.join("tests"), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        // The domain defines `Day`; the clock turns instants into days; this guard names the patterns.
        if relative.starts_with("crates/domain/") || relative == CLOCK || relative == "tests/clock_guard.rs" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(what) = hand_date(line) {
                offenders.push(format!("{relative}:{}: {what}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "use `tongban_domain::day::Day` (parse, Display, compact, chinese) and the clock's `today`, `day_of`, `at_hour`:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_date_guard_catches_each_way_of_handling_a_date_by_hand() {
    for bad in [
        "let d = chrono::NaiveDate::parse_from_str(s, \"%Y-%m-%d\").ok();",
        "let key = day.format(\"%Y%m%d\").to_string();",
        "let today = to_china(now).date_naive();",
        "d.format(\"%Y年%-m月%-d日\").to_string()",
        "fn due(d: Option<NaiveDate>) {}",
    ] {
        assert!(hand_date(bad).is_some(), "missed: {bad}");
    }
    for good in [
        "let d = Day::parse(&text);",
        "clock::to_china(ms).format(\"%Y-%m-%d %H:%M:%S\")",
        "let deadline = calendar.add_working_days(today, 3).to_string();",
    ] {
        assert_eq!(hand_date(good), None, "flagged: {good}");
    }
}

#[test]
fn only_the_clock_reads_the_wall_time() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = sources(root);
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        if relative == CLOCK {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(what) = offence(&relative, line) {
                offenders.push(format!("{relative}:{}: {what}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the time from the clock (`core.clock.now_ms()`, `core.clock.today()`) instead:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_guard_catches_each_way_of_reading_the_wall_time() {
    for bad in [
        "let now = chrono::Utc::now();",
        "let t = std::time::SystemTime::now();",
        "let d = chrono::Local::now().date_naive();",
        "let now = crate::clock::now_ms();",
        "    store::insert(tx, now_ms()).await?;",
        "let started = Instant::now();",
    ] {
        assert!(offence("crates/app/src/cases.rs", bad).is_some(), "missed: {bad}");
    }
    for good in [
        "let now = core.clock.now_ms();",
        "pub fn now_ms(&self) -> i64 {",
        "let today = state.core.clock.today();",
        "audit_in(tx, &core.clock, actor, action, object, outcome, detail)",
    ] {
        assert_eq!(offence("crates/app/src/cases.rs", good), None, "flagged: {good}");
    }
    assert_eq!(offence("crates/web/src/kit/middleware.rs", "let started = Instant::now();"), None);
    assert_eq!(offence("bench/load.rs", "let t = Instant::now();"), None);
}
