// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpretrans against retransmissions made on purpose: inside a network namespace the test
//! creates (loopback only), a firewall rule drops the SYNs to a port, so the connecting
//! socket retransmits its SYN after the kernel's initial timeout (1 s). Where the kernel has no
//! firewall (the kernel matrix's guests may lack nf_tables), a full listen queue drops them
//! instead.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::thread;
use std::time::Duration;

use testkit::{Tool, bpf_ready, columns, run, unique};

const BIN: &str = env!("CARGO_BIN_EXE_tcpretrans");

/// A network namespace with its loopback up, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new() -> Self {
        let name = unique("ferro-retrans");
        run(Command::new("ip").args(["netns", "add", &name])).success();
        let ns = Self(name);
        run(Command::new("ip").args(["-n", &ns.0, "link", "set", "lo", "up"])).success();
        ns
    }

    /// Drop TCP segments to `port` arriving in the namespace; false where iptables cannot.
    fn drop_port(&self, port: u16) -> bool {
        run(Command::new("ip").args([
            "netns",
            "exec",
            &self.0,
            "iptables",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            &port.to_string(),
            "-j",
            "DROP",
        ]))
        .status
        .success()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = run(Command::new("ip").args(["netns", "del", &self.0]));
    }
}

/// Inside `ns`, a connect to 127.0.0.1:`port` whose SYN is dropped (by the firewall rule, or
/// by a full listen queue), given up after 1.5 s: long enough for one SYN retransmission.
fn syn_retransmitted(ns: &NetNs, port: u16) {
    let firewall = ns.drop_port(port);
    let name = ns.0.clone();
    thread::spawn(move || {
        enter_netns(&name);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Without the rule: a listener whose queue (backlog 0) one connection fills.
        let _full = (!firewall).then(|| {
            let l = TcpListener::bind(addr).expect("bind");
            // SAFETY: listen(2) again on a listening socket only changes its backlog.
            assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
            let first = TcpStream::connect(addr).expect("first connect");
            (l, first)
        });
        let r = TcpStream::connect_timeout(&addr, Duration::from_millis(1500));
        assert!(r.is_err(), "the SYN was not dropped");
    })
    .join()
    .expect("connecting thread");
}

/// Move the calling thread (only it: a thread has its own network namespace) into namespace
/// `name`.
fn enter_netns(name: &str) {
    let f = std::fs::File::open(format!("/run/netns/{name}")).expect("open netns");
    // SAFETY: a valid namespace fd; CLONE_NEWNET moves only this thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

#[test]
fn root_syn_retransmit_shows_addresses_and_state() {
    if !bpf_ready("root_syn_retransmit_shows_addresses_and_state") {
        return;
    }
    let ns = NetNs::new();
    let port = 4701;
    let t = Tool::spawn(BIN, &["-s"]).ready();
    let count = Tool::spawn(BIN, &["-c", "-4"]).ready();
    let v6 = Tool::spawn(BIN, &["-6"]).ready();
    syn_retransmitted(&ns, port);
    let needle = format!("> 127.0.0.1:{port} ");
    let line = t.wait_line(&needle);
    let out = t.interrupt().success();
    let counted = count.interrupt().success();
    let v6 = v6.interrupt().success();
    assert_eq!(
        out.lines().nth(1),
        Some(
            "TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE        SEQ       "
        ),
        "{out}"
    );
    assert_eq!(
        out.lines().next(),
        Some("Tracing retransmits ... Hit Ctrl-C to end")
    );
    let c = columns(&line);
    assert!(testkit::is_hms(c[0]), "{line}");
    assert_eq!(c[2], "4", "{line}");
    assert!(c[3].starts_with("127.0.0.1:"), "{line}");
    assert_eq!(c[4], "R>", "{line}");
    assert_eq!(c[5], format!("127.0.0.1:{port}"), "{line}");
    assert_eq!(c[6], "SYN_SENT", "{line}");
    assert!(c[7].parse::<u32>().is_ok(), "SEQ: {line}");
    // Count mode: the same flow, counted at least once, in the table printed at the end.
    let flow = format!("[{}]#{}", "127.0.0.1", &c[3]["127.0.0.1:".len()..]);
    let row = counted
        .lines()
        .find(|l| l.starts_with(&flow))
        .unwrap_or_else(|| panic!("no count for {flow}: {counted}"));
    let rc = columns(row);
    assert_eq!(rc[2], format!("[127.0.0.1]#{port}"), "{counted}");
    assert!(rc[3].parse::<u64>().is_ok_and(|n| n >= 1), "{counted}");
    assert!(
        counted
            .stdout
            .contains("\nLADDR:LPORT               RADDR:RPORT               RETRANSMITS\n"),
        "{counted}"
    );
    assert!(!v6.stdout.contains(&needle), "-6 let IPv4 through: {v6}");
}

#[test]
fn root_json_fields() {
    if !bpf_ready("root_json_fields") {
        return;
    }
    let ns = NetNs::new();
    let port = 4702;
    let t = Tool::spawn(BIN, &["--json", "-v"]).ready();
    syn_retransmitted(&ns, port);
    let line = t.wait_line(&format!("\"rport\":{port},"));
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["ip"], 4, "{line}");
    assert_eq!(v["laddr"], "127.0.0.1", "{line}");
    assert_eq!(v["raddr"], "127.0.0.1", "{line}");
    assert_eq!(v["type"], "R", "{line}");
    assert_eq!(v["state"], "SYN_SENT", "{line}");
    assert!(v["lport"].as_u64().is_some_and(|p| p > 0), "{line}");
    assert!(v["cgroup_id"].as_u64().is_some(), "{line}");
}

#[test]
fn root_lossprobe_needs_a_hook() {
    if !bpf_ready("root_lossprobe_needs_a_hook") {
        return;
    }
    let kprobes = !testkit::feature_disabled("kprobes")
        && std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists();
    let t = Tool::spawn(BIN, &["-l", "-v"]);
    match t.ready_or_exit() {
        Ok(t) => {
            assert!(kprobes, "-l ran without kprobes");
            let out = t.interrupt().success();
            assert!(out.stderr.contains("kprobe:tcp_send_loss_probe"), "{out}");
        }
        Err(out) => {
            assert!(
                !kprobes,
                "-l refused although the kernel has kprobes: {out}"
            );
            assert_eq!(out.status.code(), Some(1), "{out}");
            assert_eq!(out.stderr.lines().count(), 1, "{out}");
            assert!(out.stderr.contains("tcp_send_loss_probe"), "{out}");
        }
    }
}

#[test]
fn root_verbose_names_the_hook() {
    if !bpf_ready("root_verbose_names_the_hook") {
        return;
    }
    testkit::events::assert_verbose_says(
        BIN,
        "tcpretrans: attached to tcp:tcp_retransmit_skb; events through the ",
    );
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    // The header's first line is BCC's "Tracing ..." line: head -n 1 ends with it.
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {});
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "tcpretrans",
        &[
            &["--bogus"],
            &["-4", "-6"],
            &["-c", "--json"],
            &["-c", "--containers"],
            &["-d", "0"],
            &["-d", "x"],
            &["extra"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "tcpretrans");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "tcpretrans");
}
