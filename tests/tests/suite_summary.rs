// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! `scripts/test-summary`, the end of `scripts/test`: its totals and the names of the failed
//! tests, read from real `cargo test` output. A throwaway crate with passing, failing and
//! ignored tests is tested twice (as scripts/test runs the suite once normally and once with
//! the fallbacks forced), so the log has cargo's real "Running" and "test result" lines.

use std::fs;
use std::path::Path;
use std::process::Command;

use testkit::TempDir;
use testkit::docs::repo_root;

const LIB: &str = r#"
#[test]
fn adds() { assert_eq!(1 + 1, 2); }
#[test]
fn breaks_always() { panic!("on purpose"); }
#[test]
#[ignore]
fn ignored() {}
"#;

const INTEGRATION: &str = r#"
#[test]
fn root_passes() {}
#[test]
fn root_breaks() { panic!("on purpose"); }
"#;

/// `cargo test --no-fail-fast` on the throwaway crate, appended to `log` as scripts/test logs
/// it: stdout and stderr into one pipe, so cargo's "Running" lines (stderr) come before their
/// binary's results (stdout).
fn cargo_test_into(dir: &Path, log: &Path) {
    let status = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" test --offline --no-fail-fast --color never >>\"$1\" 2>&1")
        .arg(env!("CARGO"))
        .arg(log)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .current_dir(dir)
        .status()
        .expect("run cargo");
    assert!(!status.success(), "the crate's failing tests must fail");
}

#[test]
fn summary_names_failed_tests_and_counts_every_run() {
    let dir = TempDir::new("ferro-summary");
    let krate = dir.path();
    fs::create_dir_all(krate.join("src")).expect("mkdir");
    fs::create_dir_all(krate.join("tests")).expect("mkdir");
    fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .expect("write manifest");
    fs::write(krate.join("src/lib.rs"), LIB).expect("write lib");
    fs::write(krate.join("tests/probe.rs"), INTEGRATION).expect("write test");
    let log = krate.join("log");
    cargo_test_into(krate, &log);
    cargo_test_into(krate, &log);

    let out = Command::new(repo_root().join("scripts/test-summary"))
        .arg(&log)
        .args([
            "cargo test",
            "cargo test: root tests with the fallbacks forced",
        ])
        .output()
        .expect("run scripts/test-summary");
    assert_eq!(out.status.code(), Some(1), "a failed stage exits 1");
    let text = String::from_utf8_lossy(&out.stdout);
    // Two runs of: lib 1 passed 1 failed 1 ignored; tests/probe 1 passed 1 failed; doc-tests 0.
    assert_eq!(
        text,
        "all runs: 4 passed, 4 failed, 2 skipped\n\
         failed stage: cargo test\n\
         failed stage: cargo test: root tests with the fallbacks forced\n\
         failed test: demo breaks_always (in 2 runs)\n\
         failed test: probe root_breaks (in 2 runs)\n",
        "log was:\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
}

#[test]
fn summary_of_a_green_run_exits_zero() {
    let dir = TempDir::new("ferro-summary");
    let log = dir.path().join("log");
    fs::write(
        &log,
        "     Running unittests src/lib.rs (target/debug/deps/common-0123abcd)\n\
         test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n",
    )
    .expect("write log");
    let out = Command::new(repo_root().join("scripts/test-summary"))
        .arg(&log)
        .output()
        .expect("run scripts/test-summary");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "all runs: 12 passed, 0 failed, 1 skipped\n"
    );
}
