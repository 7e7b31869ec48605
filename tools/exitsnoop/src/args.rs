// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' exitsnoop options (HEAD, the same as Debian's 0.26).

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    exitsnoop             # trace process exit events
    exitsnoop -t          # include timestamps
    exitsnoop -x          # trace error exits only
    exitsnoop -p 1216     # only trace PID 1216
    exitsnoop -T          # trace thread exit events
    exitsnoop -c CG       # trace process under cgroupsPath CG
    exitsnoop --containers  # show the container of each exit
    exitsnoop --container 46441cff64eb  # only exits in this container
    exitsnoop --json      # one JSON object per exit";

#[derive(Parser, Debug)]
#[command(
    name = "exitsnoop",
    version,
    about = "Trace process termination",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Include timestamp on output (HH:MM:SS)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,

    /// Trace error exits only (a non-zero exit status or a signal)
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,

    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Trace thread exits too (default: only when a process's main thread exits)
    #[arg(short = 'T', long = "threaded")]
    pub threaded: bool,

    /// Trace process in cgroup path (cgroup v2)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub event: EventArgs,
}
