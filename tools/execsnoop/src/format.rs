// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop rows: libbpf-tools' columns with the header and rows aligned, and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escape_text, escaped};

use crate::bpf::types::execsnoop_event as Event;

// Mirror of EXECSNOOP_ARGS_TRUNCATED in bpf/execsnoop.h.
const ARGS_TRUNCATED: u16 = 1;

#[derive(Debug, Default, Clone, Copy)]
pub struct Columns {
    pub time: bool,
    pub timestamp: bool,
    pub uid: bool,
    pub pcomm: bool,
    pub quote: bool,
    pub max_args: usize,
}

impl Columns {
    pub fn header(&self) -> String {
        let mut h = String::new();
        if self.time {
            h.push_str(&format!("{:<8} ", "TIME"));
        }
        if self.timestamp {
            h.push_str(&format!("{:<8} ", "TIME(s)"));
        }
        if self.uid {
            h.push_str(&format!("{:<6} ", "UID"));
        }
        h.push_str(&format!("{:<16} {:<6} {:<6} ", "PCOMM", "PID", "PPID"));
        if self.pcomm {
            h.push_str(&format!("{:<16} ", "PARENT"));
        }
        h.push_str(&format!("{:>3} ARGS\n", "RET"));
        h
    }
}

/// What the kernel resolved as the file to run (`bprm->filename`).
pub fn filename(e: &Event) -> &[u8] {
    let n = usize::from(e.fname_len).min(e.area.len());
    c_bytes(&e.area[..n])
}

/// The process's argv, argv[0] first, as it stood in memory after the exec.
pub fn argv(e: &Event) -> Vec<&[u8]> {
    let start = usize::from(e.fname_len).min(e.area.len());
    let end = (start + e.args_len as usize).min(e.area.len());
    let block = &e.area[start..end];
    let block = block.strip_suffix(b"\0").unwrap_or(block);
    if block.is_empty() {
        return Vec::new();
    }
    block.split(|&b| b == 0).collect()
}

pub fn truncated(e: &Event) -> bool {
    e.flags & ARGS_TRUNCATED != 0
}

/// The ARGS column's arguments, as libbpf-tools lists them: the file name, then argv[1..];
/// `true` when some were cut (by --max-args or the kernel-side buffer).
pub fn shown_args(e: &Event, max_args: usize) -> (Vec<&[u8]>, bool) {
    let mut args = vec![filename(e)];
    args.extend(argv(e).into_iter().skip(1));
    let mut cut = truncated(e);
    if args.len() > max_args {
        args.truncate(max_args);
        cut = true;
    }
    (args, cut)
}

/// The argument line `-l` matches against: the shown arguments joined by spaces, unescaped.
pub fn arg_line(e: &Event, max_args: usize) -> Vec<u8> {
    shown_args(e, max_args).0.join(&b' ')
}

fn quoted(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    let mut tmp = Vec::with_capacity(arg.len());
    escape_text(&mut tmp, arg);
    for b in tmp {
        if b == b'"' {
            out.extend_from_slice(b"\\\"");
        } else {
            out.push(b);
        }
    }
    out.push(b'"');
}

pub fn text_row(cols: &Columns, e: &Event, time: &str, secs: f64, out: &mut Vec<u8>) {
    if cols.time {
        let _ = write!(out, "{time:<8} ");
    }
    if cols.timestamp {
        let _ = write!(out, "{secs:<8.3} ");
    }
    if cols.uid {
        let _ = write!(out, "{:<6} ", e.uid);
    }
    let comm = escaped(c_bytes(&e.comm));
    let _ = write!(out, "{comm:<16} {:<6} {:<6} ", e.pid, e.ppid);
    if cols.pcomm {
        let _ = write!(out, "{:<16} ", escaped(c_bytes(&e.pcomm)));
    }
    let _ = write!(out, "{:>3} ", e.retval);
    let (args, cut) = shown_args(e, cols.max_args);
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if cols.quote {
            quoted(out, a);
        } else {
            escape_text(out, a);
        }
    }
    if cut {
        out.extend_from_slice(b" ...");
    }
    out.push(b'\n');
}

