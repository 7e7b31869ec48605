// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! cpudist --containers / --container with a real podman container whose busy loops are
//! preempted, through testkit's shared containers tests. Tests named `root_*` need root, BPF
//! and podman.

use testkit::container_tests::ContainerHists;

const BIN: &str = env!("CARGO_BIN_EXE_cpudist");

/// Three busy loops inside the container: on two CPUs they preempt each other, which ends
/// their on-CPU runs.
const BUSY: [&str; 3] = [
    "sh",
    "-c",
    "while :; do :; done & while :; do :; done & while :; do :; done",
];

testkit::hist_container_tests!(ContainerHists {
    bin: BIN,
    workload: &BUSY,
    // The host's own tasks (the idle tasks at least) run in any 2 seconds too.
    host_section: true,
    groupings: &["-P", "-L"],
});
