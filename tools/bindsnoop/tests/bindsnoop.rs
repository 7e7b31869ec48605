// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! bindsnoop against real binds on loopback: IPv4 and IPv6, TCP and UDP, socket options, a
//! failed bind (EADDRINUSE) with -x, the -P, -p and -c filters, and JSON.

use std::net::{TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use testkit::{Tool, bpf_ready, columns, me, settle};

const BIN: &str = env!("CARGO_BIN_EXE_bindsnoop");

/// A shell command: busybox nc binds `port` to listen on, and is killed a moment later.
/// A shell command: busybox nc listens on `port` and is killed once the kernel lists the
/// listening socket (so after its bind), at most ten seconds later. A fixed sleep before the
/// kill was too short under emulation in the 5.10 guest: nc was killed before it bound.
fn nc_listen(port: u16) -> String {
    format!(
        "busybox nc -l -p {port} </dev/null >/dev/null & \
         n=0; until grep -qsi ':{port:04X} ' /proc/net/tcp6 /proc/net/tcp || [ $n -ge 200 ]; \
         do sleep 0.05; n=$((n+1)); done; kill $!"
    )
}

fn row(t: &Tool, port: u16) -> String {
    t.wait_line(&format!(" {port} "))
}

fn setopt(fd: &OwnedFd, level: i32, opt: i32) {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option value of the right size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt {level}/{opt}: {}",
        std::io::Error::last_os_error()
    );
}

/// A TCP socket with IP_FREEBIND and SO_REUSEPORT bound to 127.0.0.1, port picked by the
/// kernel: the socket (bound, not listening) and its port.
fn freebind_socket() -> (OwnedFd, u16) {
    // SAFETY: socket(2) with constant arguments; a non-negative result is ours to own.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    setopt(&fd, libc::SOL_IP, libc::IP_FREEBIND);
    setopt(&fd, libc::SOL_SOCKET, libc::SO_REUSEPORT);
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: sa is a valid sockaddr_in of length len.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            len,
        )
    };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    let mut out = sa;
    let mut olen = len;
    // SAFETY: out and olen are valid for a sockaddr_in.
    let rc = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut out as *mut libc::sockaddr_in).cast(),
            &mut olen,
        )
    };
    assert_eq!(rc, 0);
    (fd, u16::from_be(out.sin_port))
}

#[test]
fn root_ipv4_and_ipv6_binds_with_ports_and_options() {
    if !bpf_ready("root_ipv4_and_ipv6_binds_with_ports_and_options") {
        return;
    }
    let t = Tool::spawn(BIN, &["-p", &me()]).ready();
    // std sets SO_REUSEADDR on a TcpListener before binding; not on a UdpSocket.
    let tcp4 = TcpListener::bind("127.0.0.1:0").expect("bind v4");
    let udp6 = UdpSocket::bind("[::1]:0").expect("bind v6");
    let (_fb, pfb) = freebind_socket();
    let p4 = tcp4.local_addr().expect("addr").port();
    let p6 = udp6.local_addr().expect("addr").port();
    let l4 = row(&t, p4);
    let l6 = row(&t, p6);
    let lfb = row(&t, pfb);
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next().map(str::trim_end),
        Some("PID     COMM             RET PROTO OPTS  IF   PORT  ADDR")
    );
    // The port the kernel picked for port 0, not the 0 asked for.
    let c = columns(&l4);
    assert_eq!(c[0], me(), "{l4}");
    assert_eq!(
        c[2..],
        ["0", "TCP", "...R.", "0", &p4.to_string(), "127.0.0.1"],
        "{l4}"
    );
    assert_eq!(
        l4.len(),
        format!("{l4:<88}").len(),
        "ADDR padded to 48: {l4:?}"
    );
    let c = columns(&l6);
    assert_eq!(
        c[2..],
        ["0", "UDP", ".....", "0", &p6.to_string(), "::1"],
        "{l6}"
    );
    // IP_FREEBIND lives in inet_flags since 6.6, in a bitfield before: found either way.
    let c = columns(&lfb);
    assert_eq!(
        c[2..],
        ["0", "TCP", "F...r", "0", &pfb.to_string(), "127.0.0.1"],
        "{lfb}"
    );
}

