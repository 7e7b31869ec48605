// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Stacks for the stack-sampling tools (profile, offcputime): the BPF stack map read by id
//! ([`StackMap`], with the stacks that could not be read counted for libbpf-tools' end-of-run
//! WARNING), symbolization ([`Symbols`], blazesym), and the three renderings of one counted
//! stack: libbpf-tools' multi-line entry ([`multi_line`]), the folded line flame-graph tools
//! read ([`folded_line`]) and a JSON object ([`json_object`]); [`flamegraph`] writes `--svg`.
//!
//! The BPF side is `bpf/stacks.bpf.h`: its `stackmap` (sized with [`size_map`] before load)
//! and `ferro_stack_id()`, whose ids (negative: an errno) a tool keeps in its counts key.
//!
//! Use, in a tool's `run()` after sampling:
//!
//! ```ignore
//! let map = StackMap::new(&skel.maps.stackmap);
//! let mut syms = Symbols::new();
//! let kernel = map.kernel(&mut syms, key.kern_stack_id.into());
//! let user = map.user(&mut syms, pid, key.user_stack_id.into());
//! // then render:
//! folded_line(&mut out, comm, &user, &kernel, delimited, count);
//! // at the end, on stderr:
//! for w in map.warning().into_iter().chain(syms.warnings()) { eprintln!("{w}") }
//! ```

pub mod flamegraph;
mod symbols;

use std::cell::Cell;
use std::io::Write;

use libbpf_rs::{MapCore, MapFlags, OpenMapMut};

use crate::error::{Error, Result};
use crate::output::escape_text;

pub use symbols::{Frame, Symbols, Unknown};

/// libbpf-tools' default number of stacks the map keeps (`--stack-storage-size`).
pub const DEFAULT_STORAGE_SIZE: u32 = 1024;
/// libbpf-tools' default frames per stack (`--perf-max-stack-depth`), the kernel's default
/// `kernel.perf_event_max_stack`.
pub const DEFAULT_MAX_DEPTH: u32 = 127;
/// Most stacks `--stack-storage-size` accepts: at 127 frames a stack, 64 MiB of kernel memory
/// (allocated whole when the map is created; BCC's profile.py defaults to 16384).
pub const MAX_STORAGE_SIZE: u32 = 1 << 16;

/// `kernel.perf_event_max_stack` (`/proc/sys/kernel/perf_event_max_stack`, 4.8+): the most
/// frames a stack map's value may hold (the kernel refuses a larger map with EINVAL);
/// [`DEFAULT_MAX_DEPTH`] where the file cannot be read (older kernels fixed it at 127).
pub fn kernel_max_depth() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_stack")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_DEPTH)
}

/// Check `--perf-max-stack-depth` (`depth`, frames) against [`kernel_max_depth`] before any BPF
/// work: a usage error naming the option, the range and the sysctl that raises it, worded as
/// every range error (`invalid value 'N' for '--perf-max-stack-depth <..>': must be an integer
/// from 1 to MAX`).
pub fn check_depth(depth: u32) -> Result<()> {
    let max = kernel_max_depth();
    if depth == 0 || depth > max {
        return Err(Error::usage(format!(
            "invalid value '{depth}' for '--perf-max-stack-depth <PERF-MAX-STACK-DEPTH>': \
             must be an integer from 1 to {max} (kernel.perf_event_max_stack)"
        )));
    }
    Ok(())
}

/// Size the stack map before load: `entries` stacks (`--stack-storage-size`) of `depth`
/// frames (`--perf-max-stack-depth`, 8 bytes each), as libbpf-tools does.
pub fn size_map(map: &mut OpenMapMut<'_>, entries: u32, depth: u32) -> Result<()> {
    let bytes = depth
        .checked_mul(8)
        .ok_or_else(|| Error::usage(format!("--perf-max-stack-depth {depth}: too large")))?;
    map.set_max_entries(entries)
        .and_then(|()| map.set_value_size(bytes))
        .map_err(|e| Error::from(e).context("sizing the stack map"))
}

/// What one stack id of the counts map stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stack {
    /// The instruction pointers, leaf (innermost frame) first.
    Frames(Vec<u64>),
    /// No such stack: -EFAULT from `bpf_get_stackid()` (a kernel thread's user stack, the
    /// kernel stack of a sample taken in user mode), or a stack the tool did not collect. Not
    /// a loss: printed as nothing, as libbpf-tools does.
    Absent,
    /// A stack taken but lost: the id's bucket held another stack (-EEXIST), the map was full
    /// (-ENOMEM), or the id is no longer in the map. Printed as `[Missed Kernel Stack]` /
    /// `[Missed User Stack]` and counted for [`StackMap::warning`].
    Missed,
}

