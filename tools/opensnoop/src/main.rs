// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! opensnoop: trace open(), openat() and openat2(). Based on opensnoop(8) from BCC by Brendan
//! Gregg and its libbpf-tools port; options and columns follow libbpf-tools.

mod args;
mod flags;
mod format;

mod bpf {
    include!(concat!(env!("OUT_DIR"), "/opensnoop.skel.rs"));
}

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use blazesym::symbolize::source::{Process, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use common::buffer::{self, EventStream, Flow};
use common::cli;
use common::decode::copy_prefix;
use common::error::{Error, Result};
use common::event_loop;
use common::output::Printer;
use common::time::{WallClock, hms, rfc3339};
use common::{probe, signal};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

use crate::args::Args;
use crate::bpf::{OpensnoopSkelBuilder, types};
use crate::format::Columns;

const INFO: common::tool::ToolInfo = common::tool_info!();
const TOOL: &str = INFO.name;

// SAFETY: the generated event type is plain integers and byte arrays with explicit padding.
unsafe impl plain::Plain for types::opensnoop_event {}

/// Syscalls traced, each attached only where its tracepoints exist (no `open` on arm64, no
/// `openat2` before 5.6).
const SYSCALLS: [&str; 3] = ["open", "openat", "openat2"];

fn main() -> ExitCode {
    common::error::report(TOOL, run())
}

/// Options turned into what the BPF program and the printer need, checked before any BPF work.
struct Plan {
    args: Args,
    flag_filter: Option<flags::FlagFilter>,
    comm: Option<[u8; 16]>,
    cgroup: Option<common::cgroup::CgroupV2>,
}

fn plan(args: Args) -> Result<Plan> {
    let flag_filter = if args.flag_filter.is_empty() {
        None
    } else {
        Some(flags::parse_filter(&args.flag_filter).map_err(Error::usage)?)
    };
    let comm = match &args.name {
        None => None,
        Some(n) => {
            let b = cli::comm_filter(TOOL, "-n", n)?;
            let mut c = [0u8; cli::TASK_COMM_LEN];
            c[..b.len()].copy_from_slice(&b);
            Some(c)
        }
    };
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    Ok(Plan {
        args,
        flag_filter,
        comm,
        cgroup,
    })
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let plan = plan(args)?;
    let args = &plan.args;
    common::lifecycle::prepare(args.common.verbose)?;

    let hooks = probe::traceable_syscalls(&SYSCALLS)?;
    if hooks.is_empty() {
        return Err(Error::fatal(
            "no open syscall tracepoints on this kernel (needs CONFIG_FTRACE_SYSCALLS)",
        ));
    }
    signal::install()?;

    let mut storage = MaybeUninit::uninit();
    let mut open = OpensnoopSkelBuilder::default()
        .open(&mut storage)
        .map_err(|e| Error::from(e).context("opening the BPF object"))?;
    let kind = buffer::configure(
        args.buffer.buffer,
        args.buffer.buffer_kib,
        &mut open.maps.events_rb,
        &mut open.maps.events_pb,
    )?;
    {
        let ro = common::lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.ferro_floor = args.common.floor;
        ro.use_perf_buffer = kind == buffer::BufferKind::PerfBuf;
        ro.targ_tgid = args.pid.unwrap_or(0);
        ro.targ_tid = args.tid.unwrap_or(0);
        if let Some(uid) = args.uid {
            ro.filter_uid = true;
            ro.targ_uid = uid;
        }
        ro.targ_failed = args.failed;
        if let Some(c) = plan.comm {
            ro.filter_comm = true;
            ro.targ_comm = c;
        }
        if let Some(f) = plan.flag_filter {
            ro.filter_flags = true;
            ro.targ_flag_bits = f.bits;
            ro.targ_accmodes = f.accmodes;
        }
        ro.filter_cgroup = plan.cgroup.is_some();
        ro.want_callers = args.callers;
    }
    // Each exit has a -F twin that walks directories; loading only the one in use spares
    // libbpf the CO-RE relocations (and start-up time) of the other.
    let full = if args.full_path { "_full" } else { "" };
    let wanted: Vec<String> = hooks
        .iter()
        .flat_map(|sc| [format!("enter_{sc}"), format!("exit_{sc}{full}")])
        .collect();
    common::lifecycle::load_only(open.open_object_mut(), &wanted)?;
    let skel = open.load().map_err(load_error)?;
    if let Some(cg) = &plan.cgroup {
        cg.install(&skel.maps.cgroup_map)?;
    }
    let cols = Columns {
        timestamp: args.timestamp,
        uid: args.print_uid,
        extended: args.extended,
        full_path: args.full_path,
        callers: args.callers,
    };
    let printer = Printer::new();
    let clock = WallClock::new();
    let symbolizer = args.callers.then(Symbolizer::new);
    let json = args.common.json;
    let mut line = Vec::with_capacity(512);
    let header_len = std::mem::offset_of!(types::opensnoop_event, path);
    let handle = |data: &[u8]| -> Flow {
        let Some(e) = copy_prefix::<types::opensnoop_event>(data, header_len) else {
            return Flow::Continue; // a short record is a kernel/tool mismatch; skip it
        };
        let when = clock.local(e.ts_ns);
        let callers = match &symbolizer {
            Some(s) => resolve_callers(s, &e),
            None => Vec::new(),
        };
        line.clear();
        if json {
            format::json_row(&cols, &e, &rfc3339(&when), &callers, &mut line);
        } else {
            format::text_row(&cols, &e, &hms(&when), &callers, &mut line);
        }
        printer.emit(&line)
    };
    let stream = EventStream::new(
        kind,
        args.buffer.buffer_kib,
        &skel.maps.events_rb,
        &skel.maps.events_pb,
        &skel.maps.events_lost,
        handle,
    )?;
    // Attach only once the stream exists: a perf buffer drops, uncounted, what is emitted
    // before its per-CPU buffers are in place.
    let links = common::lifecycle::attach_only(skel.object(), &wanted).map_err(|e| {
        e.context(format!(
            "attaching to the {} syscall tracepoints",
            hooks.join(", ")
        ))
    })?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to syscalls:sys_{{enter,exit}}_{{{}}} tracepoints; events through the {}",
        hooks.join(","),
        kind.name()
    ));

    if !args.common.json && !printer.emit_or_closed(cols.header().as_bytes())? {
        return Ok(());
    }

    // checked: a deadline the clock cannot represent is no deadline (the parser caps -d anyway).
    let deadline = args
        .duration
        .and_then(|s| Instant::now().checked_add(Duration::from_secs(s)));
    event_loop::run(TOOL, &stream, &printer, deadline)?;
    drop(links);
    Ok(())
}

fn load_error(e: libbpf_rs::Error) -> Error {
    if e.kind() == libbpf_rs::ErrorKind::PermissionDenied {
        return Error::fatal(format!(
            "the kernel refused to load the BPF programs ({e}); run as root, and check \
             kernel.unprivileged_bpf_disabled and lockdown"
        ));
    }
    Error::from(e).context("loading the BPF programs")
}

/// Name the two user-space callers, `function:line` where debug info has the line. Needs the
/// process to still exist: a caller of an exited process shows as its address.
fn resolve_callers(s: &Symbolizer, e: &types::opensnoop_event) -> Vec<String> {
    let addrs: Vec<u64> = e.callers.iter().copied().filter(|&a| a != 0).collect();
    if addrs.is_empty() {
        return Vec::new();
    }
    let src = Source::Process(Process::new(e.pid.into()));
    let syms = s
        .symbolize(&src, Input::AbsAddr(&addrs))
        .unwrap_or_default();
    addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| match syms.get(i) {
            Some(Symbolized::Sym(sym)) => match sym.code_info.as_ref().and_then(|c| c.line) {
                Some(line) => format!("{}:{line}", sym.name),
                None => sym.name.to_string(),
            },
            _ => format!("{addr:#x}"),
        })
        .collect()
}
