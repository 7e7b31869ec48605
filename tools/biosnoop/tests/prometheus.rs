// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biosnoop --prometheus: O_DIRECT reads of a loop device (testkit::block) by dd in a cgroup of
//! its own, counted by disk and RWBS, read from `/metrics`.

use std::time::Duration;

use testkit::block::LoopDevice;
use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{Cgroup, Tool, bpf_ready, columns};

const BIN: &str = env!("CARGO_BIN_EXE_biosnoop");
const METRIC: &str = "ferroscope_biosnoop_events_total";
const MIB: u64 = 1 << 20;

/// dd reads N blocks with O_DIRECT (one request each) inside a cgroup, both tools filtered to
/// that cgroup and the loop device (`-c`, `-d`: udev's probes of the new device are not
/// counted): the exporter's `{disk="loopN",rwbs=T}` is N, its only series, where T is the T
/// column of the printing twin's N rows; nothing lost, build info there, promtool passes.
#[test]
fn root_prometheus_counts_requests_by_disk_and_rwbs() {
    let test = "root_prometheus_counts_requests_by_disk_and_rwbs";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 6;
    let d = LoopDevice::new("biosnoop-prom", 4 * MIB);
    let cg = Cgroup::new("ferroscope-biosnoop-prom");
    let addr = free_addr();
    let filter = ["-c", cg.path(), "-d", &d.name];
    let rows = Tool::spawn(BIN, &filter).ready();
    let listen = addr.to_string();
    let exporter = Tool::spawn(
        BIN,
        &[&["-v"], &filter[..], &["--prometheus", &listen]].concat(),
    )
    .ready();
    let dd = format!(
        "exec dd if={} of=/dev/null bs=4096 count={N} iflag=direct status=none",
        d.dev
    );
    assert!(cg.shell("sh", &dd).status().expect("sh").success());

    // The header and N rows; T is the fifth column.
    let lines = rows.wait_lines("N rows", |l| l.len() > N);
    let rwbs: Vec<&str> = lines[1..].iter().map(|l| columns(l)[4]).collect();
    assert!(rwbs.iter().all(|t| *t == rwbs[0]), "{lines:?}");
    let series = format!("{METRIC}{{disk=\"{}\",rwbs=\"{}\"}}", d.name, rwbs[0]);
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, &series) == Some(N as f64)
    });
    assert_eq!(samples(&text, METRIC).len(), 1, "one series: {text}");
    prometheus::assert_event_tool_basics(&text, "biosnoop");
    let rows = rows.interrupt().success();
    assert_eq!(rows.lines().count(), N + 1, "dd's reads alone: {rows}");
    let out = exporter.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
