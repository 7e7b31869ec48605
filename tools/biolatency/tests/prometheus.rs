// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biolatency --prometheus and --textfile under a known workload: N O_DIRECT reads of a loop
//! device from a cgroup, scraped by a real Prometheus server.

use std::time::Duration;

use testkit::block::LoopDevice;
use testkit::prometheus::{self, Prometheus, free_addr};
use testkit::{Cgroup, TempDir, Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_biolatency");
const METRIC: &str = "ferroscope_biolatency_latency_seconds";
const READS: u64 = 60;

/// The log2 slot a value in microseconds falls in (slot 0 also holds 0).
fn slot(usecs: f64) -> i64 {
    (usecs.max(1.0) + 1.0).log2().ceil() as i64 - 1
}

/// `-c CG -d loopN -D`: exactly the READS direct reads dd makes of the loop device from the
/// cgroup count, under the label `disk="loopN"`. Prometheus's `_count` equals READS, as does
/// the `+Inf` bucket; its p50 and p99 fall in the slots (within one) of those a second
/// biolatency prints for the same reads with --percentiles; the text file written meanwhile
/// holds the same count and passes promtool, as does a scrape.
#[test]
fn root_prometheus_counts_every_read_and_writes_the_textfile() {
    let test = "root_prometheus_counts_every_read_and_writes_the_textfile";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    let disk = LoopDevice::new("biolatency-prom", 4 << 20);
    let cg = Cgroup::new("ferroscope-biolatency-prom");
    let dir = TempDir::new("biolatency-textfile");
    let textfile = dir.path().join("biolatency.prom");
    let addr = free_addr();
    let filter = ["-c", cg.path(), "-d", &disk.name, "-D"];
    let mut args = vec!["-v", "--textfile", textfile.to_str().expect("utf-8 path")];
    let listen = addr.to_string();
    args.extend(["--prometheus", &listen]);
    args.extend(filter);
    let exporter = Tool::spawn(BIN, &args).ready();
    let mut args = vec!["-v", "--percentiles", "--cumulative", "--json"];
    args.extend(filter);
    args.push("1");
    let printer = Tool::spawn(BIN, &args).ready();
    let prom = Prometheus::start(&[addr]);

    let dd = format!(
        "exec dd if={} of=/dev/null bs=4096 count={READS} iflag=direct status=none",
        disk.dev
    );
    let st = cg.shell("sh", &dd).status().expect("sh");
    assert!(st.success(), "dd failed");

    let series = format!("{{disk=\"{}\"}}", disk.name);
    let count = prom.wait_value(
        &format!("{METRIC}_count{series}"),
        Duration::from_secs(15),
        |v| v >= READS as f64,
    );
    assert_eq!(count, READS as f64, "every read, once");
    let inf = format!("{METRIC}_bucket{{disk=\"{}\",le=\"+Inf\"}}", disk.name);
    assert_eq!(prom.value(&inf), Some(count), "_count is the +Inf bucket");
    let buckets = prom.buckets(&format!("{METRIC}_bucket{series}"));
    assert_eq!(buckets.len(), 27, "one bucket per slot: {buckets:?}");
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative: {buckets:?}"
    );

    let lines = printer.wait_lines(&format!("{READS} reads printed"), |l| {
        l.iter().any(|l| l.contains(&format!("\"count\":{READS},")))
    });
    let line = lines
        .iter()
        .find(|l| l.contains(&format!("\"count\":{READS},")))
        .expect("the line");
    let printed: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    for (q, field) in [(0.5, "p50"), (0.99, "p99")] {
        let promql = format!("histogram_quantile({q}, {METRIC}_bucket{series})");
        let secs = prom
            .value(&promql)
            .unwrap_or_else(|| panic!("{promql}: no value"));
        let p = printed[field].as_u64().expect(field) as f64;
        let (a, b) = (slot(secs * 1e6), slot(p));
        assert!(
            (a - b).abs() <= 1,
            "{promql} = {secs} s (slot {a}); biolatency --percentiles {field} <= {p} us (slot {b})"
        );
    }

    let (code, _, text) = prometheus::get(&format!("http://{addr}/metrics"), "text/plain");
    assert_eq!(code, 200);
    prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // The text file is rewritten every second: wait for one written after the reads.
    let want = format!("{METRIC}_count{series} {READS}\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let file = loop {
        let f = std::fs::read_to_string(&textfile).unwrap_or_default();
        if f.contains(&want) || std::time::Instant::now() > deadline {
            break f;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(file.contains(&want), "{want}: {file}");
    prometheus::check_metrics(&file).unwrap_or_else(|e| panic!("{e}\n{file}"));

    printer.interrupt().success();
    let out = exporter.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}

/// Bad --prometheus and --textfile values are refused with one line and status 2: an address
/// that is not IP:PORT (when parsing), one already in use and a directory that does not exist
/// (when starting), and --json, which prints what these options export instead.
#[test]
fn root_bad_export_targets_exit_2() {
    if !bpf_ready("root_bad_export_targets_exit_2") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = listener.local_addr().expect("addr").to_string();
    testkit::assert_usage_errors(
        BIN,
        "biolatency",
        &[
            &["--prometheus", "localhost"][..],
            &["--prometheus", "1.2.3.4"],
            &["--prometheus", &taken],
            &["--textfile", "/nonexistent/dir/biolatency.prom"],
            &["--prometheus", "127.0.0.1:0", "--json"],
            &["--prometheus", "127.0.0.1:0", "--cumulative"],
        ],
    );
}
