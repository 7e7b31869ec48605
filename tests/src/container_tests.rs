// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The `--containers` / `--container` tests every tool runs, written once. A tool names only
//! what is its own (how to make one of its events inside a container and on the host, how to
//! find that event's row) and gets the same root tests as every other tool:
//!
//! - event tools: [`ContainerEvents`] and [`event_container_tests!`](crate::event_container_tests)
//!   (the CONTAINER column, the JSON cgroup and container fields, `--container` keeping one
//!   container started after the tool), and [`event_kernel_skip_test!`](crate::event_kernel_skip_test)
//!   (`--container` dropping other cgroups' events in the kernel, for a tool or two of each kind);
//! - histogram tools: [`ContainerHists`] and [`hist_container_tests!`](crate::hist_container_tests)
//!   (a section of its own for the container, `--container` following a container started
//!   later and nothing else).
//!
//! Each test needs root, BPF and podman ([`podman_ready`]).

use std::process::Command;
use std::time::Duration;

use crate::container::{PodmanContainer, cgroup_id, podman_ready};
use crate::{Finished, Tool, bpf_ready, cgroup2_mount, columns, hist_row_counts, settle};

/// What an event tool's containers tests need to know about the tool.
pub trait ContainerEvents {
    /// The tool's binary: `env!("CARGO_BIN_EXE_<tool>")`.
    const BIN: &'static str;
    /// The tool's header line for [`Self::args`] without `--containers`; `None` for a tool
    /// that prints no column header (oomkill: only its banner, rows are sentences).
    const HEADER: Option<&'static str>;
    /// Text that `--container` must keep out besides the other container's and the host's
    /// events (execsnoop: `podman`, whose own command lines run on the host).
    const FILTERED_TOO: &'static [&'static str] = &[];
    /// The lines the tool prints before its header for [`Self::args`] (runqslower's
    /// `Tracing ...` line), which `--containers` leaves as they are.
    const BANNER: &'static [&'static str] = &[];

    /// Options for `podman create` that the event needs (`--device`, `--cap-add`).
    fn podman_args() -> Vec<String> {
        Vec::new()
    }

    /// A fresh tag for one event: distinct from every tag made before in this process.
    fn tag() -> String;
    /// Options every run gets, for the events `tags` the run will see (`-x`, `-n cat`, `-P`).
    fn args(_tags: &[&str]) -> Vec<String> {
        Vec::new()
    }
    /// A busybox shell command that makes the event `tag` (in the container, `sh -c` runs it and
    /// then `exec sleep 600`).
    fn event(tag: &str) -> String;
    /// Make the event `tag` on the host; by default `sh -c` [`Self::event`].
    fn host_event(tag: &str) {
        let out = crate::run(Command::new("sh").arg("-c").arg(Self::event(tag)));
        assert!(
            out.status.code().is_some(),
            "sh -c {}: {out}",
            Self::event(tag)
        );
    }
    /// Is `line` the text row of the event `tag` (with or without the CONTAINER column)?
    fn is_row(line: &str, tag: &str) -> bool;
    /// Is `v` the JSON object of the event `tag`?
    fn is_json(v: &serde_json::Value, tag: &str) -> bool;
    /// The tool's own checks of the JSON object of an event made in a container.
    fn check_json(_v: &serde_json::Value, _tag: &str) {}
}

/// What a histogram tool's containers tests need to know about the tool.
pub struct ContainerHists {
    /// The tool's binary: `env!("CARGO_BIN_EXE_<tool>")`.
    pub bin: &'static str,
    /// The command the container runs to make the tool's events all the time (`sh -c ...`).
    pub workload: &'static [&'static str],
    /// Whether the host makes events of its own in any 2 seconds (runqlat: always), so that
    /// `--containers` must print a `host tasks` section too.
    pub host_section: bool,
    /// The tool's other ways to split its histograms (`-P`), which `--containers` and
    /// `--container` exclude ([`assert_containers_exclude`]).
    pub groupings: &'static [&'static str],
}

/// `sh -c "<event>; exec sleep 600"`: the event, then a process that stays (the container
/// lives on, and its first process's comm turns `sleep` once the event is made).
fn in_container(event: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), format!("{event}; exec sleep 600")]
}

fn container_making<T: ContainerEvents>(tag: &str, start: bool) -> PodmanContainer {
    let cmd = in_container(&T::event(tag));
    let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let c = PodmanContainer::create_with(&T::podman_args(), &argv);
    if start {
        c.start();
    }
    c
}

