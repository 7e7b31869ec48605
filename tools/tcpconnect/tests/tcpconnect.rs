// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpconnect against real connects on loopback (127.0.0.1 and ::1 only).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Tool, bpf_ready, columns, me, settle};

const BIN: &str = env!("CARGO_BIN_EXE_tcpconnect");

fn listener(addr: &str) -> (TcpListener, u16) {
    let l = TcpListener::bind(addr).expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

/// A loopback port nobody listens on (bound, then released).
fn closed_port() -> u16 {
    let (l, p) = listener("127.0.0.1:0");
    drop(l);
    p
}

#[test]
fn root_ipv4_and_ipv6_connects_show_addresses_ports_and_pid() {
    if !bpf_ready("root_ipv4_and_ipv6_connects_show_addresses_ports_and_pid") {
        return;
    }
    let (_l4, p4) = listener("127.0.0.1:0");
    let (_l6, p6) = listener("[::1]:0");
    let t = Tool::spawn(BIN, &["-s", "-p", &me()]).ready();
    let c4 = TcpStream::connect(("127.0.0.1", p4)).expect("connect v4");
    let c6 = TcpStream::connect(("::1", p6)).expect("connect v6");
    let l4 = t.wait_line(&format!(" {p4}"));
    let l6 = t.wait_line(&format!(" {p6}"));
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("PID    COMM             IP SADDR            DADDR            SPORT DPORT")
    );
    let sport4 = c4.local_addr().expect("local").port().to_string();
    let sport6 = c6.local_addr().expect("local").port().to_string();
    let p4s = p4.to_string();
    let p6s = p6.to_string();
    let c = columns(&l4);
    assert_eq!(c[0], me(), "{l4}");
    assert_eq!(
        &c[c.len() - 5..],
        ["4", "127.0.0.1", "127.0.0.1", sport4.as_str(), p4s.as_str()],
        "{l4}"
    );
    let c = columns(&l6);
    assert_eq!(
        &c[c.len() - 5..],
        ["6", "::1", "::1", sport6.as_str(), p6s.as_str()],
        "{l6}"
    );
}

#[test]
fn root_port_pid_and_family_filters() {
    if !bpf_ready("root_port_pid_and_family_filters") {
        return;
    }
    let (_a, pa) = listener("127.0.0.1:0");
    let (_b, pb) = listener("127.0.0.1:0");
    let (_c6, p6) = listener("[::1]:0");
    let t = Tool::spawn(BIN, &["-P", &format!("{pa},{p6}"), "-p", &me(), "-4"]).ready();
    // Another process connecting to the wanted port must not show (-p).
    let st = Command::new("bash")
        .arg("-c")
        .arg(format!("exec 3<>/dev/tcp/127.0.0.1/{pa}"))
        .status()
        .expect("bash");
    assert!(st.success());
    let _x = TcpStream::connect(("127.0.0.1", pb)).expect("connect b");
    let _y = TcpStream::connect(("::1", p6)).expect("connect v6");
    let _z = TcpStream::connect(("127.0.0.1", pa)).expect("connect a");
    let line = t.wait_line(&format!(" {pa}"));
    settle();
    let out = t.interrupt().success();
    assert_eq!(columns(&line)[0], me(), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.ends_with(&format!(" {pa}")))
            .count(),
        1,
        "{out}"
    );
    assert!(
        !out.stdout.contains(&format!(" {pb}")),
        "-P let port {pb} through: {out}"
    );
    assert!(!out.stdout.contains("::1"), "-4 let IPv6 through: {out}");
}

#[test]
fn root_count_mode_counts_exactly() {
    if !bpf_ready("root_count_mode_counts_exactly") {
        return;
    }
    const N: usize = 7;
    let (_l, port) = listener("127.0.0.1:0");
    let t = Tool::spawn(BIN, &["-c", "-v", "-p", &me()]).ready();
    let conns: Vec<TcpStream> = (0..N)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    settle();
    let out = t.interrupt().success();
    drop(conns);
    let row = out
        .lines()
        .find(|l| columns(l).get(2) == Some(&port.to_string().as_str()))
        .unwrap_or_else(|| panic!("no row for port {port}: {out}"));
    assert_eq!(
        columns(row),
        ["127.0.0.1", "127.0.0.1", &port.to_string(), &N.to_string()]
    );
    assert!(
        out.stdout.starts_with("\nLADDR                     RADDR "),
        "{out}"
    );
    // The table is all -c prints: a table that cannot be written is an error, status 1 (a
    // fresh-user trial saw status 0 and nothing said).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let mut child = Command::new(BIN)
        .args(["-c", "-v", "-p", &me()])
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut said = String::new();
    while !said.contains("attached") {
        let n = std::io::BufRead::read_line(&mut stderr, &mut said).expect("read stderr");
        assert!(n > 0, "ended before attaching: {said}");
    }
    drop(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    settle();
    // SAFETY: a signal to the child this test spawned and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::io::Read::read_to_string(&mut stderr, &mut said).expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.ends_with("tcpconnect: writing output: No space left on device (os error 28)\n"),
        "{said}"
    );
}