/// The BPF stack map (`stackmap` of `bpf/stacks.bpf.h`, `BPF_MAP_TYPE_STACK_TRACE`) read by
/// id, counting the stacks that could not be shown.
pub struct StackMap<'m> {
    map: &'m dyn MapCore,
    missed: Cell<u64>,
    collision: Cell<bool>,
}

impl<'m> StackMap<'m> {
    pub fn new(map: &'m dyn MapCore) -> Self {
        Self {
            map,
            missed: Cell::new(0),
            collision: Cell::new(false),
        }
    }

    /// The stack of `id` as `bpf_get_stackid()` returned it (see [`Stack`]). Each call on a
    /// missed stack counts one for [`StackMap::warning`]: read each id of each entry once.
    pub fn read(&self, id: i64) -> Stack {
        let stack = match u32::try_from(id) {
            Ok(key) => match self.map.lookup(&key.to_ne_bytes(), MapFlags::ANY) {
                Ok(Some(bytes)) => Stack::Frames(ips(&bytes)),
                _ => Stack::Missed,
            },
            Err(_) if id == -i64::from(libc::EFAULT) => Stack::Absent,
            Err(_) => {
                if id == -i64::from(libc::EEXIST) {
                    self.collision.set(true);
                }
                Stack::Missed
            }
        };
        if stack == Stack::Missed {
            self.missed.set(self.missed.get() + 1);
        }
        stack
    }

    /// The kernel stack `id` ([`StackMap::read`]) symbolized ([`Symbols::kernel`]), ready to
    /// render.
    pub fn kernel(&self, syms: &mut Symbols, id: i64) -> Part {
        self.read(id).symbolized(|ips| syms.kernel(ips))
    }

    /// The user stack `id` of process `pid` ([`StackMap::read`]) symbolized through that
    /// process's files ([`Symbols::user`]), ready to render.
    pub fn user(&self, syms: &mut Symbols, pid: u32, id: i64) -> Part {
        self.read(id).symbolized(|ips| syms.user(pid, ips))
    }

    /// Stacks read so far that could not be shown.
    pub fn missed(&self) -> u64 {
        self.missed.get()
    }

    /// libbpf-tools' end-of-run line for stderr when a stack could not be shown:
    /// `WARNING: N stack traces could not be displayed.`, with ` Consider increasing
    /// --stack-storage-size.` when one was lost to a hash collision (profile.c).
    pub fn warning(&self) -> Option<String> {
        warning(self.missed.get(), self.collision.get())
    }
}

fn warning(missed: u64, collision: bool) -> Option<String> {
    (missed > 0).then(|| {
        format!(
            "WARNING: {missed} stack traces could not be displayed.{}",
            if collision {
                " Consider increasing --stack-storage-size."
            } else {
                ""
            }
        )
    })
}

/// A stack map value: native-endian u64 instruction pointers, the unused tail zeroed.
fn ips(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(u64::from_ne_bytes))
        .take_while(|&ip| ip != 0)
        .collect()
}

impl Stack {
    /// This stack as a [`Part`]: its frames through `symbolize`, or what stands for it.
    fn symbolized(self, symbolize: impl FnOnce(&[u64]) -> Vec<Frame>) -> Part {
        match self {
            Stack::Frames(ips) => Part::Frames(symbolize(&ips)),
            Stack::Absent => Part::Absent,
            Stack::Missed => Part::Missed,
        }
    }
}

/// One side (kernel or user) of a counted stack, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Symbolized frames, leaf first.
    Frames(Vec<Frame>),
    /// Lost ([`Stack::Missed`]): rendered as the `[Missed Kernel Stack]` frame.
    Missed,
    /// Nothing to show ([`Stack::Absent`]).
    Absent,
}

/// Which side of a stack: names the missed-stack frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Kernel,
    User,
}

impl Side {
    /// libbpf-tools' frame for a stack that could not be read.
    pub fn missed(self) -> &'static str {
        match self {
            Side::Kernel => "[Missed Kernel Stack]",
            Side::User => "[Missed User Stack]",
        }
    }
}

/// One counted stack for [`multi_line`]: its two sides, who ran it and its count.
pub struct Entry<'a> {
    pub kernel: &'a Part,
    pub user: &'a Part,
    /// The task's comm as the kernel stored it (escaped when printed).
    pub comm: &'a [u8],
    /// The process (profile) or thread (offcputime) id printed after the comm.
    pub id: u32,
    /// Samples (profile) or microseconds (offcputime).
    pub count: u64,
}

