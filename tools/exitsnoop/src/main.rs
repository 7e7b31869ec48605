// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! exitsnoop: trace process (and thread) exits with their age and exit code or the signal that
//! killed them. Based on exitsnoop(8) from BCC by Arturo Martin-de-Nicolas and Jeroen Soeters
//! and its libbpf-tools port; options and columns follow libbpf-tools.

mod args;
mod format;

use std::mem::MaybeUninit;

use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle;
use common::metrics::Labels;
use common::probe;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{ExitsnoopSkelBuilder, types};

common::tool_main!();

// SAFETY: plain integers and a byte array.
unsafe impl plain::Plain for types::exitsnoop_event {}
common::event_record!(types::exitsnoop_event);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.event.common.verbose)?;
    if !probe::tracepoint_exists("sched", "sched_process_exit")? {
        return Err(Error::fatal(
            "the sched:sched_process_exit tracepoint is missing (needs CONFIG_TRACEPOINTS)",
        ));
    }

    let mut storage = MaybeUninit::uninit();
    let builder = ExitsnoopSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, &mut storage, args, pid, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.trace_threads = args.threaded;
        ro.trace_failed = args.failed;
    }
    let skel = lifecycle::load(open)?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let tool = Exitsnoop {
        timestamp: args.timestamp,
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "the exit hook")?;
        Ok((links, "to sched:sched_process_exit".to_owned()))
    })
}

struct Exitsnoop {
    /// `-t`: the HH:MM:SS column.
    timestamp: bool,
}

impl EventTool for Exitsnoop {
    type Event = types::exitsnoop_event;

    const METRIC_HELP: &'static str = "Exits traced, by exit status or killing signal";
    const LABEL_NAMES: &'static [&'static str] = &["code", "signal"];

    common::hms_rows!(format, timestamp);

    /// An exit has `code` (0 to 255) and an empty `signal`; a kill the signal's name
    /// (`SIGKILL`) and an empty `code`. Empty values are absent labels to PromQL.
    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        let (code, signal) = match format::Exit::of(e.exit_code) {
            format::Exit::Code(c) => (c.to_string(), String::new()),
            format::Exit::Signal { sig, .. } => (String::new(), format::signal_name(sig)),
        };
        out.push(("code", code));
        out.push(("signal", signal));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn libbpf_tools_recipes_parse() {
        let a = Args::try_parse_from(["exitsnoop", "-txT", "-p", "1216"]).expect("parses");
        assert!(a.timestamp && a.failed && a.threaded);
        assert_eq!(a.pid, Some(1216));
        assert!(Args::try_parse_from(["exitsnoop", "-p", "0"]).is_err());
    }
}
