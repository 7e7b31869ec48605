// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! exitsnoop --prometheus: the exits of a shell's children in a cgroup of their own, counted
//! by exit status and killing signal, read from `/metrics` and scraped by a real Prometheus.

use std::process::Stdio;
use std::time::Duration;

use testkit::events::{Gated, gated_loops, spawn_exporting};
use testkit::prometheus::{self, Prometheus, free_addr, sample, samples};
use testkit::{Cgroup, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_exitsnoop");
const METRIC: &str = "ferroscope_exitsnoop_events_total";

/// Inside a cgroup (`-c`), once told to, a shell forks N subshells that exit with status 3
/// and M shells that kill themselves with SIGKILL, then exits 0 itself: `/metrics` has
/// `{code="3",signal=""}` = N, `{code="",signal="SIGKILL"}` = M, `{code="0",signal=""}` = 1 and
/// nothing else; nothing lost, build info there, promtool passes. Prometheus, scraping it,
/// reads the empty values as absent labels, as the manual says.
#[test]
fn root_prometheus_counts_exits_by_code_and_signal() {
    let test = "root_prometheus_counts_exits_by_code_and_signal";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 4;
    const M: usize = 2;
    let cg = Cgroup::new("ferroscope-exitsnoop-prom");
    let script = gated_loops(&[("(exit 3)", N), ("sh -c 'kill -KILL $$'", M)], "exit 0");
    // Its stderr is the shell's "Killed".
    let sh = Gated::spawn(cg.shell("sh", &script).stderr(Stdio::null()));
    cg.wait_for(sh.id());
    let addr = free_addr();
    let tool = spawn_exporting(BIN, &["-v", "-c", cg.path()], addr, None);
    let prom = Prometheus::start(&[addr]);
    assert!(sh.go().success());

    let code3 = format!("{METRIC}{{code=\"3\",signal=\"\"}}");
    let killed = format!("{METRIC}{{code=\"\",signal=\"SIGKILL\"}}");
    let code0 = format!("{METRIC}{{code=\"0\",signal=\"\"}}");
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, &code3) == Some(N as f64)
            && sample(t, &killed) == Some(M as f64)
            && sample(t, &code0) == Some(1.0)
    });
    assert_eq!(samples(&text, METRIC).len(), 3, "three series: {text}");
    prometheus::assert_event_tool_basics(&text, "exitsnoop");

    // In PromQL a label with an empty value is no label: the kills have no `code`.
    let timeout = Duration::from_secs(15);
    prom.wait_value(&format!("{METRIC}{{signal=\"SIGKILL\"}}"), timeout, |v| {
        v == M as f64
    });
    let kills = prom.query(&format!("{METRIC}{{signal=\"SIGKILL\"}}"));
    assert!(kills[0].0.get("code").is_none(), "{kills:?}");
    assert_eq!(
        prom.value(&format!("{METRIC}{{code=\"3\",signal=\"\"}}")),
        Some(N as f64)
    );
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
