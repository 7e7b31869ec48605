// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' profile options and ferroscope's additions.

use std::path::PathBuf;

use clap::Parser;
use common::cli::CommonArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    profile             # profile stack traces at 49 Hertz until Ctrl-C
    profile -F 99       # profile stack traces at 99 Hertz
    profile 5           # profile at 49 Hertz for 5 seconds only
    profile -f 5        # output in folded format for flame graphs
    profile --svg cpu.svg 10   # write a flame graph of 10 seconds to cpu.svg
    profile -p 185      # only profile process with PID 185
    profile -L 185      # only profile thread with TID 185
    profile -U          # only show user space stacks (no kernel)
    profile -K          # only show kernel space stacks (no user)
    profile --containers 5     # name the container of each stack";

/// Most processes or threads `-p` / `-L` take.
pub const MAX_IDS: usize = 1024;

#[derive(Parser, Debug)]
#[command(
    name = "profile",
    version,
    about = "Profile CPU usage by sampling stack traces at a timed interval",
    after_help = EXAMPLES,
    mut_arg("containers", |a| a.help(common::container::STACKS_HELP))
)]
pub struct Args {
    /// Profile these processes only (comma-separated PIDs)
    #[arg(short = 'p', long = "pid", value_name = "PID", value_delimiter = ',',
          value_parser = common::cli::pid())]
    pub pids: Vec<u32>,

    /// Profile these threads only (comma-separated TIDs)
    #[arg(short = 'L', long = "tid", value_name = "TID", value_delimiter = ',',
          value_parser = common::cli::pid(), conflicts_with = "pids")]
    pub tids: Vec<u32>,

    /// Show stacks from user space only (no kernel space stacks)
    #[arg(
        short = 'U',
        long = "user-stacks-only",
        conflicts_with = "kernel_stacks_only"
    )]
    pub user_stacks_only: bool,

    /// Show stacks from kernel space only (no user space stacks)
    #[arg(short = 'K', long = "kernel-stacks-only")]
    pub kernel_stacks_only: bool,

    /// Sample frequency, Hertz
    #[arg(short = 'F', long = "frequency", value_name = "FREQUENCY", default_value_t = 49,
          value_parser = common::cli::int::<u64>(1, 100_000))]
    pub frequency: u64,

    /// Insert delimiter between kernel/user stacks
    #[arg(short = 'd', long = "delimited")]
    pub delimited: bool,

    /// Include CPU idle stacks
    #[arg(short = 'I', long = "include-idle")]
    pub include_idle: bool,

    /// Output folded format, one line per stack (for flame graphs)
    #[arg(short = 'f', long = "folded", conflicts_with = "json")]
    pub folded: bool,

    /// The number of unique stack traces that can be stored and displayed
    #[arg(long = "stack-storage-size", value_name = "STACK-STORAGE-SIZE",
          default_value_t = common::stacks::DEFAULT_STORAGE_SIZE,
          value_parser = common::cli::int::<u32>(1, common::stacks::MAX_STORAGE_SIZE.into()))]
    pub stack_storage_size: u32,

    /// Cpu to profile on
    #[arg(short = 'C', long = "cpu", value_name = "CPU",
          value_parser = common::cli::int::<u32>(0, 65535))]
    pub cpu: Option<u32>,

    /// The limit for both kernel and user stack traces
    #[arg(long = "perf-max-stack-depth", value_name = "PERF-MAX-STACK-DEPTH",
          default_value_t = common::stacks::DEFAULT_MAX_DEPTH,
          value_parser = common::cli::int::<u32>(1, 65535))]
    pub perf_max_stack_depth: u32,

    /// Also write an interactive flame graph (SVG) of the stacks to FILE
    #[arg(long = "svg", value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Duration of the profile, in seconds (default: until Ctrl-C)
    #[arg(value_parser = common::cli::seconds())]
    pub duration: Option<u64>,

    #[command(flatten)]
    pub containers: common::container::ContainerArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}
