// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' oomkill takes no options but -v (HEAD, the same as Debian's
//! 0.26); BCC's oomkill none at all. The rest are ferroscope's own.

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    oomkill               # trace OOM kills
    oomkill --containers  # show the container of each victim
    oomkill --container 46441cff64eb  # only OOM kills in this container
    oomkill --json        # one JSON object per OOM kill";

#[derive(Parser, Debug)]
#[command(
    name = "oomkill",
    version,
    about = "Trace OOM kills: the process that triggered the OOM killer and the one it killed",
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(flatten)]
    pub event: EventArgs,
}
