//! Every dependency is used (a `cargo machete`-style check without installing it): each name under
//! `[dependencies]` appears as a path in `src/` or `build.rs`, and each under `[dev-dependencies]`
//! in the tests (`tests/`, `bench/`, unit tests in `src/`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The crate names of one dependency table of Cargo.toml.
fn table(manifest: &str, header: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.replace('-', "_"));
            }
        }
    }
    names
}

/// True when `name` appears as a crate path: `name::`, `use name;`/`use name::`, or a macro
/// `name!` — as a whole word (`tower` is not `tower_http`).
fn used(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = &code[at + name.len()..];
        let word_start = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        word_start && (after.starts_with("::") || after.starts_with('!') || after.starts_with(';'))
    })
}

#[test]
fn every_dependency_is_used_where_it_is_declared() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut code = std::fs::read_to_string(root.join("build.rs")).unwrap();
    sources(&root.join("src"), &mut code);
    let mut dev_code = String::new();
    // Unit tests in src/ use dev-dependencies too (the compiler refuses them elsewhere in src/).
    dev_code.push_str(&code);
    sources(&root.join("tests"), &mut dev_code);
    sources(&root.join("bench"), &mut dev_code);

    // The check tells a crate from a longer name, and finds a crate removed from the code.
    assert!(used("use tower::ServiceExt;", "tower") && !used("use tower_http::trace;", "tower"));
    assert!(!used(&code, "http_body_util"), "removed in #13; the check would report it if declared");

    let dependencies = table(&manifest, "[dependencies]");
    assert!(dependencies.len() > 20, "read the dependency table: {dependencies:?}");
    let unused: Vec<_> = dependencies.iter().filter(|n| !used(&code, n)).collect();
    assert!(unused.is_empty(), "declared in [dependencies] but not used in src/ or build.rs: {unused:?}");

    let dev = table(&manifest, "[dev-dependencies]");
    assert!(!dev.is_empty());
    let unused: Vec<_> = dev.iter().filter(|n| !used(&dev_code, n)).collect();
    assert!(unused.is_empty(), "declared in [dev-dependencies] but not used in tests/ or bench/: {unused:?}");
}
