// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What every tool goes through between its options and its output: checks before BPF work
//! ([`start`]), opening the generated skeleton ([`open`]), loading the programs it chose with
//! the skeleton's typed handles ([`load`], one permission hint for every tool), attaching
//! exactly those ([`attach_loaded`]). The drivers ([`crate::event_tool`],
//! [`crate::hist_tool`]) run what comes after.

use std::mem::MaybeUninit;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, OpenMapMut, OpenObject, OpenProgramMut};

use crate::error::{Error, Result};
use crate::{log, probe, signal};

/// After the options are checked and before any BPF work: logging at the verbosity asked for,
/// privileges and BTF ([`prepare`]), then the handler that turns Ctrl-C, SIGTERM and SIGHUP
/// into a clean stop.
pub fn start(verbose: u8) -> Result<()> {
    prepare(verbose)?;
    signal::install()
}

/// Open a generated skeleton (`<Tool>SkelBuilder::default()`) in `storage`, with the tool's
/// own process excluded in the kernel ([`exclude_self`]).
pub fn open<'obj, B: SkelBuilder<'obj>>(
    builder: B,
    storage: &'obj mut Storage,
) -> Result<B::Output> {
    let mut open = builder
        .open(storage)
        .map_err(|e| Error::from(e).context("opening the BPF object"))?;
    exclude_self(open.open_object_mut());
    Ok(open)
}

/// The rodata variable of `bpf/filter.bpf.h` that names the tool's own process.
const SELF_TGID_VAR: &str = "ferro_self_tgid";

/// Set `ferro_self_tgid` (bpf/filter.bpf.h) to this process's id, so that `ferro_task_wanted`
/// drops the tool's own activity: its own opens (the symbolizer reads /proc/PID/maps for
/// every record) would otherwise be new events without end. Found by name in the object's
/// BTF, so every tool gets it here; an object without the variable is left alone.
fn exclude_self(obj: &mut OpenObject) {
    use std::os::unix::ffi::OsStrExt;
    let Some(offset) = rodata_offset(obj, SELF_TGID_VAR) else {
        return;
    };
    let pid = std::process::id().to_ne_bytes();
    for mut map in obj.maps_mut() {
        if !map.name().as_bytes().ends_with(b".rodata") {
            continue;
        }
        if let Some(slot) = map
            .initial_value_mut()
            .and_then(|data| data.get_mut(offset..offset + pid.len()))
        {
            slot.copy_from_slice(&pid);
        }
    }
}

/// The byte offset of the 4-byte variable `name` in the object's `.rodata` section.
fn rodata_offset(obj: &OpenObject, name: &str) -> Option<usize> {
    use libbpf_rs::AsRawLibbpf;
    use libbpf_rs::btf::Btf;
    use libbpf_rs::btf::types::{DataSec, Var};
    // SAFETY: the pointer comes from a live OpenObject borrowed for this whole function.
    let raw = unsafe { obj.as_libbpf_object().as_ref() };
    let btf = Btf::from_bpf_object(raw).ok()??;
    let sec: DataSec<'_> = btf.type_by_name(".rodata")?;
    sec.iter().find_map(|v| {
        let var: Var<'_> = btf.type_by_id(v.ty)?;
        (var.name().is_some_and(|n| n == name) && v.size == 4)
            .then(|| usize::try_from(v.offset).ok())
            .flatten()
    })
}

/// Load a tool's object with its tp_btf programs where the kernel takes them (5.5+), else with
/// its raw or classic tracepoint ones: `load(storage, tp_btf)` opens, configures and loads into
/// `storage`. The tp_btf load is the probe (probing first would parse vmlinux BTF once more, a
/// few milliseconds of start-up on every run), so its failure is not logged;
/// FERROSCOPE_DISABLE=tp_btf skips it. Returns what `load` returned and whether tp_btf is used.
pub fn load_tp_btf_or_fallback<'obj, T>(
    first: &'obj mut Storage,
    second: &'obj mut Storage,
    mut load: impl FnMut(&'obj mut Storage, bool) -> Result<T>,
) -> Result<(T, bool)> {
    if !probe::disabled("tp_btf")
        && let Ok(loaded) = log::quietly(|| load(first, true))
    {
        return Ok((loaded, true));
    }
    Ok((load(second, false)?, false))
}

