// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Kernel feature probes that test the real thing: a map is created, a program is loaded and
//! attached. Presence of a symbol or a config line proves nothing (a kernel can list
//! `tcp_v4_connect` in kallsyms and still have no kprobes; it can have BTF and refuse fentry).

use std::ffi::CString;
use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::btf::{self, KernelBtf};
use crate::error::{Error, Result};

/// The names `FERROSCOPE_DISABLE` takes: each is a kernel feature (or, `pmu`, the hardware
/// cycle counter) that some tool probes before choosing a hook, map or buffer.
pub const FEATURES: [&str; 9] = [
    "atomics",
    "block_io_start",
    "fentry",
    "kfuncs",
    "kprobes",
    "pmu",
    "ringbuf",
    "task_storage",
    "tp_btf",
];

/// Features listed in `FERROSCOPE_DISABLE` (comma-separated names of [`FEATURES`]) probe as
/// absent, so every fallback path can be tested on a kernel that has it all.
pub fn disabled(feature: &str) -> bool {
    debug_assert!(FEATURES.contains(&feature), "{feature} is not in FEATURES");
    std::env::var("FERROSCOPE_DISABLE")
        .map(|v| v.split(',').any(|f| f.trim() == feature))
        .unwrap_or(false)
}

/// Refuse a `FERROSCOPE_DISABLE` that names something no probe knows (a typo such as `tpbtf`
/// would otherwise test the preferred path while its user believes the fallback ran). Empty
/// items are allowed (`tp_btf,`). Errors: the message, naming the first unknown item.
pub fn check_disabled_features() -> std::result::Result<(), String> {
    use std::os::unix::ffi::OsStrExt as _;
    match std::env::var_os("FERROSCOPE_DISABLE") {
        Some(v) => check_feature_list(v.as_bytes()),
        None => Ok(()),
    }
}

fn check_feature_list(list: &[u8]) -> std::result::Result<(), String> {
    let known = |f: &[u8]| FEATURES.iter().any(|k| k.as_bytes() == f);
    match list
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .find(|f| !f.is_empty() && !known(f))
    {
        None => Ok(()),
        Some(f) => Err(format!(
            "FERROSCOPE_DISABLE: unknown feature '{}' (known: {})",
            crate::error::shown(f),
            FEATURES.join(", ")
        )),
    }
}

/// Where libbpf looks for tracefs, in its order: the debugfs path first, then tracefs itself.
const TRACEFS_CANDIDATES: [&str; 2] = ["/sys/kernel/debug/tracing", "/sys/kernel/tracing"];
const TRACEFS_MOUNT: &str = "/sys/kernel/tracing";
/// Set when tracefs is mounted but this process cannot read it (see [`tracepoint_exists`]).
static TRACEFS_UNREADABLE: AtomicBool = AtomicBool::new(false);

/// Return the mounted tracefs directory, mounting it at /sys/kernel/tracing when it is not
/// mounted anywhere (attaching a tracepoint needs its `events/*/id` files).
pub fn tracefs() -> Result<&'static Path> {
    static DIR: OnceLock<Result<PathBuf>> = OnceLock::new();
    DIR.get_or_init(find_or_mount_tracefs)
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

fn find_or_mount_tracefs() -> Result<PathBuf> {
    let mounted = |d: &str| Path::new(d).join("events").is_dir();
    if let Some(d) = TRACEFS_CANDIDATES.iter().find(|d| mounted(d)) {
        return Ok(PathBuf::from(d));
    }
    // Not visible, but perhaps mounted where this user may not look: /sys/kernel/tracing is
    // mode 0700 root by default, and CAP_BPF with CAP_PERFMON do not bypass file permissions.
    // Mounting again would fail with EPERM and blame the wrong thing.
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if let Some(d) = TRACEFS_CANDIDATES
        .iter()
        .find(|d| tracefs_mount_points(&mountinfo).any(|m| m == **d))
    {
        let why = fs::read_dir(Path::new(d).join("events"))
            .err()
            .map_or_else(|| "not a directory".to_owned(), |e| e.to_string());
        TRACEFS_UNREADABLE.store(true, Ordering::Relaxed);
        return Err(unreadable_tracefs(d, &why));
    }
    let src = CString::new("nodev").map_err(|e| Error::fatal(e.to_string()))?;
    let target = CString::new(TRACEFS_MOUNT).map_err(|e| Error::fatal(e.to_string()))?;
    let fstype = CString::new("tracefs").map_err(|e| Error::fatal(e.to_string()))?;
    // SAFETY: all pointers are valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 && mounted(TRACEFS_MOUNT) {
        return Ok(PathBuf::from(TRACEFS_MOUNT));
    }
    let why = std::io::Error::last_os_error();
    Err(Error::fatal(format!(
        "tracefs is not mounted and mounting it failed ({why}); \
         run: mount -t tracefs nodev {TRACEFS_MOUNT} (kernel needs CONFIG_FTRACE)"
    )))
}

