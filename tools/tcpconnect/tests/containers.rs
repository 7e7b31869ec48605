// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpconnect --containers / --container / --json cgroup fields, with connects made inside a
//! real podman container (to its own loopback) and on the host (loopback), through testkit's
//! shared containers tests. Tests named `root_*` need root, BPF and podman.

use std::net::{TcpListener, TcpStream};

use testkit::columns;
use testkit::container_tests::ContainerEvents;

/// One connect to 127.0.0.1:PORT, a port nothing listens on (refused): the port is the tag.
struct Connects;

impl ContainerEvents for Connects {
    const BIN: &'static str = env!("CARGO_BIN_EXE_tcpconnect");
    const HEADER: Option<&'static str> =
        Some("PID    COMM             IP SADDR            DADDR            DPORT");

    /// A port nothing listens on, on the host (the container's loopback has nothing at all).
    fn tag() -> String {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port().to_string()
    }
    fn args(ports: &[&str]) -> Vec<String> {
        vec!["-P".into(), ports.join(",")]
    }
    fn event(port: &str) -> String {
        format!("nc 127.0.0.1 {port} </dev/null")
    }
    /// From this test process: the host may have no `nc`.
    fn host_event(port: &str) {
        let port: u16 = port.parse().expect("port");
        let _ = TcpStream::connect(("127.0.0.1", port));
    }
    fn is_row(line: &str, port: &str) -> bool {
        columns(line).last() == Some(&port)
    }
    fn is_json(v: &serde_json::Value, port: &str) -> bool {
        v["dport"].as_u64() == port.parse().ok()
    }
}

testkit::event_container_tests!(Connects);
