// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Rows and header, column for column as libbpf-tools' biosnoop (HEAD) prints them, and the
//! JSON form. Widths from its format strings: `%-11s`/`%-12s` time, `%-14s %-7s %-7s %-4s
//! %-10s %-7s` COMM PID DISK T SECTOR BYTES, `%7s` QUE(ms) with -Q, `%7s` LAT(ms); rows
//! `%-11.6f` seconds (or `%-8s.%03ld` wall clock), `%-14.14s` comm, `%7.3f` milliseconds.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escaped};

use crate::bpf::types::biosnoop_event as Event;

/// The columns these options print.
#[derive(Debug, Clone, Copy, Default)]
pub struct Columns {
    /// `-t`: TIMESTAMP (HH:MM:SS.mmm) instead of TIME(s).
    pub timestamp: bool,
    /// `-Q`: the QUE(ms) column.
    pub queued: bool,
}

/// What a row needs beyond the record: resolved by the caller from the system.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// `-t`: HH:MM:SS.mmm; otherwise seconds since the first I/O shown, as `%.6f`.
    pub time: &'a str,
    /// The disk's name, `Unknown` when /proc/partitions has none for its number.
    pub disk: &'a str,
    /// The op and flags as the kernel's rwbs string (`R`, `WS`, `FWFS`).
    pub rwbs: &'a str,
    /// Insert to issue in ms (`-Q`): 0 without an I/O scheduler, -1 when the insert was missed.
    pub queued_ms: f64,
}

pub fn header(c: Columns) -> String {
    let mut h = if c.timestamp {
        format!("{:<12} ", "TIMESTAMP")
    } else {
        format!("{:<11} ", "TIME(s)")
    };
    h.push_str(&format!(
        "{:<14} {:<7} {:<7} {:<4} {:<10} {:<7} ",
        "COMM", "PID", "DISK", "T", "SECTOR", "BYTES"
    ));
    if c.queued {
        h.push_str(&format!("{:>7} ", "QUE(ms)"));
    }
    h.push_str(&format!("{:>7}\n", "LAT(ms)"));
    h
}

/// Seconds as the TIME(s) column prints them (`%-11.6f` takes the text of `%.6f`).
pub fn seconds(s: f64) -> String {
    format!("{s:.6}")
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

pub fn text_row(c: Columns, e: &Event, r: &Resolved<'_>, out: &mut Vec<u8>) {
    if c.timestamp {
        let _ = write!(out, "{} ", r.time);
    } else {
        let _ = write!(out, "{:<11} ", r.time);
    }
    // %-14.14s: at most 14 bytes of the comm, then escaped.
    let comm = c_bytes(&e.comm);
    let comm = escaped(&comm[..comm.len().min(14)]);
    let _ = write!(
        out,
        "{:<14} {:<7} {:<7} {:<4} {:<10} {:<7} ",
        comm,
        e.pid,
        escaped(r.disk.as_bytes()),
        r.rwbs,
        e.sector,
        e.bytes
    );
    if c.queued {
        let _ = write!(out, "{:>7.3} ", r.queued_ms);
    }
    let _ = writeln!(out, "{:>7.3}", ms(e.delta_ns));
}

/// One JSON object: `queued_ns` only with -Q (null when the insert was missed).
pub fn json_row(
    c: Columns,
    e: &Event,
    r: &Resolved<'_>,
    time: &str,
    queued_ns: Option<u64>,
    out: &mut Vec<u8>,
) {
    let mut j = JsonLine::timed(out, time, e.ts_ns);
    j.str("comm", c_bytes(&e.comm))
        .u64("pid", e.pid.into())
        .str("disk", r.disk.as_bytes())
        .u64("dev_major", (e.dev >> 20).into())
        .u64("dev_minor", (e.dev & 0xfffff).into())
        .str("rwbs", r.rwbs.as_bytes())
        .u64("sector", e.sector)
        .u64("bytes", e.bytes.into())
        .u64("latency_ns", e.delta_ns);
    if c.queued {
        match queued_ns {
            Some(ns) => j.u64("queued_ns", ns),
            None => j.null("queued_ns"),
        };
    }
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(comm: &[u8]) -> Event {
        let mut e = Event {
            ts_ns: 5_000_000_000,
            sector: 2048,
            delta_ns: 1_234_567,
            qdelta_ns: 56_000,
            cgroup_id: 9,
            pid: 4321,
            dev: 7 << 20 | 3,
            bytes: 4096,
            ..Default::default()
        };
        e.comm[..comm.len()].copy_from_slice(comm);
        e
    }

    fn text(c: Columns, e: &Event, time: &str, queued_ms: f64) -> String {
        let r = Resolved {
            time,
            disk: "loop3",
            rwbs: "RS",
            queued_ms,
        };
        let mut v = Vec::new();
        text_row(c, e, &r, &mut v);
        String::from_utf8(v).expect("utf8")
    }

    /// The headers libbpf-tools prints, from its format strings (next-tools.md §1.2): Debian's
    /// biosnoop cannot run on a kernel without fentry, so no byte comparison with it is possible
    /// there.
    #[test]
    fn headers_match_libbpf_tools() {
        let plain = Columns::default();
        assert_eq!(
            header(plain),
            "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)\n"
        );
        assert_eq!(
            header(Columns {
                timestamp: true,
                queued: true
            }),
            "TIMESTAMP    COMM           PID     DISK    T    SECTOR     BYTES   QUE(ms) LAT(ms)\n"
        );
    }

    #[test]
    fn rows_golden() {
        let plain = Columns::default();
        assert_eq!(
            text(plain, &event(b"dd"), &seconds(0.0), 0.0),
            "0.000000    dd             4321    loop3   RS   2048       4096      1.235\n"
        );
        assert_eq!(
            text(
                Columns {
                    timestamp: true,
                    queued: true
                },
                &event(b"kworker/u4:1-ev"),
                "21:47:34.012",
                0.056
            ),
            "21:47:34.012 kworker/u4:1-e 4321    loop3   RS   2048       4096      0.056   1.235\n"
        );
        assert_eq!(
            text(
                Columns {
                    timestamp: false,
                    queued: true
                },
                &event(b"?"),
                &seconds(12.5),
                -1.0
            ),
            "12.500000   ?              4321    loop3   RS   2048       4096     -1.000   1.235\n"
        );
        assert!(text(plain, &event(b"a\x1bb"), "0", 0.0).starts_with("0           a\\eb "));
    }

    #[test]
    fn json_golden() {
        let r = Resolved {
            time: "",
            disk: "loop3",
            rwbs: "W",
            queued_ms: 0.0,
        };
        let mut v = Vec::new();
        let c = Columns {
            timestamp: false,
            queued: true,
        };
        json_row(c, &event(b"dd"), &r, "T", Some(56_000), &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":5000000000,\"comm\":\"dd\",\"pid\":4321,\"disk\":\"loop3\",\
             \"dev_major\":7,\"dev_minor\":3,\"rwbs\":\"W\",\"sector\":2048,\"bytes\":4096,\
             \"latency_ns\":1234567,\"queued_ns\":56000}\n"
        );
        let mut v = Vec::new();
        json_row(Columns::default(), &event(b"dd"), &r, "T", None, &mut v);
        assert!(
            String::from_utf8(v)
                .expect("utf8")
                .ends_with("\"latency_ns\":1234567}\n")
        );
    }
}