/// The error [`tracefs`] gave when tracefs is mounted but this process cannot read it (None
/// otherwise, or before anything asked for tracefs): for a tracepoint attach refused with
/// EACCES, which is then why.
pub fn unreadable_tracefs_error() -> Option<Error> {
    if !TRACEFS_UNREADABLE.load(Ordering::Relaxed) {
        return None;
    }
    tracefs().err()
}

/// The mount points of tracefs in `/proc/self/mountinfo` text (proc(5): the fifth field is the
/// mount point, the filesystem type follows the ` - ` separator).
fn tracefs_mount_points(mountinfo: &str) -> impl Iterator<Item = &str> {
    mountinfo.lines().filter_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let point = left.split(' ').nth(4)?;
        (right.split(' ').next()? == "tracefs").then_some(point)
    })
}

/// The error for a tracefs mounted at `dir` whose `events/*/id` files this process cannot read
/// (`why`), with the three fixes that work (tested on 6.18 with CAP_BPF and CAP_PERFMON).
fn unreadable_tracefs(dir: &str, why: &str) -> Error {
    Error::fatal(format!(
        "tracefs is mounted at {dir} but this user cannot read its tracepoint ids ({why}); \
         run as root, or add CAP_DAC_READ_SEARCH to CAP_BPF and CAP_PERFMON, or let a group \
         read tracefs: mount -o remount,gid=GROUP,mode=0750 {dir}"
    ))
}

/// Does tracepoint `category:name` exist on this kernel? Where tracefs is mounted but this
/// process may not read it (CAP_BPF and CAP_PERFMON without CAP_DAC_READ_SEARCH), the answer
/// comes from the kernel's BTF instead: every tracepoint defined with TRACE_EVENT has a
/// `btf_trace_<name>` typedef there (the type tp_btf programs attach through), so a tool that
/// attaches by tp_btf or raw tracepoint needs no tracefs. Syscall tracepoints have no such
/// typedef, so for them the tracefs error stands.
pub fn tracepoint_exists(category: &str, name: &str) -> Result<bool> {
    let dir = match tracefs() {
        Ok(dir) => dir,
        Err(e) if category != "syscalls" && TRACEFS_UNREADABLE.load(Ordering::Relaxed) => {
            let typedef = format!("btf_trace_{name}");
            return with_vmlinux_btf(|b| match b {
                Some(b) => Ok(b.find(btf::KIND_TYPEDEF, &typedef).is_some()),
                None => Err(e),
            });
        }
        Err(e) => return Err(e),
    };
    Ok(dir
        .join("events")
        .join(category)
        .join(name)
        .join("id")
        .exists())
}

/// Which of `syscalls` have both their `sys_enter_*` and `sys_exit_*` tracepoints here.
pub fn traceable_syscalls<'a>(syscalls: &[&'a str]) -> Result<Vec<&'a str>> {
    let mut found = Vec::new();
    for &sc in syscalls {
        if tracepoint_exists("syscalls", &format!("sys_enter_{sc}"))?
            && tracepoint_exists("syscalls", &format!("sys_exit_{sc}"))?
        {
            found.push(sc);
        }
    }
    Ok(found)
}

/// The kernel's own BTF, which every CO-RE program needs.
pub fn require_btf() -> Result<()> {
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Ok(());
    }
    Err(Error::fatal(
        "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing); \
         boot a kernel built with CONFIG_DEBUG_INFO_BTF=y",
    ))
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn effective_caps() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// The error for a perf event (a classic tracepoint's or a kprobe's, which BPF programs attach
/// through) refused with EACCES to a process holding CAP_PERFMON but not CAP_SYS_ADMIN, where
/// `kernel.perf_event_paranoid` is above 2: Debian's kernels (3 by default) and Android's
/// refuse perf_event_open(2) then to all but CAP_SYS_ADMIN (Debian's patch "security,perf:
/// Allow further restriction of perf_event_open"; mainline stops at 2). None where that does
/// not apply. tp_btf and raw tracepoints need no perf event, so those tools still run.
pub fn perf_events_restricted_error() -> Option<Error> {
    let level = fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").ok()?;
    let level: i32 = level.trim().parse().ok()?;
    let caps = effective_caps()?;
    (level > 2 && caps & (1u64 << CAP_SYS_ADMIN) == 0).then(|| perf_events_restricted(level))
}

