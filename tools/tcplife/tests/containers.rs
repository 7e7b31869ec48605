// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcplife --containers / --container / --json container fields, with sessions inside a real
//! podman container (its own network namespace, loopback only) and on the host (testkit's
//! shared containers tests). Tests named `root_*` need root, BPF and podman.

use std::sync::atomic::{AtomicU16, Ordering};

use testkit::columns;
use testkit::container_tests::ContainerEvents;

/// A loopback session to a port of its own: busybox nc serves it once, a client sends a line.
/// The server's input stays open (a `sleep` writes nothing into it): busybox nc ends the
/// session when its input ends, and with `/dev/null` it sometimes did so before the client's
/// line came, so that the client quit unsent and the server's row counted only the FIN.
/// `-L` keeps the server end, whose socket was created (listening) inside the container: its
/// own cgroup names the container even though the kernel may close it from another context.
struct Sessions;

impl ContainerEvents for Sessions {
    const BIN: &'static str = env!("CARGO_BIN_EXE_tcplife");
    const HEADER: Option<&'static str> = Some(
        "PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS",
    );

    fn tag() -> String {
        static NEXT: AtomicU16 = AtomicU16::new(5101);
        NEXT.fetch_add(1, Ordering::Relaxed).to_string()
    }
    fn args(ports: &[&str]) -> Vec<String> {
        vec!["-L".into(), ports.join(",")]
    }
    fn event(port: &str) -> String {
        format!(
            "sleep 3 | busybox nc -l -p {port} >/dev/null & sleep 0.5; echo hi | busybox nc 127.0.0.1 {port}"
        )
    }
    fn is_row(line: &str, port: &str) -> bool {
        let c = columns(line);
        c.len() >= 9 && c.contains(&port)
    }
    fn is_json(v: &serde_json::Value, port: &str) -> bool {
        v["lport"].as_u64() == port.parse().ok()
    }
    fn check_json(v: &serde_json::Value, _port: &str) {
        // "hi\n" and the client's FIN.
        assert_eq!(v["rx_bytes"], 4, "{v}");
    }
}

testkit::event_container_tests!(Sessions);
