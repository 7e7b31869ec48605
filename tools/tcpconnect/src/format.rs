// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpconnect rows as libbpf-tools prints them, the outcome column, count mode and JSON.

use std::fmt::Write as _;
use std::net::IpAddr;

use common::decode::c_bytes;
use common::output::{JsonLine, escaped};

use crate::bpf::types::tcpconnect_event as Event;
pub use crate::bpf::types::{tcpconnect_outcome as Outcome, tcpconnect_phase as Phase};

#[derive(Debug, Default, Clone, Copy)]
pub struct Columns {
    pub timestamp: bool,
    pub uid: bool,
    pub sport: bool,
    pub lport: bool,
    pub outcome: bool,
}

impl Columns {
    pub fn header(&self) -> String {
        let mut h = String::new();
        if self.timestamp {
            let _ = write!(h, "{:<9}", "TIME(s)");
        }
        if self.uid {
            let _ = write!(h, "{:<6}", "UID");
        }
        let _ = write!(h, "{:<6} {:<16} {:<2} {:<16}", "PID", "COMM", "IP", "SADDR");
        if self.lport {
            let _ = write!(h, " {:<6}", "LPORT");
        }
        let _ = write!(h, " {:<16}", "DADDR");
        if self.sport {
            let _ = write!(h, " {:<5}", "SPORT");
        }
        let _ = write!(h, " {:<5}", "DPORT");
        if self.outcome {
            let _ = write!(h, " {:<12} {:>10}", "OUTCOME", "LAT(ms)");
        }
        h.push('\n');
        h
    }
}

pub fn addr(e: &Event, bytes: &[u8; 16]) -> IpAddr {
    common::net::ip_addr(e.family, bytes)
}

pub fn ip_version(e: &Event) -> u8 {
    common::net::ip_version(e.family)
}

/// `established`, `refused`, `timeout`, ... for the outcome column and JSON.
pub fn outcome(e: &Event) -> String {
    match e.outcome {
        Outcome::TCPCONNECT_ESTABLISHED => "established".into(),
        Outcome::TCPCONNECT_ABORTED => "aborted".into(),
        Outcome::TCPCONNECT_FAILED => match e.err {
            libc::ECONNREFUSED => "refused".into(),
            libc::ETIMEDOUT => "timeout".into(),
            libc::EHOSTUNREACH => "host-unreachable".into(),
            libc::ENETUNREACH => "net-unreachable".into(),
            libc::ECONNRESET => "reset".into(),
            n => format!("errno-{n}"),
        },
        _ => "pending".into(),
    }
}

pub fn text_row(cols: &Columns, e: &Event, secs: f64, out: &mut String) {
    if cols.timestamp {
        let _ = write!(out, "{secs:<9.3}");
    }
    if cols.uid {
        let _ = write!(out, "{:<6}", e.uid);
    }
    let comm = escaped(c_bytes(&e.comm));
    let _ = write!(
        out,
        "{:<6} {:<16} {:<2} {:<16}",
        e.pid,
        comm,
        ip_version(e),
        addr(e, &e.saddr).to_string()
    );
    if cols.lport {
        let _ = write!(out, " {:<6}", e.sport);
    }
    let _ = write!(out, " {:<16}", addr(e, &e.daddr).to_string());
    if cols.sport {
        let _ = write!(out, " {:<5}", e.sport);
    }
    let _ = write!(out, " {:<5}", e.dport);
    if cols.outcome {
        let _ = write!(
            out,
            " {:<12} {:>10.3}",
            outcome(e),
            e.latency_ns as f64 / 1e6
        );
    }
    out.push('\n');
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::event(out, time, e.ts_ns, e.pid, e.tid);
    j.u64("uid", e.uid.into())
        .str("comm", c_bytes(&e.comm))
        .u64("ip", ip_version(e).into())
        .str("saddr", addr(e, &e.saddr).to_string().as_bytes())
        .u64("sport", e.sport.into())
        .str("daddr", addr(e, &e.daddr).to_string().as_bytes())
        .u64("dport", e.dport.into())
        .str("outcome", outcome(e).as_bytes())
        .i64("err", e.err.into())
        .u64("latency_us", e.latency_ns / 1000);
    j.finish();
}

/// Count mode key: (source, destination, source port if -s, destination port).
pub type CountKey = (IpAddr, IpAddr, Option<u16>, u16);

