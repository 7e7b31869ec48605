// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop rows: libbpf-tools' columns with the header and rows aligned, and the JSON form.

use std::io::Write;

use common::decode::c_bytes;
use common::output::{JsonLine, escape_text, escaped};

use crate::audit;
use crate::bpf::types::{execsnoop_event as Event, execsnoop_flag as Flag};
use crate::rules::{Exec, Tagged, busybox_applet};

/// Is `bit` (one of bpf/execsnoop.h's EXECSNOOP_ARGS_TRUNCATED, EXECSNOOP_ARGC_KNOWN) set in
/// the record's flags?
fn flag(e: &Event, bit: Flag) -> bool {
    e.flags.0 & bit.0 != 0
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Columns {
    pub time: bool,
    pub timestamp: bool,
    pub uid: bool,
    pub pcomm: bool,
    pub quote: bool,
    pub max_args: usize,
    /// --parents: GPARENT after PARENT.
    pub gparent: bool,
    /// --tty: TTY.
    pub tty: bool,
    /// --ids: EUID GID EGID LOGINUID SESSION.
    pub ids: bool,
    /// --exe-path: FLAGS after RET, EXE after RULE.
    pub exe: bool,
    /// --cwd: CWD after EXE.
    pub cwd: bool,
    /// --rules: RULE after FLAGS, at least this wide (the longest rule name loaded).
    pub rule: Option<usize>,
}

/// The FLAGS column's width: its longest value, `deleted,upper` (the BPF side never sets
/// memfd with deleted, and a memfd is not on overlayfs), so FLAGS never shifts a column.
const FLAGS_WIDTH: usize = 13;

/// The least width of EXE and CWD; longer paths widen them (see [`Columns::header`]).
const PATH_WIDTH: usize = 16;

impl Columns {
    /// The header line. The columns of bounded width come first, each padded to its widest
    /// value, so they line up in every row; RULE, EXE and CWD, whose values have no bound
    /// (several rules matched, a deep path), come last before ARGS, each padded to a least
    /// width (RULE: the longest rule name, so one match lines up), and a longer value pushes
    /// only the columns after it, never the fixed ones. libbpf-tools' columns (no audit
    /// option) are unchanged.
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
        if self.pcomm || self.gparent {
            h.push_str(&format!("{:<16} ", "PARENT"));
        }
        if self.gparent {
            h.push_str(&format!("{:<16} ", "GPARENT"));
        }
        if self.tty {
            h.push_str(&format!("{:<7} ", "TTY"));
        }
        if self.ids {
            h.push_str(&format!(
                "{:<6} {:<6} {:<6} {:<8} {:<7} ",
                "EUID", "GID", "EGID", "LOGINUID", "SESSION"
            ));
        }
        h.push_str(&format!("{:>3} ", "RET"));
        if self.exe {
            h.push_str(&format!("{:<FLAGS_WIDTH$} ", "FLAGS"));
        }
        if let Some(w) = self.rule {
            h.push_str(&format!("{:<w$} ", "RULE"));
        }
        if self.exe {
            h.push_str(&format!("{:<PATH_WIDTH$} ", "EXE"));
        }
        if self.cwd {
            h.push_str(&format!("{:<PATH_WIDTH$} ", "CWD"));
        }
        h.push_str("ARGS\n");
        h
    }
}

/// What the kernel resolved as the file to run (`bprm->filename`).
pub fn filename(e: &Event) -> &[u8] {
    let n = usize::from(e.fname_len).min(e.area.len());
    c_bytes(&e.area[..n])
}

/// The argv the new process started with, argv[0] first, as it stood in its memory after the
/// exec: for a script (`#!`) or a binfmt_misc program, the interpreter's.
pub fn final_argv(e: &Event) -> Vec<&[u8]> {
    let start = usize::from(e.fname_len).min(e.area.len());
    let end = (start + e.args_len as usize).min(e.area.len());
    let block = &e.area[start..end];
    let block = block.strip_suffix(b"\0").unwrap_or(block);
    if block.is_empty() {
        return Vec::new();
    }
    block.split(|&b| b == 0).collect()
}

