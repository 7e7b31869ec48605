// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpretrans rows as BCC's tcpretrans prints them (its format strings), its count table, and
//! the JSON form.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use common::net::{ip_addr, ip_version};
use common::output::JsonLine;

use crate::bpf::types::tcpretrans_event as Event;
use crate::bpf::types::tcpretrans_type as Type;

/// The line BCC prints first, in both modes.
pub const TRACING: &str = "Tracing retransmits ... Hit Ctrl-C to end\n";

/// TCP state names as BCC's tcp.py has them (include/net/tcp_states.h order).
pub fn state_name(state: u8) -> String {
    const NAMES: [&str; 12] = [
        "ESTABLISHED",
        "SYN_SENT",
        "SYN_RECV",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "TIME_WAIT",
        "CLOSE",
        "CLOSE_WAIT",
        "LAST_ACK",
        "LISTEN",
        "CLOSING",
        "NEW_SYN_RECV",
    ];
    match usize::from(state).checked_sub(1).and_then(|i| NAMES.get(i)) {
        Some(n) => (*n).to_owned(),
        None => state.to_string(),
    }
}

fn type_letter(e: &Event) -> &'static str {
    if e.r#type == Type::TCPRETRANS_LOSS_PROBE {
        "L"
    } else {
        "R"
    }
}

fn endpoint(e: &Event, addr: &[u8; 16], port: u16) -> String {
    format!("{}:{port}", ip_addr(e.family, addr))
}

/// The column header, printed under [`TRACING`] when tracing (not in count mode).
pub fn header(sequence: bool) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "{:<8} {:<7} {:<2} {:<20} {:>1}> {:<20}",
        "TIME", "PID", "IP", "LADDR:LPORT", "T", "RADDR:RPORT"
    );
    if sequence {
        let _ = writeln!(h, " {:<12} {:<10}", "STATE", "SEQ");
    } else {
        let _ = writeln!(h, " {:<4}", "STATE");
    }
    h
}

pub fn text_row(sequence: bool, e: &Event, hms: &str, out: &mut String) {
    let _ = write!(
        out,
        "{hms:<8} {:<7} {:<2} {:<20} {:>1}> {:<20}",
        e.pid,
        ip_version(e.family),
        endpoint(e, &e.saddr, e.sport),
        type_letter(e),
        endpoint(e, &e.daddr, e.dport)
    );
    if sequence {
        let _ = writeln!(out, " {:<12} {}", state_name(e.state), e.seq);
    } else {
        let _ = writeln!(out, " {}", state_name(e.state));
    }
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::timed(out, time, e.ts_ns);
    j.u64("pid", e.pid.into())
        .u64("ip", ip_version(e.family).into())
        .str("laddr", ip_addr(e.family, &e.saddr).to_string().as_bytes())
        .u64("lport", e.sport.into())
        .str("raddr", ip_addr(e.family, &e.daddr).to_string().as_bytes())
        .u64("rport", e.dport.into())
        .str("type", type_letter(e).as_bytes())
        .str("state", state_name(e.state).as_bytes())
        .u64("seq", e.seq.into());
    j.finish();
}

/// A flow of count mode: local address and port, remote address and port.
pub type Flow = (IpAddr, u16, IpAddr, u16);

pub fn flow(e: &Event) -> Flow {
    (
        ip_addr(e.family, &e.saddr),
        e.sport,
        ip_addr(e.family, &e.daddr),
        e.dport,
    )
}

/// BCC's count table: its header (wider than its rows), then the IPv4 flows and the IPv6
/// flows, each in ascending order of count (ties by flow), endpoints as `[addr]#port`.
pub fn count_table(counts: &HashMap<Flow, u64>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n{:<25} {:<25} {:<10}",
        "LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"
    );
    for v4 in [true, false] {
        let mut rows: Vec<(&Flow, &u64)> =
            counts.iter().filter(|(f, _)| f.0.is_ipv4() == v4).collect();
        rows.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)));
        for ((la, lp, ra, rp), n) in rows {
            let _ = writeln!(
                s,
                "{:<20} <-> {:<20} {n:>10}",
                format!("[{la}]#{lp}"),
                format!("[{ra}]#{rp}")
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::net::{AF_INET, AF_INET6, addr_bytes};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4() -> Event {
        Event {
            pid: 0,
            family: AF_INET,
            saddr: addr_bytes([127, 0, 0, 1].into()),
            daddr: addr_bytes([10, 0, 0, 2].into()),
            sport: 38358,
            dport: 47001,
            state: 2,
            seq: 123456789,
            r#type: Type::TCPRETRANS_RETRANSMIT,
            ..Default::default()
        }
    }

    /// BCC's format strings (next-tools.md §3.2).
    #[test]
    fn header_and_rows_golden() {
        assert_eq!(
            format!("{TRACING}{}", header(false)),
            "Tracing retransmits ... Hit Ctrl-C to end\n\
             TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE\n"
        );
        assert_eq!(
            header(true),
            "TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE        SEQ       \n"
        );
        let mut s = String::new();
        text_row(false, &v4(), "21:48:26", &mut s);
        assert_eq!(
            s,
            "21:48:26 0       4  127.0.0.1:38358      R> 10.0.0.2:47001       SYN_SENT\n"
        );
        let mut e = v4();
        e.family = AF_INET6;
        e.saddr = Ipv6Addr::LOCALHOST.octets();
        e.daddr = Ipv6Addr::LOCALHOST.octets();
        e.state = 1;
        e.r#type = Type::TCPRETRANS_LOSS_PROBE;
        let mut s = String::new();
        text_row(true, &e, "21:48:26", &mut s);
        assert_eq!(
            s,
            "21:48:26 0       6  ::1:38358            L> ::1:47001            ESTABLISHED  123456789\n"
        );
    }

    #[test]
    fn state_names() {
        assert_eq!(state_name(1), "ESTABLISHED");
        assert_eq!(state_name(12), "NEW_SYN_RECV");
        assert_eq!(state_name(0), "0");
        assert_eq!(state_name(13), "13");
    }

    #[test]
    fn count_table_golden() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let six = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let counts = HashMap::from([
            ((lo, 1000, lo, 80), 5u64),
            ((lo, 1001, lo, 80), 2),
            ((six, 1002, six, 443), 1),
        ]);
        assert_eq!(
            count_table(&counts),
            "\nLADDR:LPORT               RADDR:RPORT               RETRANSMITS\n\
             [127.0.0.1]#1001     <-> [127.0.0.1]#80                2\n\
             [127.0.0.1]#1000     <-> [127.0.0.1]#80                5\n\
             [::1]#1002           <-> [::1]#443                     1\n"
        );
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        json_row(&v4(), "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":0,\"pid\":0,\"ip\":4,\"laddr\":\"127.0.0.1\",\"lport\":38358,\
             \"raddr\":\"10.0.0.2\",\"rport\":47001,\"type\":\"R\",\"state\":\"SYN_SENT\",\
             \"seq\":123456789}\n"
        );
    }
}
