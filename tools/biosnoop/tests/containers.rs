// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biosnoop --containers / --container / --json container fields, with O_DIRECT reads made
//! inside a real podman container (given the test's loop device with `--device`) and on the
//! host (testkit's shared containers tests). Tests named `root_*` need root, BPF and podman.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use testkit::block::ProcessLoopDevice;
use testkit::columns;
use testkit::container_tests::ContainerEvents;

/// The loop device every test of this process reads (the tags are its blocks); made on first
/// use, gone when the process ends.
fn disk() -> &'static ProcessLoopDevice {
    static DISK: OnceLock<ProcessLoopDevice> = OnceLock::new();
    DISK.get_or_init(|| ProcessLoopDevice::new("biosnoop-ctr", 4 << 20))
}

/// The 512-byte sector of 4 KiB block `tag`.
fn sector(tag: &str) -> u64 {
    tag.parse::<u64>().expect("block number") * 8
}

/// One 4 KiB O_DIRECT read of block TAG of the loop device by `dd` (busybox's in the
/// container, the host's own outside): one request at sector TAG * 8, submitted by `dd`.
struct Reads;

impl ContainerEvents for Reads {
    const BIN: &'static str = env!("CARGO_BIN_EXE_biosnoop");
    const HEADER: Option<&'static str> =
        Some("TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)");

    /// Blocks from 100 on: clear of where a probe of a new device (blkid) reads.
    fn tag() -> String {
        static NEXT: AtomicU64 = AtomicU64::new(100);
        NEXT.fetch_add(1, Ordering::Relaxed).to_string()
    }
    fn args(_tags: &[&str]) -> Vec<String> {
        vec!["-d".into(), disk().name.clone()]
    }
    fn podman_args() -> Vec<String> {
        vec!["--device".into(), disk().dev.clone()]
    }
    fn event(block: &str) -> String {
        format!(
            "dd if={} of=/dev/null bs=4096 skip={block} count=1 iflag=direct 2>/dev/null",
            disk().dev
        )
    }
    /// DISK, then T, then SECTOR.
    fn is_row(line: &str, block: &str) -> bool {
        let c = columns(line);
        c.iter()
            .position(|&col| col == disk().name)
            .is_some_and(|i| c.get(i + 2) == Some(&sector(block).to_string().as_str()))
    }
    fn is_json(v: &serde_json::Value, block: &str) -> bool {
        v["disk"] == disk().name.as_str() && v["sector"].as_u64() == Some(sector(block))
    }
    fn check_json(v: &serde_json::Value, _block: &str) {
        assert_eq!(v["comm"], "dd", "{v}");
        assert_eq!(v["bytes"], 4096, "{v}");
    }
}

testkit::event_container_tests!(Reads);
testkit::event_kernel_skip_test!(Reads);