/// The caller's argv[0], read at syscall entry (the one string an interpreter's argv lacks).
fn caller_argv0(e: &Event) -> Option<&[u8]> {
    let start = (usize::from(e.fname_len) + e.args_len as usize).min(e.area.len());
    let end = (start + usize::from(e.argv0_len)).min(e.area.len());
    (end > start).then(|| c_bytes(&e.area[start..end]))
}

/// What an exec ran: the argv its caller passed to execve, and, when the kernel ran an
/// interpreter instead (a `#!` script, a binfmt_misc handler), the argv that interpreter got.
pub struct Argvs<'a> {
    pub caller: Vec<&'a [u8]>,
    pub interpreter: Option<Vec<&'a [u8]>>,
}

/// Split an exec's argvs. The kernel builds an interpreter's argv as [interpreter, its
/// optional argument, the file, argv[1]...] (fs/binfmt_script.c; binfmt_misc's is alike, with
/// argv[0] kept under its P flag), so the caller's argv[1..] are its last `argc - 1` strings
/// and only argv[0] comes from syscall entry. Without the caller's argc (more than the BPF side
/// counts, or a cut argv) they start after the file name; without syscall entry data (no
/// tracepoints, a failed exec read whole at entry) argv is the new process's.
pub fn argvs<'a>(e: &'a Event) -> Argvs<'a> {
    let new = final_argv(e);
    let same = |new: Vec<&'a [u8]>| Argvs {
        caller: new,
        interpreter: None,
    };
    // argc 0 (execve(path, {NULL}, ..), the CVE-2021-4034 pattern): the caller passed no
    // argv. A program gets an empty argv[0] from the kernel (since 5.18); a script's
    // interpreter gets its own argv, which is not the caller's.
    if flag(e, Flag::EXECSNOOP_ARGC_KNOWN) && e.caller_argc == 0 {
        let rewritten = !(new.is_empty() || new == [b""]);
        return Argvs {
            caller: Vec::new(),
            interpreter: rewritten.then_some(new),
        };
    }
    let Some(argv0) = caller_argv0(e) else {
        return same(new);
    };
    let tail_from = if flag(e, Flag::EXECSNOOP_ARGC_KNOWN) && !truncated(e) {
        let argc = e.caller_argc as usize;
        // argc 0: the kernel supplies an empty argv[0] itself (since 5.18); nothing rewritten.
        (argc > 0 && new.len() > argc).then(|| new.len() - (argc - 1))
    } else if new.first() != Some(&argv0) {
        let file = filename(e);
        new.iter().skip(1).position(|a| *a == file).map(|i| i + 2)
    } else {
        None
    };
    match tail_from {
        Some(from) => {
            let mut caller = vec![argv0];
            caller.extend_from_slice(&new[from.min(new.len())..]);
            Argvs {
                caller,
                interpreter: Some(new),
            }
        }
        None => same(new),
    }
}

pub fn truncated(e: &Event) -> bool {
    flag(e, Flag::EXECSNOOP_ARGS_TRUNCATED)
}

