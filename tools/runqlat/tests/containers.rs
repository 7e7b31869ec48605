// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqlat --containers / --container with a real podman container whose busy threads wait for
//! a CPU, through testkit's shared containers tests. Tests named `root_*` need root, BPF and
//! podman.

use testkit::container_tests::ContainerHists;

const BIN: &str = env!("CARGO_BIN_EXE_runqlat");

/// Two busy loops inside the container: on two CPUs shared with everything else, they wait.
const BUSY: [&str; 3] = ["sh", "-c", "while :; do :; done & while :; do :; done"];

testkit::hist_container_tests!(ContainerHists {
    bin: BIN,
    workload: &BUSY,
    // The host's own tasks wait for a CPU in any 2 seconds too.
    host_section: true,
    groupings: &["-P", "-L", "--cpus", "--pidnss"],
});
