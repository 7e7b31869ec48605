// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! opensnoop --prometheus and --textfile: the opens a child process makes, counted by errno,
//! scraped by a real Prometheus server and read by curl while the opens happen.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use testkit::events::spawn_exporting;
use testkit::opener::Opener;
use testkit::prometheus::{self, Prometheus, free_addr, sample};
use testkit::{TempDir, Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_opensnoop");
const METRIC: &str = "ferroscope_opensnoop_events_total";

/// N opens of a missing path by one process, the tool filtered to it (`-p`): Prometheus
/// scrapes `errno="ENOENT"` = N, with nothing lost, while twice the listener's connection
/// limit of idle connections is held open to it (they cannot stop a scrape, nor the counting).
/// The text file holds the same count, and both expositions pass `promtool check metrics`.
#[test]
fn root_prometheus_counts_opens_by_errno() {
    let test = "root_prometheus_counts_opens_by_errno";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: u64 = 37;
    let dir = TempDir::new("opensnoop-prom");
    let missing = dir.path().join("missing");
    let child = Opener::new(dir.path(), &missing, N);
    let addr = free_addr();
    let textfile = dir.path().join("opensnoop.prom");
    let pid = child.pid().to_string();
    let tool = spawn_exporting(BIN, &["-v", "-p", &pid], addr, Some(&textfile));
    let idle = idle_connections(addr, 128);
    let prom = Prometheus::start(&[addr]);
    child.go();

    let failed = format!("{METRIC}{{errno=\"ENOENT\"}}");
    prom.wait_value(&failed, Duration::from_secs(15), |v| v == N as f64);
    assert_eq!(
        prom.value("ferroscope_lost_events_total{tool=\"opensnoop\",what=\"events\"}"),
        Some(0.0)
    );
    assert_eq!(
        prom.value("ferroscope_build_info{tool=\"opensnoop\"}"),
        Some(1.0)
    );
    assert_eq!(prom.value("up{job=\"ferroscope\"}"), Some(1.0));
    drop(idle);

    let url = format!("http://{addr}/metrics");
    let (code, ctype, text) = prometheus::get(&url, "text/plain");
    assert_eq!(
        (code, ctype.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(sample(&text, &failed), Some(N as f64), "{text}");
    let (code, _, om) = prometheus::get(&url, "application/openmetrics-text; version=1.0.0");
    assert_eq!(code, 200);
    assert!(om.ends_with("# EOF\n"), "{om}");

    // The text file is rewritten every second: wait for the count, then lint it.
    let end = Instant::now() + Duration::from_secs(10);
    let file = loop {
        let file = std::fs::read_to_string(&textfile).unwrap_or_default();
        if sample(&file, &failed) == Some(N as f64) || Instant::now() > end {
            break file;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sample(&file, &failed), Some(N as f64), "{file}");
    prometheus::check_metrics(&file).unwrap_or_else(|e| panic!("{e}\n{file}"));

    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    assert!(out.stderr.contains(&url), "{out}");
}

/// `n` connections to `addr` that send nothing.
fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| TcpStream::connect(addr).expect("connect to the listener"))
        .collect()
}

/// A burst of opens while curl scrapes every 100 ms: every scrape answers, the count never
/// goes down, and in the end the opens counted and the events the kernel reports lost add up
/// to the opens made (a small buffer makes losses likely, so both terms are exercised).
#[test]
fn root_scrapes_during_heavy_load_lose_nothing_unreported() {
    let test = "root_scrapes_during_heavy_load_lose_nothing_unreported";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: u64 = 100_000;
    let dir = TempDir::new("opensnoop-prom-load");
    let missing = dir.path().join("missing");
    let child = Opener::new(dir.path(), &missing, N);
    let addr = free_addr();
    let pid = child.pid().to_string();
    let tool = Tool::spawn(
        BIN,
        &[
            "-v",
            "-p",
            &pid,
            "--buffer-size",
            "64",
            "--prometheus",
            &addr.to_string(),
        ],
    )
    .ready();
    let url = format!("http://{addr}/metrics");
    let failed = format!("{METRIC}{{errno=\"ENOENT\"}}");
    let lost = "ferroscope_lost_events_total{tool=\"opensnoop\",what=\"events\"}";
    let opens = std::thread::spawn(move || child.go());
    let mut scrapes = 0;
    let mut last = (0.0, 0.0);
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let done = opens.is_finished();
        let (code, _, text) = prometheus::get(&url, "text/plain");
        assert_eq!(code, 200, "scrape {scrapes} answered: {text}");
        scrapes += 1;
        let now = (
            sample(&text, &failed).unwrap_or(0.0),
            sample(&text, lost).expect("the lost counter is always there"),
        );
        assert!(
            now.0 >= last.0 && now.1 >= last.1,
            "counters went down: {last:?} -> {now:?}"
        );
        last = now;
        if done && now.0 + now.1 == N as f64 {
            prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            break;
        }
        assert!(
            Instant::now() < end,
            "after {scrapes} scrapes: counted {} + lost {} != {N} opens",
            now.0,
            now.1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    opens.join().expect("opener thread");
    assert!(scrapes > 1, "scraped while the opens ran");
    let out = tool.interrupt().success();
    // The tool's own account of losses says the same.
    let said = if last.1 > 0.0 {
        let n = last.1 as u64;
        format!("{n} event{} lost in total", if n == 1 { "" } else { "s" })
    } else {
        String::new()
    };
    assert!(out.stderr.contains(&said), "{said}: {out}");
}
