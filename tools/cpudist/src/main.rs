// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! cpudist: on-CPU time (how long a task runs each time it gets a CPU) or off-CPU time (-O,
//! how long it is away from one) as a histogram. Based on cpudist(8) from BCC by Brendan
//! Gregg and Dina Goldshtein and its libbpf-tools port; options and output follow
//! libbpf-tools.

mod args;

use std::mem::MaybeUninit;

use common::cli;
use common::container::Containers;
use common::error::{Error, Result};
use common::lifecycle;
use common::metrics::Metric;
use common::sched::{self, Keying, Layout, TaskView};
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{CpudistSkelBuilder, OpenCpudistProgs, types};

common::tool_main!();

// SAFETY: plain integers and byte arrays with explicit padding.
unsafe impl plain::Plain for types::cpudist_hist {}

common::log2_source!(types::cpudist_hist);

type Key = types::cpudist_key;

fn key_by(a: &Args) -> Key {
    if a.containers.containers || a.containers.container.is_some() {
        return Key::KEY_CGROUP;
    }
    match (a.pids, a.tids) {
        (true, _) => Key::KEY_PROCESS,
        (_, true) => Key::KEY_THREAD,
        _ => Key::KEY_ALL,
    }
}

/// libbpf-tools' banner: `Tracing on-CPU time... Hit Ctrl-C to end.` (`off-CPU` with -O).
fn banner(offcpu: bool) -> String {
    format!(
        "Tracing {}-CPU time... Hit Ctrl-C to end.",
        if offcpu { "off" } else { "on" }
    )
}

/// How the histograms are kept and their sections named for these options: `pid = 42 bash`,
/// `tid = 43 worker`, or none; with --containers, `container = 46441cff64eb (podman)` or
/// `host tasks`.
fn keying(key: Key) -> Keying {
    match key {
        Key::KEY_PROCESS => Keying::Process,
        Key::KEY_THREAD => Keying::Thread,
        Key::KEY_CGROUP => Keying::Containers,
        _ => Keying::Machine,
    }
}

/// What `--prometheus` exports: on-CPU times, or off-CPU ones with -O
/// (`ferroscope_cpudist_off_cpu_seconds`).
fn metric(offcpu: bool) -> Metric {
    if offcpu {
        Metric {
            name: "off_cpu",
            help: "Off-CPU time: from a task's switching out to its switching back in \
                   (sched_switch)",
        }
    } else {
        Metric {
            name: "on_cpu",
            help: "On-CPU time: from a task's switching in to its switching out \
                   (sched_switch)",
        }
    }
}

/// Open the object, configure it, and load the programs for these options: tp_btf or raw
/// tracepoints, with the cgroup filter compiled in only when asked for. Maps the options leave
/// unused are not created.
fn load<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    args: &Args,
    cgroup: Option<&common::cgroup::CgroupV2>,
    tp_btf: bool,
) -> Result<(bpf::CpudistSkel<'obj>, Layout)> {
    let key = key_by(args);
    let layout = Layout::new(tp_btf, keying(key));
    let mut open = lifecycle::open(CpudistSkelBuilder::default(), storage)?;
    common::configure_containers!(open, args.containers)?;
    let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
    ro.key_by = key;
    ro.targ_offcpu = args.offcpu;
    ro.targ_all_switches = args.all_switches;
    ro.targ_no_idle = args.exclude_idle;
    ro.ferro_floor = args.common.floor;
    ro.targ_ms = args.hist.milliseconds;
    ro.targ_tgid = args.filter.pid.unwrap_or(0);
    ro.use_task_storage = layout.task_storage;
    (ro.targ_cgid, ro.targ_cg_level) = sched::cgroup_rodata(cgroup);
    choose_programs(&mut open.progs, tp_btf, cgroup.is_some());
    let m = &mut open.maps;
    layout.create_maps(
        [&mut m.start, &mut m.start_task],
        [&mut m.hists, &mut m.hist_cpu],
    )?;
    Ok((lifecycle::load(open)?, layout))
}

