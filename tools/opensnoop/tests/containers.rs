// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! opensnoop --containers / --container / --json cgroup fields, with opens made inside a real
//! podman container, inside synthetic runtime cgroups, and on the host. Tests named `root_*`
//! need root and BPF; the podman ones also podman (scripts/deps installs it).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::container::{CgroupTree, PodmanContainer, cgroup_id, podman_ready};
use testkit::{Tool, bpf_ready, columns, settle, unique};

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

/// `cat /NAME` inside the container (a failed open is an event too), then sleep there.
fn opens(name: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("cat /{name} 2>/dev/null; exec sleep 600"),
    ]
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Wait until the container's first process has become `sleep`: its open has been made.
fn wait_opened(c: &PodmanContainer) {
    let pid = c.pid();
    let end = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |s| s.trim() != "sleep")
    {
        assert!(
            Instant::now() < end,
            "container {} never reached sleep",
            c.id
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[test]
fn root_containers_column_names_the_podman_container_and_host() {
    let test = "root_containers_column_names_the_podman_container_and_host";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("opensnoop-in-podman");
    let t = Tool::spawn(BIN, &["--containers", "-n", "cat"]).ready();
    let c = PodmanContainer::run(&argv(&opens(&name)));
    let inside = t.wait_line(&format!(" /{name}"));
    let host = host_open(&format!("{name}-host"));
    let outside = t.wait_line(host.to_str().expect("utf8"));
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("CONTAINER    PID    COMM              FD ERR PATH"),
        "{out}"
    );
    assert_eq!(columns(&inside)[0], c.short_id(), "{out}");
    assert_eq!(columns(&outside)[0], "-", "{out}");
}

#[test]
fn root_json_carries_cgroup_and_container_fields() {
    let test = "root_json_carries_cgroup_and_container_fields";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("opensnoop-json-podman");
    // No --containers: JSON carries the fields anyway.
    let t = Tool::spawn(BIN, &["--json", "-v", "-n", "cat"]).ready();
    let c = PodmanContainer::run(&argv(&opens(&name)));
    let inside = json(&t.wait_line(&format!("\"path\":\"/{name}\"")));
    let host = host_open(&format!("{name}-host"));
    let outside = json(&t.wait_line(host.to_str().expect("utf8")));
    t.interrupt().success();
    let path = format!("/libpod_parent/libpod-{}", c.id);
    let mount = testkit::cgroup2_mount().expect("cgroup2");
    assert_eq!(inside["cgroup"], path.as_str(), "{inside}");
    assert_eq!(
        inside["cgroup_id"].as_u64(),
        Some(cgroup_id(&mount.join(&path[1..]))),
        "{inside}"
    );
    assert_eq!(inside["container_id"], c.id.as_str(), "{inside}");
    assert_eq!(inside["container_runtime"], "podman", "{inside}");
    assert!(inside.get("pod_uid").is_none(), "{inside}");
    assert!(outside["cgroup_id"].as_u64().is_some(), "{outside}");
    assert!(outside["cgroup"].is_string(), "{outside}");
    assert!(outside.get("container_id").is_none(), "{outside}");
}

#[test]
fn root_container_filter_keeps_one_container_started_after_the_tool() {
    let test = "root_container_filter_keeps_one_container_started_after_the_tool";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("opensnoop-filter");
    let wanted = PodmanContainer::create(&argv(&opens(&format!("{name}-wanted"))));
    let other = PodmanContainer::create(&argv(&opens(&format!("{name}-other"))));
    let t = Tool::spawn(BIN, &["--container", &wanted.id[..8], "-n", "cat"]).ready();
    wanted.start();
    other.start();
    wait_opened(&other);
    host_open(&format!("{name}-host"));
    t.wait_line(&format!("/{name}-wanted"));
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains(&format!("{name}-other")), "{out}");
    assert!(!out.stdout.contains(&format!("{name}-host")), "{out}");
    // Without --containers, no column.
    assert_eq!(
        out.lines().next(),
        Some("PID    COMM              FD ERR PATH"),
        "{out}"
    );
}

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
