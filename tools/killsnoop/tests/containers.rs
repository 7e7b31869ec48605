// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! killsnoop --containers / --container / --json container fields, with kills sent from inside
//! a real podman container and from the host. Tests named `root_*` need root, BPF and podman.

use std::process::Command;

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, columns, settle};

const BIN: &str = env!("CARGO_BIN_EXE_killsnoop");

/// Inside the container: kill(2) a PID that cannot exist (above any pid_max), then sleep.
fn kills(tpid: u32) -> [String; 3] {
    [
        "sh".into(),
        "-c".into(),
        format!("kill -0 {tpid} 2>/dev/null; exec sleep 600"),
    ]
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn host_kill(tpid: u32) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -0 {tpid} 2>/dev/null; exit 0"))
        .status()
        .expect("sh");
    assert!(st.success());
}

#[test]
fn root_containers_column_and_json_name_the_podman_container() {
    let test = "root_containers_column_and_json_name_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let t = Tool::spawn(BIN, &["--containers", "-x"]).ready();
    let c = PodmanContainer::run(&argv(&kills(4_194_321)));
    let inside = t.wait_line(" 4194321 ");
    host_kill(4_194_322);
    let outside = t.wait_line(" 4194322 ");
    let out = t.interrupt().success();
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER    TIME ")),
        "{out}"
    );
    assert_eq!(columns(&inside)[0], c.short_id(), "{out}");
    assert_eq!(columns(&outside)[0], "-", "{out}");

    let t = Tool::spawn(BIN, &["--json", "-x"]).ready();
    let c2 = PodmanContainer::run(&argv(&kills(4_194_323)));
    let line = t.wait_line("\"tpid\":4194323,");
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["container_id"], c2.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert_eq!(v["ret"], -3, "{line}");
}

#[test]
fn root_container_filter_keeps_one_container_started_after_the_tool() {
    let test = "root_container_filter_keeps_one_container_started_after_the_tool";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let wanted = PodmanContainer::create(&argv(&kills(4_194_331)));
    let other = PodmanContainer::create(&argv(&kills(4_194_332)));
    let t = Tool::spawn(BIN, &["--container", wanted.short_id(), "-x"]).ready();
    other.start();
    wanted.start();
    host_kill(4_194_333);
    t.wait_line(" 4194331 ");
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains(" 4194332 "), "{out}");
    assert!(!out.stdout.contains(" 4194333 "), "{out}");
}
