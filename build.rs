//! Builds the browser front end (web/ -> web/dist/) so that `cargo build`
//! embeds current assets into the binary (see src/http/assets.rs).
//!
//! - Reruns only when front-end sources, package.json, the lockfile or the
//!   build script changed.
//! - Runs `npm ci` when web/node_modules is missing or was installed from a
//!   different lockfile, then `npm run build`.
//! - `PARLOR_SKIP_WEB_BUILD=1` skips npm entirely (uses an existing web/dist,
//!   or embeds a placeholder page when there is none).
//!
//! Node.js (20 or newer) and npm are required unless skipped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const WATCH: &[&str] = &[
    "web/src",
    "web/admin",
    "web/demo",
    "web/public",
    "web/scripts",
    "web/package.json",
    "web/package-lock.json",
    "web/tsconfig.json",
];

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = root.join("web");
    for p in WATCH {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PARLOR_SKIP_WEB_BUILD");

    let dist = web.join("dist");
    if std::env::var_os("PARLOR_SKIP_WEB_BUILD").is_some_and(|v| v != "0" && !v.is_empty()) {
        if !dist.join("widget.js").exists() {
            placeholder(&dist);
        }
        return;
    }

    // Serialize concurrent builds (e.g. debug and release build scripts).
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(web.join(".build.lock"))
        .expect("cannot open web/.build.lock");
    lock.lock().expect("cannot lock web/.build.lock");

    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let npm_ok = Command::new(npm)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok || !npm_ok {
        panic!(
            "\n\nParlor's web front end (web/) is built with Node.js and npm, and {} not found on PATH.\n\
             Install Node.js 20 or newer (with npm), e.g. `apt-get install nodejs npm` or from https://nodejs.org,\n\
             then run cargo again. To build without Node.js using an existing web/dist, set PARLOR_SKIP_WEB_BUILD=1.\n\n",
            if !node_ok { "`node` was" } else { "`npm` was" }
        );
    }

    let lockfile = web.join("package-lock.json");
    let stamp = web.join("node_modules").join(".parlor-lockfile");
    let want = fs::read(&lockfile).unwrap_or_default();
    let have = fs::read(&stamp).ok();
    if have.as_deref() != Some(&want[..]) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&web),
            "npm ci",
        );
        fs::write(&stamp, &want).expect("cannot write web/node_modules/.parlor-lockfile");
    }
    run(
        Command::new(npm).args(["run", "build"]).current_dir(&web),
        "npm run build",
    );
    drop(lock);
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("\n\ncould not run `{what}` in web/: {e}\n\n"));
    if !out.status.success() {
        panic!(
            "\n\n`{what}` failed in web/ ({}):\n{}\n{}\n",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with("widget.js:") {
            println!("cargo:warning={line}");
        }
    }
}

fn placeholder(dist: &Path) {
    fs::create_dir_all(dist.join("admin")).expect("cannot create web/dist");
    fs::create_dir_all(dist.join("demo")).expect("cannot create web/dist");
    let page = "<!doctype html><meta charset=utf-8><title>Parlor</title>\
                <p>This binary was built with PARLOR_SKIP_WEB_BUILD and without a web/dist: the front end is missing.</p>";
    fs::write(dist.join("admin/index.html"), page).unwrap();
    fs::write(dist.join("demo/index.html"), page).unwrap();
    fs::write(
        dist.join("widget.js"),
        "console.warn('[parlor] widget not built');\n",
    )
    .unwrap();
}
