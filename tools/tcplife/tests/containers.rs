// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcplife --containers / --json container fields, with a session inside a real podman
//! container (its own network namespace, loopback only). Tests named `root_*` need root, BPF
//! and podman.

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, columns};

const BIN: &str = env!("CARGO_BIN_EXE_tcplife");

/// Inside the container: busybox nc serves `port` once, a client sends it a line, then the
/// container sleeps.
fn session_in_container(port: u16) -> PodmanContainer {
    PodmanContainer::run(&[
        "sh",
        "-c",
        &format!(
            "nc -l -p {port} >/dev/null & sleep 0.5; echo hi | nc 127.0.0.1 {port}; exec sleep 600"
        ),
    ])
}

/// The socket's own cgroup names the container, also for the server end, whose close the
/// kernel may run outside the container's tasks.
#[test]
fn root_containers_column_and_json_name_the_podman_container() {
    let test = "root_containers_column_and_json_name_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let t = Tool::spawn(BIN, &["--containers", "-L", "5001"]).ready();
    let c = session_in_container(5001);
    let line = t.wait_line(" 5001 ");
    let out = t.interrupt().success();
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER    PID     COMM ")),
        "{out}"
    );
    assert_eq!(columns(&line)[0], c.short_id(), "{out}");
    assert_eq!(columns(&line)[2], "nc", "{out}");

    let t = Tool::spawn(BIN, &["--json", "-v", "-D", "5002"]).ready();
    let c2 = session_in_container(5002);
    let line = t.wait_line("\"rport\":5002,");
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["container_id"], c2.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert_eq!(v["rx_bytes"], 1, "the server's FIN: {line}");
    assert_eq!(v["tx_bytes"], 5, "the SYN, \"hi\\n\" and the FIN: {line}");
}
