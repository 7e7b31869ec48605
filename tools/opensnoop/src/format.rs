// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Rows and header, column for column as libbpf-tools' opensnoop prints them, and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escape_text, escaped};

use crate::bpf::types::{opensnoop_dir_flag as DirFlag, opensnoop_event as Event};
use crate::flags;

/// Is `bit` (one of bpf/opensnoop.h's OPENSNOOP_DIR_*) set in the record's `dir_flags`?
fn dir_flag(e: &Event, bit: DirFlag) -> bool {
    e.dir_flags.0 & bit.0 != 0
}

/// Which optional columns are shown.
#[derive(Debug, Default, Clone, Copy)]
pub struct Columns {
    pub timestamp: bool,
    pub uid: bool,
    pub extended: bool,
    pub full_path: bool,
    pub callers: bool,
}

impl Columns {
    /// Everything before PATH; -c indents caller lines by its width.
    fn prefix_header(&self) -> String {
        let mut h = String::new();
        if self.timestamp {
            h.push_str(&format!("{:<8} ", "TIME"));
        }
        if self.uid {
            h.push_str(&format!("{:<7} ", "UID"));
        }
        h.push_str(&format!(
            "{:<6} {:<16} {:>3} {:>3} ",
            "PID", "COMM", "FD", "ERR"
        ));
        if self.extended {
            h.push_str(&format!("{:<8} {:<5} ", "FLAGS", "MODE"));
        }
        h
    }

    pub fn header(&self) -> String {
        let mut h = self.prefix_header();
        h.push_str("PATH");
        if self.callers {
            h.push_str("/CALLER");
        }
        h.push('\n');
        h
    }
}

/// The path the process passed, without its NUL.
pub fn fname(e: &Event) -> &[u8] {
    let len = usize::from(e.fname_len).min(e.path.len());
    c_bytes(&e.path[..len])
}

/// With -F: the absolute path of a relative open, built from the directory names the BPF
/// program collected (leaf first). `None` when there was nothing to resolve.
pub fn full_path(e: &Event) -> Option<Vec<u8>> {
    if !dir_flag(e, DirFlag::OPENSNOOP_DIR_RESOLVED) {
        return None;
    }
    let start = usize::from(e.fname_len).min(e.path.len());
    let end = (start + usize::from(e.dir_len)).min(e.path.len());
    let mut p = Vec::with_capacity(end - start + usize::from(e.fname_len) + 4);
    if dir_flag(e, DirFlag::OPENSNOOP_DIR_TRUNCATED) {
        p.extend_from_slice(b"...");
    }
    let dirs: Vec<&[u8]> = e.path[start..end]
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .collect();
    for d in dirs.iter().rev() {
        p.push(b'/');
        p.extend_from_slice(d);
    }
    p.push(b'/');
    p.extend_from_slice(fname(e));
    Some(p)
}

fn fd_err(e: &Event) -> (i32, i32) {
    if e.ret >= 0 { (e.ret, 0) } else { (-1, -e.ret) }
}

/// libbpf-tools shows a mode only where open(2) uses one.
fn mode_used(e: &Event) -> bool {
    let tmpfile = libc::O_TMPFILE as u32;
    e.mode != 0 || e.flags & libc::O_CREAT as u32 != 0 || e.flags & tmpfile == tmpfile
}

pub fn text_row(cols: &Columns, e: &Event, time: &str, callers: &[String], out: &mut Vec<u8>) {
    if cols.timestamp {
        let _ = write!(out, "{time:<8} ");
    }
    if cols.uid {
        let _ = write!(out, "{:<7} ", e.uid);
    }
    let (fd, err) = fd_err(e);
    let comm = escaped(c_bytes(&e.comm));
    let _ = write!(out, "{:<6} {:<16} {:>3} {:>3} ", e.pid, comm, fd, err);
    if cols.extended {
        if mode_used(e) {
            let _ = write!(out, "{:08o} {:04o} ", e.flags, e.mode);
        } else {
            let _ = write!(out, "{:08o} n/a  ", e.flags);
        }
    }
    match cols.full_path.then(|| full_path(e)).flatten() {
        Some(p) => escape_text(out, &p),
        None => escape_text(out, fname(e)),
    }
    out.push(b'\n');
    if cols.callers {
        let indent = cols.prefix_header().len();
        for c in callers {
            let _ = writeln!(out, "{:indent$}{}", "", escaped(c.as_bytes()));
        }
    }
}

