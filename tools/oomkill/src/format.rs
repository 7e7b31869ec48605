// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The row, byte for byte as libbpf-tools' oomkill prints it (Debian's 0.26: one `loadavg: `
//! prefix; HEAD prints it twice, a bug), and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escaped};

use crate::bpf::types::{oomkill_event as Event, oomkill_hook as Hook};

/// The start line, libbpf-tools' own: a banner, not a column header (a row is a sentence), so
/// `--containers` puts its column before each row but not before this line.
pub const BANNER: &str = "Tracing OOM kills... Ctrl-C to stop.\n";

/// What the row needs besides the record, read in user space when it is printed.
pub struct Extra<'a> {
    /// The victim's comm: the record's, or where the hook gives none (the classic tracepoint
    /// of kernels whose record has only `pid`) `/proc/PID/comm` read when the row is printed;
    /// `None` when neither is there.
    pub victim_comm: Option<&'a [u8]>,
    /// `/proc/loadavg` without its newline (`0.00 0.01 0.05 1/123 4567`), read when the row
    /// is printed, as libbpf-tools does; `None` when it cannot be read.
    pub loadavg: Option<&'a str>,
}

/// `oc->totalpages`, known only on the kprobe path.
pub fn pages(e: &Event) -> Option<u64> {
    (e.hook == Hook::OOMKILL_KPROBE).then_some(e.pages)
}

/// The hook's name, as `-v` and JSON's `hook` give it.
pub const fn hook_name(hook: Hook) -> &'static str {
    match hook {
        Hook::OOMKILL_KPROBE => "kprobe",
        Hook::OOMKILL_TP_BTF => "tp_btf",
        _ => "tracepoint",
    }
}

/// `HH:MM:SS Triggered by PID .. (".."), OOM kill of PID .. (".."), N pages, loadavg: ..`.
/// A field the hook does not give prints `?` (pages on the tracepoint paths; the victim's comm
/// where neither the record nor /proc has it).
pub fn text_row(time: &str, e: &Event, x: &Extra<'_>, out: &mut Vec<u8>) {
    let pages = pages(e).map_or_else(|| "?".to_owned(), |p| p.to_string());
    let victim = x.victim_comm.map_or_else(|| "?".to_owned(), escaped);
    let _ = write!(
        out,
        "{time} Triggered by PID {} (\"{}\"), OOM kill of PID {} (\"{victim}\"), {pages} pages",
        e.fpid,
        escaped(c_bytes(&e.fcomm)),
        e.tpid,
    );
    match x.loadavg {
        Some(l) => {
            let _ = writeln!(out, ", loadavg: {l}");
        }
        None => out.push(b'\n'),
    }
}

/// The three load averages of a `/proc/loadavg` line as a JSON array (`[0.00,0.01,0.05]`),
/// the kernel's own digits; `None` unless the line starts with three numbers.
fn loadavg_json(line: &str) -> Option<String> {
    let three: Vec<&str> = line.split_whitespace().take(3).collect();
    let numbers = three.len() == 3
        && three.iter().all(|n| {
            n.parse::<f64>().is_ok_and(f64::is_finite)
                && n.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        });
    numbers.then(|| format!("[{}]", three.join(",")))
}

