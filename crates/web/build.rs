//! Installs the front-end packages (htmx; axe-core for the browser tests) from the npm registry
//! with the committed lockfile, once per lockfile for the whole target directory, so that a fresh
//! clone builds with `cargo build` alone; and fingerprints the assets for cache-busting URLs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=package.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed=assets");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR is not set")));
    let lock = std::fs::read("package-lock.json").unwrap_or_else(|e| fail(&format!("reading package-lock.json: {e}")));
    let npm_dir = shared_npm_dir(&out, &lock);
    install_npm_packages(&npm_dir, &lock);
    println!("cargo:rerun-if-changed={}", npm_dir.join("installed.lock").display());
    println!("cargo:rustc-env=TONGBAN_NPM_DIR={}", npm_dir.display());

    let mut fingerprint = Vec::new();
    for file in ["assets/app.css", "assets/app.js", "assets/screen.css", "assets/screen.js"] {
        fingerprint.extend(std::fs::read(file).unwrap_or_else(|e| fail(&format!("reading {file}: {e}"))));
    }
    fingerprint.extend(std::fs::read(npm_dir.join("node_modules/htmx.org/dist/htmx.min.js")).unwrap_or_default());
    println!("cargo:rustc-env=TONGBAN_ASSET_VERSION={:016x}", fnv1a(&fingerprint));
}

/// One installation per lockfile, shared by every build of the target directory (debug, test,
/// clippy and release each have their own `OUT_DIR`): `<target>/tongban-npm/<lockfile hash>`.
fn shared_npm_dir(out: &Path, lock: &[u8]) -> PathBuf {
    // OUT_DIR is `<target>[/<triple>]/<profile>/build/<package>-<hash>/out`.
    let base = out
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .unwrap_or(out);
    base.join("tongban-npm").join(format!("{:016x}", fnv1a(lock)))
}

fn install_npm_packages(npm_dir: &Path, lock: &[u8]) {
    let stamp = npm_dir.join("installed.lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock) {
        return; // already installed from this exact lockfile
    }
    // Installed beside the final place, then renamed into it, so that two builds running at
    // once never see a half-installed directory.
    let staging = npm_dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap_or_else(|e| fail(&format!("creating {}: {e}", staging.display())));
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(file, staging.join(file)).unwrap_or_else(|e| fail(&format!("copying {file}: {e}")));
    }
    // `npm ci` installs exactly the lockfile's versions and checks their integrity hashes.
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&staging)
        .status()
        .unwrap_or_else(|e| fail(&format!("running npm (Node.js and npm are needed to build): {e}")));
    if !status.success() {
        fail("npm ci failed: the front-end packages could not be installed from the npm registry");
    }
    std::fs::write(staging.join("installed.lock"), lock)
        .unwrap_or_else(|e| fail(&format!("writing the stamp in {}: {e}", staging.display())));
    if std::fs::read(&stamp).ok().as_deref() == Some(lock) {
        // Another build finished first with the same lockfile: use its installation.
        let _ = std::fs::remove_dir_all(&staging);
        return;
    }
    let _ = std::fs::remove_dir_all(npm_dir); // an unfinished installation
    if std::fs::rename(&staging, npm_dir).is_err() {
        // Another build finished first with the same lockfile: use its installation.
        let _ = std::fs::remove_dir_all(&staging);
        if std::fs::read(&stamp).ok().as_deref() != Some(lock) {
            fail(&format!("could not install the front-end packages into {}", npm_dir.display()));
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
