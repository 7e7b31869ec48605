// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Checks of a histogram tool's output that several tools make alike: libbpf-tools' histogram
//! heading and rows, `-m`/`-T`, `--percentiles`, the JSON histogram objects, and the scheduler
//! tools' `-v` line and `-P` sections.

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

/// `-P` output has a section (`pid = N comm`) and each is the task `pid`'s: what a `-c`
/// cgroup holding only that task shows.
pub fn assert_only_sections_of(out: &Finished, pid: u32) {
    let pids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("pid = "))
        .collect();
    assert!(!pids.is_empty(), "{out}");
    let child_pid = pid.to_string();
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
