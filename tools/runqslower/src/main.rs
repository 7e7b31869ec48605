// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqslower: trace tasks that waited on a run queue longer than a threshold. Based on
//! runqslower(8) from BCC by Ivan Babrou and its libbpf-tools port by Andrii Nakryiko; options
//! and columns follow libbpf-tools.

mod args;
mod format;

use std::mem::MaybeUninit;

use common::buffer::BufferKind;
use common::cli;
use common::error::Result;
use common::event_tool::{self, EventTool, Run};

use common::lifecycle::{self, Storage};
use common::probe;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{RunqslowerSkelBuilder, types};

common::tool_main!();

// SAFETY: plain integers and byte arrays.
unsafe impl plain::Plain for types::runqslower_event {}
// Its cgroup_id is the waiting task's (not current's, which is the task switched out).
common::event_record!(types::runqslower_event);

type Loaded<'obj> = (bpf::RunqslowerSkel<'obj>, BufferKind, bool);

/// Open, configure and load the programs of one path: tp_btf (with wakeup times in task
/// storage where the kernel allocates it without locks, 6.4+) or raw tracepoints.
fn load<'obj>(storage: &'obj mut Storage, args: &Args, tp_btf: bool) -> Result<Loaded<'obj>> {
    let task_storage = tp_btf && probe::lockless_task_storage();
    let builder = RunqslowerSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, storage, args, pid, tid)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.min_us = args.min_us;
        ro.use_task_storage = task_storage;
    }
    let p = &mut open.progs;
    for prog in [
        &mut p.btf_sched_wakeup,
        &mut p.btf_sched_wakeup_new,
        &mut p.btf_sched_switch,
    ] {
        prog.set_autoload(tp_btf);
    }
    for prog in [
        &mut p.raw_sched_wakeup,
        &mut p.raw_sched_wakeup_new,
        &mut p.raw_sched_switch,
    ] {
        prog.set_autoload(!tp_btf);
    }
    let m = &mut open.maps;
    lifecycle::create_maps([
        (&mut m.start, !task_storage),
        (&mut m.start_task, task_storage),
    ])?;
    Ok((lifecycle::load(open)?, kind, task_storage))
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    lifecycle::start(args.event.common.verbose)?;

    // tp_btf first, raw tracepoints if it does not load (kernels before 5.5, or
    // FERROSCOPE_DISABLE=tp_btf).
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((skel, kind, task_storage), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(storage, &args, tp_btf)
        })?;

    let tool = Runqslower {
        previous: args.previous,
        min_us: args.min_us,
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "the sched tracepoints")?;
        Ok((
            links,
            format!(
                "to sched_wakeup, sched_wakeup_new, sched_switch as {}; wakeup times in {}",
                if tp_btf { "tp_btf" } else { "raw tracepoints" },
                if task_storage {
                    "task storage"
                } else {
                    "a hash map"
                }
            ),
        ))
    })
}

struct Runqslower {
    /// `-P`: PREV COMM and PREV TID columns.
    previous: bool,
    /// The threshold, for the banner.
    min_us: u64,
}

impl EventTool for Runqslower {
    type Event = types::runqslower_event;

    const METRIC_HELP: &'static str = "Run queue waits longer than the threshold";

    /// The driver prints it before the header, and on stderr when exporting (stdout then
    /// stays empty).
    fn banner(&self) -> Option<String> {
        Some(format::banner(self.min_us))
    }

    common::hms_rows!(format, previous);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn libbpf_tools_recipes_parse() {
        let a = Args::try_parse_from(["runqslower", "-P", "-p", "123", "1000"]).expect("parses");
        assert!(a.previous);
        assert_eq!((a.pid, a.min_us), (Some(123), 1000));
        assert_eq!(
            Args::try_parse_from(["runqslower"]).expect("parses").min_us,
            10000
        );
        assert!(Args::try_parse_from(["runqslower", "0"]).is_err());
    }
}
