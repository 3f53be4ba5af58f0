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

/// A module of one crate, by its path from the crate root (`["cases", "moves"]`), and its text.
fn modules(src: &Path) -> Vec<(Vec<String>, String)> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(stem);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if stem != "mod" && stem != "lib" {
                    module.push(stem);
                }
                // Comments may name other modules (doc links) without importing them.
                let text = std::fs::read_to_string(&path).unwrap();
                let code: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
                out.push((module, code.join("\n")));
            }
        }
    }
    let mut out = Vec::new();
    walk(src, &[], &mut out);
    out
}

/// The modules a module's code names through `crate::a::b` or `super::a` paths (the longest
/// prefix that is a module file), leaving out the module itself and its ancestors: a child may use
/// what its parent declares, as long as the parent does not use the child back.
fn imports(module: &[String], text: &str, known: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::").chain(text.match_indices("super::")) {
        if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base: Vec<String> = Vec::new();
        let mut rest = &text[at..];
        if let Some(tail) = rest.strip_prefix("crate::") {
            rest = tail;
        } else {
            base = module.to_vec();
            while let Some(tail) = rest.strip_prefix("super::") {
                base.pop();
                rest = tail;
            }
        }
        // `a::b::Name` or `a::b::{…}`: the lower-case segments name modules (or functions, which
        // the longest-known-prefix step below drops).
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let mut path = base;
        path.extend(rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_owned));
        while !path.is_empty() && !known.contains(&path) {
            path.pop();
        }
        if !path.is_empty() && path.as_slice() != module && !module.starts_with(&path) && !found.contains(&path) {
            found.push(path);
        }
    }
    // A child named by a relative path: `pub use moves::act;`, `moves::move_in(…)`.
    for child in known.iter().filter(|k| k.len() == module.len() + 1 && k.starts_with(module)) {
        let name = format!("{}::", child[module.len()]);
        let named = text
            .match_indices(&name)
            .any(|(at, _)| !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'));
        if named && !found.contains(child) {
            found.push(child.clone());
        }
    }
    found
}

/// A cycle in the graph, if any, as the modules along it.
fn cycle(graph: &[(Vec<String>, Vec<Vec<String>>)]) -> Option<Vec<String>> {
    fn visit(
        at: usize,
        graph: &[(Vec<String>, Vec<Vec<String>>)],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        state[at] = 1;
        stack.push(at);
        for next in &graph[at].1 {
            let Some(n) = graph.iter().position(|(m, _)| m == next) else { continue };
            if state[n] == 1 {
                let from = stack.iter().position(|&s| s == n).unwrap_or(0);
                return Some(stack[from..].iter().chain([&n]).map(|&i| graph[i].0.join("::")).collect());
            }
            if state[n] == 0
                && let Some(found) = visit(n, graph, state, stack)
            {
                return Some(found);
            }
        }
        stack.pop();
        state[at] = 2;
        None
    }
    let mut state = vec![0; graph.len()];
    (0..graph.len()).find_map(|i| if state[i] == 0 { visit(i, graph, &mut state, &mut Vec::new()) } else { None })
}

#[test]
fn no_module_imports_run_in_a_circle() {
    // The check finds a circle and reads relative paths.
    let known = vec![vec!["a".to_owned()], vec!["b".to_owned()], vec!["b".to_owned(), "c".to_owned()]];
    let b_c = ["b".to_owned(), "c".to_owned()];
    assert_eq!(imports(&b_c, "use super::super::a::X; use crate::b::Y;", &known), vec![vec!["a".to_owned()]]);
    assert_eq!(imports(&["b".to_owned()], "pub use c::Z;", &known), vec![b_c.to_vec()]);
    let graph = vec![(vec!["a".to_owned()], vec![b_c.to_vec()]), (b_c.to_vec(), vec![vec!["a".to_owned()]])];
    assert_eq!(cycle(&graph), Some(vec!["a".to_owned(), "b::c".to_owned(), "a".to_owned()]));

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("src")];
    for (layer, _) in LAYERS {
        sources.push(root.join("crates").join(layer).join("src"));
    }
    let mut edges = 0;
    for src in sources {
        let modules = modules(&src);
        let known: Vec<Vec<String>> = modules.iter().map(|(m, _)| m.clone()).collect();
        let graph: Vec<_> = modules.iter().map(|(m, text)| (m.clone(), imports(m, text, &known))).collect();
        edges += graph.iter().map(|(_, i)| i.len()).sum::<usize>();
        if let Some(found) = cycle(&graph) {
            panic!("{}: modules import each other in a circle: {}", src.display(), found.join(" → "));
        }
    }
    assert!(edges > 100, "read the imports between modules: {edges}");
}
