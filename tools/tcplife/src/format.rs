// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcplife rows: libbpf-tools' columns (HEAD: `-w` makes the address columns 39 wide), BCC's
//! `-t` timestamp column and `-s` CSV, and the JSON form.

use std::fmt::Write as _;

use common::decode::c_bytes;
use common::net::{ip_addr, ip_version};
use common::output::{JsonLine, escaped};

use crate::bpf::types::tcplife_event as Event;

#[derive(Debug, Default, Clone, Copy)]
pub struct Columns {
    /// `-T`: HH:MM:SS.
    pub time: bool,
    /// `-t`: seconds since the first session shown.
    pub timestamp: bool,
    /// `-w`: address columns 39 wide instead of 15.
    pub wide: bool,
    /// `-s`: comma-separated values.
    pub csv: bool,
}

const NAMES: [&str; 9] = [
    "PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB", "MS",
];

impl Columns {
    fn addr_width(&self) -> usize {
        if self.wide { 39 } else { 15 }
    }

    pub fn header(&self) -> String {
        let mut h = String::new();
        if self.csv {
            // BCC's CSV header: TIME and TIME(s) for -T and -t, and an IP column.
            if self.time {
                h.push_str("TIME,");
            }
            if self.timestamp {
                h.push_str("TIME(s),");
            }
            h.push_str("PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS\n");
            return h;
        }
        if self.time {
            let _ = write!(h, "{:<8} ", "TIME(s)");
        }
        if self.timestamp {
            let _ = write!(h, "{:<9} ", "TIME(s)");
        }
        let w = self.addr_width();
        let [pid, comm, la, lp, ra, rp, tx, rx, ms] = NAMES;
        let _ = writeln!(
            h,
            "{pid:<7} {comm:<16} {la:<w$} {lp:<5} {ra:<w$} {rp:<5} {tx:<6} {rx:<6} {ms}"
        );
        h
    }
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

fn ms(e: &Event) -> f64 {
    e.span_ns as f64 / 1e6
}

/// A CSV field: quoted (with its quotes doubled) where a comma, quote or line break would
/// split it; control bytes are escaped like every text column.
fn csv_field(bytes: &[u8]) -> String {
    let s = escaped(bytes);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One row; `hms` is the session's close as HH:MM:SS, `secs` its seconds since the first one.
pub fn text_row(cols: &Columns, e: &Event, hms: &str, secs: f64, out: &mut String) {
    let (laddr, raddr) = (
        ip_addr(e.family, &e.saddr).to_string(),
        ip_addr(e.family, &e.daddr).to_string(),
    );
    if cols.csv {
        if cols.time {
            let _ = write!(out, "{hms},");
        }
        if cols.timestamp {
            let _ = write!(out, "{secs:.6},");
        }
        // BCC prints the KiB truncated to whole numbers here.
        let _ = writeln!(
            out,
            "{},{},{},{laddr},{},{raddr},{},{},{},{:.2}",
            e.pid,
            csv_field(c_bytes(&e.comm)),
            ip_version(e.family),
            e.sport,
            e.dport,
            e.tx_bytes / 1024,
            e.rx_bytes / 1024,
            ms(e)
        );
        return;
    }
    if cols.time {
        let _ = write!(out, "{hms:>8} ");
    }
    if cols.timestamp {
        let _ = write!(out, "{secs:<9.6} ");
    }
    let w = cols.addr_width();
    let _ = writeln!(
        out,
        "{:<7} {:<16} {laddr:<w$} {:<5} {raddr:<w$} {:<5} {:<6.2} {:<6.2} {:.2}",
        e.pid,
        escaped(c_bytes(&e.comm)),
        e.sport,
        e.dport,
        kib(e.tx_bytes),
        kib(e.rx_bytes),
        ms(e)
    );
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::timed(out, time, e.ts_ns);
    j.u64("pid", e.pid.into())
        .str("comm", c_bytes(&e.comm))
        .u64("ip", ip_version(e.family).into())
        .str("laddr", ip_addr(e.family, &e.saddr).to_string().as_bytes())
        .u64("lport", e.sport.into())
        .str("raddr", ip_addr(e.family, &e.daddr).to_string().as_bytes())
        .u64("rport", e.dport.into())
        .u64("tx_bytes", e.tx_bytes)
        .u64("rx_bytes", e.rx_bytes)
        .u64("span_ns", e.span_ns);
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::net::{AF_INET, AF_INET6, addr_bytes};
    use std::net::Ipv6Addr;

    fn v4() -> Event {
        let mut e = Event {
            pid: 8758,
            family: AF_INET,
            saddr: addr_bytes([127, 0, 0, 1].into()),
            daddr: addr_bytes([10, 1, 2, 3].into()),
            sport: 39812,
            dport: 60545,
            tx_bytes: 300_000,
            rx_bytes: 7_000,
            span_ns: 90_000,
            ..Default::default()
        };
        e.comm[..7].copy_from_slice(b"python3");
        e
    }

    /// The header and row libbpf-tools prints (its format strings, §2.2 of next-tools.md).
    #[test]
    fn default_columns_golden() {
        let c = Columns::default();
        assert_eq!(
            c.header(),
            "PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS\n"
        );
        let mut s = String::new();
        text_row(&c, &v4(), "21:48:26", 0.0, &mut s);
        assert_eq!(
            s,
            "8758    python3          127.0.0.1       39812 10.1.2.3        60545 292.97 6.84   0.09\n"
        );
    }

    #[test]
    fn time_and_wide_golden() {
        let c = Columns {
            time: true,
            wide: true,
            ..Default::default()
        };
        let mut e = v4();
        e.family = AF_INET6;
        e.saddr = Ipv6Addr::LOCALHOST.octets();
        e.daddr = Ipv6Addr::LOCALHOST.octets();
        e.tx_bytes = 5_000;
        e.rx_bytes = 3_000;
        assert_eq!(
            c.header(),
            format!(
                "TIME(s)  PID     COMM             LADDR{:34} LPORT RADDR{:34} RPORT TX_KB  RX_KB  MS\n",
                "", ""
            )
        );
        let mut s = String::new();
        text_row(&c, &e, "21:48:26", 0.0, &mut s);
        assert_eq!(
            s,
            format!(
                "21:48:26 8758    python3          ::1{:36} 39812 ::1{:36} 60545 4.88   2.93   0.09\n",
                "", ""
            )
        );
    }

    /// C's %.2f rounds an exact tie to even (128 bytes = 0.125 KiB), and so does Rust.
    #[test]
    fn kib_rounds_like_printf() {
        let mut e = v4();
        e.tx_bytes = 128;
        e.rx_bytes = 384;
        let mut s = String::new();
        text_row(&Columns::default(), &e, "", 0.0, &mut s);
        assert!(s.ends_with(" 0.12   0.38   0.09\n"), "{s}");
    }

    #[test]
    fn bcc_timestamp_and_csv_golden() {
        let c = Columns {
            timestamp: true,
            ..Default::default()
        };
        assert!(c.header().starts_with("TIME(s)   PID     COMM "));
        let mut s = String::new();
        text_row(&c, &v4(), "", 1.5, &mut s);
        assert!(s.starts_with("1.500000  8758    python3 "), "{s}");

        let csv = Columns {
            csv: true,
            time: true,
            timestamp: true,
            ..Default::default()
        };
        assert_eq!(
            csv.header(),
            "TIME,TIME(s),PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS\n"
        );
        let mut e = v4();
        e.comm = [0; 16];
        e.comm[..5].copy_from_slice(b"a,\"b\x1b");
        let mut s = String::new();
        text_row(&csv, &e, "21:48:26", 0.25, &mut s);
        assert_eq!(
            s,
            "21:48:26,0.250000,8758,\"a,\"\"b\\e\",4,127.0.0.1,39812,10.1.2.3,60545,292,6,0.09\n"
        );
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        json_row(&v4(), "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":0,\"pid\":8758,\"comm\":\"python3\",\"ip\":4,\
             \"laddr\":\"127.0.0.1\",\"lport\":39812,\"raddr\":\"10.1.2.3\",\"rport\":60545,\
             \"tx_bytes\":300000,\"rx_bytes\":7000,\"span_ns\":90000}\n"
        );
    }
}
