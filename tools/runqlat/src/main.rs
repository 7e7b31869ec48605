// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqlat: run queue (scheduler) latency as a histogram. Based on runqlat(8) from BCC by
//! Brendan Gregg and its libbpf-tools port; options and output follow libbpf-tools.

mod args;

use std::mem::MaybeUninit;

use common::cli;
use common::error::Result;
use common::lifecycle;
use common::metrics::Metric;
use common::sched::{self, Keying};

use crate::args::Args;
use crate::bpf::{OpenRunqlatProgs, RunqlatSkelBuilder, types};

common::tool_main!();

common::sched_skel!(bpf::OpenRunqlatSkel, bpf::RunqlatSkel, types::runqlat_hist);

type Key = types::runqlat_key;

fn key_by(a: &Args) -> Key {
    match (a.containers.any(), a.pids, a.tids, a.pidnss, a.cpus) {
        (true, ..) => Key::KEY_CGROUP,
        (_, true, ..) => Key::KEY_PROCESS,
        (_, _, true, ..) => Key::KEY_THREAD,
        (.., true, _) => Key::KEY_PIDNS,
        (.., true) => Key::KEY_CPU,
        _ => Key::KEY_ALL,
    }
}

/// How the histograms are kept and their sections named for these options: `pid = 42 bash`,
/// `cpu = 3`, or none; with --containers, `container = 46441cff64eb (podman)` or `host tasks`.
/// The whole machine's and the per-CPU ones are kept in a per-CPU array (no shared counters to
/// update), the others in a hash map.
fn keying(key: Key) -> Keying {
    match key {
        Key::KEY_CPU => Keying::PerCpu,
        Key::KEY_PROCESS => Keying::Process,
        Key::KEY_THREAD => Keying::Thread,
        Key::KEY_PIDNS => Keying::PidNs,
        Key::KEY_CGROUP => Keying::Containers,
        _ => Keying::Machine,
    }
}

/// What `--prometheus` exports (`ferroscope_runqlat_latency_seconds`).
const METRIC: Metric = Metric {
    name: "latency",
    help: "Run queue latency: from a task's wakeup (sched_wakeup, sched_wakeup_new, \
           or preemption at sched_switch) to its running on a CPU (sched_switch)",
};

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
    let spec = sched::Spec {
        banner: "Tracing run queue latency... Hit Ctrl-C to end.",
        hooks: "sched_wakeup, sched_wakeup_new, sched_switch",
        attaching: "the sched tracepoints",
        what: "wakeup",
        dropped: ["wakeups", "latencies"],
        keying: keying(key_by(&args)),
        metric: METRIC,
        extension: false,
        options: sched::Options::new(&args.hist, &args.common, &args.containers, &args.filter),
    };
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    sched::run::<RunqlatSkelBuilder>(TOOL, &spec, [&mut first, &mut second], |open, btf, cg| {
        // runqlat's own rodata and programs (the PID-namespace keys compiled in only when
        // asked for); sched::run sets the rest.
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.key_by = key_by(&args);
        choose_programs(&mut open.progs, btf, cg, args.pidnss);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use common::hist_tool;
    use common::sched::TaskView;

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
        let view = TaskView {
            keying: keying(key_by(&a)),
            metric: METRIC,
            extension: false,
        };
        assert!(!a.hist.percentiles);
        assert_eq!(
            hist_tool::text_of(&view, &(42, b"bash".to_vec(), None), &h),
            "\npid = 42 bash
     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|
"
        );
    }
}
