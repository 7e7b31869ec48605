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
use common::lifecycle::{self, Hooks, Storage};
use common::metrics::Labels;
use common::probe;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{BindsnoopSkelBuilder, types};

common::tool_main!();

// SAFETY: plain integers and byte arrays.
unsafe impl plain::Plain for types::bindsnoop_event {}
common::event_record!(types::bindsnoop_event);

/// How binds are caught: libbpf-tools' kprobes where the kernel has them (FERROSCOPE_DISABLE=
/// kprobes forces the other path), else the bind syscall's tracepoints.
const KPROBES: Hooks = Hooks {
    name: "kprobes",
    what: "kprobe:inet_bind, kretprobe:inet_bind, kprobe:inet6_bind, kretprobe:inet6_bind",
};
const TRACEPOINTS: Hooks = Hooks {
    name: "tracepoints",
    what: "syscalls:sys_enter_bind, syscalls:sys_exit_bind",
};

type Loaded<'obj> = (bpf::BindsnoopSkel<'obj>, BufferKind);

fn load<'obj>(args: &Args, hooks: Hooks, storage: &'obj mut Storage) -> Result<Loaded<'obj>> {
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
        prog.set_autoload(hooks == TRACEPOINTS);
    }
    for prog in [
        &mut p.kprobe_inet_bind,
        &mut p.kretprobe_inet_bind,
        &mut p.kprobe_inet6_bind,
        &mut p.kretprobe_inet6_bind,
    ] {
        prog.set_autoload(hooks == KPROBES);
    }
    Ok((hooks.load(open)?, kind))
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.event.common.verbose)?;
    let tracepoints = probe::traceable_syscalls(&["bind"])?.contains(&"bind");
    let first = if probe::kprobes() {
        KPROBES
    } else if tracepoints {
        TRACEPOINTS
    } else {
        return Err(Error::fatal(
            "no kprobes and no syscalls:sys_enter_bind tracepoint on this kernel \
             (CONFIG_FTRACE_SYSCALLS): nothing to trace bind() with",
        ));
    };
    let (mut storage, mut fallback) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((skel, kind), hooks) = lifecycle::load_hooks_or_fallback(
        TOOL,
        first,
        (first == KPROBES && tracepoints).then_some(TRACEPOINTS),
        [&mut storage, &mut fallback],
        |storage, hooks| load(&args, hooks, storage),
    )?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let tool = Bindsnoop {
        timestamp: args.timestamp,
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        hooks.attach(skel.object())
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

    common::hms_rows!(format, timestamp);

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("protocol", format::protocol(e.protocol).to_owned()));
        // The port asked for, not the one bound: each bind of port 0 gets a port of the
        // kernel's ephemeral range, which would make a series per bind.
        out.push(("port", e.requested_port.to_string()));
        out.push(("errno", common::metrics::errno_label(e.ret)));
    }
}
