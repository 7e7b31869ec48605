// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpretrans --prometheus: SYN retransmissions made on purpose in a network namespace the test
//! creates (a firewall rule drops the SYNs), counted by type and socket state, read from
//! `/metrics`.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::thread;
use std::time::Duration;

use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{Tool, bpf_ready, columns, prerequisite, run, unique};

const BIN: &str = env!("CARGO_BIN_EXE_tcpretrans");
const METRIC: &str = "ferroscope_tcpretrans_events_total";

/// A network namespace with its loopback up, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new() -> Self {
        let name = unique("ferro-retrans-prom");
        run(Command::new("ip").args(["netns", "add", &name])).success();
        let ns = Self(name);
        run(Command::new("ip").args(["-n", &ns.0, "link", "set", "lo", "up"])).success();
        ns
    }

    /// Drop TCP segments to `port` arriving in the namespace; false where iptables cannot.
    fn drop_port(&self, port: u16) -> bool {
        let port = port.to_string();
        let rule = ["-A", "INPUT", "-p", "tcp", "--dport", &port, "-j", "DROP"];
        run(Command::new("ip")
            .args(["netns", "exec", &self.0, "iptables"])
            .args(rule))
        .status
        .success()
    }
}

/// Move the calling thread (only it: a thread has its own network namespace) into namespace
/// `name`.
fn enter_netns(name: &str) {
    let f = std::fs::File::open(format!("/run/netns/{name}")).expect("open netns");
    // SAFETY: a valid namespace fd; CLONE_NEWNET moves only this thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = run(Command::new("ip").args(["netns", "del", &self.0]));
    }
}

/// N connects at once, inside the namespace, to a port whose SYNs are dropped, each given up
/// after 1.5 s: one SYN retransmission each (the first after the initial timeout of 1 s, the
/// next would be 2 s later). A printing twin (no filter exists: retransmits of other hosts'
/// tests could come too) shows exactly N rows for that port, in SYN_SENT; the exporter's
/// `{type="retransmit",state="SYN_SENT"}` equals the twin's SYN_SENT rows, and its series add
/// up to the twin's rows. Nothing lost, build info there, promtool passes.
#[test]
fn root_prometheus_counts_retransmits_by_type_and_state() {
    let test = "root_prometheus_counts_retransmits_by_type_and_state";
    if !bpf_ready(test) {
        return;
    }
    const N: usize = 3;
    let ns = NetNs::new();
    let port = 4702;
    if !prerequisite(
        test,
        (!ns.drop_port(port)).then(|| "iptables failed".into()),
    ) || !prometheus::available(test)
    {
        return;
    }
    let addr = free_addr();
    let twin = Tool::spawn(BIN, &[] as &[&str]).ready();
    let tool = Tool::spawn(BIN, &["-v", "--prometheus", &addr.to_string()]).ready();
    let connects: Vec<_> = (0..N)
        .map(|_| {
            let name = ns.0.clone();
            thread::spawn(move || {
                enter_netns(&name);
                let to = SocketAddr::from(([127, 0, 0, 1], port));
                let r = TcpStream::connect_timeout(&to, Duration::from_millis(1500));
                assert!(r.is_err(), "the SYN was not dropped");
            })
        })
        .collect();
    for c in connects {
        c.join().expect("connecting thread");
    }
    let ours = format!("> 127.0.0.1:{port} ");
    twin.wait_lines("a row per connect", |l| {
        l.iter().filter(|l| l.contains(&ours)).count() >= N
    });
    // The twin's rows (after its start line and header), a retransmission another test makes
    // meanwhile included: the exporter counts it too.
    let rows = |lines: &[String]| lines.get(2..).unwrap_or_default().to_vec();
    let state = |r: &String| columns(r).last().map(|s| s.to_string());
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        let rows = rows(&twin.lines());
        let syn_sent = rows
            .iter()
            .filter(|r| state(r).as_deref() == Some("SYN_SENT"));
        let series = format!("{METRIC}{{type=\"retransmit\",state=\"SYN_SENT\"}}");
        let all: f64 = samples(t, METRIC).iter().map(|(_, v)| v).sum();
        sample(t, &series) == Some(syn_sent.count() as f64) && all == rows.len() as f64
    });
    let twin = twin.interrupt().success();
    let mine: Vec<&str> = twin.lines().filter(|l| l.contains(&ours)).collect();
    assert_eq!(mine.len(), N, "one retransmission per connect: {twin}");
    for r in &mine {
        let c = columns(r);
        assert_eq!((c[4], c[6]), ("R>", "SYN_SENT"), "{r}");
    }
    prometheus::assert_event_tool_basics(&text, "tcpretrans");
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