pub fn json_row(cols: &Columns, e: &Event, time: &str, callers: &[String], out: &mut Vec<u8>) {
    let (fd, err) = fd_err(e);
    let mut j = JsonLine::event(out, time, e.ts_ns, e.pid, e.tid);
    j.u64("uid", e.uid.into())
        .str("comm", c_bytes(&e.comm))
        .i64("ret", e.ret.into())
        .i64("fd", fd.into())
        .i64("err", err.into())
        .u64("flags", e.flags.into())
        .str_array(
            "flag_names",
            flags::names(e.flags).into_iter().map(str::as_bytes),
        )
        .u64("mode", e.mode.into())
        .str("path", fname(e));
    if cols.full_path {
        match full_path(e) {
            Some(p) => j.str("full_path", &p),
            None => j.str("full_path", fname(e)),
        };
    }
    if cols.callers {
        j.str_array("callers", callers.iter().map(|c| c.as_bytes()));
    }
    j.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(pid: u32, comm: &[u8], ret: i32, path: &[u8]) -> Event {
        let mut e = Event {
            pid,
            tid: pid,
            uid: 1000,
            ret,
            ..Default::default()
        };
        e.comm[..comm.len()].copy_from_slice(comm);
        e.path[..path.len()].copy_from_slice(path);
        e.fname_len = (path.len() + 1) as u16;
        e
    }

    fn text(cols: Columns, e: &Event) -> String {
        let mut v = Vec::new();
        text_row(&cols, e, "01:25:50", &[], &mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn header_matches_libbpf_tools() {
        assert_eq!(
            Columns::default().header(),
            "PID    COMM              FD ERR PATH\n"
        );
        let all = Columns {
            timestamp: true,
            uid: true,
            extended: true,
            ..Default::default()
        };
        assert_eq!(
            all.header(),
            "TIME     UID     PID    COMM              FD ERR FLAGS    MODE  PATH\n"
        );
        let c = Columns {
            callers: true,
            ..Default::default()
        };
        assert_eq!(c.header(), "PID    COMM              FD ERR PATH/CALLER\n");
    }

    #[test]
    fn rows_golden() {
        let ok = event(14151, b"true", 3, b"/etc/ld.so.cache");
        assert_eq!(
            text(Columns::default(), &ok),
            "14151  true               3   0 /etc/ld.so.cache\n"
        );
        let failed = event(7, b"cat", -2, b"/nope");
        assert_eq!(
            text(Columns::default(), &failed),
            "7      cat               -1   2 /nope\n"
        );
    }

    #[test]
    fn optional_columns_golden() {
        let mut e = event(14151, b"true", 3, b"/etc/ld.so.cache");
        e.flags = 0o2000000;
        let cols = Columns {
            timestamp: true,
            uid: true,
            extended: true,
            ..Default::default()
        };
        assert_eq!(
            text(cols, &e),
            "01:25:50 1000    14151  true               3   0 02000000 n/a  /etc/ld.so.cache\n"
        );
        e.flags = 0o100101;
        e.mode = 0o644;
        assert_eq!(
            text(cols, &e),
            "01:25:50 1000    14151  true               3   0 00100101 0644 /etc/ld.so.cache\n"
        );
    }

    #[test]
    fn hostile_names_are_escaped() {
        let e = event(1, b"ev\x1bil", 3, b"/tmp/a\nb\x1b[2J\xff");
        assert_eq!(
            text(Columns::default(), &e),
            "1      ev\\eil             3   0 /tmp/a\\nb\\e[2J\\xff\n"
        );
    }

    fn with_dirs(mut e: Event, dirs_leaf_first: &[&[u8]], flags: &[DirFlag]) -> Event {
        let mut off = usize::from(e.fname_len);
        for d in dirs_leaf_first {
            e.path[off..off + d.len()].copy_from_slice(d);
            off += d.len() + 1;
        }
        e.dir_len = (off - usize::from(e.fname_len)) as u16;
        e.dir_depth = dirs_leaf_first.len() as u8;
        e.dir_flags = DirFlag(flags.iter().fold(0, |bits, f| bits | f.0));
        e
    }

    #[test]
    fn full_path_joins_directories_root_first() {
        let e = with_dirs(
            event(1, b"x", 3, b"rel/file"),
            &[b"work", b"home"],
            &[DirFlag::OPENSNOOP_DIR_RESOLVED],
        );
        assert_eq!(full_path(&e).expect("resolved"), b"/home/work/rel/file");
        let cols = Columns {
            full_path: true,
            ..Default::default()
        };
        assert!(text(cols, &e).ends_with(" /home/work/rel/file\n"));
        let root = with_dirs(
            event(1, b"x", 3, b"f"),
            &[],
            &[DirFlag::OPENSNOOP_DIR_RESOLVED],
        );
        assert_eq!(full_path(&root).expect("resolved"), b"/f");
        let cut = with_dirs(
            event(1, b"x", 3, b"f"),
            &[b"deep"],
            &[
                DirFlag::OPENSNOOP_DIR_RESOLVED,
                DirFlag::OPENSNOOP_DIR_TRUNCATED,
            ],
        );
        assert_eq!(full_path(&cut).expect("resolved"), b".../deep/f");
        assert!(full_path(&event(1, b"x", 3, b"/abs")).is_none());
    }

    #[test]
    fn callers_are_indented_to_the_path_column() {
        let e = event(1, b"x", 3, b"/p");
        let cols = Columns {
            callers: true,
            ..Default::default()
        };
        let mut v = Vec::new();
        text_row(&cols, &e, "", &["main:12".into(), "0x1234".into()], &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "1      x                  3   0 /p\n                                main:12\n                                0x1234\n"
        );
    }

    #[test]
    fn json_row_golden() {
        let mut e = event(42, b"cat", -2, b"/nope\"x");
        e.flags = 0o2000000;
        e.ts_ns = 5;
        let mut v = Vec::new();
        json_row(&Columns::default(), &e, "T", &[], &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":5,\"pid\":42,\"tid\":42,\"uid\":1000,\"comm\":\"cat\",\
             \"ret\":-2,\"fd\":-1,\"err\":2,\"flags\":524288,\"flag_names\":[\"O_RDONLY\",\"O_CLOEXEC\"],\
             \"mode\":0,\"path\":\"/nope\\\"x\"}\n"
        );
    }
}
