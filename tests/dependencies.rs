//! Every dependency is used (a `cargo machete`-style check without installing it): in each member
//! of the workspace, each name under `[dependencies]` appears as a path in its `src/` or
//! `build.rs`, and each under `[dev-dependencies]` in its tests (`tests/`, `bench/`, unit tests in
//! `src/`); and each of `[workspace.dependencies]` is taken by some member.

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
            // `name.workspace = true` takes the workspace's entry.
            let name = name.trim().trim_end_matches(".workspace");
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
        word_start && ["::", "!", ";", " as "].iter().any(|end| after.starts_with(end))
    })
}

/// The workspace's members: the binary's package at the root and the layer crates.
fn members(root: &Path) -> Vec<PathBuf> {
    let mut members = vec![root.to_path_buf()];
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates")).unwrap().map(|e| e.unwrap().path()).collect();
    crates.sort();
    members.extend(crates);
    members
}

#[test]
fn every_dependency_is_used_where_it_is_declared() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The check tells a crate from a longer name, and finds a crate removed from the code.
    assert!(used("use tower::ServiceExt;", "tower") && !used("use tower_http::trace;", "tower"));

    let mut all_code = String::new();
    for member in members(root) {
        let manifest = std::fs::read_to_string(member.join("Cargo.toml")).unwrap();
        let mut code = std::fs::read_to_string(member.join("build.rs")).unwrap_or_default();
        sources(&member.join("src"), &mut code);
        // Unit tests in src/ use dev-dependencies too (the compiler refuses them elsewhere in src/).
        let mut dev_code = code.clone();
        for folder in ["tests", "bench"] {
            if member.join(folder).is_dir() {
                sources(&member.join(folder), &mut dev_code);
            }
        }
        all_code.push_str(&dev_code);
        let name = member.display();
        assert!(!used(&code, "http_body_util"), "removed in #13; the check would report it if declared");

        let dependencies = table(&manifest, "[dependencies]");
        assert!(!dependencies.is_empty(), "{name}: read the dependency table: {dependencies:?}");
        let unused: Vec<_> = dependencies.iter().filter(|n| !used(&code, n)).collect();
        assert!(unused.is_empty(), "{name}: declared in [dependencies] but not used in src/ or build.rs: {unused:?}");

        let dev = table(&manifest, "[dev-dependencies]");
        let unused: Vec<_> = dev.iter().filter(|n| !used(&dev_code, n)).collect();
        assert!(unused.is_empty(), "{name}: declared in [dev-dependencies] but not used in its tests: {unused:?}");
    }

    // Every workspace dependency is taken by some member (a member's own crate by name).
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let workspace = table(&manifest, "[workspace.dependencies]");
    assert!(workspace.len() > 30, "read the workspace's dependency table: {workspace:?}");
    let unused: Vec<_> = workspace.iter().filter(|n| !used(&all_code, n) && !n.starts_with("tongban_")).collect();
    assert!(unused.is_empty(), "declared in [workspace.dependencies] but used by no member: {unused:?}");
}
