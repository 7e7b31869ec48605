// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! exitsnoop --containers / --container / --json container fields, with exits inside a real
//! podman container and on the host (testkit's shared containers tests). Tests named `root_*`
//! need root, BPF and podman.

use std::sync::atomic::{AtomicU8, Ordering};

use testkit::columns;
use testkit::container_tests::ContainerEvents;

/// A child exits with a code of its own (`-x`: failed exits only).
struct Exits;

impl ContainerEvents for Exits {
    const BIN: &'static str = env!("CARGO_BIN_EXE_exitsnoop");
    const HEADER: Option<&'static str> =
        Some("PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE");

    fn tag() -> String {
        static NEXT: AtomicU8 = AtomicU8::new(41);
        NEXT.fetch_add(1, Ordering::Relaxed).to_string()
    }
    fn args(_tags: &[&str]) -> Vec<String> {
        vec!["-x".into()]
    }
    fn event(code: &str) -> String {
        format!("sh -c 'exit {code}'")
    }
    fn is_row(line: &str, code: &str) -> bool {
        columns(line).ends_with(&["code", code])
    }
    fn is_json(v: &serde_json::Value, code: &str) -> bool {
        v["code"].as_u64() == code.parse().ok()
    }
}

testkit::event_container_tests!(Exits);
