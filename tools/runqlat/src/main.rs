// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqlat: run queue (scheduler) latency as a histogram. Based on runqlat(8) from BCC by
//! Brendan Gregg and its libbpf-tools port; options and output follow libbpf-tools.

mod args;

use std::mem::MaybeUninit;

use common::cli;
use common::container::Containers;
use common::error::{Error, Result};
use common::hist::{Hist, Intervals, SectionValue};
use common::hist_tool::{self, HistTool, Reading};
use common::maps::{TaskSection, end_interval, read_percpu, read_task_hists};
use common::metrics::Metric;
use common::{lifecycle, probe};
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{OpenRunqlatProgs, RunqlatSkelBuilder, types};

common::tool_main!();

// SAFETY: plain integers and byte arrays with explicit padding.
unsafe impl plain::Plain for types::runqlat_hist {}

common::log2_source!(types::runqlat_hist);

type Key = types::runqlat_key;

fn key_by(a: &Args) -> Key {
    if a.containers.containers || a.containers.container.is_some() {
        return Key::KEY_CGROUP;
    }
    match (a.pids, a.tids, a.pidnss, a.cpus) {
        (true, ..) => Key::KEY_PROCESS,
        (_, true, ..) => Key::KEY_THREAD,
        (_, _, true, _) => Key::KEY_PIDNS,
        (.., true) => Key::KEY_CPU,
        _ => Key::KEY_ALL,
    }
}

/// One histogram, or one per CPU: kept per CPU in the kernel (no shared counters to update).
fn per_cpu_hists(key: Key) -> bool {
    key == Key::KEY_ALL || key == Key::KEY_CPU
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
    let mut open = lifecycle::open(RunqlatSkelBuilder::default(), storage)?;
    common::configure_containers!(open, args.containers)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
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
    choose_programs(&mut open.progs, tp_btf, cgroup.is_some(), args.pidnss);
    let per_cpu = per_cpu_hists(key_by(args));
    let m = &mut open.maps;
    lifecycle::create_maps([
        (&mut m.start, !task_storage),
        (&mut m.start_task, task_storage),
        (&mut m.hists, !per_cpu),
        (&mut m.hist_cpu, per_cpu),
    ])?;
    Ok((lifecycle::load(open)?, task_storage))
}

/// The three programs for these options: tp_btf or raw, with or without the cgroup test, and
/// sched_switch keyed by PID namespace or not.
fn choose_programs(p: &mut OpenRunqlatProgs<'_>, tp_btf: bool, cg: bool, ns: bool) {
    // (tp_btf, cgroup, PID namespace: None where the program does not key histograms)
    for (btf, with_cg, with_ns, prog) in [
        (true, false, None, &mut p.btf_sched_wakeup),
        (true, true, None, &mut p.btf_sched_wakeup_cg),
        (false, false, None, &mut p.raw_sched_wakeup),
        (false, true, None, &mut p.raw_sched_wakeup_cg),
        (true, false, None, &mut p.btf_sched_wakeup_new),
        (true, true, None, &mut p.btf_sched_wakeup_new_cg),
        (false, false, None, &mut p.raw_sched_wakeup_new),
        (false, true, None, &mut p.raw_sched_wakeup_new_cg),
        (true, false, Some(false), &mut p.btf_sched_switch),
        (true, true, Some(false), &mut p.btf_sched_switch_cg),
        (true, false, Some(true), &mut p.btf_sched_switch_ns),
        (true, true, Some(true), &mut p.btf_sched_switch_cg_ns),
        (false, false, Some(false), &mut p.raw_sched_switch),
        (false, true, Some(false), &mut p.raw_sched_switch_cg),
        (false, false, Some(true), &mut p.raw_sched_switch_ns),
        (false, true, Some(true), &mut p.raw_sched_switch_cg_ns),
    ] {
        prog.set_autoload(btf == tp_btf && with_cg == cg && with_ns.is_none_or(|n| n == ns));
    }
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    let mut containers = Containers::start(TOOL, &args.containers)?;
    lifecycle::start(args.common.verbose)?;

    // tp_btf first, raw tracepoints if it does not load.
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((mut skel, task_storage), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(storage, &args, cgroup.as_ref(), tp_btf)
        })?;
    containers.skip_in_kernel(&skel.maps.ferro_skip_cgroups, &skel.maps.ferro_skipped)?;
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

    let key = key_by(&args);
    let mut view = View { key };
    let mut by_cpu = Intervals::new(args.hist.cumulative);
    let mut by_key = Intervals::new(args.hist.cumulative);
    let ended = hist_tool::run(
        TOOL,
        "Tracing run queue latency... Hit Ctrl-C to end.",
        &mut view,
        &args.hist,
        args.common.json,
        " (too many threads at once)",
        |_| {
            let epoch = end_interval(
                skel.maps
                    .bss_data
                    .as_deref_mut()
                    .map(|b| &mut b.ferro_hist_epoch),
            );
            let hists = if per_cpu_hists(key) {
                let cpus = read_percpu::<types::runqlat_hist>(&skel.maps.hist_cpu)?;
                let rows: Vec<(TaskSection, Hist)> = if key == Key::KEY_CPU {
                    (0u32..)
                        .zip(&cpus)
                        .map(|(c, h)| {
                            let h = by_cpu.update(c, std::slice::from_ref(h), epoch);
                            ((c, Vec::new(), None), h)
                        })
                        .collect()
                } else {
                    vec![((0, Vec::new(), None), by_cpu.update(0, &cpus, epoch))]
                };
                rows.into_iter().filter(|(_, h)| !h.is_empty()).collect()
            } else {
                let by_cgroup = (key == Key::KEY_CGROUP).then_some(&mut containers);
                let map = &skel.maps.hists;
                read_task_hists(map, &mut by_key, epoch, by_cgroup, |v: &Value| &v.comm)?
            };
            let bss = skel.maps.bss_data.as_deref();
            Ok(Reading {
                hists,
                dropped: vec![
                    (bss.map_or(0, |b| b.start_full), "wakeups"),
                    (bss.map_or(0, |b| b.hists_full), "latencies"),
                ],
            })
        },
    );
    containers.report_skips(TOOL);
    ended
}

