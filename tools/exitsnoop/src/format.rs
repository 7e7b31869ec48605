// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Rows and header, column for column as libbpf-tools' exitsnoop prints them, and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escaped};

use crate::bpf::types::exitsnoop_event as Event;

/// How a task ended, decoded from `task->exit_code` (the wait(2) status word: exit status in
/// bits 8-15, the killing signal in bits 0-6, a core dump in bit 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// exit(status) or a return from main.
    Code(u32),
    /// Killed by a signal.
    Signal { sig: u32, core: bool },
}

impl Exit {
    pub fn of(exit_code: u32) -> Self {
        let sig = exit_code & 0x7f;
        if sig == 0 {
            Exit::Code((exit_code >> 8) & 0xff)
        } else {
            Exit::Signal {
                sig,
                core: exit_code & 0x80 != 0,
            }
        }
    }
}

/// glibc's strsignal() text for Linux's signal numbers, which libbpf-tools prints; fixed here so
/// that output does not depend on the C library or locale.
pub fn signal_text(sig: u32) -> String {
    const TEXT: [&str; 32] = [
        "",
        "Hangup",
        "Interrupt",
        "Quit",
        "Illegal instruction",
        "Trace/breakpoint trap",
        "Aborted",
        "Bus error",
        "Floating point exception",
        "Killed",
        "User defined signal 1",
        "Segmentation fault",
        "User defined signal 2",
        "Broken pipe",
        "Alarm clock",
        "Terminated",
        "Stack fault",
        "Child exited",
        "Continued",
        "Stopped (signal)",
        "Stopped",
        "Stopped (tty input)",
        "Stopped (tty output)",
        "Urgent I/O condition",
        "CPU time limit exceeded",
        "File size limit exceeded",
        "Virtual timer expired",
        "Profiling timer expired",
        "Window changed",
        "I/O possible",
        "Power failure",
        "Bad system call",
    ];
    // glibc keeps 32 and 33 for its threads: SIGRTMIN is 34 for programs.
    match sig {
        1..=31 => TEXT[sig as usize].to_owned(),
        34..=64 => format!("Real-time signal {}", sig - 34),
        _ => format!("Unknown signal {sig}"),
    }
}

/// The signal's name as kill(1) -l prints it with SIG (for JSON).
pub fn signal_name(sig: u32) -> String {
    match common::signal::name(sig.into()) {
        Some(n) => n.to_owned(),
        None => format!("SIG{sig}"),
    }
}

/// The EXIT_CODE column: `0`, `code N`, or `signal N (text)` with `, core dumped`.
pub fn exit_text(exit_code: u32) -> String {
    match Exit::of(exit_code) {
        Exit::Code(0) => "0".to_owned(),
        Exit::Code(c) => format!("code {c}"),
        Exit::Signal { sig, core } => format!(
            "signal {sig} ({}){}",
            signal_text(sig),
            if core { ", core dumped" } else { "" }
        ),
    }
}

/// Seconds from the task's creation to its exit.
pub fn age_s(e: &Event) -> f64 {
    e.ts_ns.saturating_sub(e.start_ns) as f64 / 1e9
}

pub fn header(timestamp: bool) -> String {
    let mut h = String::new();
    if timestamp {
        h.push_str(&format!("{:<8} ", "TIME(s)"));
    }
    h.push_str(&format!(
        "{:<16} {:<7} {:<7} {:<7} {:<7} {}\n",
        "PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"
    ));
    h
}

pub fn text_row(timestamp: bool, e: &Event, time: &str, out: &mut Vec<u8>) {
    if timestamp {
        let _ = write!(out, "{time:>8} ");
    }
    let comm = escaped(c_bytes(&e.comm));
    let _ = writeln!(
        out,
        "{:<16} {:<7} {:<7} {:<7} {:<7.2} {}",
        comm,
        e.pid,
        e.ppid,
        e.tid,
        age_s(e),
        exit_text(e.exit_code)
    );
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::timed(out, time, e.ts_ns);
    j.str("comm", c_bytes(&e.comm))
        .u64("pid", e.pid.into())
        .u64("ppid", e.ppid.into())
        .u64("tid", e.tid.into())
        .u64("age_ns", e.ts_ns.saturating_sub(e.start_ns))
        .u64("exit_status", e.exit_code.into());
    match Exit::of(e.exit_code) {
        Exit::Code(c) => {
            j.u64("code", c.into())
                .null("signal")
                .null("signal_name")
                .bool("core_dumped", false);
        }
        Exit::Signal { sig, core } => {
            j.null("code")
                .u64("signal", sig.into())
                .str("signal_name", signal_name(sig).as_bytes())
                .bool("core_dumped", core);
        }
    }
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(comm: &[u8], exit_code: u32) -> Event {
        let mut e = Event {
            ts_ns: 3_456_000_000,
            start_ns: 1_000_000_000,
            cgroup_id: 77,
            pid: 8526,
            tid: 8527,
            ppid: 8524,
            exit_code,
            ..Default::default()
        };
        e.comm[..comm.len()].copy_from_slice(comm);
        e
    }

    fn text(timestamp: bool, e: &Event) -> String {
        let mut v = Vec::new();
        text_row(timestamp, e, "21:47:34", &mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn header_matches_libbpf_tools() {
        assert_eq!(
            header(false),
            "PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE\n"
        );
        assert_eq!(
            header(true),
            "TIME(s)  PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE\n"
        );
    }

    #[test]
    fn rows_golden() {
        assert_eq!(
            text(true, &event(b"sleep", 9)),
            "21:47:34 sleep            8526    8524    8527    2.46    signal 9 (Killed)\n"
        );
        assert_eq!(
            text(false, &event(b"sh", 7 << 8)),
            "sh               8526    8524    8527    2.46    code 7\n"
        );
        assert_eq!(
            text(false, &event(b"true", 0)),
            "true             8526    8524    8527    2.46    0\n"
        );
        assert_eq!(
            text(false, &event(b"a\x1bb", 0x80 | 11)),
            "a\\eb             8526    8524    8527    2.46    \
             signal 11 (Segmentation fault), core dumped\n"
        );
    }

    #[test]
    fn exit_texts() {
        assert_eq!(exit_text(0), "0");
        assert_eq!(exit_text(3 << 8), "code 3");
        assert_eq!(exit_text(255 << 8), "code 255");
        assert_eq!(exit_text(15), "signal 15 (Terminated)");
        assert_eq!(exit_text(34), "signal 34 (Real-time signal 0)");
        assert_eq!(exit_text(64), "signal 64 (Real-time signal 30)");
        assert_eq!(exit_text(32), "signal 32 (Unknown signal 32)");
        assert_eq!(exit_text(0x80 | 6), "signal 6 (Aborted), core dumped");
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        json_row(&event(b"sleep", 9), "T", &mut v);
        let s = String::from_utf8(v).expect("utf8");
        assert_eq!(
            s,
            "{\"time\":\"T\",\"ts_ns\":3456000000,\"comm\":\"sleep\",\"pid\":8526,\"ppid\":8524,\
             \"tid\":8527,\"age_ns\":2456000000,\"exit_status\":9,\
             \"code\":null,\"signal\":9,\"signal_name\":\"SIGKILL\",\"core_dumped\":false}\n"
        );
        let mut v = Vec::new();
        json_row(&event(b"sh", 3 << 8), "T", &mut v);
        let s = String::from_utf8(v).expect("utf8");
        assert!(
            s.contains("\"code\":3,\"signal\":null,\"signal_name\":null,\"core_dumped\":false"),
            "{s}"
        );
    }
}