/// libbpf-tools' multi-line entry (profile.c): kernel frames leaf to root, `--` between the
/// two stacks when `delimited` and a kernel stack was printed, user frames leaf to root, each
/// `    FRAME`; then `    -                COMM (ID)` and `        COUNT` and an empty line.
/// `frame` writes one frame's text ([`Frame::name`], or [`Frame::verbose`] for `-v`).
pub fn multi_line(
    out: &mut Vec<u8>,
    e: &Entry<'_>,
    delimited: bool,
    mut frame: impl FnMut(&Frame, Side) -> String,
) {
    let kernel_shown = side_lines(out, e.kernel, Side::Kernel, &mut frame);
    if delimited && kernel_shown && *e.user != Part::Absent {
        out.extend_from_slice(b"    --\n");
    }
    side_lines(out, e.user, Side::User, &mut frame);
    let comm = crate::output::escaped(crate::decode::c_bytes(e.comm));
    let _ = writeln!(out, "    {:<16} {comm} ({})", "-", e.id);
    let _ = writeln!(out, "        {}\n", e.count);
}

/// Write one side's lines; whether anything was written.
fn side_lines(
    out: &mut Vec<u8>,
    part: &Part,
    side: Side,
    frame: &mut impl FnMut(&Frame, Side) -> String,
) -> bool {
    match part {
        Part::Frames(frames) => {
            for f in frames {
                out.extend_from_slice(b"    ");
                escape_text(out, frame(f, side).as_bytes());
                out.push(b'\n');
            }
            !frames.is_empty()
        }
        Part::Missed => {
            let _ = writeln!(out, "    {}", side.missed());
            true
        }
        Part::Absent => false,
    }
}

/// The folded line flamegraph.pl and inferno read: `COMM;USER..;KERNEL.. COUNT`, frames from
/// root to leaf, user frames before kernel ones, `;-` between them when `delimited` and both
/// are there (libbpf-tools' profile -f -d). Text escaped as every column is, and `;` (the frame
/// separator) in a name written `\x3b`, so a JIT's or a comm's own `;` cannot split a frame.
pub fn folded_line(
    out: &mut Vec<u8>,
    comm: &[u8],
    user: &Part,
    kernel: &Part,
    delimited: bool,
    count: u64,
) {
    folded_text(out, crate::decode::c_bytes(comm));
    folded_side(out, user, Side::User);
    if delimited && *user != Part::Absent && *kernel != Part::Absent {
        out.extend_from_slice(b";-");
    }
    folded_side(out, kernel, Side::Kernel);
    let _ = writeln!(out, " {count}");
}

fn folded_side(out: &mut Vec<u8>, part: &Part, side: Side) {
    match part {
        Part::Frames(frames) => {
            for f in frames.iter().rev() {
                out.push(b';');
                folded_text(out, f.name().as_bytes());
            }
        }
        Part::Missed => {
            out.push(b';');
            out.extend_from_slice(side.missed().as_bytes());
        }
        Part::Absent => {}
    }
}

fn folded_text(out: &mut Vec<u8>, text: &[u8]) {
    let start = out.len();
    escape_text(out, text);
    if out[start..].contains(&b';') {
        let tail: Vec<u8> = out.split_off(start);
        for b in tail {
            if b == b';' {
                out.extend_from_slice(b"\\x3b");
            } else {
                out.push(b);
            }
        }
    }
}

/// One counted stack as a JSON object on one line: `pid` (or the key `id_name`), `comm`,
/// `count` (samples or microseconds, named by `count_name`), `kernel_stack` and `user_stack`
/// (arrays of [`Frame::json`] objects, leaf first; empty when absent or missed), and
/// `kernel_stack_missed` / `user_stack_missed` (true when the stack was taken but lost).
pub fn json_object(out: &mut Vec<u8>, e: &Entry<'_>, id_name: &str, count_name: &str) {
    let mut j = crate::output::JsonLine::new(out);
    j.u64(id_name, u64::from(e.id));
    j.str("comm", crate::decode::c_bytes(e.comm));
    j.u64(count_name, e.count);
    for (name, part) in [("kernel_stack", e.kernel), ("user_stack", e.user)] {
        let mut arr = Vec::new();
        arr.push(b'[');
        if let Part::Frames(frames) = part {
            for (i, f) in frames.iter().enumerate() {
                if i > 0 {
                    arr.push(b',');
                }
                f.json(&mut arr);
            }
        }
        arr.push(b']');
        j.raw(name, &arr);
        j.bool(&format!("{name}_missed"), *part == Part::Missed);
    }
    j.finish();
}

