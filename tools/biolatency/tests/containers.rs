// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biolatency --containers / --container with a real podman container that writes and fsyncs
//! a file (its bios are submitted by its own task). Tests named `root_*` need root, BPF and
//! podman.

use std::time::Duration;

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, hist_row_counts};

const BIN: &str = env!("CARGO_BIN_EXE_biolatency");

/// Writes that reach the disk from inside the container: fsync submits them from the writer.
const WRITER: [&str; 3] = [
    "sh",
    "-c",
    "while :; do dd if=/dev/zero of=/f bs=64k count=64 conv=fsync 2>/dev/null; done",
];

fn run_once(args: &[&str]) -> testkit::Finished {
    let t = Tool::spawn(BIN, args).ready();
    t.finish(Duration::from_secs(30)).success()
}

/// The histogram rows under the section line `section` (up to the next blank line).
fn section_counts(text: &str, section: &str) -> Option<u64> {
    let start = text.find(&format!("\n{section}\n"))?;
    let rest = &text[start + section.len() + 2..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    Some(hist_row_counts(&rest[..end]).iter().sum())
}

#[test]
fn root_containers_gives_the_container_its_own_section() {
    let test = "root_containers_gives_the_container_its_own_section";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let c = PodmanContainer::run(&WRITER);
    let out = run_once(&["--containers", "2", "1"]);
    let section = format!("container = {} (podman)", c.short_id());
    let n = section_counts(&out.stdout, &section);
    assert!(
        n.is_some_and(|n| n > 0),
        "no I/O section for {section}\n{out}"
    );

    let out = run_once(&["--containers", "--json", "-v", "2", "1"]);
    let line = out
        .lines()
        .find(|l| l.contains(&c.id))
        .unwrap_or_else(|| panic!("no JSON section for {}\n{out}", c.id));
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(v["container_id"], c.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert!(v["count"].as_u64().is_some_and(|n| n > 0), "{line}");
}

#[test]
fn root_container_filter_follows_a_container_started_later_and_only_it() {
    let test = "root_container_filter_follows_a_container_started_later_and_only_it";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let wanted = PodmanContainer::create(&WRITER);
    let never = PodmanContainer::create(&WRITER);
    let t = Tool::spawn(BIN, &["--container", wanted.short_id(), "3", "1"]).ready();
    wanted.start();
    let out = t.finish(Duration::from_secs(30)).success();
    assert!(
        hist_row_counts(&out.stdout).iter().sum::<u64>() > 0,
        "no histogram for the container started after biolatency\n{out}"
    );
    assert!(!out.stdout.contains("container ="), "{out}");
    // The writing container runs on: a container that never started has no I/O.
    let out = run_once(&["--container", never.short_id(), "1", "1"]);
    assert_eq!(hist_row_counts(&out.stdout), Vec::<u64>::new(), "{out}");
}

#[test]
fn containers_exclude_disk_and_flag_sections() {
    testkit::assert_usage_errors(
        BIN,
        "biolatency",
        &[&["--containers", "-D"], &["--container", "abc", "-F"]],
    );
}
