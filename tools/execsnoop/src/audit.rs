// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The audit fields of an exec record, read at `sched_process_exec` (bpf/execsnoop.bpf.c,
//! `fill_audit`): the executable as the kernel resolved it, the working directory, the
//! controlling terminal, credentials, the audit login uid and session, the grandparent's comm,
//! and whether the executable has no name on disk or lives in an overlayfs upper layer.

use common::decode::c_bytes;

use crate::bpf::types::{execsnoop_audit as Audit, execsnoop_event as Event};

// The bits of the record's `audit` (enum execsnoop_audit in bpf/execsnoop.h).
pub const AUDIT_EXE: u16 = Audit::EXECSNOOP_AUDIT_EXE.0;
pub const AUDIT_CWD: u16 = Audit::EXECSNOOP_AUDIT_CWD.0;
pub const AUDIT_TTY: u16 = Audit::EXECSNOOP_AUDIT_TTY.0;
pub const AUDIT_IDS: u16 = Audit::EXECSNOOP_AUDIT_IDS.0;
pub const AUDIT_GPARENT: u16 = Audit::EXECSNOOP_AUDIT_GPARENT.0;
const EXE_CUT: u16 = Audit::EXECSNOOP_EXE_CUT.0;
const CWD_CUT: u16 = Audit::EXECSNOOP_CWD_CUT.0;
const EXE_MEMFD: u16 = Audit::EXECSNOOP_EXE_MEMFD.0;
const EXE_DELETED: u16 = Audit::EXECSNOOP_EXE_DELETED.0;
const EXE_UPPER: u16 = Audit::EXECSNOOP_EXE_UPPER.0;
const HAS_TTY: u16 = Audit::EXECSNOOP_HAS_TTY.0;
const EXE_UNLINKED: u16 = Audit::EXECSNOOP_EXE_UNLINKED.0;
const CWD_DELETED: u16 = Audit::EXECSNOOP_CWD_DELETED.0;

/// The audit subsystem's "unset" login uid and session id (`AUDIT_UID_UNSET`,
/// `AUDIT_SID_UNSET`), also what they read as without CONFIG_AUDIT.
pub const UNSET: u32 = u32::MAX;

fn read(e: &Event, part: u16) -> bool {
    e.audit.0 & part != 0
}

/// The components after argv[0]: the exe's, then the cwd's (leaf first, NUL-terminated).
fn components(e: &Event, skip: usize, len: u16) -> &[u8] {
    let base = usize::from(e.fname_len) + e.args_len as usize + usize::from(e.argv0_len);
    let start = (base + skip).min(e.area.len());
    let end = (start + usize::from(len)).min(e.area.len());
    &e.area[start..end]
}

/// Join names sent leaf first into a path: `/usr/bin/true`. A walk that stopped early (deeper
/// than the BPF side follows) starts with `...`.
pub fn join_reversed(block: &[u8], cut: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 4);
    if cut {
        out.extend_from_slice(b"...");
    }
    let names: Vec<&[u8]> = block.split(|&b| b == 0).filter(|n| !n.is_empty()).collect();
    for n in names.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Is the executable on a kernel-internal mount (a memfd: shmem or hugetlbfs)?
pub fn memfd(e: &Event) -> bool {
    read(e, AUDIT_EXE) && e.audit.0 & EXE_MEMFD != 0
}

/// Had the executable no name on disk left at the exec (its last link removed: i_nlink 0)? A
/// file whose name was removed while another hard link remains is not deleted, though its path
/// reads ` (deleted)` as /proc shows it.
pub fn deleted(e: &Event) -> bool {
    read(e, AUDIT_EXE) && e.audit.0 & EXE_DELETED != 0
}

/// Fileless: run from a memfd or from a file already deleted.
pub fn fileless(e: &Event) -> bool {
    memfd(e) || deleted(e)
}

/// Is the executable on overlayfs with its real inode in the upper layer (written there after
/// the overlay was mounted, e.g. inside a running container)?
pub fn overlay_upper(e: &Event) -> bool {
    read(e, AUDIT_EXE) && e.audit.0 & EXE_UPPER != 0
}