/// A title for a flame graph or a banner: the command line, each argument escaped as text
/// ([`crate::output::escaped`]), joined by spaces, the program as its file name alone
/// (`profile -F 99 -p 1234`).
pub fn command_line() -> String {
    let mut args = std::env::args_os();
    let program = args
        .next()
        .map(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or(p)
        })
        .unwrap_or_default();
    std::iter::once(program)
        .chain(args)
        .map(|a| crate::output::escaped(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(names: &[&str]) -> Part {
        Part::Frames(names.iter().map(|n| Frame::named(0x1000, n)).collect())
    }

    #[test]
    fn stack_values_end_at_the_first_zero() {
        let mut b = Vec::new();
        for ip in [0xffff_ffff_8100_0010u64, 0x4010, 0, 0] {
            b.extend_from_slice(&ip.to_ne_bytes());
        }
        assert_eq!(ips(&b), vec![0xffff_ffff_8100_0010, 0x4010]);
        assert!(ips(&[]).is_empty());
    }

    #[test]
    fn warning_as_libbpf_tools() {
        assert_eq!(warning(0, false), None);
        assert_eq!(
            warning(3, false).as_deref(),
            Some("WARNING: 3 stack traces could not be displayed.")
        );
        assert_eq!(
            warning(1, true).as_deref(),
            Some(
                "WARNING: 1 stack traces could not be displayed. \
                 Consider increasing --stack-storage-size."
            )
        );
    }

    #[test]
    fn multi_line_golden() {
        let kernel = frames(&["asm_sysvec_apic_timer_interrupt", "do_syscall_64"]);
        let user = frames(&["spin_here", "main"]);
        let e = Entry {
            kernel: &kernel,
            user: &user,
            comm: b"spinner\0\0\0",
            id: 4242,
            count: 97,
        };
        let mut out = Vec::new();
        multi_line(&mut out, &e, false, |f, _| f.name().into_owned());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "    asm_sysvec_apic_timer_interrupt\n    do_syscall_64\n    spin_here\n    main\n    \
             -                spinner (4242)\n        97\n\n"
        );
        let mut out = Vec::new();
        multi_line(&mut out, &e, true, |f, _| f.name().into_owned());
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("do_syscall_64\n    --\n    spin_here\n")
        );

        // A lost kernel stack and no user stack (a kernel thread): no delimiter.
        let e = Entry {
            kernel: &Part::Missed,
            user: &Part::Absent,
            comm: b"kworker/0:1",
            id: 12,
            count: 1,
        };
        let mut out = Vec::new();
        multi_line(&mut out, &e, true, |f, _| f.name().into_owned());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "    [Missed Kernel Stack]\n    -                kworker/0:1 (12)\n        1\n\n"
        );
    }

    #[test]
    fn folded_golden() {
        let kernel = frames(&["leafk", "rootk"]);
        let user = frames(&["spin_here", "main"]);
        let mut out = Vec::new();
        folded_line(&mut out, b"spinner", &user, &kernel, false, 97);
        folded_line(&mut out, b"spinner", &user, &kernel, true, 3);
        folded_line(&mut out, b"a;b\n", &Part::Missed, &Part::Absent, false, 1);
        folded_line(&mut out, b"x", &frames(&["f;g"]), &Part::Absent, true, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "spinner;main;spin_here;rootk;leafk 97\n\
             spinner;main;spin_here;-;rootk;leafk 3\n\
             a\\x3bb\\n;[Missed User Stack] 1\n\
             x;f\\x3bg 2\n"
        );
    }

    #[test]
    fn json_golden() {
        let kernel = Part::Missed;
        let user = Part::Frames(vec![Frame::named(0x401000, "spin_here")]);
        let e = Entry {
            kernel: &kernel,
            user: &user,
            comm: b"spin\"ner\0",
            id: 7,
            count: 5,
        };
        let mut out = Vec::new();
        json_object(&mut out, &e, "pid", "count");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"pid\":7,\"comm\":\"spin\\\"ner\",\"count\":5,\"kernel_stack\":[],\
             \"kernel_stack_missed\":true,\"user_stack\":[{\"address\":4198400,\
             \"symbol\":\"spin_here\",\"offset\":0,\"module\":null}],\"user_stack_missed\":false}\n"
        );
    }
}
