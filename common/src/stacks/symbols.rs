// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Instruction pointers to function names, with blazesym.
//!
//! Kernel addresses resolve against the running kernel's vmlinux where blazesym finds one
//! that matches, else `/proc/kallsyms` (which also names BPF programs, `bpf_prog_<tag>_<name>`).
//! User addresses resolve per process from `/proc/PID/maps` through `/proc/PID/map_files/`,
//! that is through the process's own mount namespace and root: a process inside a container
//! resolves against its own binaries and libraries, not the host's files of the same name. A
//! JIT runtime's anonymous code resolves from `/tmp/perf-NSPID.map` as the process sees it
//! (`/proc/PID/root/tmp/...`, named by the PID the process sees in its own namespace).
//!
//! What a frame is when no symbol covers it (see [`Frame::name`]):
//! * `[FILE]` (the file's name, e.g. `[libfoo.so.1]`): the address is in a mapped file that
//!   has no symbol for it (a stripped binary), as perf and stackcollapse-perf.pl show it.
//!   Naming the file says which binary to rebuild with symbols, and keeps one flame-graph
//!   frame per binary rather than one per address (`FILE+0xOFF` would split them).
//! * `[unknown]`: no file behind the address (anonymous memory: a JIT without a perf map, or
//!   a bad frame-pointer walk), the process had exited before its stacks were read (counted,
//!   see [`Symbols::warnings`]), or symbolization failed.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use blazesym::Pid;
use blazesym::normalize::{Normalizer, UserMeta};
use blazesym::symbolize::source::{Kernel, Process, Source};
use blazesym::symbolize::{Input, Reason, Symbolized, Symbolizer};

use super::Side;

/// Why a frame has no symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// In a mapped file with no symbol for the address: a binary without symbols.
    NoSymbol,
    /// In no file: anonymous memory without a perf map, or not mapped at all.
    NoFile,
    /// The process had exited (its `/proc/PID` was gone) when its stacks were read.
    Exited,
    /// Symbolization failed otherwise (an unreadable file, `/proc/kallsyms`).
    Failed,
}

/// One frame of a stack, symbolized.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The instruction pointer as sampled.
    pub addr: u64,
    /// The function (demangled); `None` when unknown (see [`Frame::unknown`]).
    pub symbol: Option<String>,
    /// Bytes from the function's start to `addr` (0 without a symbol).
    pub offset: u64,
    /// User frames: the mapped file, as its path reads inside the process's own root.
    pub module: Option<String>,
    /// User frames: the offset of `addr` in `module`'s file.
    pub file_offset: Option<u64>,
    /// Why `symbol` is `None`.
    pub unknown: Option<Unknown>,
}

impl Frame {
    /// A frame known by name alone (tests, and tools naming a frame themselves).
    pub fn named(addr: u64, name: &str) -> Self {
        Self {
            addr,
            symbol: Some(name.to_string()),
            offset: 0,
            module: None,
            file_offset: None,
            unknown: None,
        }
    }

    fn unknown(addr: u64, why: Unknown) -> Self {
        Self {
            addr,
            symbol: None,
            offset: 0,
            module: None,
            file_offset: None,
            unknown: Some(why),
        }
    }

    /// The file name of `module` (no directories), if any.
    pub fn module_name(&self) -> Option<&str> {
        let m = self.module.as_deref()?;
        Some(m.rsplit('/').next().unwrap_or(m))
    }

