// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' offcputime options (HEAD: `-p`/`-t` lists), BCC's `-U -K -d -f`
//! and ferroscope's additions.

use clap::Parser;
use common::cli::{CommonArgs, Int, int};

const EXAMPLES: &str = "\
EXAMPLES:
    offcputime             # trace off-CPU stack time until Ctrl-C
    offcputime 5           # trace for 5 seconds only
    offcputime -m 1000     # trace only events that last more than 1000 usec
    offcputime -M 10000    # trace only events that last less than 10000 usec
    offcputime -p 185,175,165 # only trace threads for PID 185,175,165
    offcputime -t 188,120,134 # only trace threads 188,120,134
    offcputime -u          # only trace user threads (no kernel)
    offcputime -k          # only trace kernel threads (no user)
    offcputime --state-mask 2 # only threads blocked uninterruptibly (D, TASK_IDLE too)
    offcputime -f 5 > out.folded   # folded stacks for flamegraph.pl or inferno
    offcputime --svg offcpu.svg -p 185 10   # a flame graph of 10 seconds, no script needed";

/// The most IDs `-p` or `-t` takes: the BPF maps that hold them have this many entries
/// (libbpf-tools takes 30).
pub const MAX_IDS: usize = 1024;

/// -m in microseconds: unsigned 64-bit as in libbpf-tools, but below -M's largest value.
fn min_micros() -> Int<u64> {
    int(0, (u64::MAX - 1).into())
}

/// -M in microseconds: above -m's default (1), so that no single value breaks libbpf-tools'
/// `-m < -M` rule (values given together still can: one line, exit 2).
fn max_micros() -> Int<u64> {
    int(2, u64::MAX.into())
}

/// Frames per stack: 1 to the kernel's `kernel.perf_event_max_stack` (a larger stack map is
/// refused at load), read when the options are parsed.
fn max_depth() -> Int<u32> {
    int(1, common::stacks::kernel_max_depth().into())
}

#[derive(Parser, Debug)]
#[command(
    name = "offcputime",
    version,
    about = "Summarize off-CPU time by stack trace",
    after_help = EXAMPLES,
    mut_arg("containers", |a| a.help(common::container::STACKS_HELP))
)]
pub struct Args {
    /// Trace for this many seconds (default: until Ctrl-C)
    #[arg(value_name = "DURATION", value_parser = common::cli::seconds())]
    pub duration: Option<u64>,

    /// Trace these PIDs only (comma-separated)
    #[arg(short = 'p', long = "pid", value_name = "PID", value_delimiter = ',',
          value_parser = common::cli::pid())]
    pub pids: Vec<u32>,

    /// Trace these TIDs only (comma-separated; with -p, both must match)
    #[arg(short = 't', long = "tid", value_name = "TID", value_delimiter = ',',
          value_parser = common::cli::pid())]
    pub tids: Vec<u32>,

    /// User threads only (no kernel threads)
    #[arg(short = 'u', long = "user-threads-only")]
    pub user_threads_only: bool,

    /// Kernel threads only (no user threads)
    #[arg(
        short = 'k',
        long = "kernel-threads-only",
        conflicts_with = "user_threads_only"
    )]
    pub kernel_threads_only: bool,

    /// Show user stacks only (no kernel stacks; BCC's -U)
    #[arg(short = 'U', long = "user-stacks-only")]
    pub user_stacks_only: bool,

    /// Show kernel stacks only (no user stacks; BCC's -K)
    #[arg(
        short = 'K',
        long = "kernel-stacks-only",
        conflicts_with = "user_stacks_only"
    )]
    pub kernel_stacks_only: bool,

    /// The amount of time in microseconds over which we store traces
    #[arg(short = 'm', long = "min-block-time", value_name = "MIN-BLOCK-TIME",
          default_value_t = 1, value_parser = min_micros())]
    pub min_block_time: u64,

    /// The amount of time in microseconds under which we store traces (default U64_MAX)
    #[arg(short = 'M', long = "max-block-time", value_name = "MAX-BLOCK-TIME",
          default_value_t = u64::MAX, hide_default_value = true, value_parser = max_micros())]
    pub max_block_time: u64,

    /// Only threads switching out in this state: 0 (running, preempted), 1 (interruptible
    /// sleep) or 2 (uninterruptible), compared for equality as libbpf-tools does (2 misses
    /// TASK_IDLE and TASK_KILLABLE waits: see --state-mask)
    #[arg(long = "state", value_name = "STATE", value_parser = int::<u32>(0, 2))]
    pub state: Option<u32>,

    /// Only threads switching out in a state with any of these bits (BCC's --state: 2 takes
    /// every uninterruptible wait, TASK_IDLE and TASK_KILLABLE too; 0 means running)
    #[arg(long = "state-mask", value_name = "MASK", conflicts_with = "state",
          value_parser = int::<u32>(0, u32::MAX.into()))]
    pub state_mask: Option<u32>,

    /// The limit for both kernel and user stack traces
    #[arg(long = "perf-max-stack-depth", value_name = "PERF-MAX-STACK-DEPTH",
          default_value_t = common::stacks::DEFAULT_MAX_DEPTH,
          value_parser = max_depth())]
    pub perf_max_stack_depth: u32,

    /// The number of unique stack traces that can be stored and displayed
    #[arg(long = "stack-storage-size", value_name = "STACK-STORAGE-SIZE",
          default_value_t = common::stacks::DEFAULT_STORAGE_SIZE,
          value_parser = int::<u32>(1, common::stacks::MAX_STORAGE_SIZE.into()))]
    pub stack_storage_size: u32,

    /// Print folded stacks (COMM;FRAME;...;FRAME MICROSECONDS), for flame graphs
    #[arg(short = 'f', long = "folded", conflicts_with_all = ["svg", "json"])]
    pub folded: bool,

    /// Insert a delimiter (--, or - when folded) between kernel and user stacks
    #[arg(short = 'd', long = "delimited")]
    pub delimited: bool,

    /// Write an interactive flame graph (SVG) to FILE instead of printing stacks
    #[arg(long = "svg", value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub containers: common::container::ContainerArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}