/// `out` opens with the tool's banner lines, then its header with `prefix` before it; with no
/// header, nothing of `prefix` (the CONTAINER column's name) is printed at all.
fn assert_header<T: ContainerEvents>(out: &Finished, prefix: &str) {
    let mut lines = out.lines();
    for banner in T::BANNER {
        assert_eq!(lines.next(), Some(*banner), "{out}");
    }
    match T::HEADER {
        Some(h) => assert_eq!(lines.next(), Some(format!("{prefix}{h}").as_str()), "{out}"),
        None if !prefix.is_empty() => {
            let name = prefix.trim_end();
            assert!(!out.stdout.contains(name), "no header, yet {name}: {out}");
        }
        None => {}
    }
}

fn spawn<T: ContainerEvents>(first: &[&str], tags: &[&str]) -> Tool {
    let mut args: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
    args.extend(T::args(tags));
    Tool::spawn(T::BIN, &args).ready()
}

fn wait_row<T: ContainerEvents>(t: &Tool, tag: &str) -> String {
    t.wait_line_where(&format!("the row of event {tag}"), |l| T::is_row(l, tag))
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn wait_json<T: ContainerEvents>(t: &Tool, tag: &str) -> serde_json::Value {
    let line = t.wait_line_where(&format!("the JSON object of event {tag}"), |l| {
        serde_json::from_str(l).is_ok_and(|v| T::is_json(&v, tag))
    });
    json(&line)
}

/// `--containers`: the header gains a CONTAINER column; an event made in a podman container
/// shows its short id there, one made on the host `-`.
pub fn containers_column_names_the_podman_container_and_host<T: ContainerEvents>(test: &str) {
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let (inside, host) = (T::tag(), T::tag());
    let t = spawn::<T>(&["--containers"], &[&inside, &host]);
    let c = container_making::<T>(&inside, true);
    let inside_row = wait_row::<T>(&t, &inside);
    T::host_event(&host);
    let host_row = wait_row::<T>(&t, &host);
    let out = t.interrupt().success();
    assert_header::<T>(&out, "CONTAINER    ");
    assert_eq!(columns(&inside_row)[0], c.short_id(), "{out}");
    assert_eq!(columns(&host_row)[0], "-", "{out}");
}

/// `--json` (without `--containers`): every object carries `cgroup_id` and `cgroup`; one made in
/// a podman container also `container_id` and `container_runtime`, one made on the host not.
pub fn json_carries_cgroup_and_container_fields<T: ContainerEvents>(test: &str) {
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let (inside, host) = (T::tag(), T::tag());
    let t = spawn::<T>(&["--json", "-v"], &[&inside, &host]);
    let c = container_making::<T>(&inside, true);
    let v = wait_json::<T>(&t, &inside);
    T::host_event(&host);
    let outside = wait_json::<T>(&t, &host);
    t.interrupt().success();
    let path = format!("/libpod_parent/libpod-{}", c.id);
    let mount = cgroup2_mount().expect("cgroup2");
    assert_eq!(v["cgroup"], path.as_str(), "{v}");
    assert_eq!(
        v["cgroup_id"].as_u64(),
        Some(cgroup_id(&mount.join(&path[1..]))),
        "{v}"
    );
    assert_eq!(v["container_id"], c.id.as_str(), "{v}");
    assert_eq!(v["container_runtime"], "podman", "{v}");
    assert!(v.get("pod_uid").is_none(), "{v}");
    T::check_json(&v, &inside);
    assert!(
        outside["cgroup_id"].as_u64().is_some_and(|id| id > 0),
        "{outside}"
    );
    assert!(outside["cgroup"].is_string(), "{outside}");
    assert!(outside.get("container_id").is_none(), "{outside}");
}

/// `--container ID` (a prefix of the id, given before the container starts) keeps that
/// container's events and drops another container's and the host's; without `--containers`
/// there is no CONTAINER column.
pub fn container_filter_keeps_one_container_started_after_the_tool<T: ContainerEvents>(test: &str) {
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let (wanted_tag, other_tag, host) = (T::tag(), T::tag(), T::tag());
    let wanted = container_making::<T>(&wanted_tag, false);
    let other = container_making::<T>(&other_tag, false);
    let t = spawn::<T>(
        &["--container", &wanted.id[..8]],
        &[&wanted_tag, &other_tag, &host],
    );
    wanted.start();
    other.start();
    other.wait_for_comm("sleep");
    T::host_event(&host);
    wait_row::<T>(&t, &wanted_tag);
    settle();
    let out = t.interrupt().success();
    assert_header::<T>(&out, "");
    for l in out.lines() {
        assert!(
            !T::is_row(l, &other_tag),
            "the other container's event: {out}"
        );
        assert!(!T::is_row(l, &host), "the host's event: {out}");
    }
    for text in T::FILTERED_TOO {
        assert!(!out.stdout.contains(text), "{text}: {out}");
    }
}

/// The `-v` line's counts `the kernel dropped N events of M other cgroups`: (N, M).
pub fn kernel_skips(stderr: &str) -> Option<(u64, u64)> {
    let rest = stderr.split("the kernel dropped ").nth(1)?;
    let mut words = rest.split_whitespace();
    let events = words.next()?.parse().ok()?;
    let cgroups = words.nth(2)?.parse().ok()?;
    Some((events, cgroups))
}

/// The counts of `-v`'s `the kernel dropped N events of M other cgroups` line, (N, M), after
/// asserting that there is one, with at least one cgroup listed and `events` or more dropped
/// (each failure shows the tool's `out`).
pub fn assert_kernel_dropped(out: &crate::Finished, events: u64) -> (u64, u64) {
    let (n, m) = kernel_skips(&out.stderr)
        .unwrap_or_else(|| panic!("no skip list line on stderr with -v: {out}"));
    assert!(m >= 1, "nothing skip-listed: {out}");
    assert!(
        n >= events,
        "the kernel dropped {n} events, fewer than {events}: {out}"
    );
    (n, m)
}

/// `--container ID -v`: the host's first event puts the host cgroup in the kernel's skip list,
/// so that the host events made after the container's event was shown never reach the tool:
/// the kernel counts them (`-v`: `the kernel dropped N events of M other cgroups`), which a
/// filter in user space alone could not. The container, started after the tool, still shows.
pub fn container_filter_drops_other_cgroups_in_the_kernel<T: ContainerEvents>(test: &str) {
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    const LATER: usize = 5;
    let (wanted_tag, first) = (T::tag(), T::tag());
    let later: Vec<String> = (0..LATER).map(|_| T::tag()).collect();
    let wanted = container_making::<T>(&wanted_tag, false);
    let mut tags = vec![wanted_tag.as_str(), first.as_str()];
    tags.extend(later.iter().map(String::as_str));
    let t = spawn::<T>(&["--container", &wanted.id[..12], "-v"], &tags);
    T::host_event(&first);
    wanted.start();
    // One ring buffer, read in order: once the container's row is out, the host event made
    // before it was read, and its cgroup (this test's) is in the skip list.
    wait_row::<T>(&t, &wanted_tag);
    for tag in &later {
        T::host_event(tag);
    }
    let out = t.interrupt().success();
    for l in out.lines() {
        for tag in std::iter::once(&first).chain(&later) {
            assert!(!T::is_row(l, tag), "a host event: {out}");
        }
    }
    // At least the LATER host events made after the host cgroup was listed.
    assert_kernel_dropped(&out, LATER as u64);
}

/// The kernel skip list test of an event tool ([`container_filter_drops_other_cgroups_in_the_kernel`]),
/// under the name every tool uses: `event_kernel_skip_test!(Spec)`.
#[macro_export]
macro_rules! event_kernel_skip_test {
    ($spec:ty) => {
        #[test]
        fn root_container_filter_drops_other_cgroups_in_the_kernel() {
            $crate::container_tests::container_filter_drops_other_cgroups_in_the_kernel::<$spec>(
                "root_container_filter_drops_other_cgroups_in_the_kernel",
            );
        }
    };
}

/// The three containers tests of an event tool, under the names every tool uses:
/// `event_container_tests!(Spec)` with `Spec: testkit::container_tests::ContainerEvents`.
#[macro_export]
macro_rules! event_container_tests {
    ($spec:ty) => {
        #[test]
        fn root_containers_column_names_the_podman_container_and_host() {
            $crate::container_tests::containers_column_names_the_podman_container_and_host::<$spec>(
                "root_containers_column_names_the_podman_container_and_host",
            );
        }

        #[test]
        fn root_json_carries_cgroup_and_container_fields() {
            $crate::container_tests::json_carries_cgroup_and_container_fields::<$spec>(
                "root_json_carries_cgroup_and_container_fields",
            );
        }

        #[test]
        fn root_container_filter_keeps_one_container_started_after_the_tool() {
            $crate::container_tests::container_filter_keeps_one_container_started_after_the_tool::<
                $spec,
            >("root_container_filter_keeps_one_container_started_after_the_tool");
        }
    };
}

fn run_once(bin: &str, args: &[&str]) -> Finished {
    let t = Tool::spawn(bin, args).ready();
    t.finish(Duration::from_secs(30)).success()
}

/// The sum of the histogram rows under the section line `section` (up to the next blank
/// line); `None` without that section.
pub fn section_count(text: &str, section: &str) -> Option<u64> {
    let start = text.find(&format!("\n{section}\n"))?;
    let rest = &text[start + section.len() + 2..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    Some(hist_row_counts(&rest[..end]).iter().sum())
}

/// `--containers 2 1`: the container running the workload gets a section of its own
/// (`container = <short id> (podman)`) with counts; in `--json` its objects carry
/// `container_id`, `container_runtime` and a count.
pub fn containers_give_the_container_its_own_section(test: &str, h: &ContainerHists) {
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let c = PodmanContainer::run(h.workload);
    let out = run_once(h.bin, &["--containers", "2", "1"]);
    let section = format!("container = {} (podman)", c.short_id());
    let n = section_count(&out.stdout, &section);
    assert!(n.is_some_and(|n| n > 0), "no section for {section}\n{out}");
    if h.host_section {
        assert!(section_count(&out.stdout, "host tasks").is_some(), "{out}");
    }

    let out = run_once(h.bin, &["--containers", "--json", "-v", "2", "1"]);
    let line = out
        .lines()
        .find(|l| l.contains(&c.id))
        .unwrap_or_else(|| panic!("no JSON section for {}\n{out}", c.id));
    let v = json(line);
    assert_eq!(v["container_id"], c.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert!(v["count"].as_u64().is_some_and(|n| n > 0), "{line}");
}

/// `--container ID 3 1` given before the container starts: one histogram (no sections) with
/// the container's events; a container that never started has none.
pub fn container_filter_follows_a_container_started_later_and_only_it(
    test: &str,
    h: &ContainerHists,
) {
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let wanted = PodmanContainer::create(h.workload);
    let never = PodmanContainer::create(h.workload);
    let t = Tool::spawn(h.bin, &["--container", wanted.short_id(), "3", "1"]).ready();
    wanted.start();
    let out = t.finish(Duration::from_secs(30)).success();
    assert!(
        hist_row_counts(&out.stdout).iter().sum::<u64>() > 0,
        "no histogram for the container started after the tool\n{out}"
    );
    assert!(!out.stdout.contains("container ="), "{out}");
    // The wanted container runs on: a container that never started has nothing to show.
    let out = run_once(h.bin, &["--container", never.short_id(), "1", "1"]);
    assert_eq!(hist_row_counts(&out.stdout), Vec::<u64>::new(), "{out}");
}

/// The three containers tests of a histogram tool, under the names every tool uses:
/// `hist_container_tests!(SPEC)` with `SPEC: testkit::container_tests::ContainerHists`. The
/// usage errors name the tool by its package (`CARGO_PKG_NAME`, the tool's name).
#[macro_export]
macro_rules! hist_container_tests {
    ($spec:expr) => {
        #[test]
        fn root_containers_gives_the_container_its_own_section() {
            $crate::container_tests::containers_give_the_container_its_own_section(
                "root_containers_gives_the_container_its_own_section",
                &$spec,
            );
        }

        #[test]
        fn root_container_filter_follows_a_container_started_later_and_only_it() {
            $crate::container_tests::container_filter_follows_a_container_started_later_and_only_it(
                "root_container_filter_follows_a_container_started_later_and_only_it",
                &$spec,
            );
        }

        #[test]
        fn containers_exclude_the_other_groupings() {
            let spec = $spec;
            $crate::container_tests::assert_containers_exclude(
                spec.bin,
                env!("CARGO_PKG_NAME"),
                spec.groupings,
            );
        }
    };
}

/// `--containers` and `--container ID` each refused, as usage errors (see
/// [`crate::assert_usage_errors`]), with each of `groupings`: the tool's other ways to split
/// its histograms (`-P`).
pub fn assert_containers_exclude(bin: &str, tool: &str, groupings: &[&str]) {
    let cases: Vec<Vec<&str>> = groupings
        .iter()
        .flat_map(|&g| [vec!["--containers", g], vec!["--container", "abc", g]])
        .collect();
    let cases: Vec<&[&str]> = cases.iter().map(Vec::as_slice).collect();
    crate::assert_usage_errors(bin, tool, &cases);
}
