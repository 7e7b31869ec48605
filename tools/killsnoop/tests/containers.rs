// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! killsnoop --containers / --container / --json container fields, with kills sent from inside
//! a real podman container and from the host (testkit's shared containers tests). Tests named
//! `root_*` need root, BPF and podman.

use std::sync::atomic::{AtomicU32, Ordering};

use testkit::columns;
use testkit::container_tests::ContainerEvents;

/// kill(2) of a PID that cannot exist (above any pid_max): each event its own target PID.
struct Kills;

impl ContainerEvents for Kills {
    const BIN: &'static str = env!("CARGO_BIN_EXE_killsnoop");
    const HEADER: Option<&'static str> =
        Some("TIME     PID     COMM             SIG          TPID    TCOMM            RESULT");

    fn tag() -> String {
        static NEXT: AtomicU32 = AtomicU32::new(4_194_321);
        NEXT.fetch_add(1, Ordering::Relaxed).to_string()
    }
    fn args(_tags: &[&str]) -> Vec<String> {
        vec!["-x".into()]
    }
    fn event(tpid: &str) -> String {
        format!("kill -0 {tpid} 2>/dev/null")
    }
    fn is_row(line: &str, tpid: &str) -> bool {
        columns(line).contains(&tpid)
    }
    fn is_json(v: &serde_json::Value, tpid: &str) -> bool {
        v["tpid"].as_u64() == tpid.parse().ok()
    }
    fn check_json(v: &serde_json::Value, _tpid: &str) {
        assert_eq!(v["ret"], -3, "ESRCH: {v}");
    }
}

testkit::event_container_tests!(Kills);
