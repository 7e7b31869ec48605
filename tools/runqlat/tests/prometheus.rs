// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqlat --prometheus scraped by a real Prometheus server, checked against runqlat's own
//! --percentiles for the same tasks.

use std::time::Duration;

use testkit::prometheus::{self, Prometheus, free_addr};
use testkit::{Cgroup, Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_runqlat");
const METRIC: &str = "ferroscope_runqlat_latency_seconds";

/// The log2 slot a value in microseconds falls in (slot i holds 2^i ..= 2^(i+1) - 1; slot 0
/// also 0): what both a percentile the tool prints and a quantile Prometheus interpolates in
/// a bucket come to.
fn slot(usecs: f64) -> i64 {
    (usecs.max(1.0) + 1.0).log2().ceil() as i64 - 1
}

/// Four CPU-bound processes in a cgroup for 0.8 s on fewer CPUs: they preempt each other, so
/// run queue latencies of microseconds to milliseconds. Two runqlat, one exporting, one
/// printing its cumulative p50/p99 every second, trace that cgroup; once the processes are
/// gone, both saw the same wakeups and switches, so Prometheus's count equals the printed one
/// and its quantiles fall in the printed percentiles' slots (within one). The exposition
/// passes promtool in both formats, `_count` is the `+Inf` bucket, the buckets only grow,
/// and build info and lost-event counters are there.
#[test]
fn root_prometheus_scrape_matches_the_tools_percentiles() {
    let test = "root_prometheus_scrape_matches_the_tools_percentiles";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    let cg = Cgroup::new("ferroscope-runqlat-prom");
    let addr = free_addr();
    let exporter = Tool::spawn(
        BIN,
        &["-v", "-c", cg.path(), "--prometheus", &addr.to_string()],
    )
    .ready();
    let printer = Tool::spawn(
        BIN,
        &[
            "-v",
            "-c",
            cg.path(),
            "--percentiles",
            "--cumulative",
            "--json",
            "1",
        ],
    )
    .ready();
    let prom = Prometheus::start(&[addr]);
    let spin = "for i in 1 2 3 4; do timeout 0.8 sh -c 'while :; do :; done' & done; wait";
    let st = cg.shell("sh", spin).status().expect("sh");
    assert!(st.success(), "workload failed");
    // Two more cumulative lines: the second was read after the processes were gone.
    let n = printer.lines().len();
    let lines = printer.wait_lines("two more intervals", |l| l.len() >= n + 2);
    let last: serde_json::Value = serde_json::from_str(lines.last().expect("a line"))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {lines:?}"));
    let count = last["count"].as_u64().expect("count");
    assert!(count > 0, "no latency counted: {last}");

    let timeout = Duration::from_secs(15);
    let scraped = prom.wait_value(&format!("{METRIC}_count"), timeout, |v| v == count as f64);
    let inf = prom.value(&format!("{METRIC}_bucket{{le=\"+Inf\"}}"));
    assert_eq!(inf, Some(scraped), "_count is the +Inf bucket");
    let buckets = prom.buckets(&format!("{METRIC}_bucket"));
    assert_eq!(buckets.len(), 26, "one bucket per slot: {buckets:?}");
    assert_eq!(buckets[0].0, 1e-6, "{buckets:?}");
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative: {buckets:?}"
    );
    for (q, field) in [(0.5, "p50"), (0.99, "p99")] {
        let promql = format!("histogram_quantile({q}, {METRIC}_bucket)");
        let secs = prom
            .value(&promql)
            .unwrap_or_else(|| panic!("{promql}: no value"));
        let printed = last[field].as_u64().expect(field) as f64;
        let (a, b) = (slot(secs * 1e6), slot(printed));
        assert!(
            (a - b).abs() <= 1,
            "{promql} = {secs} s (slot {a}); runqlat --percentiles {field} <= {printed} us \
             (slot {b})"
        );
    }
    assert_eq!(
        prom.value("ferroscope_build_info{tool=\"runqlat\"}"),
        Some(1.0)
    );
    assert_eq!(prom.value("up{job=\"ferroscope\"}"), Some(1.0));

    let url = format!("http://{addr}/metrics");
    let text = prometheus::get_checked_text(&url);
    for what in ["wakeups", "latencies"] {
        let line = format!("ferroscope_lost_events_total{{tool=\"runqlat\",what=\"{what}\"}} 0\n");
        assert!(text.contains(&line), "{line}: {text}");
    }
    let (code, ctype, om) = prometheus::get(&url, "application/openmetrics-text; version=1.0.0");
    assert_eq!(code, 200);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert_eq!(
        prometheus::get(&format!("http://{addr}/nothing"), "*/*").0,
        404
    );

    let printed = printer.interrupt().success();
    let out = exporter.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    assert!(
        out.stderr.contains(&format!("http://{addr}/metrics")),
        "{out}\n{printed}"
    );
}
