// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqlat: run queue (scheduler) latency as a histogram. Based on runqlat(8) from BCC by
//! Brendan Gregg and its libbpf-tools port; options and output follow libbpf-tools.

mod bpf {
    include!(concat!(env!("OUT_DIR"), "/runqlat.skel.rs"));
}

use std::mem::MaybeUninit;
use std::process::ExitCode;

use clap::Parser;
use common::cli::{self, CommonArgs, HistArgs};
use common::error::{Error, Result};
use common::hist::{self, Hist, SectionValue};
use common::maps::{key_u32, read_hash, read_percpu};
use common::time::rfc3339;
use common::{probe, signal};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

use crate::bpf::{RunqlatSkelBuilder, types};

const INFO: common::tool::ToolInfo = common::tool_info!();
const TOOL: &str = INFO.name;

// SAFETY: plain integers and byte arrays with explicit padding.
unsafe impl plain::Plain for types::runqlat_hist {}

common::log2_source!(types::runqlat_hist);

// Mirrors of KEY_* in bpf/runqlat.bpf.c.
const KEY_ALL: i32 = 0;
const KEY_PROCESS: i32 = 1;
const KEY_THREAD: i32 = 2;
const KEY_PIDNS: i32 = 3;
const KEY_CPU: i32 = 4;

const EXAMPLES: &str = "\
EXAMPLES:
    runqlat         # summarize run queue latency as a histogram
    runqlat 1 10    # print 1 second summaries, 10 times
    runqlat -mT 1   # 1s summaries, milliseconds, and timestamps
    runqlat -P      # show each PID separately
    runqlat -p 185  # trace PID 185 only
    runqlat -c CG   # trace process under cgroupsPath CG
    runqlat --cpus  # one histogram per CPU
    runqlat --percentiles --json 5   # p50/p90/p99 and JSON every 5 seconds";

#[derive(Parser, Debug)]
#[command(
    name = "runqlat",
    version,
    about = "Summarize run queue (scheduler) latency as a histogram",
    after_help = EXAMPLES
)]
struct Args {
    #[command(flatten)]
    hist: HistArgs,

    /// Print a histogram per process ID
    #[arg(short = 'P', long = "pids", conflicts_with_all = ["tids", "pidnss", "cpus"])]
    pids: bool,

    /// Print a histogram per thread ID
    #[arg(short = 'L', long = "tids", conflicts_with_all = ["pidnss", "cpus"])]
    tids: bool,

    /// Print a histogram per PID namespace
    #[arg(long = "pidnss", conflicts_with = "cpus")]
    pidnss: bool,

    /// Print a histogram per CPU
    #[arg(long = "cpus")]
    cpus: bool,

    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pid: Option<u32>,

    /// Trace tasks in this cgroup v2 (or below it)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH")]
    cgroup: Option<std::path::PathBuf>,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    common::error::report(TOOL, run())
}

fn key_by(a: &Args) -> i32 {
    match (a.pids, a.tids, a.pidnss, a.cpus) {
        (true, ..) => KEY_PROCESS,
        (_, true, ..) => KEY_THREAD,
        (_, _, true, _) => KEY_PIDNS,
        (.., true) => KEY_CPU,
        _ => KEY_ALL,
    }
}

/// One histogram, or one per CPU: kept per CPU in the kernel (no shared counters to update).
fn per_cpu_hists(a: &Args) -> bool {
    matches!(key_by(a), KEY_ALL | KEY_CPU)
}