    /// The frame's text in stacks and folded lines: the function's name; `[FILE]` for an
    /// address in a file without a symbol for it; else `[unknown]` (see the module docs).
    pub fn name(&self) -> Cow<'_, str> {
        match (&self.symbol, self.unknown, self.module_name()) {
            (Some(s), ..) => Cow::Borrowed(s),
            (None, Some(Unknown::NoSymbol), Some(m)) => Cow::Owned(format!("[{m}]")),
            _ => Cow::Borrowed("[unknown]"),
        }
    }

    /// The `-v` text, with the address and offsets (libbpf-tools' profile -v): kernel
    /// `0xADDR NAME+0xOFF`; user `0xADDR(16 digits) NAME+0xOFF (FILE+0xFILEOFF)`, the offset
    /// left out without a symbol and the file part without a file.
    pub fn verbose(&self, side: Side) -> String {
        let mut s = match side {
            Side::Kernel => format!("{:#x} {}", self.addr, self.name()),
            Side::User => format!("0x{:016x} {}", self.addr, self.name()),
        };
        if self.symbol.is_some() {
            s += &format!("+{:#x}", self.offset);
        }
        if let (Some(m), Some(off)) = (self.module_name(), self.file_offset) {
            s += &format!(" ({m}+{off:#x})");
        }
        s
    }

    /// The frame as a JSON object: `address` (number), `symbol` (string or null), `offset`
    /// (bytes into the symbol), `module` (the file's path inside the process's root, or null).
    pub fn json(&self, out: &mut Vec<u8>) {
        let mut inner = Vec::new();
        let mut j = crate::output::JsonLine::new(&mut inner);
        j.u64("address", self.addr);
        match &self.symbol {
            Some(s) => j.str("symbol", s.as_bytes()),
            None => j.null("symbol"),
        };
        j.u64("offset", self.offset);
        match &self.module {
            Some(m) => j.str("module", m.as_bytes()),
            None => j.null("module"),
        };
        j.finish();
        // JsonLine ends the object with a newline: this one is nested.
        inner.pop();
        let _ = out.write_all(&inner);
    }
}

/// Symbolizes stacks, caching every address once resolved: kernel addresses for the run,
/// user addresses per process. Processes are read when first asked for; one that has
/// exited by then gives `[unknown]` frames and is counted ([`Symbols::warnings`]).
pub struct Symbols {
    symbolizer: Symbolizer,
    normalizer: Normalizer,
    kernel: HashMap<u64, Frame>,
    processes: HashMap<u32, HashMap<u64, Frame>>,
    exited: BTreeSet<u32>,
    /// Processes whose symbolization failed otherwise, and the first error.
    failed: BTreeSet<u32>,
    user_error: Option<String>,
    kernel_error: Option<String>,
}

impl Default for Symbols {
    fn default() -> Self {
        Self::new()
    }
}

impl Symbols {
    pub fn new() -> Self {
        Self {
            // Names only: line numbers and inlined functions would cost DWARF parsing for a
            // text libbpf-tools never prints.
            symbolizer: Symbolizer::builder()
                .enable_code_info(false)
                .enable_inlined_fns(false)
                .build(),
            normalizer: Normalizer::builder()
                .enable_build_ids(false)
                .enable_vma_caching(true)
                .build(),
            kernel: HashMap::new(),
            processes: HashMap::new(),
            exited: BTreeSet::new(),
            failed: BTreeSet::new(),
            user_error: None,
            kernel_error: None,
        }
    }

    /// The frames of kernel instruction pointers `ips` (leaf first, as read).
    pub fn kernel(&mut self, ips: &[u64]) -> Vec<Frame> {
        let new: Vec<u64> = unique_missing(ips, &self.kernel);
        if !new.is_empty() {
            let src = Source::Kernel(Kernel::default());
            match self.symbolizer.symbolize(&src, Input::AbsAddr(&new)) {
                Ok(syms) => {
                    for (&addr, s) in new.iter().zip(syms.iter()) {
                        self.kernel.insert(addr, kernel_frame(addr, s));
                    }
                }
                Err(e) => {
                    self.kernel_error.get_or_insert_with(|| format!("{e:#}"));
                    for &addr in &new {
                        self.kernel
                            .insert(addr, Frame::unknown(addr, Unknown::Failed));
                    }
                }
            }
        }
        lookup(ips, &self.kernel)
    }