/// The executable's path as `/proc/PID/exe` shows it: within the task's root (a container's
/// path, not the host's), ` (deleted)` after one whose name was removed (d_path() in
/// fs/d_path.c; a memfd reads as `/memfd:NAME (deleted)`). `None`: not read (not asked for, or a
/// failed exec).
pub fn exe(e: &Event) -> Option<Vec<u8>> {
    if !read(e, AUDIT_EXE) || e.exe_len == 0 {
        return None;
    }
    let mut p = join_reversed(components(e, 0, e.exe_len), e.audit.0 & EXE_CUT != 0);
    if fileless(e) || e.audit.0 & EXE_UNLINKED != 0 {
        p.extend_from_slice(b" (deleted)");
    }
    Some(p)
}

/// The executable's path without the ` (deleted)` mark, for rules to match.
pub fn exe_path(e: &Event) -> Option<Vec<u8>> {
    (read(e, AUDIT_EXE) && e.exe_len != 0)
        .then(|| join_reversed(components(e, 0, e.exe_len), e.audit.0 & EXE_CUT != 0))
}

/// Whether the exe path was cut (deeper than the BPF side walks).
pub fn exe_cut(e: &Event) -> bool {
    e.audit.0 & EXE_CUT != 0
}

/// The working directory at the exec, within the task's root, ` (deleted)` after one that was
/// removed, as `/proc/PID/cwd` shows it.
pub fn cwd(e: &Event) -> Option<Vec<u8>> {
    read(e, AUDIT_CWD).then(|| {
        let mut p = join_reversed(
            components(e, usize::from(e.exe_len), e.cwd_len),
            e.audit.0 & CWD_CUT != 0,
        );
        if e.audit.0 & CWD_DELETED != 0 {
            p.extend_from_slice(b" (deleted)");
        }
        p
    })
}

/// The working directory without the ` (deleted)` mark, `None` when not read or cut (its start,
/// and so where it is, unknown): for rules to make a relative path absolute.
pub fn cwd_path(e: &Event) -> Option<Vec<u8>> {
    (read(e, AUDIT_CWD) && !cwd_cut(e))
        .then(|| join_reversed(components(e, usize::from(e.exe_len), e.cwd_len), false))
}

