// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! cpudist: on-CPU time (how long a task runs each time it gets a CPU) or off-CPU time (-O,
//! how long it is away from one) as a histogram. Based on cpudist(8) from BCC by Brendan
//! Gregg and Dina Goldshtein and its libbpf-tools port; options and output follow
//! libbpf-tools.

mod args;

use std::mem::MaybeUninit;

use common::cli;
use common::error::Result;
use common::lifecycle;
use common::metrics::Metric;
use common::sched::{self, Keying};

use crate::args::Args;
use crate::bpf::{CpudistSkelBuilder, OpenCpudistProgs, types};

common::tool_main!();

common::sched_skel!(bpf::OpenCpudistSkel, bpf::CpudistSkel, types::cpudist_hist);

type Key = types::cpudist_key;

fn key_by(a: &Args) -> Key {
    match (a.containers.any(), a.pids, a.tids) {
        (true, ..) => Key::KEY_CGROUP,
        (_, true, _) => Key::KEY_PROCESS,
        (.., true) => Key::KEY_THREAD,
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
    let spec = sched::Spec {
        banner: &banner(args.offcpu),
        hooks: "sched_switch",
        attaching: "sched_switch",
        what: "switch",
        dropped: ["switches", "times"],
        keying: keying(key_by(&args)),
        metric: metric(args.offcpu),
        extension: args.extension,
        options: sched::Options::new(&args.hist, &args.common, &args.containers, &args.filter),
    };
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    sched::run::<CpudistSkelBuilder>(TOOL, &spec, [&mut first, &mut second], |open, btf, cg| {
        // cpudist's own rodata and program; sched::run sets the rest.
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.key_by = key_by(&args);
        ro.targ_offcpu = args.offcpu;
        ro.targ_all_switches = args.all_switches;
        ro.targ_no_idle = args.exclude_idle;
        choose_programs(&mut open.progs, btf, cg);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use common::hist_tool;
    use common::sched::TaskView;

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
