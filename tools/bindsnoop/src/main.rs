// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! bindsnoop: trace bind() calls on IPv4 and IPv6 sockets, with the protocol, socket options,
//! device, port, address and result. Based on bindsnoop(8) from BCC by Pavel Dubovitsky and
//! its libbpf-tools port; options and columns follow libbpf-tools. Unlike it, it also works
//! without kprobes, and on kernels since 6.6 (see bpf/bindsnoop.bpf.c).

mod args;
mod format;

use std::mem::MaybeUninit;

use common::buffer::BufferKind;
use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle;
use common::metrics::Labels;
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{BindsnoopSkelBuilder, types};

common::tool_main!();

// SAFETY: plain integers and byte arrays.
unsafe impl plain::Plain for types::bindsnoop_event {}
common::event_record!(types::bindsnoop_event);

/// How binds are caught: libbpf-tools' kprobes where the kernel has them (FERROSCOPE_DISABLE=
/// kprobes forces the other path), else the bind syscall's tracepoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hooks {
    Kprobes,
    Tracepoints,
}

impl Hooks {
    fn name(self) -> &'static str {
        match self {
            Self::Kprobes => "kprobes",
            Self::Tracepoints => "tracepoints",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Kprobes => {
                "kprobe:inet_bind, kretprobe:inet_bind, kprobe:inet6_bind, \
                              kretprobe:inet6_bind"
            }
            Self::Tracepoints => "syscalls:sys_enter_bind, syscalls:sys_exit_bind",
        }
    }
}

type Loaded<'obj> = (bpf::BindsnoopSkel<'obj>, BufferKind);

fn load<'obj>(
    args: &Args,
    hooks: Hooks,
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
) -> Result<Loaded<'obj>> {
    let builder = BindsnoopSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, storage, args, pid, uid, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.include_failed = args.failed;
        if let Some(ports) = &args.ports {
            ro.n_ports = ports.fill(&mut ro.targ_ports);
        }
    }
    let p = &mut open.progs;
    for prog in [&mut p.sys_enter_bind, &mut p.sys_exit_bind] {
        prog.set_autoload(hooks == Hooks::Tracepoints);
    }
    for prog in [
        &mut p.kprobe_inet_bind,
        &mut p.kretprobe_inet_bind,
        &mut p.kprobe_inet6_bind,
        &mut p.kretprobe_inet6_bind,
    ] {
        prog.set_autoload(hooks == Hooks::Kprobes);
    }
    let skel =
        lifecycle::load(open).map_err(|e| e.context(format!("the {} path", hooks.name())))?;
    Ok((skel, kind))
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.event.common.verbose)?;
    let tracepoints = probe::traceable_syscalls(&["bind"])?.contains(&"bind");
    let first = if probe::kprobes() {
        Hooks::Kprobes
    } else if tracepoints {
        Hooks::Tracepoints
    } else {
        return Err(Error::fatal(
            "no kprobes and no syscalls:sys_enter_bind tracepoint on this kernel \
             (CONFIG_FTRACE_SYSCALLS): nothing to trace bind() with",
        ));
    };
    let mut storage = MaybeUninit::uninit();
    let mut fallback = MaybeUninit::uninit();
    let ((skel, kind), hooks) = match load(&args, first, &mut storage) {
        Ok(loaded) => (loaded, first),
        // Not when the kernel refused this user (privileges, a locked-memory limit): the
        // tracepoints path creates the same maps and is refused the same way.
        Err(e) if first == Hooks::Kprobes && tracepoints && !e.is_refusal() => {
            common::log::verbose(format_args!(
                "{TOOL}: the kprobes path failed to load ({e}); using tracepoints"
            ));
            (
                load(&args, Hooks::Tracepoints, &mut fallback)?,
                Hooks::Tracepoints,
            )
        }
        Err(e) => return Err(e),
    };
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let tool = Bindsnoop {
        timestamp: args.timestamp,
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), hooks.name())?;
        Ok((links, format!("via {} ({})", hooks.name(), hooks.what())))
    })
}

struct Bindsnoop {
    /// `-t`: the HH:MM:SS column.
    timestamp: bool,
}

impl EventTool for Bindsnoop {
    type Event = types::bindsnoop_event;

    const METRIC_HELP: &'static str =
        "Binds traced, by protocol, port asked for (0: any) and errno (0: success)";
    const LABEL_NAMES: &'static [&'static str] = &["protocol", "port", "errno"];

    fn header(&self) -> Option<String> {
        Some(format::header(self.timestamp))
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        format::text_row(self.timestamp, e, &times.hms(e.ts_ns), out);
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        format::json_row(e, &times.rfc3339(e.ts_ns), out);
    }

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("protocol", format::protocol(e.protocol).to_owned()));
        // The port asked for, not the one bound: each bind of port 0 gets a port of the
        // kernel's ephemeral range, which would make a series per bind.
        out.push(("port", e.requested_port.to_string()));
        out.push(("errno", common::metrics::errno_label(e.ret)));
    }
}