/// The sched_switch program for these options: tp_btf or raw, with or without the cgroup test.
fn choose_programs(p: &mut OpenCpudistProgs<'_>, tp_btf: bool, cg: bool) {
    for (btf, with_cg, prog) in [
        (true, false, &mut p.btf_sched_switch),
        (true, true, &mut p.btf_sched_switch_cg),
        (false, false, &mut p.raw_sched_switch),
        (false, true, &mut p.raw_sched_switch_cg),
    ] {
        prog.set_autoload(btf == tp_btf && with_cg == cg);
    }
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.filter.cgroup.as_deref())?;
    let mut containers = Containers::start(TOOL, &args.containers)?;
    lifecycle::start(args.common.verbose)?;

    // tp_btf first, raw tracepoints if it does not load.
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((mut skel, layout), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(storage, &args, cgroup.as_ref(), tp_btf)
        })?;
    containers.skip_in_kernel(&skel.maps.ferro_skip_cgroups, &skel.maps.ferro_skipped)?;
    skel.attach()
        .map_err(|e| Error::from(e).context("attaching to sched_switch"))?;
    layout.log_attached(TOOL, "sched_switch", "switch", tp_btf);

    let mut view = TaskView {
        keying: layout.keying,
        metric: metric(args.offcpu),
        extension: args.extension,
    };
    sched::report(
        TOOL,
        &banner(args.offcpu),
        &mut view,
        &args.hist,
        args.common.json,
        &mut containers,
        ["switches", "times"],
        |reader| {
            let m = &mut skel.maps;
            let bss = m.bss_data.as_deref_mut();
            let counters = bss.map(|b| (&mut b.ferro_hist_epoch, [b.start_full, b.hists_full]));
            reader.read(
                [&m.hist_cpu, &m.hists],
                counters,
                |v: &types::cpudist_hist| &v.comm,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use common::hist_tool;

    fn parse(argv: &[&str]) -> Option<Args> {
        Args::try_parse_from(std::iter::once("cpudist").chain(argv.iter().copied())).ok()
    }

    #[test]
    fn options_as_libbpf_tools_takes_them() {
        let a = parse(&["-OmT", "-p", "185", "1", "10"]).expect("parses");
        assert!(a.offcpu && a.hist.milliseconds && a.hist.timestamp);
        assert_eq!(
            (a.filter.pid, a.hist.interval, a.hist.count),
            (Some(185), Some(1), Some(10))
        );
        assert_eq!(key_by(&parse(&["-P"]).expect("-P")), Key::KEY_PROCESS);
        assert_eq!(key_by(&parse(&["-L"]).expect("-L")), Key::KEY_THREAD);
        assert_eq!(key_by(&parse(&[]).expect("none")), Key::KEY_ALL);
        assert_eq!(
            key_by(&parse(&["--containers"]).expect("--containers")),
            Key::KEY_CGROUP
        );
        // -P with -L would key by process and name each section twice (libbpf-tools prints
        // `pid = N` and `tid = N` with the same N); --all-switches means nothing with -O.
        for bad in [
            &["-P", "-L"][..],
            &["-P", "--containers"],
            &["-L", "--container", "abc"],
            &["-O", "--all-switches"],
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn banner_as_libbpf_tools() {
        assert_eq!(banner(false), "Tracing on-CPU time... Hit Ctrl-C to end.");
        assert_eq!(banner(true), "Tracing off-CPU time... Hit Ctrl-C to end.");
    }

    #[test]
    fn section_lines_match_libbpf_tools() {
        let mut h = types::cpudist_hist::default();
        h.slots[1] = 2;
        h.count = 2;
        h.sum = 5;
        let view = TaskView {
            keying: keying(Key::KEY_THREAD),
            metric: metric(false),
            extension: false,
        };
        assert_eq!(
            hist_tool::text_of(&view, &(43, b"worker".to_vec(), None), &h),
            "\ntid = 43 worker
     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|
"
        );
        let view = TaskView {
            keying: keying(Key::KEY_PROCESS),
            metric: metric(false),
            extension: true,
        };
        assert_eq!(
            hist_tool::text_of(&view, &(42, b"a\x1bb".to_vec(), None), &h),
            "\npid = 42 a\\eb
     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|

avg = 2 usecs, total: 5 usecs, count: 2
"
        );
    }
}
