// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' cpudist options and ferroscope's additions.

use clap::Parser;
use common::cli::{CommonArgs, HistArgs, TaskFilterArgs};

const EXAMPLES: &str = "\
EXAMPLES:
    cpudist              # summarize on-CPU time as a histogram
    cpudist -O           # summarize off-CPU time as a histogram
    cpudist -c CG        # Trace process under cgroupsPath CG
    cpudist 1 10         # print 1 second summaries, 10 times
    cpudist -mT 1        # 1s summaries, milliseconds, and timestamps
    cpudist -P           # show each PID separately
    cpudist -p 185       # trace PID 185 only
    cpudist --all-switches -P   # on-CPU time ended by sleeps too, as BCC counts it
    cpudist --containers 5 1    # one histogram per container, host tasks in their own
    cpudist --percentiles --json 5   # p50/p90/p99 and JSON every 5 seconds";

#[derive(Parser, Debug)]
#[command(
    name = "cpudist",
    version,
    about = "Summarize on-CPU time per task as a histogram",
    after_help = EXAMPLES,
    mut_arg("containers", |a| a.help(common::container::HIST_HELP))
)]
pub struct Args {
    #[command(flatten)]
    pub hist: HistArgs,

    /// Measure off-CPU time: from switching out to switching back in
    #[arg(short = 'O', long = "offcpu")]
    pub offcpu: bool,

    /// Print a histogram per process ID
    #[arg(short = 'P', long = "pids", conflicts_with_all = ["tids", "containers", "container"])]
    pub pids: bool,

    /// Print a histogram per thread ID
    #[arg(short = 'L', long = "tids", conflicts_with_all = ["containers", "container"])]
    pub tids: bool,

    #[command(flatten)]
    pub filter: TaskFilterArgs,

    /// On-CPU time ends at every switch, sleeps and waits too, as BCC counts it (libbpf-tools,
    /// and the default, count only runs ended by preemption)
    #[arg(long = "all-switches", conflicts_with = "offcpu")]
    pub all_switches: bool,

    /// Leave out the idle tasks (PID 0), as BCC's cpudist does without -I
    #[arg(long = "exclude-idle")]
    pub exclude_idle: bool,

    /// Print average, total and count under each histogram (BCC's -e)
    #[arg(short = 'e', long = "extension")]
    pub extension: bool,

    #[command(flatten)]
    pub containers: common::container::ContainerArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}
