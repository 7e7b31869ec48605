// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Checks every tool must run in its own tests, for every crate under tools/ (a tool added
//! later included): a tool's own integration tests are where Cargo guarantees a fresh binary.

use testkit::docs::repo_root;

#[test]
fn every_tool_runs_the_shared_checks() {
    let tools = std::fs::read_dir(repo_root().join("tools")).expect("read tools/");
    let mut seen = 0;
    for entry in tools.flatten() {
        let dir = entry.path();
        let tool = entry.file_name().to_string_lossy().into_owned();
        let tests = std::fs::read_dir(dir.join("tests"))
            .map(|d| {
                d.flatten()
                    .filter_map(|f| std::fs::read_to_string(f.path()).ok())
                    .collect::<String>()
            })
            .unwrap_or_default();
        for check in [
            format!("testkit::bounds::assert_numeric_options_bounded(BIN, \"{tool}\")"),
            format!("testkit::docs::assert_docs(BIN, \"{tool}\")"),
        ] {
            assert!(
                tests.contains(&check),
                "tools/{tool}/tests/ never calls {check}"
            );
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} tools found under tools/");
}