fn perf_events_restricted(level: i32) -> Error {
    Error::fatal(format!(
        "kernel.perf_event_paranoid is {level}: above 2 (Debian's default) the kernel opens \
         perf events, which tracepoints and kprobes attach through, only with CAP_SYS_ADMIN, \
         CAP_PERFMON notwithstanding; run as root, or add CAP_SYS_ADMIN, or allow CAP_PERFMON: \
         sysctl kernel.perf_event_paranoid=2"
    ))
}

/// The error for a BPF map or program refused with EPERM on a kernel that charges BPF memory
/// to the locked-memory limit, RLIMIT_MEMLOCK (kernels before 5.11; 5.11 moved it to the
/// memory cgroup, commit "bpf: switch to memcg-based memory accounting"), where that limit is
/// finite: libbpf raises it to unlimited before loading, which only root or CAP_SYS_RESOURCE
/// may do, so a user with CAP_BPF alone is refused as soon as the maps outgrow the limit
/// (64 KiB by default before 5.16). None where that does not apply.
pub fn memlock_refusal_error() -> Option<Error> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    if !charges_memlock(&release) {
        return None;
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(Error::refused(format!(
        "the kernel refused to create the BPF maps: kernel {} charges them to the locked-memory \
         limit (RLIMIT_MEMLOCK, {} KiB here; kernels before 5.11), which only root or \
         CAP_SYS_RESOURCE may raise; run as root, add CAP_SYS_RESOURCE, or raise the limit \
         (ulimit -l unlimited, or LimitMEMLOCK=infinity in a systemd unit)",
        release.trim(),
        limit.rlim_cur / 1024
    )))
}

/// Whether a kernel of this release (`/proc/sys/kernel/osrelease`, e.g. `5.10.0-32-amd64`)
/// charges BPF memory to RLIMIT_MEMLOCK: before 5.11. An unparsable release counts as a
/// newer kernel (no advice rather than wrong advice).
fn charges_memlock(release: &str) -> bool {
    let mut parts = release.trim().split(['.', '-']);
    let mut number = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (number(), number()) {
        (Some(major), Some(minor)) => (major, minor) < (5, 11),
        _ => false,
    }
}

/// Fail early, with the fix, when the process cannot load BPF programs.
pub fn require_privileges() -> Result<()> {
    let Some(caps) = effective_caps() else {
        return Ok(()); // cannot tell; let the load report what is wrong
    };
    let has = |c: u32| caps & (1u64 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let mut missing = Vec::new();
    if !has(CAP_BPF) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_PERFMON) {
        missing.push("CAP_PERFMON");
    }
    Err(Error::fatal(format!(
        "missing privileges ({} or CAP_SYS_ADMIN); run as root, e.g. with sudo",
        missing.join(" and ")
    )))
}

/// Can this kernel create BPF ring buffers (5.8+)?
pub fn ringbuf() -> bool {
    if disabled("ringbuf") {
        return false;
    }
    // SAFETY: plain FFI call with a valid enum value and no options.
    unsafe {
        libbpf_sys::libbpf_probe_bpf_map_type(libbpf_sys::BPF_MAP_TYPE_RINGBUF, std::ptr::null())
            == 1
    }
}

/// Does the verifier accept BPF atomics beyond add (compare-and-swap, 5.12+)? Programs that
/// use them need a fallback before that.
pub fn bpf_atomics() -> bool {
    if disabled("atomics") {
        return false;
    }
    // r1 = 0; *(u64 *)(r10 - 8) = r1; r0 = 0; r1 = 1;
    // r0 = cmpxchg_64(r10 - 8, r0, r1); exit
    const PROG: [[u8; 8]; 6] = [
        [0xb7, 0x01, 0, 0, 0, 0, 0, 0],
        [0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0],
        [0xb7, 0x00, 0, 0, 0, 0, 0, 0],
        [0xb7, 0x01, 0, 0, 1, 0, 0, 0],
        [0xdb, 0x1a, 0xf8, 0xff, 0xf1, 0, 0, 0],
        [0x95, 0, 0, 0, 0, 0, 0, 0],
    ];
    load_prog(libbpf_sys::BPF_PROG_TYPE_SOCKET_FILTER, &PROG, 0, 0).is_some()
}

/// `r0 = 0; exit`: the smallest program the verifier accepts.
const RETURN_ZERO: [[u8; 8]; 2] = [[0xb7, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]];

