// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' runqslower options (`-p -t -P` and `min_us`).

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    runqslower         # trace latency higher than 10000 us (default)
    runqslower 1000    # trace latency higher than 1000 us
    runqslower -p 123  # trace pid 123
    runqslower -t 123  # trace tid 123 (use for threads only)
    runqslower -P      # also show previous task name and TID
    runqslower --containers  # show the container of each waiting task
    runqslower --json  # one JSON object per wait";

/// Microseconds: 1 to 2^32 - 1 (over an hour; a longer wait is no scheduling latency).
fn min_us() -> common::cli::Int<u64> {
    common::cli::int(1, u32::MAX.into())
}

#[derive(Parser, Debug)]
#[command(
    name = "runqslower",
    version,
    about = "Trace high run queue latency",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Show waits longer than this many microseconds
    #[arg(value_name = "MIN_US", default_value_t = 10000, value_parser = min_us())]
    pub min_us: u64,

    /// Process PID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Thread TID to trace
    #[arg(short = 't', long = "tid", value_name = "TID",
          value_parser = common::cli::pid())]
    pub tid: Option<u32>,

    /// Also show previous task name and TID
    #[arg(short = 'P', long = "previous")]
    pub previous: bool,

    #[command(flatten)]
    pub event: EventArgs,
}
