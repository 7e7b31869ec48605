// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! `rust-version` in Cargo.toml is the oldest toolchain that builds the workspace: every crate
//! states it, no locked dependency needs a newer one, and it is no newer than what the code
//! and the dependencies need. Only one toolchain can be installed here (rustup cannot download
//! others), so the code's own side is checked by clippy's `incompatible_msrv` lint, which reads
//! this rust-version and fails `cargo clippy -D warnings` on any std API stabilised later.

use std::process::Command;

use serde_json::Value;
use testkit::docs::repo_root;

/// let-chains (`if let .. && let ..`), used throughout, are stable from 1.88.
const CODE_NEEDS: (u64, u64) = (1, 88);

fn version(s: &str) -> (u64, u64) {
    let mut parts = s
        .split('.')
        .map(|p| p.parse::<u64>().expect("numeric version"));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn metadata() -> Value {
    let host = String::from_utf8(
        Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("run rustc")
            .stdout,
    )
    .expect("utf-8");
    let host = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc names its host");
    // The host's packages only: the others need not be downloaded, and cannot build here.
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", host])
        .current_dir(repo_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata JSON")
}

#[test]
fn rust_version_is_the_oldest_toolchain_that_builds_the_workspace() {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    let stated = toml
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| version(v.trim_matches('"')))
        .expect("[workspace.package] states rust-version");
    let meta = metadata();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut deps_need = (0, 0);
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().unwrap_or("?");
        let rv = p["rust_version"].as_str().map(version);
        if members.contains(&p["id"].as_str().unwrap_or("")) {
            assert_eq!(
                rv,
                Some(stated),
                "{name} must inherit rust-version.workspace"
            );
        } else if let Some(rv) = rv {
            assert!(
                rv <= stated,
                "{name} needs Rust {rv:?}, newer than {stated:?}"
            );
            deps_need = deps_need.max(rv);
        }
    }
    assert_eq!(
        stated,
        deps_need.max(CODE_NEEDS),
        "rust-version should be the newest of what the code ({CODE_NEEDS:?}) and the \
         dependencies ({deps_need:?}) need"
    );
}
