// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! syscount --prometheus and --textfile: getppid() calls this test process makes, counted for
//! this process (-p) and scraped over HTTP, checked by promtool.

use std::time::{Duration, Instant};

use testkit::prometheus::{self, free_addr};
use testkit::{TempDir, Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_syscount");

/// A metric's value in an exposition: the line `series value`.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `--prometheus` with -p (this process) and -L: N getppid() calls scraped over HTTP as
/// exactly N (nothing else here calls getppid), with their seconds; both formats served, the
/// text one passing promtool. `--textfile` with -P: this process's syscalls, at least N, under
/// its pid and comm, in a file promtool accepts, written when the tool stops.
#[test]
fn root_prometheus_and_textfile_count_the_syscalls_made() {
    let test = "root_prometheus_and_textfile_count_the_syscalls_made";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: u32 = 4000;
    let pid = std::process::id().to_string();
    let addr = free_addr();
    let dir = TempDir::new("ferroscope-syscount-prom");
    let file = dir.path().join("syscount.prom");
    let served = Tool::spawn(
        BIN,
        &["-v", "-L", "-p", &pid, "--prometheus", &addr.to_string()],
    )
    .ready();
    let written = Tool::spawn(
        BIN,
        &[
            "-v",
            "-P",
            "-p",
            &pid,
            "--textfile",
            file.to_str().expect("utf8"),
        ],
    )
    .ready();
    for _ in 0..N {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    // Published every second.
    let calls = "ferroscope_syscount_syscalls_total{syscall=\"getppid\"}";
    let end = Instant::now() + Duration::from_secs(15);
    let text = loop {
        let (code, ctype, text) = prometheus::get(&format!("http://{addr}/metrics"), "text/plain");
        assert_eq!(code, 200, "{text}");
        assert!(ctype.starts_with("text/plain"), "{ctype}");
        if metric(&text, calls) == Some(f64::from(N)) || Instant::now() > end {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(metric(&text, calls), Some(f64::from(N)), "{text}");
    let seconds = "ferroscope_syscount_syscall_seconds_total{syscall=\"getppid\"}";
    assert!(
        metric(&text, seconds).is_some_and(|s| s > 0.0 && s < 10.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "ferroscope_lost_events_total{tool=\"syscount\",what=\"syscalls\"}"
        ),
        Some(0.0),
        "{text}"
    );
    prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (_, ctype, om) = prometheus::get(
        &format!("http://{addr}/metrics"),
        "application/openmetrics-text",
    );
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.contains(&format!("{calls} {N}\n")),
        "the same count in OpenMetrics: {om}"
    );
    let out = served.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");

    let out = written.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    let text = std::fs::read_to_string(&file).expect("text file");
    // -P counts every syscall of the process (its other threads' too), named by its leader.
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    let series = format!(
        "ferroscope_syscount_syscalls_total{{pid=\"{pid}\",comm=\"{}\"}}",
        comm.trim_end()
    );
    assert!(
        metric(&text, &series).is_some_and(|v| v >= f64::from(N)),
        "{series}: {text}"
    );
    prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}
