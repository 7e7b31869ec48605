// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' runqlat options and ferroscope's additions.

use clap::Parser;
use common::cli::{CommonArgs, HistArgs, TaskFilterArgs};

const EXAMPLES: &str = "\
EXAMPLES:
    runqlat         # summarize run queue latency as a histogram
    runqlat 1 10    # print 1 second summaries, 10 times
    runqlat -mT 1   # 1s summaries, milliseconds, and timestamps
    runqlat -P      # show each PID separately
    runqlat -p 185  # trace PID 185 only
    runqlat -c CG   # trace process under cgroupsPath CG
    runqlat --cpus  # one histogram per CPU
    runqlat --containers   # one histogram per container, host tasks in their own
    runqlat --container 46441cff64eb   # only this container's tasks
    runqlat --percentiles --json 5   # p50/p90/p99 and JSON every 5 seconds
    runqlat --cpus --prometheus 127.0.0.1:9435   # per-CPU histograms for Prometheus";

#[derive(Parser, Debug)]
#[command(
    name = "runqlat",
    version,
    about = "Summarize run queue (scheduler) latency as a histogram",
    after_help = EXAMPLES,
    mut_arg("containers", |a| a.help(common::container::HIST_HELP))
)]
pub struct Args {
    #[command(flatten)]
    pub hist: HistArgs,

    /// Print a histogram per process ID
    #[arg(short = 'P', long = "pids",
          conflicts_with_all = ["tids", "pidnss", "cpus", "containers", "container"])]
    pub pids: bool,

    /// Print a histogram per thread ID
    #[arg(short = 'L', long = "tids",
          conflicts_with_all = ["pidnss", "cpus", "containers", "container"])]
    pub tids: bool,

    /// Print a histogram per PID namespace
    #[arg(long = "pidnss", conflicts_with_all = ["cpus", "containers", "container"])]
    pub pidnss: bool,

    /// Print a histogram per CPU
    #[arg(long = "cpus", conflicts_with_all = ["containers", "container"])]
    pub cpus: bool,

    #[command(flatten)]
    pub filter: TaskFilterArgs,

    #[command(flatten)]
    pub containers: common::container::ContainerArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}
