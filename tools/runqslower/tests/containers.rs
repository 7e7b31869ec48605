// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqslower --containers / --container / --json container fields, with run queue waits inside
//! a real podman container and on the host (testkit's shared containers tests). Tests named
//! `root_*` need root, BPF and podman.

use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};

use testkit::container::CgroupTree;
use testkit::container_tests::ContainerEvents;
use testkit::{Tool, bpf_ready, columns};

const BIN: &str = env!("CARGO_BIN_EXE_runqslower");

/// Two shells pinned to CPU 0 that name themselves after the tag (`/proc/self/comm`) and spin
/// for a second: each waits on the run queue for the other's time slices, well above 500 us.
/// The waiting task's own cgroup is the one shown (at the switch, current is the task before).
struct Waits;

impl ContainerEvents for Waits {
    const BIN: &'static str = BIN;
    const HEADER: Option<&'static str> = Some("TIME     COMM             TID           LAT(us)");
    const BANNER: &'static [&'static str] = &["Tracing run queue latency higher than 500 us"];

    fn tag() -> String {
        static NEXT: AtomicU16 = AtomicU16::new(1);
        format!("rqs-ctr-{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }
    /// Every task's waits above 500 us: the container's PIDs are not known in advance.
    fn args(_tags: &[&str]) -> Vec<String> {
        vec!["500".into()]
    }
    fn event(tag: &str) -> String {
        format!(
            "for i in 1 2; do taskset -c 0 timeout 1 sh -c \
             'echo -n {tag} >/proc/self/comm; while :; do :; done' & done; wait"
        )
    }
    fn is_row(line: &str, tag: &str) -> bool {
        columns(line).contains(&tag)
    }
    fn is_json(v: &serde_json::Value, tag: &str) -> bool {
        v["comm"] == tag
    }
    fn check_json(v: &serde_json::Value, _tag: &str) {
        assert!(v["latency_us"].as_u64().is_some_and(|us| us > 500), "{v}");
    }
}

testkit::event_container_tests!(Waits);

/// `sh -c` that moves itself into cgroup `dir` (when given), then spins on CPU 0 for a second
/// as `comm`.
fn spinner(dir: Option<&std::path::Path>, comm: &str) -> std::process::Child {
    let join = dir.map_or(String::new(), |d| {
        format!("echo $$ > {}/cgroup.procs && ", d.display())
    });
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{join}exec taskset -c 0 timeout 1 sh -c \
             'echo -n {comm} >/proc/self/comm; while :; do :; done'"
        ))
        .spawn()
        .expect("spawn sh")
}

/// A task in a (synthetic) docker container and a host task take turns on one CPU: each
/// waits for the other, and each wait is shown with the cgroup of the task that waited, not
/// of the task switched out (which, at the switch, is the one current).
#[test]
fn root_each_wait_has_the_waiting_tasks_cgroup_not_the_previous_tasks() {
    let test = "root_each_wait_has_the_waiting_tasks_cgroup_not_the_previous_tasks";
    if !bpf_ready(test) {
        return;
    }
    const ID: &str = "6a1b0c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
    let mut tree = CgroupTree::new("runqslower-docker");
    let dir = tree.make(&format!("system.slice/docker-{ID}.scope"));
    let t = Tool::spawn(BIN, &["--json", "-v", "500"]).ready();
    let mut inside = spinner(Some(&dir), "rqs-cg-in");
    let mut host = spinner(None, "rqs-cg-host");
    let has = |lines: &[String], comm: &str| lines.iter().any(|l| l.contains(comm));
    t.wait_lines("waits of both spinners", |l| {
        has(l, "\"rqs-cg-in\"") && has(l, "\"rqs-cg-host\"")
    });
    for c in [&mut inside, &mut host] {
        let _ = c.wait();
    }
    let out = t.interrupt().success();
    let mut seen = [0, 0];
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
        match v["comm"].as_str() {
            Some("rqs-cg-in") => {
                assert_eq!(v["container_id"], ID, "{l}");
                assert_eq!(v["cgroup"], tree.cgroup_path(&dir).as_str(), "{l}");
                seen[0] += 1;
            }
            Some("rqs-cg-host") => {
                assert!(v.get("container_id").is_none(), "{l}");
                seen[1] += 1;
            }
            _ => {}
        }
    }
    assert!(seen[0] > 0 && seen[1] > 0, "{out}");
}
