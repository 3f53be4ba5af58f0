//! Installs the front-end packages (htmx; axe-core for the browser tests) from the npm registry
//! with the committed lockfile into OUT_DIR, so that a fresh clone builds with `cargo build`
//! alone, and fingerprints the assets for cache-busting URLs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=package.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed=assets");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")));
    let npm_dir = out.join("npm");
    install_npm_packages(&npm_dir);
    println!("cargo:rustc-env=TONGBAN_NPM_DIR={}", npm_dir.display());

    let mut fingerprint = Vec::new();
    for file in ["assets/app.css", "assets/app.js"] {
        fingerprint.extend(std::fs::read(file).unwrap_or_else(|e| fail(&format!("reading {file}: {e}"))));
    }
    fingerprint.extend(std::fs::read(npm_dir.join("node_modules/htmx.org/dist/htmx.min.js")).unwrap_or_default());
    println!("cargo:rustc-env=TONGBAN_ASSET_VERSION={:016x}", fnv1a(&fingerprint));
}

fn install_npm_packages(npm_dir: &Path) {
    let lock = std::fs::read("package-lock.json").unwrap_or_else(|e| fail(&format!("reading package-lock.json: {e}")));
    let stamp = npm_dir.join("installed.lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        return; // already installed from this exact lockfile
    }
    std::fs::create_dir_all(npm_dir).unwrap_or_else(|e| fail(&format!("creating {}: {e}", npm_dir.display())));
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(file, npm_dir.join(file)).unwrap_or_else(|e| fail(&format!("copying {file}: {e}")));
    }
    // `npm ci` installs exactly the lockfile's versions and checks their integrity hashes.
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(npm_dir)
        .status()
        .unwrap_or_else(|e| fail(&format!("running npm (Node.js and npm are needed to build): {e}")));
    if !status.success() {
        fail("npm ci failed: the front-end packages could not be installed from the npm registry");
    }
    std::fs::write(&stamp, &lock).unwrap_or_else(|e| fail(&format!("writing {}: {e}", stamp.display())));
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
