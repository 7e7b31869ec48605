// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! killsnoop --prometheus and --textfile: the signals one shell sends, counted by signal and
//! errno, read from `/metrics` and from the text file.

use std::time::Duration;

use testkit::events::{Gated, gated_loops, spawn_exporting};
use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{TempDir, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_killsnoop");
const METRIC: &str = "ferroscope_killsnoop_events_total";

/// A shell, once told to, sends itself SIGCONT N times and SIGTERM M times to a PID above
/// any pid_max (ESRCH); the tool follows it as the sender (`-p`): `/metrics` has
/// `{signal="SIGCONT",errno="0"}` = N and `{signal="SIGTERM",errno="ESRCH"}` = M and nothing
/// else; nothing lost, build info there, promtool passes. The text file, rewritten when the
/// tool stops, says the same and passes promtool too.
#[test]
fn root_prometheus_counts_signals_by_name_and_errno() {
    let test = "root_prometheus_counts_signals_by_name_and_errno";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 5;
    const M: usize = 3;
    let sh = Gated::sh(&gated_loops(
        &[("kill -CONT $$", N), ("kill -TERM 99999999 2>/dev/null", M)],
        ":",
    ));
    let dir = TempDir::new("killsnoop-prom");
    let textfile = dir.path().join("killsnoop.prom");
    let addr = free_addr();
    let tool = spawn_exporting(
        BIN,
        &["-v", "-p", &sh.id().to_string()],
        addr,
        Some(&textfile),
    );
    assert!(sh.go().success());

    let sent = format!("{METRIC}{{signal=\"SIGCONT\",errno=\"0\"}}");
    let failed = format!("{METRIC}{{signal=\"SIGTERM\",errno=\"ESRCH\"}}");
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, &sent) == Some(N as f64) && sample(t, &failed) == Some(M as f64)
    });
    assert_eq!(samples(&text, METRIC).len(), 2, "two series: {text}");
    prometheus::assert_event_tool_basics(&text, "killsnoop");
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    let file = std::fs::read_to_string(&textfile).expect("the text file");
    assert_eq!(samples(&file, METRIC), samples(&text, METRIC), "{file}");
    prometheus::check_metrics(&file).unwrap_or_else(|e| panic!("{e}\n{file}"));
}