    /// The frames of user instruction pointers `ips` (leaf first) of process `pid` (the
    /// global tgid, as `bpf_get_current_pid_tgid()` gives it).
    pub fn user(&mut self, pid: u32, ips: &[u64]) -> Vec<Frame> {
        let cache = self.processes.entry(pid).or_default();
        let new = unique_missing(ips, cache);
        if !new.is_empty() {
            let frames = if pid == 0 {
                // Pid 0 would mean this process to blazesym; the idle task has no user stack.
                new.iter()
                    .map(|&a| Frame::unknown(a, Unknown::Failed))
                    .collect()
            } else {
                match resolve_user(&self.symbolizer, &self.normalizer, pid, &new) {
                    Ok(frames) => frames,
                    Err((why, e)) => {
                        if why == Unknown::Exited {
                            self.exited.insert(pid);
                        } else {
                            self.failed.insert(pid);
                            self.user_error.get_or_insert(e);
                        }
                        new.iter().map(|&a| Frame::unknown(a, why)).collect()
                    }
                }
            };
            for f in frames {
                cache.insert(f.addr, f);
            }
        }
        lookup(ips, cache)
    }

    /// Processes whose user stacks could not be symbolized because they had exited.
    pub fn exited(&self) -> usize {
        self.exited.len()
    }

    /// Lines for stderr at the end of a run, each saying what was not symbolized and why:
    /// processes that had exited, processes that could not be read (without CAP_SYS_ADMIN,
    /// /proc/PID/map_files cannot be), an unreadable kernel symbol table.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !self.exited.is_empty() {
            let n = self.exited.len();
            w.push(format!(
                "WARNING: {n} {} exited before their user stacks were symbolized; \
                 their frames show [unknown]",
                crate::output::plural(n as u64, "process", "processes")
            ));
        }
        if let Some(e) = &self.user_error {
            let n = self.failed.len();
            w.push(format!(
                "WARNING: user stacks of {n} {} not symbolized ({}); their frames show \
                 [unknown]",
                crate::output::plural(n as u64, "process", "processes"),
                crate::error::one_line(e)
            ));
        }
        if let Some(e) = &self.kernel_error {
            w.push(format!(
                "WARNING: kernel stacks not symbolized ({}); their frames show [unknown]",
                crate::error::one_line(e)
            ));
        }
        w
    }
}

/// The addresses of `ips` not yet in `cache`, once each.
fn unique_missing(ips: &[u64], cache: &HashMap<u64, Frame>) -> Vec<u64> {
    let mut new: Vec<u64> = ips
        .iter()
        .copied()
        .filter(|a| !cache.contains_key(a))
        .collect();
    new.sort_unstable();
    new.dedup();
    new
}

fn lookup(ips: &[u64], cache: &HashMap<u64, Frame>) -> Vec<Frame> {
    ips.iter()
        .map(|&a| {
            cache
                .get(&a)
                .cloned()
                .unwrap_or_else(|| Frame::unknown(a, Unknown::Failed))
        })
        .collect()
}

fn kernel_frame(addr: u64, s: &Symbolized<'_>) -> Frame {
    match s {
        Symbolized::Sym(sym) => Frame {
            addr,
            symbol: Some(sym.name.to_string()),
            offset: sym.offset as u64,
            module: None,
            file_offset: None,
            unknown: None,
        },
        Symbolized::Unknown(_) => Frame::unknown(addr, Unknown::NoSymbol),
    }
}

