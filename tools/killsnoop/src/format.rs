// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Rows and header, column for column as libbpf-tools' killsnoop (sigsnoop, HEAD) prints them,
//! and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escaped};

use crate::bpf::types::{killsnoop_event as Event, killsnoop_syscall as Syscall};

/// The `-n` name of a signal, as libbpf-tools prints it: `N/A` for 0 (a kill that only
/// checks the target), `SIGHUP`..`SIGSYS`, then `SIGNAL-32`..`SIGNAL-64`.
pub fn signal_name(sig: i32) -> String {
    match (sig, common::signal::name(sig.into())) {
        (0, _) => "N/A".to_owned(),
        (_, Some(n)) => n.to_owned(),
        _ => format!("SIGNAL-{sig}"),
    }
}

pub fn syscall_name(s: Syscall) -> &'static str {
    match s {
        Syscall::KILLSNOOP_KILL => "kill",
        Syscall::KILLSNOOP_TKILL => "tkill",
        Syscall::KILLSNOOP_TGKILL => "tgkill",
        _ => "?",
    }
}

/// The target's command name, or `N/A` as libbpf-tools prints when the target was not found
/// (it did not exist, a process group, or a kernel without bpf_task_from_pid()).
fn tcomm(e: &Event) -> Option<&[u8]> {
    (e.tcomm_known != 0).then(|| c_bytes(&e.tcomm))
}

pub fn header() -> String {
    format!(
        "{:<8} {:<7} {:<16} {:<12} {:<7} {:<16} {:<6}\n",
        "TIME", "PID", "COMM", "SIG", "TPID", "TCOMM", "RESULT"
    )
}

pub fn text_row(names: bool, e: &Event, time: &str, out: &mut Vec<u8>) {
    let sig = if names {
        signal_name(e.sig)
    } else {
        e.sig.to_string()
    };
    let tc = tcomm(e).map_or_else(|| "N/A".to_owned(), escaped);
    let _ = writeln!(
        out,
        "{:<8} {:<7} {:<16} {:<12} {:<7} {:<16} {:<6}",
        time,
        e.pid,
        escaped(c_bytes(&e.comm)),
        sig,
        e.tpid,
        tc,
        e.ret
    );
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::event(out, time, e.ts_ns, e.pid, e.tid);
    j.str("comm", c_bytes(&e.comm))
        .str("syscall", syscall_name(e.syscall).as_bytes())
        .i64("sig", e.sig.into())
        .str("sig_name", signal_name(e.sig).as_bytes())
        .i64("tpid", e.tpid.into());
    match tcomm(e) {
        Some(t) => j.str("tcomm", t),
        None => j.null("tcomm"),
    };
    j.i64("ret", e.ret.into());
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sig: i32, tpid: i32, tcomm: Option<&[u8]>, ret: i32) -> Event {
        let mut e = Event {
            ts_ns: 5,
            pid: 8550,
            tid: 8551,
            tpid,
            sig,
            ret,
            syscall: Syscall::KILLSNOOP_KILL,
            ..Default::default()
        };
        e.comm[..4].copy_from_slice(b"bash");
        if let Some(t) = tcomm {
            e.tcomm[..t.len()].copy_from_slice(t);
            e.tcomm_known = 1;
        }
        e
    }

    fn text(names: bool, e: &Event) -> String {
        let mut v = Vec::new();
        text_row(names, e, "21:47:39", &mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn header_matches_libbpf_tools_head() {
        assert_eq!(
            header(),
            "TIME     PID     COMM             SIG          TPID    TCOMM            RESULT\n"
        );
    }

    #[test]
    fn rows_golden() {
        assert_eq!(
            text(false, &event(15, 8552, Some(b"sleep"), 0)),
            "21:47:39 8550    bash             15           8552    sleep            0     \n"
        );
        assert_eq!(
            text(true, &event(0, 999999, None, -3)),
            "21:47:39 8550    bash             N/A          999999  N/A              -3    \n"
        );
        assert_eq!(
            text(true, &event(34, -1, Some(b"a\nb"), -1)),
            "21:47:39 8550    bash             SIGNAL-34    -1      a\\nb             -1    \n"
        );
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(0), "N/A");
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(31), "SIGSYS");
        assert_eq!(signal_name(64), "SIGNAL-64");
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        json_row(&event(10, 42, Some(b"sleep"), 0), "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":5,\"pid\":8550,\"tid\":8551,\"comm\":\"bash\",\
             \"syscall\":\"kill\",\"sig\":10,\"sig_name\":\"SIGUSR1\",\"tpid\":42,\
             \"tcomm\":\"sleep\",\"ret\":0}\n"
        );
    }
}
