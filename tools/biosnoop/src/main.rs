// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biosnoop: trace block device I/O, one line per request with its submitter, disk, op,
//! sector, size and latency. Based on biosnoop(8) from BCC by Brendan Gregg and its
//! libbpf-tools port by Wenbo Zhang; options and columns follow libbpf-tools HEAD.

mod args;
mod format;

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::path::Path;

use common::blk::{self, ReqNames};
use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::metrics::Labels;
use common::names::NameTable;
use common::time::EventTimes;
use common::{lifecycle, probe};
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{BiosnoopSkelBuilder, OpenBiosnoopProgs, types};
use crate::format::{Columns, Resolved};

common::tool_main!();

// SAFETY: plain integers, byte arrays, and an enum that is a u32 newtype (any value is valid).
unsafe impl plain::Plain for types::biosnoop_event {}
common::event_record!(types::biosnoop_event);

/// Where requests are followed from issue to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stages {
    /// tp_btf block_rq_*, by the request's address.
    Btf,
    /// Classic tracepoints block_rq_*, by (dev, sector): where tp_btf is refused.
    Tracepoints,
}

/// Where a request's submitter is seen, in its own context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Submitter {
    /// block:block_io_start (6.5+), on the stages' kind of hook.
    IoStart,
    /// fentry on blk_account_io_start (`inner`: __blk_account_io_start), before 6.5.
    Fentry { inner: bool },
    /// The same through a kprobe.
    Kprobe { inner: bool },
    /// block:block_bio_queue: a request is its first bio's.
    BioQueue,
}

impl Submitter {
    fn name(self, stages: Stages) -> String {
        let kind = if stages == Stages::Btf {
            "tp_btf"
        } else {
            "tracepoint"
        };
        let func = |inner: bool| {
            if inner {
                "__blk_account_io_start"
            } else {
                "blk_account_io_start"
            }
        };
        match self {
            Self::IoStart => format!("{kind} block_io_start"),
            Self::Fentry { inner } => format!("fentry {}", func(inner)),
            Self::Kprobe { inner } => format!("kprobe {}", func(inner)),
            Self::BioQueue => format!("{kind} block_bio_queue"),
        }
    }
}

/// The hooks this kernel offers, best first: tp_btf stages where they load, with the
/// submitter from block_io_start, else the function it replaced (fentry, then kprobe), else
/// block_bio_queue; classic tracepoints for both otherwise. `FERROSCOPE_DISABLE=tp_btf,
/// block_io_start,fentry,kprobes` rules paths out for tests.
fn choose_hooks() -> Result<(Stages, Submitter)> {
    for tp in ["block_rq_issue", "block_rq_complete", "block_bio_queue"] {
        if !probe::tracepoint_exists("block", tp)? {
            return Err(Error::fatal(format!(
                "the block:{tp} tracepoint is missing (needs CONFIG_TRACEPOINTS and a block layer)"
            )));
        }
    }
    // FERROSCOPE_DISABLE=block_io_start takes the path of kernels before 6.5.
    let io_start =
        !probe::disabled("block_io_start") && probe::tracepoint_exists("block", "block_io_start")?;
    if !common::log::quietly(|| probe::tp_btf("block_rq_issue")) {
        let who = if io_start {
            Submitter::IoStart
        } else {
            Submitter::BioQueue
        };
        return Ok((Stages::Tracepoints, who));
    }
    if io_start && common::log::quietly(|| probe::tp_btf("block_io_start")) {
        return Ok((Stages::Btf, Submitter::IoStart));
    }
    for inner in [false, true] {
        let func = if inner {
            "__blk_account_io_start"
        } else {
            "blk_account_io_start"
        };
        if common::log::quietly(|| probe::fentry(func)) {
            return Ok((Stages::Btf, Submitter::Fentry { inner }));
        }
        if probe::kprobes() && probe::kernel_function(func) {
            return Ok((Stages::Btf, Submitter::Kprobe { inner }));
        }
    }
    Ok((Stages::Btf, Submitter::BioQueue))
}

fn choose_programs(p: &mut OpenBiosnoopProgs<'_>, stages: Stages, who: Submitter, queued: bool) {
    let btf = stages == Stages::Btf;
    p.btf_issue.set_autoload(btf);
    p.btf_complete.set_autoload(btf);
    p.btf_insert.set_autoload(btf && queued);
    p.tp_issue.set_autoload(!btf);
    p.tp_complete.set_autoload(!btf);
    p.tp_insert.set_autoload(!btf && queued);
    p.btf_io_start
        .set_autoload(btf && who == Submitter::IoStart);
    p.btf_bio_queue
        .set_autoload(btf && who == Submitter::BioQueue);
    p.tp_io_start
        .set_autoload(!btf && who == Submitter::IoStart);
    p.tp_bio_queue
        .set_autoload(!btf && who == Submitter::BioQueue);
    p.fentry_io_start
        .set_autoload(who == Submitter::Fentry { inner: false });
    p.fentry_io_start_inner
        .set_autoload(who == Submitter::Fentry { inner: true });
    p.kprobe_io_start
        .set_autoload(who == Submitter::Kprobe { inner: false });
    p.kprobe_io_start_inner
        .set_autoload(who == Submitter::Kprobe { inner: true });
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let target = args
        .disk
        .as_deref()
        .map(|n| blk::find_disk(&blk::partitions(), n))
        .transpose()?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.event.common.verbose)?;
    let (stages, who) = choose_hooks()?;
    let (names, single, bio_single) = blk::from_running_kernel()?;

    let mut storage = MaybeUninit::uninit();
    let builder = BiosnoopSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, &mut storage, args, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.targ_queued = args.queued;
        ro.targ_single = single;
        ro.targ_bio_single = bio_single;
        ro.who_by_bio = who == Submitter::BioQueue;
        ro.min_ns = u64::from(args.min_ms.unwrap_or(0)) * 1_000_000;
        if let Some(d) = &target {
            ro.filter_dev = true;
            ro.targ_dev = d.dev();
        }
    }
    choose_programs(&mut open.progs, stages, who, args.queued);
    let skel = lifecycle::load(open).map_err(|e| {
        e.context(format!(
            "the {} path",
            if stages == Stages::Btf {
                "tp_btf"
            } else {
                "tracepoint"
            }
        ))
    })?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let columns = Columns {
        timestamp: args.timestamp,
        queued: args.queued,
    };
    let tool = Biosnoop {
        columns,
        names,
        disks: NameTable::new(disk_names),
        schedulers: HashMap::new(),
    };
    let run = Run::new(kind, &args.event, args.duration);
    let stage_hooks = format!(
        "{} block_rq_{{{}issue,complete}}",
        if stages == Stages::Btf {
            "tp_btf"
        } else {
            "tracepoint"
        },
        if args.queued { "insert," } else { "" }
    );
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "the block hooks")?;
        Ok((
            links,
            format!("to {stage_hooks}, submitters from {}", who.name(stages)),
        ))
    })
}

