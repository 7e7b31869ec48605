// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: BCC's tcpretrans options (libbpf-tools has no tcpretrans).

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    tcpretrans             # trace TCP retransmits
    tcpretrans -l          # include TLP attempts (needs kprobes)
    tcpretrans -4          # trace IPv4 family only
    tcpretrans -6          # trace IPv6 family only
    tcpretrans -s          # include STATE and SEQ columns
    tcpretrans -c          # count retransmits per flow, until Ctrl-C
    tcpretrans --containers  # show the container of each retransmit's socket
    tcpretrans --json      # one JSON object per retransmit";

#[derive(Parser, Debug)]
#[command(
    name = "tcpretrans",
    version,
    about = "Trace TCP retransmits",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Display TCP sequence numbers (STATE 12 wide and SEQ columns)
    #[arg(short = 's', long = "sequence")]
    pub sequence: bool,

    /// Include tail loss probe attempts (needs kprobes: the kernel has no tracepoint for them)
    #[arg(short = 'l', long = "lossprobe")]
    pub lossprobe: bool,

    /// Count retransmits per flow; print the counts at Ctrl-C (not with --containers: the
    /// table has no CONTAINER column)
    #[arg(short = 'c', long = "count",
          conflicts_with_all = ["json", "sequence", "containers", "prometheus", "textfile"])]
    pub count: bool,

    /// Trace IPv4 family only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Trace IPv6 family only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Stop after this many seconds
    #[arg(short = 'd', long = "duration", value_name = "SECONDS",
          value_parser = common::cli::seconds())]
    pub duration: Option<u64>,

    #[command(flatten)]
    pub event: EventArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn recipes_parse() {
        let a = Args::try_parse_from(["tcpretrans", "-sl4"]).expect("parses");
        assert!(a.sequence && a.lossprobe && a.ipv4);
        assert!(Args::try_parse_from(["tcpretrans", "-4", "-6"]).is_err());
        assert!(Args::try_parse_from(["tcpretrans", "-c", "--json"]).is_err());
    }
}
