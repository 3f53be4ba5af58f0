//! The web layer calls use cases in `app`, never `store`: every file under `src/web` is scanned
//! for a path into the store. (A workspace split will make this a compile error.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_web_module_imports_the_store() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"), &mut files);
    assert!(files.len() > 20, "expected the web modules, found {}", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains("store::") || line.contains("crate::store") {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "web imports store:\n{}", offenders.join("\n"));
}