fn disk_names() -> HashMap<u32, String> {
    blk::partitions()
        .into_iter()
        .map(|d| (d.dev(), d.name))
        .collect()
}

/// Does the disk `name` queue requests in an I/O scheduler (not `[none]` in sysfs)?
fn has_scheduler(name: &str) -> bool {
    let path = Path::new("/sys/class/block")
        .join(name)
        .join("queue/scheduler");
    std::fs::read_to_string(path).is_ok_and(|s| !s.contains("[none]"))
}

struct Biosnoop {
    columns: Columns,
    names: ReqNames,
    /// Disk names by kernel dev_t; a disk attached after start is read again on its first I/O.
    disks: NameTable<u32, String>,
    /// Whether each disk has an I/O scheduler (the classic path's missing inserts), read once.
    schedulers: HashMap<u32, bool>,
}

impl Biosnoop {
    /// The disk's name, `Unknown` where /proc/partitions has none (as libbpf-tools).
    fn disk(&mut self, dev: u32) -> String {
        self.disks
            .resolve([&dev])
            .get(&dev)
            .cloned()
            .unwrap_or_else(|| "Unknown".to_owned())
    }

    fn rwbs(&self, e: &types::biosnoop_event) -> String {
        let kernel = common::decode::c_bytes(&e.rwbs);
        if kernel.is_empty() {
            self.names.rwbs(e.cmd_flags)
        } else {
            String::from_utf8_lossy(kernel).into_owned()
        }
    }

    /// Insert to issue: Some(ns) when timed, Some(0) without a scheduler, None when missed.
    fn queued_ns(&mut self, e: &types::biosnoop_event, disk: &str) -> Option<u64> {
        use types::biosnoop_queue as Q;
        match e.queue {
            Q::BIOSNOOP_QUEUE_TIMED => Some(e.qdelta_ns),
            Q::BIOSNOOP_QUEUE_NONE => Some(0),
            Q::BIOSNOOP_QUEUE_UNKNOWN => {
                let sched = *self
                    .schedulers
                    .entry(e.dev)
                    .or_insert_with(|| has_scheduler(disk));
                (!sched).then_some(0)
            }
            _ => None,
        }
    }

    fn resolve(&mut self, e: &types::biosnoop_event) -> (String, String, Option<u64>) {
        let disk = self.disk(e.dev);
        let rwbs = self.rwbs(e);
        let queued = if self.columns.queued {
            self.queued_ns(e, &disk)
        } else {
            None
        };
        (disk, rwbs, queued)
    }
}

impl EventTool for Biosnoop {
    type Event = types::biosnoop_event;

    const METRIC_HELP: &'static str = "Block I/O requests completed, by disk and RWBS";
    const LABEL_NAMES: &'static [&'static str] = &["disk", "rwbs"];

    fn header(&self) -> Option<String> {
        Some(format::header(self.columns))
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let (disk, rwbs, queued) = self.resolve(e);
        let time = if self.columns.timestamp {
            times.hms_ms(e.ts_ns)
        } else {
            format::seconds(times.since_first(e.ts_ns))
        };
        let r = Resolved {
            time: &time,
            disk: &disk,
            rwbs: &rwbs,
            queued_ms: queued.map_or(-1.0, |ns| ns as f64 / 1e6),
        };
        format::text_row(self.columns, e, &r, out);
    }

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("disk", common::output::escaped(self.disk(e.dev).as_bytes())));
        out.push(("rwbs", self.rwbs(e)));
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let (disk, rwbs, queued) = self.resolve(e);
        let r = Resolved {
            time: "",
            disk: &disk,
            rwbs: &rwbs,
            queued_ms: 0.0,
        };
        format::json_row(self.columns, e, &r, &times.rfc3339(e.ts_ns), queued, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn libbpf_tools_recipes_parse() {
        let a = Args::try_parse_from(["biosnoop", "-Qt", "-d", "sdc", "-m", "10", "5"])
            .expect("parses");
        assert!(a.queued && a.timestamp);
        assert_eq!(a.disk.as_deref(), Some("sdc"));
        assert_eq!((a.min_ms, a.duration), (Some(10), Some(5)));
        assert!(Args::try_parse_from(["biosnoop", "0"]).is_err());
    }
}