/// Load either the tp_btf programs `btf` or the raw tracepoint programs `raw` (the same hooks,
/// in the same order), as [`load_tp_btf_or_fallback`] chose: for a tool whose programs are
/// only the two sets.
pub fn autoload_tp_btf_or_raw<'a, 'obj: 'a, const N: usize>(
    btf: [&'a mut OpenProgramMut<'obj>; N],
    raw: [&'a mut OpenProgramMut<'obj>; N],
    tp_btf: bool,
) {
    for p in btf {
        p.set_autoload(tp_btf);
    }
    for p in raw {
        p.set_autoload(!tp_btf);
    }
}

/// Load the programs whose autoload is on (set through the skeleton's typed handles), and the
/// maps left to create. A refusal (EPERM) says how to fix it, the same for every tool.
pub fn load<'obj, O: OpenSkel<'obj>>(open: O) -> Result<O::Output> {
    open.load().map_err(load_error)
}

fn load_error(e: libbpf_rs::Error) -> Error {
    if e.kind() == libbpf_rs::ErrorKind::PermissionDenied {
        if let Some(memlock) = crate::probe::memlock_refusal_error() {
            return memlock;
        }
        return Error::refused(format!(
            "the kernel refused to load the BPF programs ({e}); run as root, and check \
             kernel.unprivileged_bpf_disabled and lockdown"
        ));
    }
    Error::from(e).context("loading the BPF programs")
}

/// Create only the maps marked `true`: a map no loaded program uses costs kernel memory (and
/// libbpf poisons the references left in code the verifier prunes).
pub fn create_maps<'a, 'obj: 'a>(
    maps: impl IntoIterator<Item = (&'a mut OpenMapMut<'obj>, bool)>,
) -> Result<()> {
    for (map, used) in maps {
        map.set_autocreate(used)
            .map_err(|e| Error::from(e).context("configuring the BPF maps"))?;
    }
    Ok(())
}

/// Attach every loaded program (those left to autoload); `what` names the hooks for an error.
/// The links detach when dropped.
pub fn attach_loaded(obj: &libbpf_rs::Object, what: &str) -> Result<Vec<Link>> {
    obj.progs_mut()
        .filter(|p| p.autoload())
        .map(|p| {
            let name = p.name().to_string_lossy().into_owned();
            p.attach().map_err(|e| {
                // Say why and how to fix it rather than a bare "Permission denied": a classic
                // tracepoint's id is read from tracefs, which this process may not read; and
                // a perf event may need CAP_SYS_ADMIN (perf_event_paranoid above 2).
                let denied = e.kind() == libbpf_rs::ErrorKind::PermissionDenied;
                let why = denied
                    .then(|| {
                        crate::probe::unreadable_tracefs_error()
                            .or_else(crate::probe::perf_events_restricted_error)
                    })
                    .flatten();
                let e = why.unwrap_or_else(|| Error::from(e));
                e.context(format!("attaching to {what} (program {name})"))
            })
        })
        .collect()
}

/// Where a skeleton's object lives: the caller keeps it, as the open and the loaded skeleton
/// borrow it (`&'obj mut Storage`), one for each load attempt (a fallback needs its own).
pub type Storage = MaybeUninit<OpenObject>;

/// One of the sets of programs a tool can catch its events with, where it chooses among
/// several by what the kernel offers (bindsnoop: libbpf-tools' kprobes, else the bind
/// syscall's tracepoints). The tool keeps its own sets as constants, compares the chosen one to
/// them to set each program's autoload, and names it through these methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hooks {
    /// The set's short name, for `-v` (`via kprobes`) and errors (`the kprobes path`).
    pub name: &'static str,
    /// The programs it attaches, as `-v` lists them (`kprobe:inet_bind, kretprobe:inet_bind`).
    pub what: &'static str,
}

