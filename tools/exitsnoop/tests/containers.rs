// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! exitsnoop --containers / --container / --json container fields, with exits inside a real
//! podman container and on the host. Tests named `root_*` need root, BPF and podman.

use std::process::Command;

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, columns, settle};

const BIN: &str = env!("CARGO_BIN_EXE_exitsnoop");

/// Inside the container: a child exits with `code`, then the container sleeps.
fn exits(code: u8) -> [String; 3] {
    [
        "sh".into(),
        "-c".into(),
        format!("sh -c 'exit {code}'; exec sleep 600"),
    ]
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn host_exit(code: i32) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("exit {code}"))
        .status()
        .expect("sh");
    assert_eq!(st.code(), Some(code));
}

#[test]
fn root_containers_column_and_json_name_the_podman_container() {
    let test = "root_containers_column_and_json_name_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let t = Tool::spawn(BIN, &["--containers", "-x"]).ready();
    let c = PodmanContainer::run(&argv(&exits(41)));
    let inside = t.wait_line("code 41");
    host_exit(43);
    let outside = t.wait_line("code 43");
    let out = t.interrupt().success();
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER    PCOMM ")),
        "{out}"
    );
    assert_eq!(columns(&inside)[0], c.short_id(), "{out}");
    assert_eq!(columns(&outside)[0], "-", "{out}");

    let t = Tool::spawn(BIN, &["--json", "-x"]).ready();
    let c2 = PodmanContainer::run(&argv(&exits(42)));
    let line = t.wait_line("\"code\":42,");
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["container_id"], c2.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert!(v["cgroup_id"].as_u64().is_some_and(|id| id > 0), "{line}");
}

#[test]
fn root_container_filter_keeps_one_container_started_after_the_tool() {
    let test = "root_container_filter_keeps_one_container_started_after_the_tool";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let wanted = PodmanContainer::create(&argv(&exits(51)));
    let other = PodmanContainer::create(&argv(&exits(52)));
    let t = Tool::spawn(BIN, &["--container", wanted.short_id(), "-x"]).ready();
    other.start();
    wanted.start();
    host_exit(53);
    t.wait_line("code 51");
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains("code 52"), "{out}");
    assert!(!out.stdout.contains("code 53"), "{out}");
}
