//! The README's install command, `cargo install --locked --path crates/embedkit-cli`, run as
//! written (into a temporary root, offline), and the installed binary run.
//!
//! It builds in release into the workspace's own `target/release`, so after the quick
//! start's `cargo run --release` (or any release build) there is nothing left to compile; a
//! clean tree compiles the release build first, which takes minutes: ignored by plain
//! `cargo test`, run by scripts/test.sh (`--include-ignored`).

mod common;

use common::root;
use std::process::Command;

#[test]
#[ignore = "builds embedkit in release (minutes on a clean tree); scripts/test.sh runs it"]
fn cargo_install_from_the_readme_installs_a_working_embedkit() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let command = "cargo install --locked --path crates/embedkit-cli";
    assert!(
        readme.contains(command),
        "README.md no longer shows {command:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(command.split(' ').skip(1))
        .args(["--offline", "--root", dir.path().to_str().unwrap()])
        .env("CARGO_TARGET_DIR", root().join("target"))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bin = dir.path().join("bin/embedkit");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("embedkit {}", env!("CARGO_PKG_VERSION"))
    );
    let embed = Command::new(&bin)
        .args(["embed", "-m"])
        .arg(common::fixture("tiny-bge"))
        .arg("hello")
        .output()
        .unwrap();
    assert!(embed.status.success());
    let line: serde_json::Value = serde_json::from_slice(&embed.stdout).unwrap();
    assert_eq!(line["embedding"].as_array().unwrap().len(), 32);
}
