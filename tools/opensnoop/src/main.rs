// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! opensnoop: trace open(), openat() and openat2(). Based on opensnoop(8) from BCC by Brendan
//! Gregg and its libbpf-tools port; options and columns follow libbpf-tools.

mod args;
mod flags;
mod format;

use std::mem::MaybeUninit;

use blazesym::symbolize::source::{Process, Source};
use blazesym::symbolize::{Input, Reason, Symbolized, Symbolizer};
use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle;
use common::metrics::{self, Labels};
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{OpenOpensnoopProgs, OpensnoopSkelBuilder, types};
use crate::format::Columns;

common::tool_main!();

// SAFETY: the generated event type is plain integers (dir_flags a C enum's transparent u8
// newtype) and byte arrays with explicit padding.
unsafe impl plain::Plain for types::opensnoop_event {}
common::event_record!(types::opensnoop_event);

/// Syscalls traced, each attached only where its tracepoints exist (no `open` on arm64, no
/// `openat2` before 5.6).
const SYSCALLS: [&str; 3] = ["open", "openat", "openat2"];

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
    lifecycle::start(args.event.common.verbose)?;
    let hooks = probe::traceable_syscalls(&SYSCALLS)?;
    if hooks.is_empty() {
        return Err(Error::fatal(
            "no open syscall tracepoints on this kernel (needs CONFIG_FTRACE_SYSCALLS)",
        ));
    }

    let mut storage = MaybeUninit::uninit();
    let builder = OpensnoopSkelBuilder::default();
    let (mut open, kind) =
        common::open_events!(builder, &mut storage, args, pid, tid, uid, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.targ_failed = args.failed;
        if let Some(c) = plan.comm {
            ro.filter_comm = true;
            ro.targ_comm_len = c.iter().position(|&b| b == 0).unwrap_or(c.len()) as u32;
            ro.targ_comm = c;
        }
        if let Some(f) = plan.flag_filter {
            ro.filter_flags = true;
            ro.targ_flag_bits = f.bits;
            ro.targ_accmodes = f.accmodes;
        }
        ro.want_callers = args.callers;
    }
    choose_programs(&mut open.progs, &hooks, args.full_path);
    let skel = lifecycle::load(open)?;
    common::cgroup::install(plan.cgroup.as_ref(), &skel.maps.cgroup_map)?;
    let tool = Opensnoop {
        cols: Columns {
            timestamp: args.timestamp,
            uid: args.print_uid,
            extended: args.extended,
            full_path: args.full_path,
            callers: args.callers,
        },
        symbolizer: args.callers.then(Symbolizer::new),
    };
    let run = Run::new(kind, &args.event, args.duration);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let what = format!("the {} syscall tracepoints", hooks.join(", "));
        let links = lifecycle::attach_loaded(skel.object(), &what)?;
        let hooks = format!(
            "to syscalls:sys_{{enter,exit}}_{{{}}} tracepoints",
            hooks.join(",")
        );
        Ok((links, hooks))
    })
}

/// Load the entry and exit of each syscall this kernel has. Each exit has a -F twin that walks
/// directories; loading only the one in use spares libbpf the CO-RE relocations (and start-up
/// time) of the other.
fn choose_programs(p: &mut OpenOpensnoopProgs<'_>, hooks: &[&str], full_path: bool) {
    for (sc, enter, exit, exit_full) in [
        (
            "open",
            &mut p.enter_open,
            &mut p.exit_open,
            &mut p.exit_open_full,
        ),
        (
            "openat",
            &mut p.enter_openat,
            &mut p.exit_openat,
            &mut p.exit_openat_full,
        ),
        (
            "openat2",
            &mut p.enter_openat2,
            &mut p.exit_openat2,
            &mut p.exit_openat2_full,
        ),
    ] {
        let on = hooks.contains(&sc);
        enter.set_autoload(on);
        exit.set_autoload(on && !full_path);
        exit_full.set_autoload(on && full_path);
    }
}

struct Opensnoop {
    cols: Columns,
    symbolizer: Option<Symbolizer>,
}

impl Opensnoop {
    fn callers(&self, e: &types::opensnoop_event) -> Vec<String> {
        match &self.symbolizer {
            Some(s) => resolve_callers(s, e),
            None => Vec::new(),
        }
    }
}

impl EventTool for Opensnoop {
    type Event = types::opensnoop_event;

    const METRIC_HELP: &'static str = "Opens traced, by errno (0: success)";
    const LABEL_NAMES: &'static [&'static str] = &["errno"];

    fn min_len(&self) -> usize {
        std::mem::offset_of!(types::opensnoop_event, path)
    }

    fn header(&self) -> Option<String> {
        Some(self.cols.header())
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let callers = self.callers(e);
        format::text_row(&self.cols, e, &times.hms(e.ts_ns), &callers, out);
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let callers = self.callers(e);
        format::json_row(&self.cols, e, &times.rfc3339(e.ts_ns), &callers, out);
    }

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("errno", metrics::errno_label(e.ret)));
    }
}

/// Name the two user-space callers, `function:line` where debug info has the line. Needs the
/// process to still exist: a caller of an exited process shows as its address. A caller in
/// no mapping of the live process is not a return address (a frame-pointer walk through code
/// without frame pointers, see opensnoop.bpf.c): it and the callers after it are left out.
fn resolve_callers(s: &Symbolizer, e: &types::opensnoop_event) -> Vec<String> {
    let addrs: Vec<u64> = e.callers.iter().copied().take_while(|&a| a != 0).collect();
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
        .map_while(|(i, addr)| match syms.get(i) {
            Some(Symbolized::Sym(sym)) => Some(match sym.code_info.as_ref().and_then(|c| c.line) {
                Some(line) => format!("{}:{line}", sym.name),
                None => sym.name.to_string(),
            }),
            Some(Symbolized::Unknown(Reason::Unmapped)) => None,
            _ => Some(format!("{addr:#x}")),
        })
        .collect()
}