impl Hooks {
    /// [`load`], an error saying which set failed (`the kprobes path: ...`), so that a tool
    /// falling back to the next set can tell why.
    pub fn load<'obj, O: OpenSkel<'obj>>(self, open: O) -> Result<O::Output> {
        load(open).map_err(|e| e.context(format!("the {} path", self.name)))
    }

    /// [`attach_loaded`] the loaded programs, and the `-v` line's account of them
    /// (`via kprobes (kprobe:inet_bind, ...)`), as `event_tool::run`'s `attach` returns them.
    pub fn attach(self, obj: &libbpf_rs::Object) -> Result<(Vec<Link>, String)> {
        let links = attach_loaded(obj, self.name)?;
        Ok((links, format!("via {} ({})", self.name, self.what)))
    }
}

/// Load with the hooks `first`, else, where that load failed for another reason than a refusal
/// of this user (privileges, a locked-memory limit: the `fallback` would be refused the same
/// way), with `fallback`, saying so at `-v` (`TOOL: the kprobes path failed to load (..); using
/// tracepoints`). `load(storage, hooks)` opens, configures and loads into `storage`, the first
/// of `storages` for `first`. Returns what `load` returned and the hooks it loaded.
pub fn load_hooks_or_fallback<'obj, T>(
    tool: &str,
    first: Hooks,
    fallback: Option<Hooks>,
    storages: [&'obj mut Storage; 2],
    mut load: impl FnMut(&'obj mut Storage, Hooks) -> Result<T>,
) -> Result<(T, Hooks)> {
    let [storage, fallback_storage] = storages;
    match load(storage, first) {
        Ok(loaded) => Ok((loaded, first)),
        Err(e) => match fallback {
            Some(next) if !e.is_refusal() => {
                log::verbose(format_args!(
                    "{tool}: the {} path failed to load ({e}); using {}",
                    first.name, next.name
                ));
                Ok((load(fallback_storage, next)?, next))
            }
            _ => Err(e),
        },
    }
}

/// The skeleton's read-only data, which only a mis-built object lacks.
pub fn rodata<T>(data: Option<&mut T>) -> Result<&mut T> {
    data.ok_or_else(|| Error::fatal("BPF object has no read-only data section"))
}

/// Once the options are checked, before any BPF work: route libbpf's log at the verbosity
/// asked for, and stop early, saying how to fix it, without the privileges or the BTF every
/// tool needs.
pub fn prepare(verbose: u8) -> Result<()> {
    log::init_logging(verbose);
    probe::require_privileges()?;
    probe::require_btf()
}

/// Runs of the loaded programs of `obj` that the kernel skipped because the same program was
/// already running on that CPU (`bpf_prog_info.recursion_misses`, counted by the trampoline of
/// fentry/tp_btf programs since Linux 5.12 and by raw tracepoints since 6.2; 0 where the kernel
/// does not count them). A skipped run is an event the program never saw: a tracepoint hit
/// from an interrupt that arrived while the program ran in the task it interrupted.
pub fn recursion_misses(obj: &libbpf_rs::Object) -> u64 {
    use std::os::fd::{AsFd as _, AsRawFd as _};
    obj.progs()
        .filter(|p| p.autoload())
        .map(|p| {
            let mut info = libbpf_sys::bpf_prog_info::default();
            let mut len = u32::try_from(std::mem::size_of_val(&info)).unwrap_or(u32::MAX);
            // SAFETY: `info` is a bpf_prog_info of `len` bytes; no array fields are asked for.
            let ret = unsafe {
                libbpf_sys::bpf_prog_get_info_by_fd(p.as_fd().as_raw_fd(), &mut info, &mut len)
            };
            if ret == 0 { info.recursion_misses } else { 0 }
        })
        .fold(0u64, u64::saturating_add)
}