fn load_tracing_prog(attach_type: libbpf_sys::bpf_attach_type, btf_id: u32) -> Option<OwnedFd> {
    load_prog(
        libbpf_sys::BPF_PROG_TYPE_TRACING,
        &RETURN_ZERO,
        attach_type,
        btf_id,
    )
}

fn load_prog(
    prog_type: libbpf_sys::bpf_prog_type,
    insns: &[[u8; 8]],
    attach_type: libbpf_sys::bpf_attach_type,
    btf_id: u32,
) -> Option<OwnedFd> {
    let opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        expected_attach_type: attach_type,
        attach_btf_id: btf_id,
        ..Default::default()
    };
    let mut opts = opts;
    let license = c"GPL";
    // SAFETY: the instructions are valid 8-byte bpf_insn records; pointers outlive the call.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            prog_type,
            std::ptr::null(),
            license.as_ptr(),
            insns.as_ptr().cast(),
            insns.len() as _,
            &mut opts,
        )
    };
    // SAFETY: a non-negative return is a new fd that we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

thread_local! {
    /// vmlinux BTF, read at most once per process by the probes and by biolatency's name
    /// tables (see [`crate::btf`] for why not through libbpf).
    static VMLINUX: std::cell::OnceCell<Option<KernelBtf>> = const { std::cell::OnceCell::new() };
}

/// Run `f` with the running kernel's BTF (None when it cannot be read).
pub fn with_vmlinux_btf<R>(f: impl FnOnce(Option<&KernelBtf>) -> R) -> R {
    VMLINUX.with(|cell| f(cell.get_or_init(KernelBtf::vmlinux).as_ref()))
}

fn vmlinux_btf_id(name: &str, kind: u32) -> Option<u32> {
    with_vmlinux_btf(|btf| btf?.find(kind, name))
}

/// Can a `tp_btf` program be loaded for tracepoint `name` (e.g. `sched_switch`)?
pub fn tp_btf(name: &str) -> bool {
    if disabled("tp_btf") {
        return false;
    }
    let Some(id) = vmlinux_btf_id(&format!("btf_trace_{name}"), btf::KIND_TYPEDEF) else {
        return false;
    };
    load_tracing_prog(libbpf_sys::BPF_TRACE_RAW_TP, id).is_some()
}

/// Can an fentry program be loaded and attached to kernel function `func`? Hardened kernels
/// refuse trampolines with EPERM even when BTF lists the function; that counts as "no".
pub fn fentry(func: &str) -> bool {
    if disabled("fentry") {
        return false;
    }
    let Some(id) = vmlinux_btf_id(func, btf::KIND_FUNC) else {
        return false;
    };
    let Some(prog) = load_tracing_prog(libbpf_sys::BPF_TRACE_FENTRY, id) else {
        return false;
    };
    use std::os::fd::AsRawFd;
    // SAFETY: valid program fd; NULL name is how tracing programs are attached.
    let link = unsafe { libbpf_sys::bpf_raw_tracepoint_open(std::ptr::null(), prog.as_raw_fd()) };
    if link < 0 {
        return false;
    }
    // SAFETY: a new fd we own; dropping it detaches the probe link.
    drop(unsafe { OwnedFd::from_raw_fd(link) });
    true
}

/// Can this kernel create task-local storage maps (BPF_MAP_TYPE_TASK_STORAGE, 5.11+)?
/// FERROSCOPE_DISABLE=task_storage answers no. Scheduler hooks need more: see
/// [`lockless_task_storage`].
pub fn task_storage() -> bool {
    if disabled("task_storage") {
        return false;
    }
    // SAFETY: plain FFI call with a valid enum value and no options.
    unsafe {
        libbpf_sys::libbpf_probe_bpf_map_type(
            libbpf_sys::BPF_MAP_TYPE_TASK_STORAGE,
            std::ptr::null(),
        ) == 1
    }
}

/// May programs on scheduler hooks keep data in task-local storage? The first use for a task
/// allocates it, and those hooks run with a runqueue lock held. Since 6.4 the kernel takes that
/// memory from bpf_mem_alloc's per-CPU caches (marked by `bpf_local_storage_map.bpf_ma`);
/// before, it called kmalloc there, which can wake kswapd and so take a runqueue lock again.
pub fn lockless_task_storage() -> bool {
    !disabled("task_storage")
        && with_vmlinux_btf(|btf| {
            btf.is_some_and(|b| b.has_member("bpf_local_storage_map", "bpf_ma"))
        })
}

