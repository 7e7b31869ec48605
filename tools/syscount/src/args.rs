// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' syscount options (HEAD), with its names and defaults.

use clap::Parser;
use common::cli::{CommonArgs, MAX_SECONDS, int};

const EXAMPLES: &str = "\
EXAMPLES:
    syscount                 # print top 10 syscalls by count at Ctrl-C
    syscount -p $(pidof dd)  # look only at a particular process
    syscount -L              # measure and sort output by latency
    syscount -P              # group statistics by pid, not by syscall
    syscount -x -i 5         # count only failed syscalls
    syscount -e ENOENT -i 5  # count only syscalls failed with a given errno
    syscount -c CG           # Trace process under cgroupsPath CG
    syscount -L -d 10 --json # ten seconds of counts and latencies as JSON
    syscount --containers    # one table per container, host tasks in their own
    syscount -L --prometheus 127.0.0.1:9435  # counters and seconds at /metrics";

/// `--containers` help: what it does for syscount.
const CONTAINERS_HELP: &str = "One table per container (a 'container = ID (RUNTIME)' line above \
     each; host tasks in their own); JSON and metrics: each row's container";

#[derive(Parser, Debug)]
#[command(
    name = "syscount",
    version,
    about = "Summarize syscall counts and latencies",
    after_help = EXAMPLES,
    mut_arg("containers", |a| a.help(CONTAINERS_HELP))
)]
pub struct Args {
    /// Process PID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Print summary at this interval (seconds); 0: only at the end
    #[arg(short = 'i', long = "interval", value_name = "INTERVAL", default_value_t = 0,
          value_parser = int::<u64>(0, MAX_SECONDS.into()))]
    pub interval: u64,

    /// Total tracing duration (seconds)
    #[arg(short = 'd', long = "duration", value_name = "DURATION",
          value_parser = common::cli::seconds())]
    pub duration: Option<u64>,

    /// Print only the top syscalls
    #[arg(short = 'T', long = "top", value_name = "TOP", default_value_t = 10,
          value_parser = int::<usize>(1, i32::MAX.into()))]
    pub top: usize,

    /// Trace process in cgroup path (cgroup v2)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    /// Trace only failed syscalls
    #[arg(short = 'x', long = "failures")]
    pub failures: bool,

    /// Collect syscall latency
    #[arg(short = 'L', long = "latency")]
    pub latency: bool,

    /// Display latency in milliseconds (default: microseconds)
    #[arg(short = 'm', long = "milliseconds")]
    pub milliseconds: bool,

    /// Count by process and not by syscall
    #[arg(short = 'P', long = "process")]
    pub process: bool,

    /// Trace only syscalls that return this error (numeric or EPERM, etc.)
    #[arg(short = 'e', long = "errno", value_name = "ERRNO",
          value_parser = crate::names::parse_errno)]
    pub errno: Option<i32>,

    /// Print list of recognized syscalls and exit
    #[arg(short = 'l', long = "list")]
    pub list: bool,

    #[command(flatten)]
    pub containers: common::container::ContainerArgs,

    // Each report's counts become counters (`Sink::Export` in main.rs), published every -i
    // seconds (1 without it).
    #[command(flatten)]
    pub export: common::cli::ExportArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}