/// libbpf-tools' count table, sorted by count (highest first), then by key.
pub fn count_table(counts: &std::collections::HashMap<CountKey, u64>, sport: bool) -> String {
    let mut rows: Vec<(&CountKey, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut s = String::new();
    let _ = write!(s, "\n{:<25} {:<25}", "LADDR", "RADDR");
    if sport {
        let _ = write!(s, " {:<20}", "LPORT");
    }
    let _ = writeln!(s, " {:<20} {:<10}", "RPORT", "CONNECTS");
    for ((src, dst, sp, dp), n) in rows {
        let _ = write!(s, "{:<25} {:<25}", src.to_string(), dst.to_string());
        if sport {
            let _ = write!(s, " {:<20}", sp.unwrap_or(0));
        }
        let _ = writeln!(s, " {dp:<20} {n:<10}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::net::{AF_INET, addr_bytes};
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(sport: u16, dport: u16) -> Event {
        let mut e = Event {
            pid: 1234,
            family: AF_INET,
            saddr: addr_bytes(Ipv4Addr::LOCALHOST.into()),
            daddr: addr_bytes(Ipv4Addr::LOCALHOST.into()),
            sport,
            dport,
            ..Default::default()
        };
        e.comm[..4].copy_from_slice(b"curl");
        e
    }

    #[test]
    fn header_and_rows_golden() {
        let c = Columns::default();
        assert_eq!(
            c.header(),
            "PID    COMM             IP SADDR            DADDR            DPORT\n"
        );
        let mut s = String::new();
        text_row(&c, &v4(40000, 80), 0.0, &mut s);
        assert_eq!(
            s,
            "1234   curl             4  127.0.0.1        127.0.0.1        80   \n"
        );
        let all = Columns {
            timestamp: true,
            uid: true,
            sport: true,
            ..Default::default()
        };
        assert_eq!(
            all.header(),
            "TIME(s)  UID   PID    COMM             IP SADDR            DADDR            SPORT DPORT\n"
        );
        let mut s = String::new();
        text_row(&all, &v4(40000, 80), 1.5, &mut s);
        assert_eq!(
            s,
            "1.500    0     1234   curl             4  127.0.0.1        127.0.0.1        40000 80   \n"
        );
    }

    #[test]
    fn ipv6_stays_readable_and_outcomes_are_named() {
        let mut e = v4(1, 443);
        e.family = 10;
        e.saddr = Ipv6Addr::LOCALHOST.octets();
        e.daddr = "2001:db8::1".parse::<Ipv6Addr>().expect("addr").octets();
        e.outcome = Outcome::TCPCONNECT_FAILED;
        e.err = libc::ECONNREFUSED;
        e.latency_ns = 1_250_000;
        let c = Columns {
            outcome: true,
            lport: true,
            ..Default::default()
        };
        let mut s = String::new();
        text_row(&c, &e, 0.0, &mut s);
        assert_eq!(
            s,
            "1234   curl             6  ::1              1      2001:db8::1      443   refused           1.250\n"
        );
        e.outcome = Outcome::TCPCONNECT_ESTABLISHED;
        assert_eq!(outcome(&e), "established");
        e.outcome = Outcome::TCPCONNECT_PENDING;
        assert_eq!(outcome(&e), "pending");
    }

    #[test]
    fn count_table_sorted_golden() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let counts = HashMap::from([((lo, lo, None, 80), 2u64), ((lo, lo, None, 22), 5)]);
        assert_eq!(
            count_table(&counts, false),
            "\nLADDR                     RADDR                     RPORT                CONNECTS  \n\
             127.0.0.1                 127.0.0.1                 22                   5         \n\
             127.0.0.1                 127.0.0.1                 80                   2         \n"
        );
    }

    #[test]
    fn json_golden() {
        let mut e = v4(40000, 80);
        e.phase = Phase::TCPCONNECT_OUTCOME;
        e.outcome = Outcome::TCPCONNECT_ESTABLISHED;
        e.latency_ns = 2_000;
        let mut v = Vec::new();
        json_row(&e, "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":0,\"pid\":1234,\"tid\":0,\"uid\":0,\"comm\":\"curl\",\"ip\":4,\
             \"saddr\":\"127.0.0.1\",\"sport\":40000,\"daddr\":\"127.0.0.1\",\"dport\":80,\
             \"outcome\":\"established\",\"err\":0,\"latency_us\":2}\n"
        );
    }
}
