// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Checks of a histogram tool's output that several tools make alike: libbpf-tools' histogram
//! heading and rows, `-m`/`-T`, `--percentiles`, the JSON histogram objects, the scheduler
//! tools' `-v` line and `-P` sections, and the usage errors of hardirqs' and softirqs' shared
//! options.

use std::process::Child;

use crate::{Finished, feature_disabled, hist_row_counts, is_hms, kernel_at_least};

/// libbpf-tools' heading of a histogram in microseconds.
pub const USECS_HEADING: &str = "     usecs               : count    distribution\n";

/// The histograms' rows in `out` ([`hist_row_counts`]) counted something.
pub fn assert_counted(out: &Finished) {
    assert!(
        hist_row_counts(&out.stdout).iter().sum::<u64>() > 0,
        "{out}"
    );
}

/// `out` starts with `head` (the banner and the lines after it), has a histogram in
/// microseconds, and its rows counted something.
pub fn assert_usecs_histogram(out: &Finished, head: &str) {
    assert!(out.stdout.starts_with(head), "{out}");
    assert!(out.stdout.contains(USECS_HEADING), "{out}");
    assert_counted(out);
}

/// `-m -T` over `intervals` intervals: that many histograms in milliseconds, and that many
/// `HH:MM:SS` lines.
pub fn assert_msecs_with_timestamps(out: &Finished, intervals: usize) {
    assert_eq!(
        out.stdout
            .matches("     msecs               : count")
            .count(),
        intervals,
        "{out}"
    );
    let stamps = out.lines().filter(|l| is_hms(l)).count();
    assert_eq!(stamps, intervals, "{out}");
}

/// `-T --percentiles` in microseconds: a `HH:MM:SS` line and a `p50 <= N (usecs)` line.
pub fn assert_timestamps_and_percentiles(text: &Finished) {
    assert!(text.lines().any(is_hms), "-T: {text}");
    assert_usecs_percentiles(text);
}

/// A JSON histogram object counted something, and its buckets hold every count.
pub fn assert_json_buckets_hold_count(v: &serde_json::Value) {
    let count = v["count"].as_u64().expect("count");
    let buckets: u64 = v["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["count"].as_u64().expect("bucket count"))
        .sum();
    assert!(count > 0 && buckets == count, "{v}");
}

/// What a scheduler tool's `-v` line (common::sched's `Layout::log_attached`) ends with on
/// this kernel under FERROSCOPE_DISABLE, `what` naming the start times (`wakeup`): raw
/// tracepoints without tp_btf; task storage where its allocation takes no locks (6.4+), and
/// only on tp_btf; else a hash map.
pub fn sched_attach_line(what: &str) -> String {
    if feature_disabled("tp_btf") {
        format!("as raw tracepoints; {what} times in a hash map")
    } else if kernel_at_least(6, 4) && !feature_disabled("task_storage") {
        format!("as tp_btf; {what} times in task storage")
    } else {
        format!("as tp_btf; {what} times in a hash map")
    }
}

/// End `child`, the one task of a `-c` cgroup (killed, reaped; it may have ended already), then
/// check `-P` output `out` has a section (`pid = N comm`) and that each is `child`'s.
pub fn end_and_assert_only_sections_of(out: &Finished, child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
    let pids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("pid = "))
        .collect();
    assert!(!pids.is_empty(), "{out}");
    let child_pid = child.id().to_string();
    assert!(
        pids.iter().all(|p| p.starts_with(&format!("{child_pid} "))),
        "only the cgroup's task ({child_pid}): {out}"
    );
}

/// `--percentiles` in microseconds: a `p50 <= N (usecs)` line.
pub fn assert_usecs_percentiles(text: &Finished) {
    assert!(
        text.lines()
            .any(|l| l.starts_with("p50 <= ") && l.ends_with(" (usecs)")),
        "{text}"
    );
}

/// What a tool printed as it ended (Ctrl-C, SIGTERM, a closed pipe: see
/// [`crate::assert_signals_pipes_and_privileges`]) holds a histogram that counted something.
pub fn assert_final_histogram_counted(out: &Finished) {
    assert!(
        hist_row_counts(&out.stdout).iter().sum::<u64>() > 0,
        "final histogram: {out}"
    );
}

/// Each line of `out`'s stdout as a JSON value (`--json`: one object a line); panics on a line
/// that is not JSON.
pub fn json_objects(out: &Finished) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// hardirqs' and softirqs' usage errors (see [`crate::assert_usage_errors`]): those of the
/// options they share (`-C` with `-d`, `-N` with `-m`, `--percentiles` without `-d`, an
/// interval or count of 0 or below, a third positional, an unknown option), then the tool's
/// `own`.
pub fn assert_irq_usage_errors(bin: &str, tool: &str, own: &[&[&str]]) {
    let shared: [&[&str]; 8] = [
        &["-C", "-d"],
        &["-N", "-m"],
        &["--percentiles"],
        &["0"],
        &["1", "0"],
        &["-1"],
        &["1", "2", "3"],
        &["--bogus"],
    ];
    let cases: Vec<&[&str]> = shared.iter().chain(own).copied().collect();
    crate::assert_usage_errors(bin, tool, &cases);
}
