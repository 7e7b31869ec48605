// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcplife --prometheus: loopback sessions of this process over IPv4 and IPv6, counted by
//! address family, read from `/metrics`.

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{Tool, bpf_ready, me};

const BIN: &str = env!("CARGO_BIN_EXE_tcplife");
const METRIC: &str = "ferroscope_tcplife_events_total";

/// One short session over `host` (`127.0.0.1` or `::1`), both ends in this process, both
/// closed in it (the client first, the server after reading to the end): two rows, one per
/// end, each with this PID.
fn session(host: &str) {
    let l = TcpListener::bind((host, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    let srv = thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("read to EOF");
    });
    let c = TcpStream::connect((host, port)).expect("connect");
    c.shutdown(Shutdown::Both).expect("shutdown");
    drop(c);
    srv.join().expect("server thread");
}

/// N sessions over 127.0.0.1 and M over ::1, the tool filtered to this process (`-p`; the
/// scrapes are curl's): `family="ipv4"` is 2N and `family="ipv6"` 2M (a row per end), the
/// only series; nothing lost, build info there, promtool passes.
#[test]
fn root_prometheus_counts_sessions_by_family() {
    let test = "root_prometheus_counts_sessions_by_family";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 3;
    const M: usize = 2;
    let addr = free_addr();
    let tool = Tool::spawn(BIN, &["-v", "-p", &me(), "--prometheus", &addr.to_string()]).ready();
    for _ in 0..N {
        session("127.0.0.1");
    }
    for _ in 0..M {
        session("::1");
    }
    let v4 = format!("{METRIC}{{family=\"ipv4\"}}");
    let v6 = format!("{METRIC}{{family=\"ipv6\"}}");
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, &v4) == Some(2.0 * N as f64) && sample(t, &v6) == Some(2.0 * M as f64)
    });
    assert_eq!(samples(&text, METRIC).len(), 2, "two series: {text}");
    prometheus::assert_event_tool_basics(&text, "tcplife");
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