/// A bind to a port in use fails with EADDRINUSE: shown with -x only, with the address and
/// port asked for. -P keeps that port only, in both.
#[test]
fn root_failed_bind_with_x_and_port_filter() {
    if !bpf_ready("root_failed_bind_with_x_and_port_filter") {
        return;
    }
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let p = held.local_addr().expect("addr").port();
    let with_x = Tool::spawn(BIN, &["-x", "-P", &format!("1,{p}")]).ready();
    let without = Tool::spawn(BIN, &["-P", &p.to_string()]).ready();
    let err = TcpListener::bind(("127.0.0.1", p)).expect_err("the port is in use");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    // The same port in UDP is free, and another port is filtered out.
    let udp = UdpSocket::bind(("127.0.0.1", p)).expect("UDP bind");
    let other = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let q = other.local_addr().expect("addr").port();
    let failed = with_x.wait_line(" -98 ");
    with_x.wait_line(" UDP ");
    without.wait_line(" UDP ");
    settle();
    let with_x = with_x.interrupt().success();
    let without = without.interrupt().success();
    drop((held, udp));
    let c = columns(&failed);
    assert_eq!(c[0], me(), "{failed}");
    assert_eq!(
        c[2..],
        ["-98", "TCP", "...R.", "0", &p.to_string(), "127.0.0.1"],
        "{with_x}"
    );
    assert!(
        !without.stdout.contains(" -98 "),
        "a failed bind without -x: {without}"
    );
    for out in [&with_x, &without] {
        assert!(
            !out.stdout.contains(&format!(" {q} ")),
            "-P let {q} through: {out}"
        );
        assert_eq!(
            out.lines().filter(|l| l.contains(" UDP ")).count(),
            1,
            "{out}"
        );
    }
}

#[test]
fn root_json_fields() {
    if !bpf_ready("root_json_fields") {
        return;
    }
    let t = Tool::spawn(BIN, &["--json", "-x", "-p", &me()]).ready();
    let l = UdpSocket::bind("[::1]:0").expect("bind");
    let p = l.local_addr().expect("addr").port();
    let line = t.wait_line(&format!("\"port\":{p},"));
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(
        v["pid"].as_u64(),
        Some(me().parse().expect("pid")),
        "{line}"
    );
    assert_eq!(v["ret"], 0);
    assert_eq!(v["protocol"], "UDP");
    assert_eq!(v["ip"], 6);
    assert_eq!(v["addr"], "::1");
    assert_eq!(v["opts"], serde_json::json!([]));
    assert_eq!(v["bound_dev_if"], 0);
    assert!(v["cgroup_id"].as_u64().is_some(), "{line}");
    assert!(
        v["time"].as_str().is_some_and(|s| s.contains('T')),
        "{line}"
    );
}

#[test]
fn root_cgroup_filter_and_timestamp() {
    if !bpf_ready("root_cgroup_filter_and_timestamp") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-bindsnoop");
    let t = Tool::spawn(BIN, &["-t", "-c", cg.path()]).ready();
    let outside = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let po = outside.local_addr().expect("addr").port();
    // busybox nc listens on a port (binding [::]:port), killed a moment later.
    let pick = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let pi = pick.local_addr().expect("addr").port();
    drop(pick);
    // Braced: the shell joins the cgroup before it starts nc in the background.
    let _ = cg
        .shell("sh", &format!("{{ {}; }}", nc_listen(pi)))
        .output()
        .expect("busybox nc");
    let line = row(&t, pi);
    settle();
    let out = t.interrupt().success();
    assert!(out.stdout.starts_with("TIME(s)  PID "), "{out}");
    let c = columns(&line);
    assert!(testkit::is_hms(c[0]), "{line}");
    assert_eq!(c[2], "busybox", "{line}");
    assert_eq!(c[c.len() - 1], "::", "{line}");
    assert!(
        !out.stdout.contains(&format!(" {po} ")),
        "-c let another cgroup through: {out}"
    );
}

#[test]
fn root_verbose_names_the_hooks() {
    if !bpf_ready("root_verbose_names_the_hooks") {
        return;
    }
    let kprobes = !testkit::feature_disabled("kprobes")
        && std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists();
    let want = if kprobes {
        "bindsnoop: attached via kprobes (kprobe:inet_bind, "
    } else {
        "bindsnoop: attached via tracepoints (syscalls:sys_enter_bind, syscalls:sys_exit_bind)"
    };
    testkit::events::assert_verbose_says(BIN, want);
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {
        let _ = UdpSocket::bind("127.0.0.1:0");
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "bindsnoop",
        &[
            &["--bogus"],
            &["-p"],
            &["-p", "0"],
            &["-P", "0"],
            &["-P", "80,x"],
            &["-P", "65536"],
            &["-u", "x"],
            &["-c", "/nonexistent"],
            &["extra"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "bindsnoop");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "bindsnoop");
}
