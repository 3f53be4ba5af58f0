//! The layers are crates, so an upward import does not compile: `tongban-web` cannot name
//! `tongban_store` because it does not depend on it. This test keeps the manifests honest: each
//! layer crate depends only on the layers below it, and the domain on no I/O at all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::Path;

/// Each layer crate and the project crates it may depend on: dependencies point down only.
const LAYERS: [(&str, &[&str]); 5] = [
    ("domain", &[]),
    ("crypto", &["tongban-domain"]),
    ("store", &["tongban-domain", "tongban-crypto"]),
    ("app", &["tongban-domain", "tongban-crypto", "tongban-store"]),
    ("web", &["tongban-domain", "tongban-crypto", "tongban-app"]),
];

/// Crates that do I/O (database, files, network, the runtime, the web): the domain takes none.
const IO: [&str; 8] = ["sqlx", "tokio", "object_store", "axum", "reqwest", "hyper", "tower_http", "askama"];

/// The crate names under `[dependencies]` of a manifest.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
        } else if inside && let Some((name, _)) = line.split_once('=') {
            let name = name.trim().trim_end_matches(".workspace");
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn manifest(layer: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates").join(layer).join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn each_layer_depends_only_on_the_layers_below_it() {
    let mut found: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = LAYERS.iter().map(|(l, _)| (*l).to_owned()).collect();
    listed.sort();
    assert_eq!(found, listed, "a new crate under crates/ needs its place in LAYERS");

    let mut wrong = Vec::new();
    for (layer, allowed) in LAYERS {
        for dependency in dependencies(&manifest(layer)) {
            if dependency.starts_with("tongban") && !allowed.contains(&dependency.as_str()) {
                wrong.push(format!("tongban-{layer} depends on {dependency}"));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies must point down only:\n{}", wrong.join("\n"));
}

#[test]
fn the_domain_does_no_io() {
    let domain = dependencies(&manifest("domain"));
    assert!(domain.iter().any(|d| d == "serde"), "read the domain's dependencies: {domain:?}");
    let io: Vec<_> = domain.iter().filter(|d| IO.contains(&d.replace('-', "_").as_str())).collect();
    assert!(io.is_empty(), "the domain must stay pure: {io:?}");
}

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The names a `pub use` line brings in: `a::b::{C, D as E};` gives `C` and `E`.
fn exported_names(line: &str) -> Vec<String> {
    let tail = line.trim().trim_end_matches(';');
    let tail = tail.rsplit("::").next().unwrap_or(tail);
    tail.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .map(|item| item.trim().rsplit(" as ").next().unwrap_or_default().trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn the_web_reaches_the_store_only_through_the_use_cases() {
    // Transitive dependencies are not in scope in Rust, so only a re-export from the app could
    // open a path: the read models (`app::views`) re-export the store's row types, never its
    // modules or functions.
    assert_eq!(
        exported_names("pub use tongban_store::audit::{Entry, Filter as AuditFilter};"),
        ["Entry", "AuditFilter"]
    );
    assert_eq!(exported_names("pub use tongban_store as store;"), ["store"]);
    let mut app = String::new();
    rust_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/app/src"), &mut app);
    let re_exports: Vec<&str> = app.lines().filter(|l| l.trim_start().starts_with("pub use tongban_store")).collect();
    assert!(!re_exports.is_empty(), "read app::views");
    for line in re_exports {
        for name in exported_names(line) {
            assert!(
                name.chars().next().is_some_and(char::is_uppercase),
                "the app re-exports only the store's row types, not `{name}`: {line}"
            );
        }
    }
}
