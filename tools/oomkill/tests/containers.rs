// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! oomkill --containers / --container / --json container fields, with OOM kills inside a real
//! podman container limited to a few MiB and in a memory cgroup on the host (testkit's shared
//! containers tests). Tests named `root_*` need root, BPF, podman and a memory controller.

use std::sync::atomic::{AtomicU32, Ordering};

use testkit::container_tests::ContainerEvents;
use testkit::oom::{HOG, MemoryCgroup};

/// An OOM kill of a shell whose comm is `oom<tag>`.
struct OomKills;

impl ContainerEvents for OomKills {
    const BIN: &'static str = env!("CARGO_BIN_EXE_oomkill");
    /// A row is a sentence: no column header, only libbpf-tools' start line.
    const HEADER: Option<&'static str> = None;
    const BANNER: &'static [&'static str] = &["Tracing OOM kills... Ctrl-C to stop."];

    /// The container's memory cgroup, without swap: its OOM killer, not the machine's.
    fn podman_args() -> Vec<String> {
        ["--memory", "32m", "--memory-swap", "32m"]
            .map(String::from)
            .to_vec()
    }
    fn tag() -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        format!("{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }
    /// In busybox, through a script named `oom<tag>` (a busybox link would run no shell under
    /// another name); the container's first shell stays and goes on to `exec sleep`.
    fn event(tag: &str) -> String {
        format!(
            "printf '#!/bin/sh\\n{HOG}\\n' > /tmp/oom{tag} && chmod +x /tmp/oom{tag} && /tmp/oom{tag}"
        )
    }
    /// On the host, never without a limit: in a memory cgroup of its own.
    fn host_event(tag: &str) {
        let cg = MemoryCgroup::new("ferroscope-oomkill").expect("a memory cgroup on the host");
        drop(cg.oom_kill(&format!("oom{tag}")));
    }
    fn is_row(line: &str, tag: &str) -> bool {
        line.contains("), OOM kill of PID ") && line.contains(&format!("(\"oom{tag}\"), "))
    }
    fn is_json(v: &serde_json::Value, tag: &str) -> bool {
        v["victim_comm"] == format!("oom{tag}").as_str()
    }
}

testkit::event_container_tests!(OomKills);
