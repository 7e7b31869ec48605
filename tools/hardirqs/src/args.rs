// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' hardirqs options and ferroscope's additions.

use clap::Parser;
use common::cli::CommonArgs;
use common::irq::IrqArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    hardirqs            # sum hard irq event time
    hardirqs -d         # show hard irq event time as histograms
    hardirqs 1 10       # print 1 second summaries, 10 times
    hardirqs -c CG      # Trace process under cgroupsPath CG
    hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps
    hardirqs -C 1       # count hard irq events every second
    hardirqs -s 0       # trace CPU 0 only
    hardirqs --json -d 5   # histograms as JSON every 5 seconds";

#[derive(Parser, Debug)]
#[command(
    name = "hardirqs",
    version,
    about = "Summarize hard irq event time as histograms",
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(flatten)]
    pub irq: IrqArgs,

    /// Trace process in cgroup path: interrupts that interrupted its tasks
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    /// Trace this CPU only
    #[arg(short = 's', long = "cpu", value_name = "CPU", value_parser = common::cli::cpu())]
    pub cpu: Option<u32>,

    #[command(flatten)]
    pub common: CommonArgs,
}
