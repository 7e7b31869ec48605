// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biolatency --containers / --container with a real podman container that writes and fsyncs
//! a file (its bios are submitted by its own task), through testkit's shared containers tests.
//! Tests named `root_*` need root, BPF and podman.

use testkit::container_tests::ContainerHists;

const BIN: &str = env!("CARGO_BIN_EXE_biolatency");

/// Writes that reach the disk from inside the container: fsync submits them from the writer.
const WRITER: [&str; 3] = [
    "sh",
    "-c",
    "while :; do dd if=/dev/zero of=/f bs=64k count=64 conv=fsync 2>/dev/null; done",
];

testkit::hist_container_tests!(ContainerHists {
    bin: BIN,
    workload: &WRITER,
    // The host need not write to a disk in 2 seconds: no host section is required.
    host_section: false,
    groupings: &["-D", "-F"],
});
