// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpconnect --containers / --container / --json cgroup fields, with connects made inside a
//! real podman container (to its own loopback) and on the host (loopback). Tests named
//! `root_*` need root, BPF and podman.

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, columns, settle};

const BIN: &str = env!("CARGO_BIN_EXE_tcpconnect");

/// A port nothing listens on, on the host (the container's loopback has nothing at all).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Inside the container: one connect to its own 127.0.0.1:PORT (refused), then sleep.
fn connects(port: u16) -> [String; 3] {
    [
        "sh".into(),
        "-c".into(),
        format!("nc 127.0.0.1 {port} </dev/null; exec sleep 600"),
    ]
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Wait until the container's first process has become `sleep`: its connect has been made.
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

#[test]
fn root_containers_column_and_json_name_the_podman_container() {
    let test = "root_containers_column_and_json_name_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let port = closed_port();
    let p = port.to_string();
    let t = Tool::spawn(BIN, &["--containers", "-P", &p]).ready();
    let c = PodmanContainer::run(&argv(&connects(port)));
    let inside = t.wait_line(" nc ");
    let _ = TcpStream::connect(("127.0.0.1", port));
    let outside = t.wait_line(&format!("{} ", std::process::id()));
    let out = t.interrupt().success();
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER    PID ")),
        "{out}"
    );
    assert_eq!(columns(&inside)[0], c.short_id(), "{out}");
    assert_eq!(columns(&outside)[0], "-", "{out}");

    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &p]).ready();
    let c2 = PodmanContainer::run(&argv(&connects(port)));
    let line = t.wait_line("\"comm\":\"nc\"");
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["container_id"], c2.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert_eq!(v["dport"].as_u64(), Some(u64::from(port)), "{line}");
}

#[test]
fn root_container_filter_keeps_one_container_started_after_the_tool() {
    let test = "root_container_filter_keeps_one_container_started_after_the_tool";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let (wanted_port, other_port) = (closed_port(), closed_port());
    let wanted = PodmanContainer::create(&argv(&connects(wanted_port)));
    let other = PodmanContainer::create(&argv(&connects(other_port)));
    let t = Tool::spawn(BIN, &["--container", wanted.short_id(), "-v"]).ready();
    wanted.start();
    other.start();
    wait_done(&other);
    let _ = TcpStream::connect(("127.0.0.1", other_port));
    let line = t.wait_line(" nc ");
    settle();
    let out = t.interrupt().success();
    assert!(line.contains(&format!(" {wanted_port}")), "{out}");
    assert!(!out.stdout.contains(&format!(" {other_port}")), "{out}");
}
