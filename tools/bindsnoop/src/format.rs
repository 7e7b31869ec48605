// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! bindsnoop rows, column for column as libbpf-tools' bindsnoop (HEAD) prints them, and the
//! JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::net::{ip_addr, ip_version};
use common::output::{JsonLine, escaped};

use crate::bpf::types::bindsnoop_event as Event;

/// The OPTS letters in column order, with their option names and bits (enum bindsnoop_opt).
const OPTS: [(u8, char, &str); 5] = [
    (1, 'F', "IP_FREEBIND"),
    (2, 'T', "IP_TRANSPARENT"),
    (4, 'N', "IP_BIND_ADDRESS_NO_PORT"),
    (8, 'R', "SO_REUSEADDR"),
    (16, 'r', "SO_REUSEPORT"),
];

/// `F.N..`: a letter for each option set, `.` for each not.
pub fn opts(bits: u8) -> String {
    OPTS.iter()
        .map(|&(bit, c, _)| if bits & bit != 0 { c } else { '.' })
        .collect()
}

/// libbpf-tools' PROTO: `TCP`, `UDP`, anything else `UNK`.
pub fn protocol(p: u16) -> &'static str {
    match i32::from(p) {
        libc::IPPROTO_TCP => "TCP",
        libc::IPPROTO_UDP => "UDP",
        _ => "UNK",
    }
}

pub fn header(timestamp: bool) -> String {
    let mut h = String::new();
    if timestamp {
        h.push_str(&format!("{:<8} ", "TIME(s)"));
    }
    h.push_str(&format!(
        "{:<7} {:<16} {:<3} {:<5} {:<5} {:<4} {:<5} {:<48}\n",
        "PID", "COMM", "RET", "PROTO", "OPTS", "IF", "PORT", "ADDR"
    ));
    h
}

pub fn text_row(timestamp: bool, e: &Event, time: &str, out: &mut Vec<u8>) {
    if timestamp {
        let _ = write!(out, "{time:>8} ");
    }
    let _ = writeln!(
        out,
        "{:<7} {:<16} {:<3} {:<5} {:<5} {:<4} {:<5} {:<48}",
        e.pid,
        escaped(c_bytes(&e.comm)),
        e.ret,
        protocol(e.protocol),
        opts(e.opts),
        e.bound_dev_if,
        e.port,
        ip_addr(e.family, &e.addr).to_string()
    );
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::event(out, time, e.ts_ns, e.pid, e.tid);
    j.u64("uid", e.uid.into())
        .str("comm", c_bytes(&e.comm))
        .i64("ret", e.ret.into())
        .str("protocol", protocol(e.protocol).as_bytes())
        .u64("ip", ip_version(e.family).into())
        .str("addr", ip_addr(e.family, &e.addr).to_string().as_bytes())
        .u64("port", e.port.into())
        .i64("bound_dev_if", e.bound_dev_if.into())
        .str_array(
            "opts",
            OPTS.iter()
                .filter(|&&(bit, _, _)| e.opts & bit != 0)
                .map(|&(_, _, name)| name.as_bytes()),
        );
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::net::{AF_INET, AF_INET6};
    use std::net::Ipv6Addr;

    fn v4() -> Event {
        let mut e = Event {
            pid: 2110,
            family: AF_INET,
            protocol: libc::IPPROTO_TCP as u16,
            port: 8080,
            opts: 8,
            ..Default::default()
        };
        e.addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        e.comm[..6].copy_from_slice(b"python");
        e
    }

    /// libbpf-tools' format strings (next-tools.md §8.2): ADDR padded to 48.
    #[test]
    fn header_and_rows_golden() {
        assert_eq!(
            header(false),
            format!(
                "PID     COMM             RET PROTO OPTS  IF   PORT  ADDR{:44}\n",
                ""
            )
        );
        assert_eq!(
            header(true),
            format!(
                "TIME(s)  PID     COMM             RET PROTO OPTS  IF   PORT  ADDR{:44}\n",
                ""
            )
        );
        let mut v = Vec::new();
        text_row(false, &v4(), "", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            format!(
                "2110    python           0   TCP   ...R. 0    8080  127.0.0.1{:39}\n",
                ""
            )
        );
        let mut e = v4();
        e.family = AF_INET6;
        e.addr = Ipv6Addr::LOCALHOST.octets();
        e.protocol = libc::IPPROTO_UDP as u16;
        e.ret = -libc::EADDRINUSE;
        e.opts = 1 | 4 | 16;
        e.bound_dev_if = 2;
        let mut v = Vec::new();
        text_row(true, &e, "21:48:26", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            format!(
                "21:48:26 2110    python           -98 UDP   F.N.r 2    8080  ::1{:45}\n",
                ""
            )
        );
    }

    #[test]
    fn opts_and_protocols() {
        assert_eq!(opts(0), ".....");
        assert_eq!(opts(31), "FTNRr");
        assert_eq!(opts(2), ".T...");
        assert_eq!(protocol(6), "TCP");
        assert_eq!(protocol(17), "UDP");
        assert_eq!(protocol(132), "UNK");
        assert_eq!(protocol(0), "UNK");
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        let mut e = v4();
        e.opts = 8 | 16;
        json_row(&e, "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":0,\"pid\":2110,\"tid\":0,\"uid\":0,\"comm\":\"python\",\
             \"ret\":0,\"protocol\":\"TCP\",\"ip\":4,\"addr\":\"127.0.0.1\",\"port\":8080,\
             \"bound_dev_if\":0,\"opts\":[\"SO_REUSEADDR\",\"SO_REUSEPORT\"]}\n"
        );
    }
}