/// The ARGS column's arguments, as libbpf-tools lists them: the file name, then the caller's
/// argv[1..]; `true` when some were cut (by --max-args or the kernel-side buffer).
pub fn shown_args(e: &Event, max_args: usize) -> (Vec<&[u8]>, bool) {
    let mut args = vec![filename(e)];
    args.extend(argvs(e).caller.into_iter().skip(1));
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

/// One text row; `rule` is the RULE column's text (with --rules).
pub fn text_row(
    cols: &Columns,
    e: &Event,
    rule: Option<&str>,
    time: &str,
    secs: f64,
    out: &mut Vec<u8>,
) {
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
    if cols.pcomm || cols.gparent {
        let _ = write!(out, "{:<16} ", escaped(c_bytes(&e.pcomm)));
    }
    if cols.gparent {
        let gp = audit::gpcomm(e).map_or_else(|| "-".into(), escaped);
        let _ = write!(out, "{gp:<16} ");
    }
    if cols.tty {
        let tty = audit::tty(e).flatten().unwrap_or_else(|| "-".into());
        let _ = write!(out, "{tty:<7} ");
    }
    if cols.ids {
        match audit::ids(e) {
            Some(i) => {
                let opt = |v: u32| {
                    if v == audit::UNSET {
                        "unset".to_owned()
                    } else {
                        v.to_string()
                    }
                };
                let _ = write!(
                    out,
                    "{:<6} {:<6} {:<6} {:<8} {:<7} ",
                    i.euid,
                    i.gid,
                    i.egid,
                    opt(i.loginuid),
                    opt(i.sessionid)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "{:<6} {:<6} {:<6} {:<8} {:<7} ",
                    "-", "-", "-", "-", "-"
                );
            }
        }
    }
    let _ = write!(out, "{:>3} ", e.retval);
    if cols.exe {
        let _ = write!(out, "{:<FLAGS_WIDTH$} ", audit::flags_text(e));
    }
    if let Some(w) = cols.rule {
        let _ = write!(out, "{:<w$} ", rule.unwrap_or("-"));
    }
    if cols.exe {
        let exe = audit::exe(e).map_or_else(|| "-".into(), |p| escaped(&p));
        let _ = write!(out, "{exe:<PATH_WIDTH$} ");
    }
    if cols.cwd {
        let cwd = audit::cwd(e).map_or_else(|| "-".into(), |p| escaped(&p));
        let _ = write!(out, "{cwd:<PATH_WIDTH$} ");
    }
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

/// One JSON object; with --rules, `rules` (the names matched) and `severity` (the highest of
/// them, null for none) follow the audit fields.
pub fn json_row(e: &Event, rules: Option<&Tagged>, time: &str, out: &mut Vec<u8>) {
    let mut j = JsonLine::event(out, time, e.ts_ns, e.pid, e.tid);
    j.u64("ppid", e.ppid.into())
        .u64("uid", e.uid.into())
        .str("comm", c_bytes(&e.comm))
        .str("pcomm", c_bytes(&e.pcomm))
        .i64("ret", e.retval.into())
        .str("filename", filename(e));
    let argvs = argvs(e);
    j.str_array("argv", argvs.caller.iter().copied());
    match &argvs.interpreter {
        Some(a) => {
            j.str("interpreter", a.first().copied().unwrap_or_default())
                .str_array("interpreter_argv", a.iter().copied());
        }
        None => {
            j.null("interpreter").null("interpreter_argv");
        }
    }
    j.bool("args_truncated", truncated(e));
    audit_json(&mut j, e);
    if let Some(t) = rules {
        j.str_array("rules", t.names.iter().map(|n| n.as_bytes()));
        match t.severity {
            Some(s) => {
                j.str("severity", s.name().as_bytes());
            }
            None => {
                j.null("severity");
            }
        }
    }
    j.finish();
}

/// What the rules see of an exec; `container` from its cgroup (`None`: unknown or not asked).
pub fn rule_view(e: &Event, container: Option<bool>) -> Exec<'_> {
    let argvs = argvs(e);
    let argv = argvs.caller.join(&b' ');
    let exe = audit::exe_path(e);
    // The argv busybox itself got: an interpreter's for a `#!/bin/busybox sh` script.
    let applet = busybox_applet(exe.as_deref(), &final_argv(e));
    // A `#!` script or binfmt_misc program: the kernel ran an interpreter (the exe), and the
    // file the exec was given is in the record's filename, absolute with the cwd.
    let script = argvs
        .interpreter
        .is_some()
        .then(|| audit::absolute(filename(e), audit::cwd_path(e).as_deref()))
        .flatten();
    Exec {
        script,
        container,
        exe_truncated: exe.is_some() && audit::exe_cut(e),
        args_truncated: truncated(e),
        exe,
        comm: c_bytes(&e.comm),
        argv,
        applet,
        parent: c_bytes(&e.pcomm),
        grandparent: audit::gpcomm(e),
        tty: audit::tty(e).map(|t| t.is_some()),
        memfd: audit::memfd(e),
        deleted: audit::deleted(e),
        upper: audit::overlay_upper(e),
        uid: e.uid,
        ids: audit::ids(e).map(|i| (i.euid, i.gid, i.egid, i.loginuid)),
    }
}

/// The audit fields, `null` where not read (a failed exec, or not asked for); `tty` is the
/// terminal's name or `false` for none.
fn audit_json(j: &mut JsonLine<'_>, e: &Event) {
    match audit::exe(e) {
        Some(p) => {
            j.str("exe", &p).bool("exe_truncated", audit::exe_cut(e));
        }
        None => {
            j.null("exe").null("exe_truncated");
        }
    }
    // The flags describe the executable: while it is unknown (the part read, but no file or
    // no name came back) they are unknown too, null as for a failed exec, not a false "not
    // fileless" about a file nobody saw.
    if audit::exe_path(e).is_some() {
        j.bool("fileless", audit::fileless(e))
            .bool("memfd", audit::memfd(e))
            .bool("deleted", audit::deleted(e))
            .bool("overlay_upper", audit::overlay_upper(e));
    } else {
        j.null("fileless")
            .null("memfd")
            .null("deleted")
            .null("overlay_upper");
    }
    match audit::cwd(e) {
        Some(p) => {
            j.str("cwd", &p).bool("cwd_truncated", audit::cwd_cut(e));
        }
        None => {
            j.null("cwd").null("cwd_truncated");
        }
    }
    // `false`, not null, for no terminal: null is "not read" here as in every audit field,
    // and `jq 'select(.tty)'` keeps exactly the execs with a terminal.
    match audit::tty(e) {
        Some(Some(t)) => {
            j.str("tty", t.as_bytes());
        }
        Some(None) => {
            j.bool("tty", false);
        }
        None => {
            j.null("tty");
        }
    }
    match audit::ids(e) {
        Some(i) => {
            j.u64("euid", i.euid.into())
                .u64("gid", i.gid.into())
                .u64("egid", i.egid.into())
                .u64("loginuid", i.loginuid.into())
                .u64("sessionid", i.sessionid.into());
        }
        None => {
            j.null("euid")
                .null("gid")
                .null("egid")
                .null("loginuid")
                .null("sessionid");
        }
    }
    match audit::gpcomm(e) {
        Some(g) => {
            j.str("gpcomm", g);
        }
        None => {
            j.null("gpcomm");
        }
    }
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
        text_row(&cols, e, None, "01:25:46", 0.045, &mut v);
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

    /// A value longer than its column (a command name of control bytes, escaped; 10-digit ids;
    /// pts/1000) is printed whole and pushes the rest of its row, one space after it, as
    /// libbpf-tools' printf does: never cut, never run into the next value.
    #[test]
    fn oversized_values_push_the_rest_of_their_row_golden() {
        use crate::bpf::types::execsnoop_audit as A;
        let c = Columns {
            uid: true,
            tty: true,
            ids: true,
            ..cols()
        };
        let mut e = event(&[1; 8], b"/x", &[b"x"]);
        e.uid = 4_000_000_000;
        e.audit.0 = A::EXECSNOOP_AUDIT_TTY.0 | A::EXECSNOOP_HAS_TTY.0 | A::EXECSNOOP_AUDIT_IDS.0;
        e.tty_name[..3].copy_from_slice(b"pts");
        e.tty_index = 1000;
        (e.euid, e.gid, e.egid, e.loginuid, e.sessionid) = (
            4_294_967_294,
            1_000_000_000,
            123_456,
            audit::UNSET,
            4_294_967_294,
        );
        assert_eq!(
            c.header(),
            "UID    PCOMM            PID    PPID   TTY     EUID   GID    EGID   LOGINUID SESSION \
             RET ARGS\n"
        );
        assert_eq!(
            row(c, &e),
            "4000000000 \\x01\\x01\\x01\\x01\\x01\\x01\\x01\\x01 14056  13969  pts/1000 \
             4294967294 1000000000 123456 unset    4294967294   0 /x\n"
        );
        // Ordinary values keep libbpf-tools' columns exactly (header_and_row_golden).
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

    /// `e` with the audit parts EXE and CWD read: `exe` and `cwd` as the BPF side sends them
    /// (names leaf first), `audit` the extra bits (EXECSNOOP_EXE_*).
    fn with_paths(mut e: Event, exe: &[u8], cwd: &[u8], audit: u16) -> Event {
        use crate::bpf::types::execsnoop_audit as A;
        let at = usize::from(e.fname_len) + e.args_len as usize + usize::from(e.argv0_len);
        e.area[at..at + exe.len()].copy_from_slice(exe);
        e.area[at + exe.len()..at + exe.len() + cwd.len()].copy_from_slice(cwd);
        e.exe_len = exe.len() as u16;
        e.cwd_len = cwd.len() as u16;
        e.audit.0 = A::EXECSNOOP_AUDIT_EXE.0 | A::EXECSNOOP_AUDIT_CWD.0 | audit;
        e
    }

    fn tagged_row(cols: Columns, e: &Event, rule: &str) -> String {
        let mut v = Vec::new();
        text_row(&cols, e, Some(rule), "01:25:46", 0.045, &mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn unbounded_audit_columns_come_last_and_shift_only_each_other() {
        use crate::bpf::types::execsnoop_audit as A;
        // --audit --rules builtin: RULE as wide as terminal-shell-in-container.
        let c = Columns {
            pcomm: true,
            gparent: true,
            tty: true,
            ids: true,
            exe: true,
            cwd: true,
            rule: Some("terminal-shell-in-container".len()),
            ..cols()
        };
        let h = c.header();
        assert_eq!(
            h,
            "PCOMM            PID    PPID   PARENT           GPARENT          TTY     EUID   \
             GID    EGID   LOGINUID SESSION RET FLAGS         RULE                        \
             EXE              CWD              ARGS\n"
        );
        // Two rules, a deleted file from a deep directory run in a deep directory.
        let e = with_paths(
            event(b"3", b"/proc/self/fd/3", &[b"3"]),
            b"payload\0dir\0long\0very\0tmp\0",
            b"deep\0projects\0someone\0home\0",
            A::EXECSNOOP_EXE_DELETED.0 | A::EXECSNOOP_EXE_UPPER.0,
        );
        let two = tagged_row(c, &e, "exec-from-temp-dir,fileless-exec");
        assert_eq!(
            two,
            "3                14056  13969  bash             -                -       -      \
             -      -      -        -         0 deleted,upper exec-from-temp-dir,fileless-exec \
             /tmp/very/long/dir/payload (deleted) /home/someone/projects/deep /proc/self/fd/3\n"
        );
        // Every bounded column starts where its header does, FLAGS and RULE included.
        for col in [" PID", " PARENT", " TTY", " SESSION", " FLAGS", " RULE"] {
            let at = h.find(col).expect("in header");
            assert_eq!(&two[at..at + 1], " ", "{col} starts a field\n{h}{two}");
            assert_ne!(&two[at + 1..at + 2], " ", "{col} starts a field\n{h}{two}");
        }
        // RET is right-aligned: it ends where its header does.
        let ret = h.find(" RET ").expect("RET") + 4;
        assert_eq!(&two[ret - 1..=ret], "0 ", "RET\n{h}{two}");
        // One rule, even the longest, and short paths: EXE and CWD line up too.
        let e = with_paths(
            event(b"bash", b"/usr/bin/bash", &[b"bash"]),
            b"bash\0bin\0usr\0",
            b"\0",
            0,
        );
        let one = tagged_row(c, &e, "terminal-shell-in-container");
        assert_eq!(h.find(" EXE ").map(|i| i + 1), one.find("/usr/bin/bash"));
        assert_eq!(h.find(" CWD ").map(|i| i + 1), one.find("/ "));
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
        assert_eq!(final_argv(&e), [&b"sh"[..], b"-c", b"echo hi"]);
        assert_eq!(arg_line(&e, 20), b"/bin/sh -c echo hi");
    }

    #[test]
    fn json_golden() {
        let mut e = event(b"ls", b"/usr/bin/ls", &[b"ls", b"-l"]);
        e.retval = 0;
        let mut v = Vec::new();
        json_row(&e, None, "T", &mut v);
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"ts_ns\":0,\"pid\":14056,\"tid\":14056,\"ppid\":13969,\"uid\":0,\
             \"comm\":\"ls\",\"pcomm\":\"bash\",\"ret\":0,\"filename\":\"/usr/bin/ls\",\
             \"argv\":[\"ls\",\"-l\"],\"interpreter\":null,\"interpreter_argv\":null,\
             \"args_truncated\":false,\"exe\":null,\"exe_truncated\":null,\
             \"fileless\":null,\"memfd\":null,\"deleted\":null,\"overlay_upper\":null,\
             \"cwd\":null,\"cwd_truncated\":null,\"tty\":null,\"euid\":null,\"gid\":null,\
             \"egid\":null,\"loginuid\":null,\"sessionid\":null,\"gpcomm\":null}\n"
        );
    }

    /// The exe part read but no path came back (fresh-user trial: an exec through a detached
    /// mount showed `"exe":null,"fileless":false`): the flags are null, not false.
    #[test]
    fn json_flags_are_null_while_the_exe_is_unknown() {
        let flags = |exe: &[u8]| {
            let e = with_paths(event(b"ls", b"/usr/bin/ls", &[b"ls"]), exe, b"", 0);
            let mut v = Vec::new();
            json_row(&e, None, "T", &mut v);
            let v = String::from_utf8(v).expect("utf8");
            let at = v.find(",\"exe\":").expect("exe field");
            let end = v.find(",\"cwd\":").expect("cwd field");
            v[at..end].to_owned()
        };
        assert_eq!(
            flags(b""),
            ",\"exe\":null,\"exe_truncated\":null,\"fileless\":null,\"memfd\":null,\
             \"deleted\":null,\"overlay_upper\":null"
        );
        assert_eq!(
            flags(b"ls\0bin\0"),
            ",\"exe\":\"/bin/ls\",\"exe_truncated\":false,\"fileless\":false,\"memfd\":false,\
             \"deleted\":false,\"overlay_upper\":false"
        );
    }

    #[test]
    fn json_tty_is_a_name_false_for_none_or_null_when_not_read() {
        use crate::bpf::types::execsnoop_audit as A;
        let tty_of = |audit: u16| {
            let mut e = event(b"ls", b"/usr/bin/ls", &[b"ls"]);
            e.audit.0 = audit;
            e.tty_name[..3].copy_from_slice(b"pts");
            e.tty_index = 4;
            let mut v = Vec::new();
            json_row(&e, None, "T", &mut v);
            let v = String::from_utf8(v).expect("utf8");
            let at = v.find(",\"tty\":").expect("tty field") + 7;
            v[at..].split(',').next().unwrap_or_default().to_owned()
        };
        let (read, has) = (A::EXECSNOOP_AUDIT_TTY.0, A::EXECSNOOP_HAS_TTY.0);
        assert_eq!(tty_of(read | has), "\"pts/4\"");
        assert_eq!(tty_of(read), "false");
        assert_eq!(tty_of(0), "null");
        // HAS_TTY without the part read is not believed.
        assert_eq!(tty_of(has), "null");
    }

    /// What the caller passed, as syscall entry records it: argc and argv[0] after the block.
    fn from_caller(mut e: Event, argc: Option<u32>, argv0: &[u8]) -> Event {
        let at = usize::from(e.fname_len) + e.args_len as usize;
        e.area[at..at + argv0.len()].copy_from_slice(argv0);
        e.argv0_len = (argv0.len() + 1) as u16;
        if let Some(n) = argc {
            e.caller_argc = n;
            e.flags.0 |= Flag::EXECSNOOP_ARGC_KNOWN.0;
        }
        e
    }

    /// `./s1.sh a1 "b 2"` with `#!/bin/sh -e`: the kernel runs [/bin/sh, -e, ./s1.sh, a1, b 2].
    fn script() -> Event {
        let e = event(
            b"s1.sh",
            b"./s1.sh",
            &[b"/bin/sh", b"-e", b"./s1.sh", b"a1", b"b 2"],
        );
        from_caller(e, Some(3), b"./s1.sh")
    }

    /// Rules see a script by the file the exec was given, made absolute with the cwd.
    #[test]
    fn rules_see_a_script_by_its_file() {
        let e = with_paths(script(), b"dash\0bin\0usr\0", b"t10\0tmp\0", 0);
        assert_eq!(
            rule_view(&e, None).script.as_deref(),
            Some(&b"/tmp/t10/s1.sh"[..])
        );
        assert_eq!(
            rule_view(&e, None).exe.as_deref(),
            Some(&b"/usr/bin/dash"[..])
        );
        // No interpreter ran: no script.
        let e = with_paths(event(b"ls", b"./ls", &[b"./ls"]), b"ls\0", b"tmp\0", 0);
        assert_eq!(rule_view(&e, None).script, None);
    }

    #[test]
    fn scripts_show_what_the_caller_ran() {
        let q = Columns {
            quote: true,
            ..cols()
        };
        let e = script();
        assert!(
            row(q, &e).ends_with(" \"./s1.sh\" \"a1\" \"b 2\"\n"),
            "{}",
            row(q, &e)
        );
        assert_eq!(arg_line(&e, 20), b"./s1.sh a1 b 2");
        let a = argvs(&e);
        assert_eq!(a.caller, [&b"./s1.sh"[..], b"a1", b"b 2"]);
        assert_eq!(
            a.interpreter.expect("rewritten"),
            [&b"/bin/sh"[..], b"-e", b"./s1.sh", b"a1", b"b 2"]
        );
        let mut v = Vec::new();
        json_row(&e, None, "T", &mut v);
        let v = String::from_utf8(v).expect("utf8");
        assert!(
            v.contains(
                "\"argv\":[\"./s1.sh\",\"a1\",\"b 2\"],\"interpreter\":\"/bin/sh\",\
                 \"interpreter_argv\":[\"/bin/sh\",\"-e\",\"./s1.sh\",\"a1\",\"b 2\"]"
            ),
            "{v}"
        );
    }

    #[test]
    fn binfmt_misc_keeping_argv0_and_caller_argv0_that_differs() {
        // binfmt_misc with the P flag: [interpreter, file, argv[0], argv[1]...].
        let e = event(
            b"prog",
            b"/opt/prog",
            &[b"/usr/bin/qemu-arm", b"/opt/prog", b"prog", b"-v"],
        );
        let e = from_caller(e, Some(2), b"prog");
        assert_eq!(argvs(&e).caller, [&b"prog"[..], b"-v"]);
        assert_eq!(arg_line(&e, 20), b"/opt/prog -v");
    }

    #[test]
    fn argc_unknown_finds_the_caller_after_the_file_name() {
        let e = event(
            b"s.sh",
            b"./s.sh",
            &[b"/usr/bin/env", b"bash", b"./s.sh", b"x"],
        );
        let e = from_caller(e, None, b"./s.sh");
        assert_eq!(argvs(&e).caller, [&b"./s.sh"[..], b"x"]);
        assert!(!arg_line(&e, 20).windows(4).any(|w| w == b"bash"));
    }

    #[test]
    fn plain_execs_and_argc_zero_are_left_alone() {
        let e = from_caller(
            event(b"ls", b"/usr/bin/ls", &[b"ls", b"-l"]),
            Some(2),
            b"ls",
        );
        let a = argvs(&e);
        assert_eq!(a.caller, [&b"ls"[..], b"-l"]);
        assert!(a.interpreter.is_none());
        // execve(path, NULL, ...): the kernel gives the program an empty argv[0].
        let mut e = event(b"x", b"/bin/x", &[b""]);
        e.caller_argc = 0;
        e.flags.0 |= Flag::EXECSNOOP_ARGC_KNOWN.0;
        let a = argvs(&e);
        assert!(a.caller.is_empty());
        assert!(a.interpreter.is_none());
    }

    #[test]
    fn script_run_with_argc_zero_keeps_the_empty_argv() {
        // execve("/tmp/s1.sh", {NULL}, {NULL}) with `#!/usr/bin/env bash`.
        let mut e = event(
            b"s1.sh",
            b"/tmp/s1.sh",
            &[b"/usr/bin/env", b"bash", b"/tmp/s1.sh"],
        );
        e.caller_argc = 0;
        e.flags.0 |= Flag::EXECSNOOP_ARGC_KNOWN.0;
        let a = argvs(&e);
        assert!(a.caller.is_empty());
        assert_eq!(
            a.interpreter.expect("rewritten"),
            [&b"/usr/bin/env"[..], b"bash", b"/tmp/s1.sh"]
        );
        assert_eq!(arg_line(&e, 20), b"/tmp/s1.sh");
        let mut v = Vec::new();
        json_row(&e, None, "T", &mut v);
        let v = String::from_utf8(v).expect("utf8");
        assert!(
            v.contains(
                "\"argv\":[],\"interpreter\":\"/usr/bin/env\",\
                 \"interpreter_argv\":[\"/usr/bin/env\",\"bash\",\"/tmp/s1.sh\"]"
            ),
            "{v}"
        );
    }
}
