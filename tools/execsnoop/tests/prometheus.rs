// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop --prometheus and --textfile: the execs of one shell's children counted by
//! result, scraped by a real Prometheus server.

use std::path::Path;
use std::time::Duration;

use testkit::events::{Gated, gated_loops, spawn_exporting};
use testkit::prometheus::{self, Prometheus, free_addr};
use testkit::{TempDir, bpf_ready, unique};

const BIN: &str = env!("CARGO_BIN_EXE_execsnoop");
const METRIC: &str = "ferroscope_execsnoop_events_total";

fn true_bin() -> &'static str {
    if Path::new("/usr/bin/true").exists() {
        "/usr/bin/true"
    } else {
        "/bin/true"
    }
}

/// A shell, once told to, runs a marker N times and a missing program M times (each a fork
/// and one execve); execsnoop follows the shell's children (`-P`) and failed execs (`-x`):
/// Prometheus scrapes `errno="0"` = N and `errno="ENOENT"` = M. The text file written
/// alongside says the same and passes promtool.
#[test]
fn root_prometheus_counts_execs_by_result() {
    let test = "root_prometheus_counts_execs_by_result";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: u32 = 9;
    const M: u32 = 5;
    let dir = TempDir::new("execsnoop-prom");
    let marker = dir.path().join(unique("marker"));
    std::os::unix::fs::symlink(true_bin(), &marker).expect("symlink");
    let missing = dir.path().join("missing");
    let (run, fail) = (
        marker.display().to_string(),
        format!("{} 2>/dev/null", missing.display()),
    );
    let sh = Gated::sh(&gated_loops(&[(&run, N), (&fail, M)], ":"));
    let addr = free_addr();
    let textfile = dir.path().join("execsnoop.prom");
    let args = ["-v", "-x", "-P", &sh.id().to_string()];
    let tool = spawn_exporting(BIN, &args, addr, Some(&textfile));
    let prom = Prometheus::start(&[addr]);
    assert!(sh.go().success());

    let timeout = Duration::from_secs(15);
    prom.wait_value(&format!("{METRIC}{{errno=\"0\"}}"), timeout, |v| {
        v == f64::from(N)
    });
    prom.wait_value(&format!("{METRIC}{{errno=\"ENOENT\"}}"), timeout, |v| {
        v == f64::from(M)
    });
    assert_eq!(
        prom.value("ferroscope_lost_events_total{tool=\"execsnoop\"}"),
        Some(0.0)
    );
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    // The last rendering is written when the tool stops.
    let file = std::fs::read_to_string(&textfile).expect("text file");
    assert!(
        file.contains(&format!("{METRIC}{{errno=\"ENOENT\"}} {M}\n")),
        "{file}"
    );
    prometheus::check_metrics(&file).unwrap_or_else(|e| panic!("{e}\n{file}"));
}