/// Does the kernel have kprobes? The kprobe PMU is what libbpf attaches through (with the
/// legacy `kprobe_events` file as its fallback); a symbol in /proc/kallsyms is not enough.
pub fn kprobes() -> bool {
    if disabled("kprobes") {
        return false;
    }
    if Path::new("/sys/bus/event_source/devices/kprobe/type").exists() {
        return true;
    }
    tracefs()
        .map(|d| d.join("kprobe_events").exists())
        .unwrap_or(false)
}

/// Is `name` a kernel function with a text symbol (`t`/`T` in /proc/kallsyms), which [`kprobes`]
/// can attach to? A function inlined everywhere has none. The kernel's BTF is asked first:
/// reading kallsyms takes seconds on an emulated CPU, and a function BTF does not list is
/// almost always one that was inlined.
pub fn kernel_function(name: &str) -> bool {
    if vmlinux_btf_id(name, btf::KIND_FUNC).is_none() {
        return false;
    }
    std::fs::read_to_string("/proc/kallsyms").is_ok_and(|t| {
        t.lines().any(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, sym) = (f.next(), f.next(), f.next());
            matches!(kind, Some("t" | "T")) && sym == Some(name)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_lists_name_what_they_refuse_golden() {
        assert_eq!(check_feature_list(b""), Ok(()));
        assert_eq!(check_feature_list(b"tp_btf, atomics,task_storage,"), Ok(()));
        assert_eq!(
            check_feature_list(b"tp_btf,tpbtf"),
            Err(
                "FERROSCOPE_DISABLE: unknown feature 'tpbtf' (known: atomics, block_io_start, \
                 fentry, kfuncs, kprobes, pmu, ringbuf, task_storage, tp_btf)"
                    .to_owned()
            )
        );
        let e = check_feature_list(b"\x1b[2J\xff").expect_err("unknown");
        assert!(
            e.starts_with("FERROSCOPE_DISABLE: unknown feature '\\e[2J\\xff' "),
            "{e}"
        );
    }

    #[test]
    fn kernels_before_5_11_charge_bpf_memory_to_memlock() {
        assert!(charges_memlock("5.10.0-32-amd64\n"));
        assert!(charges_memlock("4.19.0-27-amd64"));
        assert!(!charges_memlock("5.11.0"));
        assert!(!charges_memlock("6.1.0-57-amd64"));
        assert!(!charges_memlock("6.18.44-fc-v857"));
        assert!(!charges_memlock("garbage"));
        assert!(!charges_memlock(""));
    }

    #[test]
    fn tracefs_mount_points_from_mountinfo() {
        let mountinfo = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n\
            42 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs nodev rw\n\
            43 24 0:7 / /sys/kernel/debug rw - debugfs debugfs rw\n\
            44 43 0:13 / /sys/kernel/debug/tracing rw shared:9 - tracefs tracefs rw,gid=4\n\
            bad line\n";
        assert_eq!(
            tracefs_mount_points(mountinfo).collect::<Vec<_>>(),
            ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        );
    }

    #[test]
    fn restricted_perf_events_name_the_fixes() {
        assert_eq!(
            perf_events_restricted(3).message(),
            "kernel.perf_event_paranoid is 3: above 2 (Debian's default) the kernel opens perf \
             events, which tracepoints and kprobes attach through, only with CAP_SYS_ADMIN, \
             CAP_PERFMON notwithstanding; run as root, or add CAP_SYS_ADMIN, or allow \
             CAP_PERFMON: sysctl kernel.perf_event_paranoid=2"
        );
    }

    #[test]
    fn unreadable_tracefs_names_the_fixes() {
        assert_eq!(
            unreadable_tracefs("/sys/kernel/tracing", "Permission denied (os error 13)").message(),
            "tracefs is mounted at /sys/kernel/tracing but this user cannot read its tracepoint \
             ids (Permission denied (os error 13)); run as root, or add CAP_DAC_READ_SEARCH to \
             CAP_BPF and CAP_PERFMON, or let a group read tracefs: mount -o \
             remount,gid=GROUP,mode=0750 /sys/kernel/tracing"
        );
    }

    #[test]
    fn capability_parse_of_this_process_does_not_panic() {
        let _ = effective_caps();
    }

    /// A mis-encoded probe program would send every kernel down the fallback path unseen.
    #[test]
    fn atomics_probe_passes_on_a_kernel_that_has_them() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut v = release
            .split(['.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 || (major, minor) < (5, 12) || disabled("atomics") {
            eprintln!("skipped: needs root and a 5.12+ kernel (have {release:?})");
            return;
        }
        assert!(bpf_atomics(), "cmpxchg probe refused on {release:?}");
    }
}