#[test]
fn root_outcome_column_shows_refused_and_established() {
    if !bpf_ready("root_outcome_column_shows_refused_and_established") {
        return;
    }
    let (_l, open) = listener("127.0.0.1:0");
    let closed = closed_port();
    let t = Tool::spawn(BIN, &["-o", "-p", &me()]).ready();
    let _ok = TcpStream::connect(("127.0.0.1", open)).expect("connect");
    let refused = TcpStream::connect(("127.0.0.1", closed)).expect_err("nobody listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let ok_line = t.wait_line(&format!(" {open} "));
    let bad_line = t.wait_line(&format!(" {closed} "));
    let out = t.interrupt().success();
    assert!(out.stdout.starts_with("PID "), "{out}");
    assert!(
        out.lines()
            .next()
            .expect("header")
            .ends_with("DPORT OUTCOME         LAT(ms)")
    );
    let ok = columns(&ok_line);
    assert_eq!(ok[ok.len() - 2], "established", "{ok_line}");
    let bad = columns(&bad_line);
    assert_eq!(bad[bad.len() - 2], "refused", "{bad_line}");
    let lat: f64 = bad[bad.len() - 1].parse().expect("latency");
    assert!((0.0..1000.0).contains(&lat), "{bad_line}");
}

#[test]
fn root_json_carries_outcome_and_latency() {
    if !bpf_ready("root_json_carries_outcome_and_latency") {
        return;
    }
    let (_l, port) = listener("[::1]:0");
    let t = Tool::spawn(BIN, &["--json", "-v", "-p", &me()]).ready();
    let c = TcpStream::connect(("::1", port)).expect("connect");
    t.wait_line(&format!("\"dport\":{port}"));
    let out = t.interrupt().success();
    let v: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|v| v["dport"] == port)
        .expect("event");
    assert_eq!(v["outcome"], "established");
    assert_eq!(v["ip"], 6);
    assert_eq!(v["daddr"], "::1");
    assert_eq!(v["sport"], c.local_addr().expect("local").port());
    assert_eq!(v["pid"], std::process::id());
    assert!(v["latency_us"].is_u64() && v["err"] == 0, "{v}");
}

/// A connect whose SYN is never answered must show while connect() still blocks, not after
/// the SYN timeout. A listener whose accept queue is full drops further SYNs, which makes
/// such a peer on loopback.
#[test]
fn root_unanswered_connect_shows_before_it_returns() {
    if !bpf_ready("root_unanswered_connect_shows_before_it_returns") {
        return;
    }
    let sock = socket2_listener_backlog0();
    let port = sock.1;
    // Fill the accept queue (nobody accepts).
    let mut fillers = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(300),
        ) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
        assert!(Instant::now() < deadline, "accept queue never filled");
    }
    let t = Tool::spawn(BIN, &["-p", &me()]).ready();
    let started = Instant::now();
    let blocked = std::thread::spawn(move || {
        TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(8),
        )
    });
    let line = t.wait_line(&format!(" {port}"));
    let shown_after = started.elapsed();
    let still_blocked = !blocked.is_finished();
    let _ = t.interrupt();
    let _ = blocked.join();
    assert!(
        still_blocked,
        "connect() returned before the row appeared: {line}"
    );
    assert!(
        shown_after < Duration::from_secs(5),
        "row took {shown_after:?}"
    );
    drop(fillers);
    drop(sock);
}

/// A listener with the smallest accept queue, via the C API (std has no backlog setting).
fn socket2_listener_backlog0() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a fresh fd we own; the sockaddr is a valid sockaddr_in.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, (&raw const sa).cast(), len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        let mut out: libc::sockaddr_in = std::mem::zeroed();
        let mut olen = len;
        assert_eq!(libc::getsockname(fd, (&raw mut out).cast(), &mut olen), 0);
        (
            std::os::fd::OwnedFd::from_raw_fd(fd),
            u16::from_be(out.sin_port),
        )
    }
}

#[test]
fn root_cgroup_filter() {
    if !bpf_ready("root_cgroup_filter") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-tcpconnect");
    let (_a, inside) = listener("127.0.0.1:0");
    let (_b, outside) = listener("127.0.0.1:0");
    let t = Tool::spawn(BIN, &["--cgroup", cg.path()]).ready();
    let _o = TcpStream::connect(("127.0.0.1", outside)).expect("connect");
    let st = cg
        .shell("bash", &format!("exec 3<>/dev/tcp/127.0.0.1/{inside}"))
        .status()
        .expect("bash");
    assert!(st.success());
    t.wait_line(&format!(" {inside}"));
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains(&format!(" {outside}")), "{out}");
}

#[test]
fn root_hooks_are_named_with_verbose() {
    if !bpf_ready("root_hooks_are_named_with_verbose") {
        return;
    }
    // The best path the kernel offers (FERROSCOPE_DISABLE can rule some out).
    use common::probe;
    let want = if probe::fentry("tcp_v4_connect") && probe::fentry("tcp_v6_connect") {
        "fexit"
    } else if probe::kprobes() {
        "kprobes"
    } else {
        "tracepoints"
    };
    let t = Tool::spawn(BIN, &["-v"]).ready();
    let out = t.interrupt().success();
    assert!(
        out.stderr.contains(&format!("attached via {want} (")),
        "{want}: {out}"
    );
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let (_l, port) = listener("127.0.0.1:0");
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {
        let _ = TcpStream::connect(("127.0.0.1", port));
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "tcpconnect",
        &[
            &["--bogus"],
            &["-P", "0"],
            &["-P", "80,abc"],
            &["-P", "70000"],
            &["-p", "0"],
            &["-4", "-6"],
            &["-c", "-o"],
            &["-u", "x"],
            &["--cgroup", "/nonexistent"],
            &["extra"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "tcpconnect");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "tcpconnect");
}
