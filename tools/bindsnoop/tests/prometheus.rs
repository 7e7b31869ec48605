// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! bindsnoop --prometheus: this process's binds on loopback, counted by protocol, port and
//! errno, read from `/metrics`.

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{Tool, bpf_ready, me};

const BIN: &str = env!("CARGO_BIN_EXE_bindsnoop");
const METRIC: &str = "ferroscope_bindsnoop_events_total";

/// The tool follows this process (`-p`; the scrapes are curl's) with failed binds too (`-x`):
/// N TCP binds of port P (the last one kept listening), M more while it listens
/// (EADDRINUSE), and K UDP binds of port 0 (any): `/metrics` has `{protocol="TCP",port="P",
/// errno="0"}` = N, `{protocol="TCP",port="P",errno="EADDRINUSE"}` = M and
/// `{protocol="UDP",port="0",errno="0"}` = K (the port asked for: one series, however many
/// ports the kernel picks), and nothing else; nothing lost, build info there, promtool passes.
#[test]
fn root_prometheus_counts_binds_by_protocol_port_and_errno() {
    let test = "root_prometheus_counts_binds_by_protocol_port_and_errno";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 3;
    const M: usize = 2;
    const K: usize = 4;
    let port = free_addr().port();
    let addr = free_addr();
    let tool = Tool::spawn(
        BIN,
        &["-v", "-x", "-p", &me(), "--prometheus", &addr.to_string()],
    )
    .ready();
    for _ in 0..N - 1 {
        drop(TcpListener::bind(("127.0.0.1", port)).expect("bind"));
    }
    let held = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for _ in 0..M {
        let e = TcpListener::bind(("127.0.0.1", port)).expect_err("the port is taken");
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
    }
    let udp: Vec<UdpSocket> = (0..K)
        .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();

    let tcp =
        |errno: &str| format!("{METRIC}{{protocol=\"TCP\",port=\"{port}\",errno=\"{errno}\"}}");
    let any = format!("{METRIC}{{protocol=\"UDP\",port=\"0\",errno=\"0\"}}");
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, &tcp("0")) == Some(N as f64)
            && sample(t, &tcp("EADDRINUSE")) == Some(M as f64)
            && sample(t, &any) == Some(K as f64)
    });
    assert_eq!(samples(&text, METRIC).len(), 3, "three series: {text}");
    prometheus::assert_event_tool_basics(&text, "bindsnoop");
    drop((held, udp));
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
