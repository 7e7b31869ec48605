// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpconnect --prometheus scraped by a real Prometheus server: loopback connects counted by
//! outcome, destination port and container.

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use testkit::prometheus::{self, Prometheus, free_addr};
use testkit::{Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_tcpconnect");
const METRIC: &str = "ferroscope_tcpconnect_events_total";

/// N connects to a listening loopback port and M to a closed one, the tool filtered to the
/// two ports (`-P`) and splitting by container (`--containers`: these are host tasks, `-`):
/// Prometheus scrapes `established` = N for the first port and `refused` = M for the second,
/// nothing lost; the exposition passes promtool.
#[test]
fn root_prometheus_counts_connects_by_outcome_and_port() {
    let test = "root_prometheus_counts_connects_by_outcome_and_port";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 7;
    const M: usize = 4;
    let open = TcpListener::bind("127.0.0.1:0").expect("bind");
    let open_port = open.local_addr().expect("addr").port();
    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let addr = free_addr();
    let ports = format!("{open_port},{closed_port}");
    let tool = Tool::spawn(
        BIN,
        &[
            "-v",
            "-P",
            &ports,
            "--containers",
            "--prometheus",
            &addr.to_string(),
        ],
    )
    .ready();
    let prom = Prometheus::start(&[addr]);
    let kept: Vec<TcpStream> = (0..N)
        .map(|_| TcpStream::connect(("127.0.0.1", open_port)).expect("connect"))
        .collect();
    for _ in 0..M {
        let e = TcpStream::connect(("127.0.0.1", closed_port)).expect_err("refused");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    }

    let timeout = Duration::from_secs(15);
    let established =
        format!("{METRIC}{{outcome=\"established\",port=\"{open_port}\",container=\"-\"}}");
    let refused = format!("{METRIC}{{outcome=\"refused\",port=\"{closed_port}\",container=\"-\"}}");
    prom.wait_value(&established, timeout, |v| v == N as f64);
    prom.wait_value(&refused, timeout, |v| v == M as f64);
    assert_eq!(
        prom.query(METRIC).len(),
        2,
        "no other series: {:?}",
        prom.query(METRIC)
    );
    assert_eq!(
        prom.value("ferroscope_lost_events_total{tool=\"tcpconnect\"}"),
        Some(0.0)
    );
    let (code, _, text) = prometheus::get(&format!("http://{addr}/metrics"), "text/plain");
    assert_eq!(code, 200);
    prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    drop(kept);
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