pub fn json_row(time: &str, e: &Event, x: &Extra<'_>, out: &mut Vec<u8>) {
    let mut j = JsonLine::timed(out, time, e.ts_ns);
    j.u64("trigger_pid", e.fpid.into())
        .str("trigger_comm", c_bytes(&e.fcomm))
        .u64("victim_pid", e.tpid.into());
    match x.victim_comm {
        Some(c) => j.str("victim_comm", c),
        None => j.null("victim_comm"),
    };
    match pages(e) {
        Some(p) => j.u64("pages", p),
        None => j.null("pages"),
    };
    match x.loadavg.and_then(loadavg_json) {
        Some(a) => j.raw("loadavg", a.as_bytes()),
        None => j.null("loadavg"),
    };
    j.str("hook", hook_name(e.hook).as_bytes());
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(hook: Hook) -> Event {
        let mut e = Event {
            ts_ns: 3_456_000_000,
            pages: 262_144,
            cgroup_id: 77,
            fpid: 8526,
            tpid: 8527,
            hook,
            tcomm_known: 1,
            ..Default::default()
        };
        e.fcomm[..4].copy_from_slice(b"java");
        e.tcomm[..3].copy_from_slice(b"hog");
        e
    }

    const LOADAVG: &str = "0.04 0.11 0.09 2/412 8530";

    fn text(e: &Event, victim: Option<&[u8]>, loadavg: Option<&str>) -> String {
        let mut v = Vec::new();
        let x = Extra {
            victim_comm: victim,
            loadavg,
        };
        text_row("21:47:34", e, &x, &mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn rows_golden() {
        let e = event(Hook::OOMKILL_KPROBE);
        assert_eq!(
            text(&e, Some(b"hog"), Some(LOADAVG)),
            "21:47:34 Triggered by PID 8526 (\"java\"), OOM kill of PID 8527 (\"hog\"), \
             262144 pages, loadavg: 0.04 0.11 0.09 2/412 8530\n"
        );
        // libbpf-tools without /proc/loadavg: the sentence ends after the pages.
        assert_eq!(
            text(&e, Some(b"hog"), None),
            "21:47:34 Triggered by PID 8526 (\"java\"), OOM kill of PID 8527 (\"hog\"), \
             262144 pages\n"
        );
    }

    #[test]
    fn unknown_fields_print_a_question_mark() {
        for hook in [Hook::OOMKILL_TP_BTF, Hook::OOMKILL_TRACEPOINT] {
            assert_eq!(
                text(&event(hook), Some(b"hog"), Some(LOADAVG)),
                "21:47:34 Triggered by PID 8526 (\"java\"), OOM kill of PID 8527 (\"hog\"), \
                 ? pages, loadavg: 0.04 0.11 0.09 2/412 8530\n"
            );
        }
        assert!(
            text(&event(Hook::OOMKILL_TRACEPOINT), None, None)
                .ends_with("OOM kill of PID 8527 (\"?\"), ? pages\n")
        );
    }

    #[test]
    fn control_bytes_are_escaped() {
        let mut e = event(Hook::OOMKILL_KPROBE);
        e.fcomm[..4].copy_from_slice(b"a\x1bb\"");
        let row = text(&e, Some(b"x\ny"), None);
        assert!(
            row.contains("(\"a\\eb\"\"), OOM kill of PID 8527 (\"x\\ny\")"),
            "{row}"
        );
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        let x = Extra {
            victim_comm: Some(b"hog"),
            loadavg: Some(LOADAVG),
        };
        json_row("T", &event(Hook::OOMKILL_KPROBE), &x, &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":3456000000,\"trigger_pid\":8526,\"trigger_comm\":\"java\",\
             \"victim_pid\":8527,\"victim_comm\":\"hog\",\"pages\":262144,\
             \"loadavg\":[0.04,0.11,0.09],\"hook\":\"kprobe\"}\n"
        );
        let mut v = Vec::new();
        let x = Extra {
            victim_comm: None,
            loadavg: Some("garbage"),
        };
        json_row("T", &event(Hook::OOMKILL_TRACEPOINT), &x, &mut v);
        let s = String::from_utf8(v).expect("utf8");
        assert!(
            s.ends_with(
                "\"victim_comm\":null,\"pages\":null,\"loadavg\":null,\"hook\":\"tracepoint\"}\n"
            ),
            "{s}"
        );
    }

    #[test]
    fn loadavg_numbers() {
        assert_eq!(loadavg_json(LOADAVG).as_deref(), Some("[0.04,0.11,0.09]"));
        assert_eq!(loadavg_json("1.00 2.00"), None);
        assert_eq!(loadavg_json("1.00 inf 2.00 1/2 3"), None);
        assert_eq!(loadavg_json("-1 2 3"), None);
    }
}
