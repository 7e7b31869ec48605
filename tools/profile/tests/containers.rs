// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! profile of a process inside a real podman container: its binary exists only in the
//! container's root, so naming its function proves symbolization through the process's own
//! files. Also --containers and --container. Tests named `root_*` need root, BPF and podman.

mod helper;

use std::path::Path;
use std::process::Command;

use helper::{COMM, SPIN_FN, entries, profile_until, share};
use testkit::container::{PodmanContainer, podman_ready};
use testkit::run;

const BIN: &str = env!("CARGO_BIN_EXE_profile");

/// A container running the static helper, copied into its root only.
fn spinning_container() -> (PodmanContainer, testkit::TempDir) {
    let dir = testkit::TempDir::new("ferroscope-profile-ctr");
    let bin = helper::build(dir.path(), true);
    let c = PodmanContainer::create(&[&format!("/{COMM}")]);
    let cp = run(Command::new("podman")
        .arg("cp")
        .arg(&bin)
        .arg(format!("{}:/{COMM}", c.id)));
    assert!(cp.status.success(), "podman cp: {cp}");
    c.start();
    c.wait_for_comm(COMM);
    (c, dir)
}

#[test]
fn root_process_in_a_container_is_symbolized_from_its_own_root() {
    if !podman_ready("root_process_in_a_container_is_symbolized_from_its_own_root") {
        return;
    }
    let (c, _dir) = spinning_container();
    assert!(
        !Path::new(&format!("/{COMM}")).exists(),
        "the helper must exist only inside the container"
    );
    let pid = c.pid();
    let out = profile_until(BIN, &["--containers", "-p", &pid.to_string()], pid, 50);
    let e = entries(&out.stdout);
    let (with, all) = share(&e, pid, SPIN_FN);
    assert!(all >= 5, "too few samples: {out}");
    assert!(
        with * 2 > all,
        "{SPIN_FN} in {with} of {all} samples: {out}"
    );
    let tag = format!("{COMM} ({pid}) [container {}]", c.short_id());
    assert!(out.stdout.contains(&tag), "no {tag:?}: {out}");
}

#[test]
fn root_container_filter_and_folded_container_frame() {
    if !podman_ready("root_container_filter_and_folded_container_frame") {
        return;
    }
    let (c, _dir) = spinning_container();
    // A host process as busy as the container's: its samples are dropped in the kernel.
    let host = helper::Spinner::start("spin");
    let args = ["-f", "-v", "--containers", "--container", c.short_id()];
    let out = profile_until(BIN, &args, c.pid(), 50);
    drop(host);
    // The host's samples.
    testkit::container_tests::assert_kernel_dropped(&out, 1);
    let first = format!("[container {}];{COMM};", c.short_id());
    assert!(
        out.lines()
            .any(|l| l.starts_with(&first) && l.contains(SPIN_FN)),
        "no folded line starting {first:?} with {SPIN_FN}: {out}"
    );
    assert!(
        out.lines().all(|l| l.starts_with(&first)),
        "--container keeps that container's stacks only: {out}"
    );
}
