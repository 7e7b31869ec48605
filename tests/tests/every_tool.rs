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
        for name in host_only(&dir.join("Cargo.toml")) {
            assert!(
                name.starts_with("root_") && tests.contains(&format!("fn {name}()")),
                "tools/{tool}/Cargo.toml: host_only names {name:?}, not a root test of \
                 tools/{tool}/tests/ (renamed? the kernel matrix would run it again)"
            );
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} tools found under tools/");
}

/// The README's Requirements say which privileges each tool needs: every tool under tools/
/// is named there (the capability test of each tool checks the claim it makes).
#[test]
fn readme_privilege_list_names_every_tool() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("read README");
    let start = readme
        .find("\n- root, or these capabilities")
        .expect("README: the Requirements' privilege list");
    let list = &readme[start + 1..];
    let list = &list[..list
        .find("\n- ")
        .expect("the item after the privilege list")];
    let named: Vec<&str> = list
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .collect();
    for entry in std::fs::read_dir(repo_root().join("tools"))
        .expect("read tools/")
        .flatten()
    {
        let tool = entry.file_name().to_string_lossy().into_owned();
        assert!(
            named.contains(&tool.as_str()),
            "README's privilege list (Requirements) does not name {tool}:\n{list}"
        );
    }
}

/// The test names of `[package.metadata.ferroscope] host_only = [...]` in a tool's manifest
/// (tests/vm/matrix's guests leave those out), one quoted name a line.
fn host_only(manifest: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).expect("read Cargo.toml");
    let Some((_, rest)) = text.split_once("\nhost_only = [") else {
        return Vec::new();
    };
    let list = rest.split_once(']').expect("host_only list ends with ]").0;
    list.split(',')
        .map(|n| n.trim().trim_matches('"').to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}
