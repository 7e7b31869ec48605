// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! opensnoop --containers / --container / --json cgroup fields, with opens made inside a real
//! podman container (testkit's shared containers tests), inside synthetic runtime cgroups, and
//! on the host. Tests named `root_*` need root and BPF; the podman ones also podman
//! (scripts/deps installs it).

use std::path::PathBuf;
use std::process::Command;

use testkit::container::CgroupTree;
use testkit::container_tests::ContainerEvents;
use testkit::{Tool, bpf_ready, unique};

const BIN: &str = env!("CARGO_BIN_EXE_opensnoop");

/// Open /tmp/NAME on the host with `cat`: every test traces `-n cat` only, so that a busy
/// machine's other opens cannot crowd the events out.
fn host_open(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(name);
    let _ = Command::new("cat")
        .arg(&p)
        .stderr(std::process::Stdio::null())
        .status();
    p
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// `cat /TAG` (a failed open is an event too).
struct Opens;

impl ContainerEvents for Opens {
    const BIN: &'static str = BIN;
    const HEADER: Option<&'static str> = Some("PID    COMM              FD ERR PATH");

    fn tag() -> String {
        unique("opensnoop-tag")
    }
    fn args(_tags: &[&str]) -> Vec<String> {
        vec!["-n".into(), "cat".into()]
    }
    fn event(tag: &str) -> String {
        format!("cat /{tag} 2>/dev/null")
    }
    fn is_row(line: &str, tag: &str) -> bool {
        line.ends_with(&format!(" /{tag}"))
    }
    fn is_json(v: &serde_json::Value, tag: &str) -> bool {
        v["path"] == format!("/{tag}").as_str()
    }
}

testkit::event_container_tests!(Opens);
testkit::event_kernel_skip_test!(Opens);

#[test]
fn root_synthetic_docker_cgroup_resolves_and_its_removal_breaks_nothing() {
    let test = "root_synthetic_docker_cgroup_resolves_and_its_removal_breaks_nothing";
    if !bpf_ready(test) {
        return;
    }
    const ID: &str = "5e1f0c2d3b4a59687766554433221100ffeeddccbbaa99887766554433221100";
    let mut tree = CgroupTree::new("opensnoop-docker");
    let dir = tree.make(&format!("system.slice/docker-{ID}.scope"));
    let name = unique("opensnoop-docker");
    let t = Tool::spawn(BIN, &["--json", "--containers", "-v", "-n", "cat"]).ready();
    let procs = dir.join("cgroup.procs");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && cat /tmp/{name} 2>/dev/null; true",
            procs.display()
        ))
        .status()
        .expect("sh");
    assert!(st.success());
    let inside = json(&t.wait_line(&format!("/tmp/{name}\"")));
    // The cgroup goes away while the tool runs; later events still come.
    tree.remove(&dir);
    let host = host_open(&format!("{name}-after"));
    let after = json(&t.wait_line(host.to_str().expect("utf8")));
    let out = t.interrupt().success();
    assert_eq!(inside["container_id"], ID, "{out}");
    assert_eq!(inside["container_runtime"], "docker", "{out}");
    assert_eq!(inside["cgroup"], tree.cgroup_path(&dir).as_str(), "{out}");
    assert!(after.get("container_id").is_none(), "{out}");
}

#[test]
fn bad_container_arguments_are_usage_errors() {
    testkit::assert_usage_errors(
        BIN,
        "opensnoop",
        &[
            &["--container", ""],
            &["--container", "a/b"],
            &["--container", "a b"],
            &["--container"],
        ],
    );
}
