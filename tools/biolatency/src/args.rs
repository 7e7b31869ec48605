// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' biolatency options, BCC's -e, and ferroscope's additions.

use clap::Parser;
use common::cli::{CommonArgs, HistArgs};

const EXAMPLES: &str = "\
EXAMPLES:
    biolatency              # summarize block I/O latency as a histogram
    biolatency 1 10         # print 1 second summaries, 10 times
    biolatency -mT 1        # 1s summaries, milliseconds, and timestamps
    biolatency -Q           # include OS queued time in I/O time
    biolatency -D           # show each disk device separately
    biolatency -F           # show I/O flags separately
    biolatency -d sdc       # trace sdc only
    biolatency --containers # one histogram per container of the submitting tasks
    biolatency -e 5         # average, total and count every 5 seconds
    biolatency --percentiles --json 10   # p50/p90/p99 and JSON every 10 seconds
    biolatency -D --textfile /var/lib/node_exporter/biolatency.prom 15   # for node_exporter";

#[derive(Parser, Debug)]
#[command(
    name = "biolatency",
    version,
    about = "Summarize block device I/O latency as a histogram",
    after_help = EXAMPLES,
    mut_arg("containers", |a| a.help(common::container::HIST_HELP))
)]
pub struct Args {
    #[command(flatten)]
    pub hist: HistArgs,

    /// Include OS queued time in I/O time
    #[arg(short = 'Q', long = "queued")]
    pub queued: bool,

    /// Print a histogram per disk device
    #[arg(short = 'D', long = "disks", conflicts_with_all = ["containers", "container"])]
    pub disks: bool,

    /// Print a histogram per set of I/O flags
    #[arg(short = 'F', long = "flag", alias = "flags",
          conflicts_with_all = ["containers", "container"])]
    pub flags: bool,

    /// Trace this disk only (a whole disk, as named in /proc/partitions)
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    pub disk: Option<String>,

    /// Trace I/O submitted by tasks in this cgroup v2 (or below it)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    /// Print average, total and count under each histogram (BCC's -e)
    #[arg(short = 'e', long = "extension")]
    pub extension: bool,

    #[command(flatten)]
    pub containers: common::container::ContainerArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}
