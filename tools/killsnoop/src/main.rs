// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! killsnoop: trace signals sent with kill(), tkill() and tgkill(), with the sender, the target
//! and the result. Based on killsnoop(8) from BCC by Brendan Gregg and libbpf-tools' sigsnoop
//! (whose killsnoop name traces these syscalls only); options and columns follow libbpf-tools.

mod args;
mod format;

use std::mem::MaybeUninit;

use common::buffer::BufferKind;
use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle::{self, Storage};
use common::metrics::Labels;
use common::probe;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{KillsnoopSkelBuilder, types};

common::tool_main!();

// SAFETY: plain integers, byte arrays, and a one-byte enum the BPF side sets to its values only.
unsafe impl plain::Plain for types::killsnoop_event {}
common::event_record!(types::killsnoop_event);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.event.common.verbose)?;
    let syscalls = probe::traceable_syscalls(&["kill", "tkill", "tgkill"])?;
    if syscalls.is_empty() {
        return Err(Error::fatal(
            "the kill syscall tracepoints are missing (needs CONFIG_FTRACE_SYSCALLS)",
        ));
    }

    // TCOMM's task lookup (bpf_task_from_pid, 6.2) where the kernel lets tracepoint programs
    // call it; a kernel that has it but refuses it there gets a second load without it.
    // FERROSCOPE_DISABLE=kfuncs forces that path.
    let mut first = MaybeUninit::uninit();
    let mut second = MaybeUninit::uninit();
    let attempt = if probe::disabled("kfuncs") {
        None
    } else {
        Some(common::log::quietly(|| {
            load(&args, &syscalls, true, &mut first)
        }))
    };
    let (skel, kind) = match attempt {
        Some(Ok(loaded)) => loaded,
        Some(Err(e)) => {
            common::log::verbose(format!(
                "{TOOL}: the TCOMM lookup was refused ({e}); loading without it"
            ));
            load(&args, &syscalls, false, &mut second)?
        }
        None => load(&args, &syscalls, false, &mut second)?,
    };
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let tool = Killsnoop { names: args.name };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "the kill syscall hooks")?;
        Ok((
            links,
            format!("to syscalls:sys_{{enter,exit}}_{{{}}}", syscalls.join(",")),
        ))
    })
}

/// Open, configure and load the object; `lookup_tcomm` keeps the target's task lookup.
fn load<'obj>(
    args: &Args,
    syscalls: &[&str],
    lookup_tcomm: bool,
    storage: &'obj mut Storage,
) -> Result<(bpf::KillsnoopSkel<'obj>, BufferKind)> {
    let builder = KillsnoopSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, storage, args, pid, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.sig_mask = args.signal.unwrap_or(0);
        ro.failed_only = args.failed;
        ro.lookup_tcomm = lookup_tcomm;
    }
    let p = &mut open.progs;
    for (sc, enter, exit) in [
        ("kill", &mut p.enter_kill, &mut p.exit_kill),
        ("tkill", &mut p.enter_tkill, &mut p.exit_tkill),
        ("tgkill", &mut p.enter_tgkill, &mut p.exit_tgkill),
    ] {
        let on = syscalls.contains(&sc);
        enter.set_autoload(on);
        exit.set_autoload(on);
    }
    Ok((lifecycle::load(open)?, kind))
}

struct Killsnoop {
    /// `-n`: signal names instead of numbers.
    names: bool,
}

impl EventTool for Killsnoop {
    type Event = types::killsnoop_event;

    const METRIC_HELP: &'static str = "Signals sent, by signal and errno (0: delivered)";
    const LABEL_NAMES: &'static [&'static str] = &["signal", "errno"];

    common::hms_rows!(format, header(), names);

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("signal", format::signal_name(e.sig)));
        out.push(("errno", common::metrics::errno_label(e.ret)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn libbpf_tools_recipes_parse() {
        let a = Args::try_parse_from(["killsnoop", "-xkn", "-p", "1216", "-s", "9,15"])
            .expect("parses");
        assert!(a.failed && a.kill && a.name);
        assert_eq!((a.pid, a.signal), (Some(1216), Some(1 << 8 | 1 << 14)));
        assert!(Args::try_parse_from(["killsnoop", "-s", "0"]).is_err());
    }
}