type Value = types::runqlat_hist;

/// Sections as libbpf-tools names them: `pid = 42 bash`, `cpu = 3`, or none; with
/// --containers, `container = 46441cff64eb (podman)` or `host tasks`.
struct View {
    key: Key,
}

impl HistTool for View {
    type Key = TaskSection;

    fn metric(&self) -> Metric {
        Metric {
            name: "latency",
            help: "Run queue latency: from a task's wakeup (sched_wakeup, sched_wakeup_new, \
                   or preemption at sched_switch) to its running on a CPU (sched_switch)",
        }
    }

    fn section_text(&self, (id, comm, group): &Self::Key, out: &mut Vec<u8>) {
        if let Some(g) = group {
            out.extend_from_slice(format!("\n{}\n", g.label()).as_bytes());
            return;
        }
        let comm = common::output::escaped(comm);
        let section = match self.key {
            Key::KEY_PROCESS => format!("\npid = {id} {comm}\n"),
            Key::KEY_THREAD => format!("\ntid = {id} {comm}\n"),
            Key::KEY_PIDNS => format!("\npidns = {id} {comm}\n"),
            Key::KEY_CPU => format!("\ncpu = {id}\n"),
            _ => return,
        };
        out.extend_from_slice(section.as_bytes());
    }

    fn section_json<'a>(
        &'a self,
        (id, comm, group): &'a Self::Key,
        out: &mut Vec<(&'static str, SectionValue<'a>)>,
    ) {
        if let Some(g) = group {
            g.json_fields(out);
            return;
        }
        let name = match self.key {
            Key::KEY_PROCESS => "pid",
            Key::KEY_THREAD => "tid",
            Key::KEY_PIDNS => "pidns",
            Key::KEY_CPU => "cpu",
            _ => return,
        };
        out.push((name, SectionValue::Num((*id).into())));
        if self.key != Key::KEY_CPU {
            out.push(("comm", SectionValue::Str(comm)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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
        let view = View { key: key_by(&a) };
        let style = hist_tool::Style {
            unit: "usecs",
            json: false,
            percentiles: a.hist.percentiles,
        };
        let mut out = Vec::new();
        hist_tool::render(
            &view,
            &(42, b"bash".to_vec(), None),
            &Intervals::new(false).update((), &[h], 0),
            &style,
            "",
            &mut out,
        );
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
