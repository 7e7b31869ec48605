// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' biosnoop options (HEAD: `-d -Q -c -m -t` and a duration).

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    biosnoop              # trace all block I/O
    biosnoop -Q           # include OS queued time (insert to issue)
    biosnoop -d sdc       # trace sdc only
    biosnoop -c CG        # trace I/O submitted by tasks under cgroupsPath CG
    biosnoop -m 10        # only I/O that took longer than 10 ms
    biosnoop -t           # wall-clock time (HH:MM:SS.mmm) instead of seconds
    biosnoop 5            # trace for 5 seconds
    biosnoop --containers # show the container of each submitter
    biosnoop --json       # one JSON object per I/O";

#[derive(Parser, Debug)]
#[command(
    name = "biosnoop",
    version,
    about = "Trace block I/O",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Total duration of trace in seconds
    #[arg(value_name = "DURATION", value_parser = common::cli::seconds())]
    pub duration: Option<u64>,

    /// Trace this disk only (as /proc/partitions names it: vda, sdc, nvme0n1)
    #[arg(short = 'd', long = "disk", value_name = "DISK")]
    pub disk: Option<String>,

    /// Include OS queued time in I/O time (QUE(ms): insert to issue)
    #[arg(short = 'Q', long = "queued")]
    pub queued: bool,

    /// Trace I/O submitted by tasks in this cgroup (cgroup v2 path)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    /// Only I/O whose latency (issue to completion) is at least MIN milliseconds
    #[arg(short = 'm', long = "min", value_name = "MIN",
          value_parser = common::cli::int::<u32>(0, u32::MAX.into()))]
    pub min_ms: Option<u32>,

    /// Wall-clock time of completion (HH:MM:SS.mmm) instead of seconds since the first I/O
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,

    #[command(flatten)]
    pub event: EventArgs,
}