/// Whether a blazesym error means the process is gone (its /proc/PID files vanished).
fn gone(e: &blazesym::Error, pid: u32) -> bool {
    e.kind() == blazesym::ErrorKind::NotFound
        || !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Symbolize `addrs` (sorted, unique) of process `pid`: blazesym names the functions; the
/// normalizer names the file and the offset in it of each address (for `[FILE]` frames and
/// `-v`), from the same /proc/PID/maps.
/// On failure for the whole process: why (exited or not) and blazesym's error.
fn resolve_user(
    sym: &Symbolizer,
    norm: &Normalizer,
    pid: u32,
    addrs: &[u64],
) -> Result<Vec<Frame>, (Unknown, String)> {
    let files: Vec<(Option<String>, Option<u64>)> =
        match norm.normalize_user_addrs(Pid::from(pid), addrs) {
            Ok(n) => n
                .outputs
                .iter()
                .map(|&(off, idx)| match n.meta.get(idx) {
                    Some(UserMeta::Elf(elf)) => {
                        (Some(elf.path.to_string_lossy().into_owned()), Some(off))
                    }
                    _ => (None, None),
                })
                .collect(),
            Err(_) => vec![(None, None); addrs.len()],
        };
    let src = Source::Process(Process::new(Pid::from(pid)));
    let syms = match sym.symbolize(&src, Input::AbsAddr(addrs)) {
        Ok(s) => s,
        Err(e) => {
            let why = if gone(&e, pid) {
                Unknown::Exited
            } else {
                Unknown::Failed
            };
            return Err((why, format!("{e:#}")));
        }
    };
    Ok(addrs
        .iter()
        .enumerate()
        .map(|(i, &addr)| {
            let (module, file_offset) = files.get(i).cloned().unwrap_or((None, None));
            match syms.get(i) {
                Some(Symbolized::Sym(s)) => Frame {
                    addr,
                    symbol: Some(s.name.to_string()),
                    offset: s.offset as u64,
                    module,
                    file_offset,
                    unknown: None,
                },
                Some(Symbolized::Unknown(reason)) => {
                    let why = match reason {
                        Reason::Unmapped | Reason::MissingComponent => Unknown::NoFile,
                        _ if module.is_some() => Unknown::NoSymbol,
                        Reason::IgnoredError => Unknown::Failed,
                        _ => Unknown::NoFile,
                    };
                    Frame {
                        module,
                        file_offset,
                        ..Frame::unknown(addr, why)
                    }
                }
                None => Frame::unknown(addr, Unknown::Failed),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn ferroscope_symbols_test_target(x: u64) -> u64 {
        std::hint::black_box(x).wrapping_mul(3)
    }

    #[test]
    fn names_a_function_of_this_process() {
        let f: fn(u64) -> u64 = ferroscope_symbols_test_target;
        let addr = f as usize as u64;
        let mut s = Symbols::new();
        let frames = s.user(std::process::id(), &[addr, addr]);
        assert_eq!(frames.len(), 2);
        let name = frames[0].name();
        assert!(
            name.contains("ferroscope_symbols_test_target"),
            "got {frames:?}"
        );
        assert!(frames[0].module_name().is_some(), "got {frames:?}");
        assert!(
            frames[0]
                .verbose(Side::User)
                .starts_with(&format!("0x{addr:016x} "))
        );
        assert_eq!(s.exited(), 0);
    }

    #[test]
    fn an_exited_process_gives_unknown_frames_and_is_counted() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let mut s = Symbols::new();
        let frames = s.user(pid, &[0x401000, 0x401010]);
        assert!(frames.iter().all(|f| f.name() == "[unknown]"), "{frames:?}");
        assert_eq!(s.exited(), 1);
        assert!(
            s.warnings()[0].starts_with("WARNING: 1 process exited before"),
            "{:?}",
            s.warnings()
        );
    }

    #[test]
    fn names_of_unknown_frames() {
        let mut f = Frame::unknown(0x7f00_0000_1234, Unknown::NoSymbol);
        f.module = Some("/usr/lib/libstripped.so.1".into());
        f.file_offset = Some(0x1234);
        assert_eq!(f.name(), "[libstripped.so.1]");
        assert_eq!(
            f.verbose(Side::User),
            "0x00007f0000001234 [libstripped.so.1] (libstripped.so.1+0x1234)"
        );
        let f = Frame::unknown(0xffff_ffff_8100_0000, Unknown::Failed);
        assert_eq!(f.name(), "[unknown]");
        assert_eq!(f.verbose(Side::Kernel), "0xffffffff81000000 [unknown]");
        let mut f = Frame::named(0xffff_ffff_8100_0010, "do_syscall_64");
        f.offset = 0x10;
        assert_eq!(
            f.verbose(Side::Kernel),
            "0xffffffff81000010 do_syscall_64+0x10"
        );
    }
}