pub fn json_row(e: &Event, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::new(out);
    j.str("time", time.as_bytes())
        .u64("ts_ns", e.ts_ns)
        .u64("pid", e.pid.into())
        .u64("tid", e.tid.into())
        .u64("ppid", e.ppid.into())
        .u64("uid", e.uid.into())
        .str("comm", c_bytes(&e.comm))
        .str("pcomm", c_bytes(&e.pcomm))
        .i64("ret", e.retval.into())
        .str("filename", filename(e))
        .str_array("argv", argv(e))
        .bool("args_truncated", truncated(e));
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(comm: &[u8], fname: &[u8], argv: &[&[u8]]) -> Event {
        let mut e = Event {
            pid: 14056,
            tid: 14056,
            ppid: 13969,
            ..Default::default()
        };
        e.comm[..comm.len()].copy_from_slice(comm);
        e.pcomm[..4].copy_from_slice(b"bash");
        e.area[..fname.len()].copy_from_slice(fname);
        e.fname_len = (fname.len() + 1) as u16;
        let mut off = usize::from(e.fname_len);
        for a in argv {
            e.area[off..off + a.len()].copy_from_slice(a);
            off += a.len() + 1;
        }
        e.args_len = (off - usize::from(e.fname_len)) as u32;
        e
    }

    fn row(cols: Columns, e: &Event) -> String {
        let mut v = Vec::new();
        text_row(&cols, e, "01:25:46", 0.045, &mut v);
        String::from_utf8(v).expect("utf8")
    }

    fn cols() -> Columns {
        Columns {
            max_args: 20,
            ..Default::default()
        }
    }

    #[test]
    fn header_and_row_golden() {
        let c = cols();
        assert_eq!(c.header(), "PCOMM            PID    PPID   RET ARGS\n");
        let e = event(b"ls", b"/usr/bin/ls", &[b"ls", b"target/debug/"]);
        assert_eq!(
            row(c, &e),
            "ls               14056  13969    0 /usr/bin/ls target/debug/\n"
        );
    }

    #[test]
    fn optional_columns_stay_aligned() {
        let c = Columns {
            time: true,
            timestamp: true,
            uid: true,
            quote: true,
            ..cols()
        };
        let e = event(b"ls", b"/usr/bin/ls", &[b"ls", b"target/debug/"]);
        let h = c.header();
        let r = row(c, &e);
        assert_eq!(
            h,
            "TIME     TIME(s)  UID    PCOMM            PID    PPID   RET ARGS\n"
        );
        assert_eq!(
            r,
            "01:25:46 0.045    0      ls               14056  13969    0 \"/usr/bin/ls\" \"target/debug/\"\n"
        );
        assert_eq!(h.find("PCOMM"), r.find("ls "), "header and row misaligned");
    }

    #[test]
    fn parent_column() {
        let c = Columns {
            pcomm: true,
            ..cols()
        };
        assert_eq!(
            c.header(),
            "PCOMM            PID    PPID   PARENT           RET ARGS\n"
        );
        let e = event(b"true", b"/bin/true", &[b"true"]);
        assert_eq!(
            row(c, &e),
            "true             14056  13969  bash               0 /bin/true\n"
        );
    }

    #[test]
    fn max_args_cuts_and_marks() {
        let e = event(b"sh", b"/bin/sh", &[b"sh", b"a", b"b", b"c"]);
        let c = Columns {
            max_args: 3,
            ..cols()
        };
        assert!(row(c, &e).ends_with(" /bin/sh a b ...\n"));
        let c = Columns {
            max_args: 4,
            ..cols()
        };
        assert!(
            row(c, &e).ends_with(" /bin/sh a b c\n"),
            "exactly max_args is not cut"
        );
    }

    #[test]
    fn quoting_and_escaping() {
        let e = event(
            b"x",
            b"/bin/echo",
            &[b"echo", b"say \"hi\"", b"a\nb\x1b", b""],
        );
        let c = Columns {
            quote: true,
            ..cols()
        };
        let want = concat!(r#" "/bin/echo" "say \"hi\"" "a\nb\e" """#, "\n");
        assert!(row(c, &e).ends_with(want), "{}", row(c, &e));
        assert!(row(cols(), &e).ends_with(" /bin/echo say \"hi\" a\\nb\\e \n"));
    }

    #[test]
    fn argv_and_line() {
        let e = event(b"sh", b"/bin/sh", &[b"sh", b"-c", b"echo hi"]);
        assert_eq!(argv(&e), [&b"sh"[..], b"-c", b"echo hi"]);
        assert_eq!(arg_line(&e, 20), b"/bin/sh -c echo hi");
    }

    #[test]
    fn json_golden() {
        let mut e = event(b"ls", b"/usr/bin/ls", &[b"ls", b"-l"]);
        e.retval = 0;
        let mut v = Vec::new();
        json_row(&e, "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":0,\"pid\":14056,\"tid\":14056,\"ppid\":13969,\"uid\":0,\
             \"comm\":\"ls\",\"pcomm\":\"bash\",\"ret\":0,\"filename\":\"/usr/bin/ls\",\
             \"argv\":[\"ls\",\"-l\"],\"args_truncated\":false}\n"
        );
    }
}
