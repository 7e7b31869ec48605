// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpretrans --containers / --container / --json container fields, with SYNs retransmitted
//! inside a real podman container's own network namespace and inside a network namespace of
//! the host's (testkit's shared containers tests). Tests named `root_*` need root, BPF and
//! podman.

use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};

use testkit::container_tests::ContainerEvents;
use testkit::{columns, run};

/// The address the SYNs go to: a route sends it over loopback from 127.0.0.1, and a packet
/// keeps its output route across loopback, which delivers only to local addresses: each SYN is
/// discarded without a reply, whatever the namespace's forwarding or firewall, and the socket
/// retransmits it after the kernel's initial timeout (1 s). The container may add the route in
/// its own network namespace with NET_ADMIN.
const DROPPED: &str = "10.9.9.2";

/// A connect to DROPPED:TAG, given up after 2 s: one SYN retransmission, from a timer, whose
/// container only the socket's cgroup can tell (the retransmit runs in softirq context).
struct Retransmits;

impl ContainerEvents for Retransmits {
    const BIN: &'static str = env!("CARGO_BIN_EXE_tcpretrans");
    const HEADER: Option<&'static str> =
        Some("TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE");
    const BANNER: &'static [&'static str] = &["Tracing retransmits ... Hit Ctrl-C to end"];

    fn tag() -> String {
        static NEXT: AtomicU16 = AtomicU16::new(4711);
        NEXT.fetch_add(1, Ordering::Relaxed).to_string()
    }
    fn podman_args() -> Vec<String> {
        vec!["--cap-add".into(), "NET_ADMIN".into()]
    }
    /// busybox's ip, timeout and nc, which the host has too (busybox-static).
    fn event(port: &str) -> String {
        format!(
            "busybox ip route add {DROPPED}/32 dev lo src 127.0.0.1; \
             busybox timeout 2 busybox nc {DROPPED} {port} </dev/null"
        )
    }
    /// In a network namespace of its own: the route must not touch the host's.
    fn host_event(port: &str) {
        let out = run(Command::new("unshare").args([
            "--net",
            "sh",
            "-c",
            &format!("busybox ip link set lo up; {}", Self::event(port)),
        ]));
        assert!(out.status.code().is_some(), "unshare --net: {out}");
    }
    fn is_row(line: &str, port: &str) -> bool {
        columns(line).contains(&format!("{DROPPED}:{port}").as_str())
    }
    fn is_json(v: &serde_json::Value, port: &str) -> bool {
        v["raddr"] == DROPPED && v["rport"].as_u64() == port.parse().ok()
    }
    fn check_json(v: &serde_json::Value, _port: &str) {
        assert_eq!(v["laddr"], "127.0.0.1", "{v}");
        assert_eq!(v["state"], "SYN_SENT", "{v}");
        assert_eq!(v["type"], "R", "{v}");
    }
}

testkit::event_container_tests!(Retransmits);