/// Open the object, configure it, and load the programs for these options: tp_btf or raw
/// tracepoints, with the cgroup filter and PID-namespace keys compiled in only when asked for.
/// Maps the options leave unused are not created (libbpf turns the code that would use them,
/// dead for these constants, into an invalid call the verifier then drops).
fn load<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    args: &Args,
    cgroup: Option<&common::cgroup::CgroupV2>,
    tp_btf: bool,
) -> Result<(bpf::RunqlatSkel<'obj>, bool)> {
    let task_storage = tp_btf && probe::lockless_task_storage();
    let mut open = RunqlatSkelBuilder::default()
        .open(storage)
        .map_err(|e| Error::from(e).context("opening the BPF object"))?;
    {
        let ro = common::lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.ferro_floor = args.common.floor;
        ro.key_by = key_by(args);
        ro.targ_ms = args.hist.milliseconds;
        ro.targ_tgid = args.pid.unwrap_or(0);
        ro.use_task_storage = task_storage;
        if let Some(cg) = cgroup {
            ro.targ_cgid = cg.id;
            ro.targ_cg_level = i32::try_from(cg.level).unwrap_or(i32::MAX);
        }
    }
    let kind = if tp_btf { "btf" } else { "raw" };
    let cg = if cgroup.is_some() { "_cg" } else { "" };
    let ns = if args.pidnss { "_ns" } else { "" };
    let wanted = [
        format!("{kind}_sched_wakeup{cg}"),
        format!("{kind}_sched_wakeup_new{cg}"),
        format!("{kind}_sched_switch{cg}{ns}"),
    ];
    common::lifecycle::load_only(open.open_object_mut(), &wanted)?;
    let per_cpu = per_cpu_hists(args);
    let m = &mut open.maps;
    for (map, used) in [
        (&mut m.start, !task_storage),
        (&mut m.start_task, task_storage),
        (&mut m.hists, !per_cpu),
        (&mut m.hist_cpu, per_cpu),
    ] {
        map.set_autocreate(used)
            .map_err(|e| Error::from(e).context("configuring the BPF maps"))?;
    }
    let skel = open
        .load()
        .map_err(|e| Error::from(e).context("loading the BPF programs"))?;
    Ok((skel, task_storage))
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    common::lifecycle::prepare(args.common.verbose)?;
    signal::install()?;

    // Try tp_btf first and fall back to raw tracepoints if the load fails: probing first
    // would parse vmlinux BTF once more, a few milliseconds of start-up on every run.
    let mut first = MaybeUninit::uninit();
    let mut second = MaybeUninit::uninit();
    let attempt = (!probe::disabled("tp_btf"))
        .then(|| common::log::quietly(|| load(&mut first, &args, cgroup.as_ref(), true)));
    let ((mut skel, task_storage), tp_btf) = match attempt {
        Some(Ok(loaded)) => (loaded, true),
        _ => (load(&mut second, &args, cgroup.as_ref(), false)?, false),
    };
    skel.attach()
        .map_err(|e| Error::from(e).context("attaching to the sched tracepoints"))?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to sched_wakeup, sched_wakeup_new, sched_switch as {}; wakeup times in {}",
        if tp_btf { "tp_btf" } else { "raw tracepoints" },
        if task_storage {
            "task storage"
        } else {
            "a hash map"
        }
    ));

    let unit = args.hist.unit();
    let schedule = args.hist.schedule(args.common.json);
    let mut full = hist::FullMapWarning::default();
    common::interval::run_intervals(
        "Tracing run queue latency... Hit Ctrl-C to end.",
        &schedule,
        |now, text| {
            let time = rfc3339(now);
            let clear = !args.hist.cumulative;
            if per_cpu_hists(&args) {
                let cpus = read_percpu::<types::runqlat_hist>(&skel.maps.hist_cpu, clear)?;
                let rows: Vec<(u32, Hist)> = if key_by(&args) == KEY_CPU {
                    (0u32..).zip(cpus.iter().map(Hist::of)).collect()
                } else {
                    vec![(0, Hist::sum(&cpus))]
                };
                for (cpu, h) in rows.iter().filter(|(_, h)| !h.is_empty()) {
                    render(&args, *cpu, h, b"", unit, &time, text);
                }
            } else {
                let mut hists = read_hash::<types::runqlat_hist>(&skel.maps.hists, clear)?;
                hists.sort_by_key(|(k, _)| key_u32(k));
                for (k, h) in &hists {
                    let comm = common::decode::c_bytes(&h.comm);
                    render(&args, key_u32(k), &Hist::of(h), comm, unit, &time, text);
                }
            }
            if let Some(bss) = skel.maps.bss_data.as_deref() {
                full.check(
                    TOOL,
                    &[(bss.start_full, "wakeups"), (bss.hists_full, "latencies")],
                    " (too many threads at once)",
                );
            }
            Ok(())
        },
    )
}

fn render(args: &Args, key: u32, h: &Hist, comm: &[u8], unit: &str, time: &str, out: &mut Vec<u8>) {
    let (slots, totals) = (&h.slots, &h.totals);
    let kb = key_by(args);
    if args.common.json {
        let mut sections: Vec<(&str, SectionValue<'_>)> = Vec::new();
        match kb {
            KEY_PROCESS => sections.push(("pid", SectionValue::Num(key.into()))),
            KEY_THREAD => sections.push(("tid", SectionValue::Num(key.into()))),
            KEY_PIDNS => sections.push(("pidns", SectionValue::Num(key.into()))),
            KEY_CPU => sections.push(("cpu", SectionValue::Num(key.into()))),
            _ => {}
        }
        if matches!(kb, KEY_PROCESS | KEY_THREAD | KEY_PIDNS) {
            sections.push(("comm", SectionValue::Str(comm)));
        }
        hist::json_line(out, time, &sections, unit, slots, totals);
        return;
    }
    let comm = common::output::escaped(comm);
    let section = match kb {
        KEY_PROCESS => Some(format!("\npid = {key} {comm}\n")),
        KEY_THREAD => Some(format!("\ntid = {key} {comm}\n")),
        KEY_PIDNS => Some(format!("\npidns = {key} {comm}\n")),
        KEY_CPU => Some(format!("\ncpu = {key}\n")),
        _ => None,
    };
    if let Some(s) = section {
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(hist::log2_text(slots, unit).as_bytes());
    if args.hist.percentiles && totals.count > 0 {
        out.extend_from_slice(hist::percentiles_line(slots, totals, unit).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn grouping_options_exclude_each_other() {
        for bad in [
            ["-P", "-L"],
            ["-P", "--pidnss"],
            ["-L", "--pidnss"],
            ["--cpus", "-P"],
        ] {
            let mut argv = vec!["runqlat"];
            argv.extend(bad);
            assert!(Args::try_parse_from(argv).is_err(), "{bad:?}");
        }
        let a = Args::try_parse_from(["runqlat", "-mT", "1", "10"]).expect("parses");
        assert_eq!((a.hist.interval, a.hist.count), (Some(1), Some(10)));
        assert!(a.hist.milliseconds && a.hist.timestamp);
    }

    #[test]
    fn section_lines_match_libbpf_tools() {
        let mut h = types::runqlat_hist::default();
        h.slots[1] = 2;
        h.count = 2;
        let a = Args::try_parse_from(["runqlat", "-P"]).expect("parses");
        let mut out = Vec::new();
        render(&a, 42, &Hist::of(&h), b"bash", "usecs", "", &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\npid = 42 bash
     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|
"
        );
    }
}
