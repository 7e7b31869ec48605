// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! bindsnoop --containers / --container / --json container fields, with binds inside a real
//! podman container and on the host (testkit's shared containers tests). Tests named `root_*`
//! need root, BPF and podman.

use std::sync::atomic::{AtomicU16, Ordering};

use testkit::columns;
use testkit::container_tests::ContainerEvents;

/// busybox nc binds a port of its own to listen on, and is killed a moment later.
struct Binds;

impl ContainerEvents for Binds {
    const BIN: &'static str = env!("CARGO_BIN_EXE_bindsnoop");
    const HEADER: Option<&'static str> = Some(
        "PID     COMM             RET PROTO OPTS  IF   PORT  ADDR                                            ",
    );

    fn tag() -> String {
        static NEXT: AtomicU16 = AtomicU16::new(5201);
        NEXT.fetch_add(1, Ordering::Relaxed).to_string()
    }
    fn args(ports: &[&str]) -> Vec<String> {
        vec!["-P".into(), ports.join(",")]
    }
    fn event(port: &str) -> String {
        format!("busybox nc -l -p {port} </dev/null >/dev/null & sleep 0.2; kill $!")
    }
    fn is_row(line: &str, port: &str) -> bool {
        let c = columns(line);
        c.len() >= 8 && c[c.len() - 2] == port
    }
    fn is_json(v: &serde_json::Value, port: &str) -> bool {
        v["port"].as_u64() == port.parse().ok()
    }
    fn check_json(v: &serde_json::Value, _port: &str) {
        assert_eq!(v["protocol"], "TCP", "{v}");
        assert_eq!(v["ret"], 0, "{v}");
    }
}

testkit::event_container_tests!(Binds);