/// `file` as an absolute path with `.`, `..` and repeated slashes resolved by name (as
/// `realpath -s` does, symlinks not followed): `./s.sh` in `/tmp/x` is `/tmp/x/s.sh`,
/// `/usr/../tmp/s` is `/tmp/s`. A relative `file` needs `cwd`; `None` without one.
pub fn absolute(file: &[u8], cwd: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut joined = Vec::new();
    if !file.starts_with(b"/") {
        joined.extend_from_slice(cwd?);
        joined.push(b'/');
    }
    joined.extend_from_slice(file);
    let mut names: Vec<&[u8]> = Vec::new();
    for n in joined.split(|&b| b == b'/') {
        match n {
            b"" | b"." => {}
            b".." => {
                names.pop();
            }
            n => names.push(n),
        }
    }
    let mut out = Vec::with_capacity(joined.len());
    for n in names {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

pub fn cwd_cut(e: &Event) -> bool {
    e.audit.0 & CWD_CUT != 0
}

/// The controlling terminal (`signal->tty`) by its /dev name: `pts/3` for a pseudo-terminal
/// (driver `pts`), else driver name and index (`tty1`, `ttyS0`). `None`: not read;
/// `Some(None)`: no terminal.
pub fn tty(e: &Event) -> Option<Option<String>> {
    if !read(e, AUDIT_TTY) {
        return None;
    }
    if e.audit.0 & HAS_TTY == 0 {
        return Some(None);
    }
    let driver = String::from_utf8_lossy(c_bytes(&e.tty_name));
    Some(Some(if driver == "pts" {
        format!("pts/{}", e.tty_index)
    } else {
        format!("{driver}{}", e.tty_index)
    }))
}

/// euid, gid, egid, loginuid, sessionid, when read.
pub struct Ids {
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub loginuid: u32,
    pub sessionid: u32,
}

pub fn ids(e: &Event) -> Option<Ids> {
    read(e, AUDIT_IDS).then_some(Ids {
        euid: e.euid,
        gid: e.gid,
        egid: e.egid,
        loginuid: e.loginuid,
        sessionid: e.sessionid,
    })
}

/// The grandparent's comm, when read.
pub fn gpcomm(e: &Event) -> Option<&[u8]> {
    read(e, AUDIT_GPARENT).then(|| c_bytes(&e.gpcomm))
}

/// The FLAGS column: `memfd`, `deleted`, `upper` joined by commas, `-` for none.
pub fn flags_text(e: &Event) -> String {
    let mut f = Vec::new();
    if memfd(e) {
        f.push("memfd");
    }
    if deleted(e) {
        f.push("deleted");
    }
    if overlay_upper(e) {
        f.push("upper");
    }
    if f.is_empty() {
        "-".into()
    } else {
        f.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_leaf_first_names() {
        assert_eq!(join_reversed(b"true\0bin\0usr\0", false), b"/usr/bin/true");
        assert_eq!(join_reversed(b"", false), b"/");
        assert_eq!(join_reversed(b"c\0b\0", true), b".../b/c");
        assert_eq!(join_reversed(b"memfd:x\0", false), b"/memfd:x");
    }

    fn with(audit: u16, exe: &[u8], cwd: &[u8]) -> Event {
        let mut e = Event {
            audit: Audit(audit),
            fname_len: 3,
            args_len: 2,
            ..Default::default()
        };
        e.area[..3].copy_from_slice(b"/x\0");
        e.area[3..5].copy_from_slice(b"x\0");
        e.area[5..5 + exe.len()].copy_from_slice(exe);
        e.area[5 + exe.len()..5 + exe.len() + cwd.len()].copy_from_slice(cwd);
        e.exe_len = exe.len() as u16;
        e.cwd_len = cwd.len() as u16;
        e
    }

    #[test]
    fn exe_cwd_and_flags_decode() {
        let e = with(AUDIT_EXE | AUDIT_CWD, b"true\0bin\0", b"tmp\0");
        assert_eq!(exe(&e).expect("exe"), b"/bin/true");
        assert_eq!(cwd(&e).expect("cwd"), b"/tmp");
        assert_eq!(flags_text(&e), "-");
        let e = with(AUDIT_EXE | EXE_MEMFD, b"memfd:payload\0", b"");
        assert_eq!(exe(&e).expect("exe"), b"/memfd:payload (deleted)");
        assert_eq!(cwd(&e), None, "not read");
        assert!(fileless(&e));
        let e = with(AUDIT_EXE | EXE_DELETED | EXE_UPPER, b"a\0", b"");
        assert_eq!(flags_text(&e), "deleted,upper");
        // A name removed while another hard link remains: /proc's " (deleted)", not deleted.
        let e = with(
            AUDIT_EXE | AUDIT_CWD | EXE_UNLINKED | CWD_DELETED,
            b"a\0",
            b"d\0",
        );
        assert_eq!(exe(&e).expect("exe"), b"/a (deleted)");
        assert_eq!(exe_path(&e).expect("exe"), b"/a");
        assert_eq!(cwd(&e).expect("cwd"), b"/d (deleted)");
        assert!(!fileless(&e));
        assert_eq!(flags_text(&e), "-");
        // Flags are not believed without the part that carries them.
        assert!(!fileless(&with(EXE_MEMFD, b"", b"")));
    }

    #[test]
    fn relative_paths_are_made_absolute_by_name() {
        let abs = |f: &[u8], cwd: Option<&[u8]>| {
            absolute(f, cwd).map(|p| String::from_utf8_lossy(&p).into_owned())
        };
        assert_eq!(
            abs(b"./s.sh", Some(b"/tmp/t10")).as_deref(),
            Some("/tmp/t10/s.sh")
        );
        assert_eq!(
            abs(b"../../tmp/s", Some(b"/home/u")).as_deref(),
            Some("/tmp/s")
        );
        assert_eq!(abs(b"/usr/../tmp//./s", None).as_deref(), Some("/tmp/s"));
        assert_eq!(abs(b"/../..", None).as_deref(), Some("/"));
        assert_eq!(abs(b"s.sh", None), None);
    }

    #[test]
    fn tty_names() {
        let mut e = with(AUDIT_TTY | HAS_TTY, b"", b"");
        e.tty_name[..3].copy_from_slice(b"pts");
        e.tty_index = 3;
        assert_eq!(tty(&e), Some(Some("pts/3".into())));
        e.tty_name[..4].copy_from_slice(b"ttyS");
        e.tty_index = 0;
        assert_eq!(tty(&e), Some(Some("ttyS0".into())));
        assert_eq!(tty(&with(AUDIT_TTY, b"", b"")), Some(None));
        assert_eq!(tty(&with(0, b"", b"")), None);
    }
}
