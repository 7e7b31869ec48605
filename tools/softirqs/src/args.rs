// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' softirqs options and ferroscope's additions.

use clap::Parser;
use common::cli::CommonArgs;
use common::irq::IrqArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    softirqs            # sum soft irq event time
    softirqs -d         # show soft irq event time as histograms
    softirqs 1 10       # print 1 second summaries, 10 times
    softirqs -NT 1      # 1s summaries, nanoseconds, and timestamps
    softirqs -C 1       # count soft irq events every second
    softirqs -c 1       # trace CPU 1 only
    softirqs --json -d 5   # histograms as JSON every 5 seconds";

#[derive(Parser, Debug)]
#[command(
    name = "softirqs",
    version,
    about = "Summarize soft irq event time as histograms",
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(flatten)]
    pub irq: IrqArgs,

    /// Trace this CPU only
    #[arg(short = 'c', long = "cpu", value_name = "CPU", value_parser = common::cli::cpu())]
    pub cpu: Option<u32>,

    #[command(flatten)]
    pub common: CommonArgs,
}
