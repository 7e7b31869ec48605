// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Syscall and errno names. Both come from the `syscalls` crate, whose tables are generated from
//! the kernel's own (syscall_64.tbl and syscall_32.tbl for x86, the generic unistd.h for arm64 and
//! the 32-bit arm table, asm-generic/errno*.h for errnos) and which it keeps current with kernel
//! releases (0.8: Linux 6.17, up to file_setattr, 469). It is preferred to libbpf-tools' own copy
//! of the table (which stops at 438 in Debian's 0.26) and to `nix`/`errno`, which name errnos
//! but not syscalls: one crate for both. A number it does not know is `[unknown: N]`, as
//! libbpf-tools prints it.

use std::str::FromStr;

use syscalls::Errno;

/// The running architecture's own syscall table (x86_64 or arm64).
type Native = syscalls::Sysno;

/// The compat (32-bit) table whose numbers the BPF side reports for a compat task's syscalls,
/// with the ABI's name: i386 on x86_64. arm64's aarch32 tasks are not told apart (see
/// `compat_syscall` in bpf/syscount.bpf.c), so it has none.
#[cfg(target_arch = "x86_64")]
mod compat {
    pub type Sysno = syscalls::x86::Sysno;
    pub const ABI: &str = "i386";
}

/// The running architecture's name for its native syscalls, as `uname -m` says it.
pub const NATIVE_ABI: &str = std::env::consts::ARCH;

/// The name of syscall `nr` of the native table, or of the compat one.
pub fn syscall(nr: u32, compat: bool) -> Option<&'static str> {
    let nr = usize::try_from(nr).ok()?;
    if compat {
        #[cfg(target_arch = "x86_64")]
        return compat::Sysno::new(nr).map(|s| s.name());
        #[cfg(not(target_arch = "x86_64"))]
        return None;
    }
    Native::new(nr).map(|s| s.name())
}

/// The ABI a syscall number belongs to: `x86_64`, or `i386` for a compat task's.
pub fn abi(compat: bool) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if compat {
        return compat::ABI;
    }
    let _ = compat;
    NATIVE_ABI
}

/// The SYSCALL column: `read`, `[unknown: 470]` (libbpf-tools' words), and for a compat task's
/// syscall its ABI after the name: `getpid (i386)`, `[unknown: 999] (i386)`.
pub fn column(nr: u32, compat: bool) -> String {
    let name = syscall(nr, compat).map_or_else(|| format!("[unknown: {nr}]"), str::to_owned);
    if compat {
        format!("{name} ({})", abi(true))
    } else {
        name
    }
}

/// The native syscall named `name` (for the rodata the BPF side compares numbers with); -1 when
/// this architecture has none of that name.
pub fn native_nr(name: &str) -> i32 {
    Native::from_str(name).map_or(-1, |s| s.id())
}

/// The compat syscall named `name`; -1 when there is no compat table or no such syscall.
pub fn compat_nr(name: &str) -> i32 {
    #[cfg(target_arch = "x86_64")]
    return compat::Sysno::from_str(name).map_or(-1, |s| s.id());
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        -1
    }
}

/// `-l`: every syscall of the native table as libbpf-tools lists them, `"%3zd: %s"`.
pub fn list() -> String {
    // Every number up to the table's last, not `Sysno::iter()`: 0.8.1's stops one short of it.
    (0..=Native::last().id())
        .filter_map(|nr| usize::try_from(nr).ok().and_then(Native::new))
        .map(|s| format!("{:3}: {}\n", s.id(), s.name()))
        .collect()
}

/// The largest errno the kernel returns (include/linux/err.h MAX_ERRNO): a syscall's return
/// value from -4095 to -1 is an error.
pub const MAX_ERRNO: i32 = 4095;

/// The name of errno `e` (`ENOENT`), if it has one.
pub fn errno_name(e: i32) -> Option<&'static str> {
    Errno::new(e).name()
}

/// `-e ERRNO`: a number from 1 to [`MAX_ERRNO`] or a name, `ENOENT` or `enoent`, including the
/// aliases glibc defines for another errno's number (`EWOULDBLOCK` is `EAGAIN`, `EDEADLOCK`
/// `EDEADLK`, `ENOTSUP` `EOPNOTSUPP`: libc's constants, not the crate's table, which names each
/// number once). libbpf-tools takes any int and asks moreutils' `errno` for other names;
/// a number beyond MAX_ERRNO can never match, so it is refused.
pub fn parse_errno(s: &str) -> Result<i32, String> {
    let refuse =
        || format!("not an errno: a number from 1 to {MAX_ERRNO} or a name such as ENOENT");
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_ERRNO).contains(n))
            .ok_or_else(refuse);
    }
    let upper = t.to_ascii_uppercase();
    let alias = match upper.as_str() {
        "EWOULDBLOCK" => Some(libc::EWOULDBLOCK),
        "EDEADLOCK" => Some(libc::EDEADLOCK),
        "ENOTSUP" => Some(libc::ENOTSUP),
        _ => None,
    };
    alias
        .or_else(|| (1..=MAX_ERRNO).find(|&e| errno_name(e) == Some(upper.as_str())))
        .ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_kernel_tables() {
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(syscall(0, false), Some("read"));
            assert_eq!(syscall(110, false), Some("getppid"));
            // Past Debian's libbpf-tools 0.26 table (438): 6.6's and 6.17's additions.
            assert_eq!(syscall(439, false), Some("faccessat2"));
            assert_eq!(syscall(469, false), Some("file_setattr"));
            // i386: 20 is getpid there, writev in x86_64's table.
            assert_eq!(syscall(20, true), Some("getpid"));
            assert_eq!(column(20, true), "getpid (i386)");
            assert_eq!(column(20, false), "writev");
            assert_eq!(native_nr("exit_group"), 231);
            assert_eq!(compat_nr("exit_group"), 252);
            assert!(list().starts_with("  0: read\n  1: write\n"));
            assert!(list().ends_with("\n469: file_setattr\n"));
        }
        assert_eq!(column(1000, false), "[unknown: 1000]");
        assert_eq!(native_nr("no_such_syscall"), -1);
        assert_eq!(abi(false), NATIVE_ABI);
    }

    #[test]
    fn errnos_by_number_or_name() {
        assert_eq!(parse_errno("ENOENT"), Ok(libc::ENOENT));
        assert_eq!(parse_errno("enoent"), Ok(libc::ENOENT));
        assert_eq!(parse_errno("2"), Ok(2));
        assert_eq!(parse_errno("4095"), Ok(4095));
        assert_eq!(parse_errno("EWOULDBLOCK"), Ok(libc::EAGAIN));
        assert_eq!(parse_errno("ENOTSUP"), Ok(libc::EOPNOTSUPP));
        assert_eq!(parse_errno("EHWPOISON"), Ok(133));
        assert_eq!(errno_name(libc::EPERM), Some("EPERM"));
        for bad in [
            "0",
            "4096",
            "-2",
            "",
            "ENOPE",
            "99999999999999999999",
            "E NOENT",
        ] {
            assert!(parse_errno(bad).is_err(), "{bad}");
        }
    }
}
