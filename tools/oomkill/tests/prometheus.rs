// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! oomkill --prometheus: a real OOM kill in a memory cgroup limited to a few MiB
//! (testkit::oom), counted in the one series, read from `/metrics`.

use std::time::Duration;

use testkit::oom::MemoryCgroup;
use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{Tool, bpf_ready, prerequisite};

const BIN: &str = env!("CARGO_BIN_EXE_oomkill");
const METRIC: &str = "ferroscope_oomkill_events_total";

/// One OOM kill of a hog in a small memory cgroup. oomkill has no filter (OOM kills of other
/// tests could come meanwhile), so a printing twin runs alongside: it shows the kill, and the
/// exporter's series, there at 0 from the start, equals the twin's rows; nothing lost, build
/// info there, promtool passes.
#[test]
fn root_prometheus_counts_oom_kills() {
    let test = "root_prometheus_counts_oom_kills";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    let cg = match MemoryCgroup::new("ferroscope-oomkill-prom") {
        Ok(cg) => cg,
        Err(reason) => {
            prerequisite(test, Some(reason));
            return;
        }
    };
    let addr = free_addr();
    let twin = Tool::spawn(BIN, &[] as &[&str]).ready();
    let tool = Tool::spawn(BIN, &["-v", "--prometheus", &addr.to_string()]).ready();
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, METRIC).is_some()
    });
    assert_eq!(samples(&text, METRIC), [("", 0.0)], "{text}");
    let victim = cg.oom_kill("ferro-oomprom");
    twin.wait_line(&format!("OOM kill of PID {} (", victim.pid()));
    let kills = || {
        let lines = twin.lines();
        lines
            .iter()
            .filter(|l| l.contains(" OOM kill of PID "))
            .count() as f64
    };
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, METRIC) == Some(kills())
    });
    drop(victim);
    assert_eq!(samples(&text, METRIC).len(), 1, "one series: {text}");
    prometheus::assert_event_tool_basics(&text, "oomkill");
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    twin.interrupt().success();
}
