// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop --containers / --container / --json cgroup fields, with execs made inside a real
//! podman container and on the host. Tests named `root_*` need root, BPF and podman.

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, columns, settle, unique};

const BIN: &str = env!("CARGO_BIN_EXE_execsnoop");

/// Inside the container: exec `/bin/true NAME` (busybox), then sleep there.
fn execs(name: &str) -> [String; 3] {
    [
        "sh".into(),
        "-c".into(),
        format!("/bin/true {name}; exec sleep 600"),
    ]
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Wait until the container's first process has become `sleep`: its exec has been made.
fn wait_done(c: &PodmanContainer) {
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

fn host_exec(name: &str) {
    let st = Command::new("/bin/true").arg(name).status().expect("true");
    assert!(st.success());
}

#[test]
fn root_containers_column_and_json_name_the_podman_container() {
    let test = "root_containers_column_and_json_name_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("execsnoop-in-podman");
    let t = Tool::spawn(BIN, &["--containers"]).ready();
    let c = PodmanContainer::run(&argv(&execs(&name)));
    // RET, then the args: not podman's own command line, which holds the same text.
    let inside = t.wait_line(&format!(" 0 /bin/true {name}"));
    host_exec(&format!("{name}-host"));
    let outside = t.wait_line(&format!(" 0 /bin/true {name}-host"));
    let out = t.interrupt().success();
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER    PCOMM ")),
        "{out}"
    );
    assert_eq!(columns(&inside)[0], c.short_id(), "{out}");
    assert_eq!(columns(&outside)[0], "-", "{out}");

    let t = Tool::spawn(BIN, &["--json", "-v"]).ready();
    let c2 = PodmanContainer::run(&argv(&execs(&format!("{name}-json"))));
    let line = t.wait_line(&format!("\"argv\":[\"/bin/true\",\"{name}-json\"]"));
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["container_id"], c2.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert_eq!(
        v["cgroup"],
        format!("/libpod_parent/libpod-{}", c2.id).as_str(),
        "{line}"
    );
}

#[test]
fn root_container_filter_keeps_one_container_started_after_the_tool() {
    let test = "root_container_filter_keeps_one_container_started_after_the_tool";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("execsnoop-filter");
    let wanted = PodmanContainer::create(&argv(&execs(&format!("{name}-wanted"))));
    let other = PodmanContainer::create(&argv(&execs(&format!("{name}-other"))));
    let t = Tool::spawn(BIN, &["--container", wanted.short_id()]).ready();
    wanted.start();
    other.start();
    wait_done(&other);
    host_exec(&format!("{name}-host"));
    t.wait_line(&format!(" 0 /bin/true {name}-wanted"));
    settle();
    let out = t.interrupt().success();
    // podman's own command lines (host processes) are filtered out too.
    assert!(!out.stdout.contains(&format!("{name}-other")), "{out}");
    assert!(!out.stdout.contains(&format!("{name}-host")), "{out}");
    assert!(!out.stdout.contains("podman"), "{out}");
}
