// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The feature probes against the running kernel. What a kernel has differs, so these check what
//! must hold everywhere the tools run, and print the verdicts for the kernel-matrix logs.

use std::path::Path;
use std::process::Command;

use common::probe;

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = rel
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (ma, mi) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

#[test]
fn root_probes_tell_the_truth() {
    if !testkit::bpf_ready("root_probes_tell_the_truth") {
        return;
    }
    let tracefs = probe::tracefs().expect("tracefs found or mounted");
    assert!(tracefs.join("events").is_dir());
    assert!(probe::tracepoint_exists("syscalls", "sys_enter_openat").expect("tracefs"));
    assert!(!probe::tracepoint_exists("syscalls", "sys_enter_ferroscope_none").expect("tracefs"));

    let ringbuf = probe::ringbuf();
    let tp_btf = probe::tp_btf("sched_switch");
    let fentry = probe::fentry("tcp_v4_connect");
    let kprobes = probe::kprobes();
    eprintln!("probes: ringbuf={ringbuf} tp_btf={tp_btf} fentry={fentry} kprobes={kprobes}");
    let on = |f: &str| !probe::disabled(f);
    assert_eq!(
        ringbuf,
        kernel_at_least(5, 8) && on("ringbuf"),
        "ring buffers arrived in 5.8"
    );
    assert_eq!(
        tp_btf,
        kernel_at_least(5, 5) && on("tp_btf"),
        "tp_btf arrived in 5.5"
    );
    assert!(!probe::tp_btf("ferroscope_no_such_tracepoint"));
    assert!(!probe::fentry("ferroscope_no_such_function"));
    // kprobes are judged by the PMU libbpf attaches through, never by /proc/kallsyms.
    let pmu = Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || tracefs.join("kprobe_events").exists();
    assert_eq!(kprobes, pmu && on("kprobes"));
}

#[test]
fn root_disabled_features_probe_as_absent() {
    if !testkit::bpf_ready("root_disabled_features_probe_as_absent") {
        return;
    }
    // Probes read the environment at each call; run in a child to keep this process clean.
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args([
            "--exact",
            "report_probes_for_parent",
            "--nocapture",
            "--ignored",
        ])
        .env("FERROSCOPE_DISABLE", "ringbuf,tp_btf,fentry,kprobes")
        .output()
        .expect("rerun self");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("probes: ringbuf=false tp_btf=false fentry=false kprobes=false"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "helper run by root_disabled_features_probe_as_absent"]
fn report_probes_for_parent() {
    println!(
        "probes: ringbuf={} tp_btf={} fentry={} kprobes={}",
        probe::ringbuf(),
        probe::tp_btf("sched_switch"),
        probe::fentry("tcp_v4_connect"),
        probe::kprobes()
    );
}
