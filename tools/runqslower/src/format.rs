// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Banner, header and rows as libbpf-tools' runqslower prints them (`%-8s %-16s %-6s %14s`,
//! with -P ` %-16s %-6s`; rows `%-8s %-16s %-6d %14llu`), and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escaped};

use crate::bpf::types::runqslower_event as Event;

/// The line printed before the header.
pub fn banner(min_us: u64) -> String {
    format!("Tracing run queue latency higher than {min_us} us\n")
}

pub fn header(previous: bool) -> String {
    if previous {
        format!(
            "{:<8} {:<16} {:<6} {:>14} {:<16} {:<6}\n",
            "TIME", "COMM", "TID", "LAT(us)", "PREV COMM", "PREV TID"
        )
    } else {
        format!(
            "{:<8} {:<16} {:<6} {:>14}\n",
            "TIME", "COMM", "TID", "LAT(us)"
        )
    }
}

pub fn text_row(previous: bool, e: &Event, time: &str, out: &mut Vec<u8>) {
    let _ = write!(
        out,
        "{:<8} {:<16} {:<6} {:>14}",
        time,
        escaped(c_bytes(&e.comm)),
        e.tid,
        e.delta_us
    );
    if previous {
        let _ = write!(
            out,
            " {:<16} {:<6}",
            escaped(c_bytes(&e.prev_comm)),
            e.prev_tid
        );
    }
    out.push(b'\n');
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::timed(out, time, e.ts_ns);
    j.str("comm", c_bytes(&e.comm))
        .u64("pid", e.pid.into())
        .u64("tid", e.tid.into())
        .u64("latency_us", e.delta_us)
        .str("prev_comm", c_bytes(&e.prev_comm))
        .u64("prev_tid", e.prev_tid.into());
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        let mut e = Event {
            ts_ns: 7,
            delta_us: 3975,
            cgroup_id: 1,
            pid: 70,
            tid: 75,
            prev_tid: 15,
            ..Default::default()
        };
        e.comm[..15].copy_from_slice(b"tokio-rt-worker");
        e.prev_comm[..11].copy_from_slice(b"rcu_preempt");
        e
    }

    /// Header and row as Debian's runqslower 0.26 printed them here (next-tools.md §4.2).
    #[test]
    fn rows_match_libbpf_tools() {
        assert_eq!(
            banner(1000),
            "Tracing run queue latency higher than 1000 us\n"
        );
        assert_eq!(
            header(false),
            "TIME     COMM             TID           LAT(us)\n"
        );
        assert_eq!(
            header(true),
            "TIME     COMM             TID           LAT(us) PREV COMM        PREV TID\n"
        );
        let mut v = Vec::new();
        text_row(true, &event(), "21:47:52", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "21:47:52 tokio-rt-worker  75               3975 rcu_preempt      15    \n"
        );
        let mut v = Vec::new();
        text_row(false, &event(), "21:47:52", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "21:47:52 tokio-rt-worker  75               3975\n"
        );
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        json_row(&event(), "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":7,\"comm\":\"tokio-rt-worker\",\"pid\":70,\"tid\":75,\
             \"latency_us\":3975,\"prev_comm\":\"rcu_preempt\",\"prev_tid\":15}\n"
        );
    }
}
