// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' tcplife options (HEAD), and BCC's -t and -s.

use clap::Parser;
use common::cli::EventArgs;
use common::net::Ports;

const EXAMPLES: &str = "\
EXAMPLES:
    tcplife -p 1215             # only trace PID 1215
    tcplife -p 1215 -4          # trace IPv4 only
    tcplife -T                  # include time column (HH:MM:SS)
    tcplife -w                  # wider columns (fit IPv6)
    tcplife -stT                # csv output, with times & timestamps
    tcplife -L 80               # only trace local port 80
    tcplife -L 80,81            # only trace local ports 80 and 81
    tcplife -D 80               # only trace remote port 80
    tcplife --containers        # show the container of each session
    tcplife --container 46441cff64eb  # only sessions of this container
    tcplife --json              # one JSON object per session";

#[derive(Parser, Debug)]
#[command(
    name = "tcplife",
    version,
    about = "Trace the lifespan of TCP sessions and summarize",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Trace IPv4 only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Trace IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Comma-separated list of local ports to trace
    #[arg(short = 'L', long = "localport", value_name = "LOCALPORT",
          value_parser = common::net::ports)]
    pub localport: Option<Ports>,

    /// Comma-separated list of remote ports to trace
    #[arg(short = 'D', long = "remoteport", value_name = "REMOTEPORT",
          value_parser = common::net::ports)]
    pub remoteport: Option<Ports>,

    /// Include a time column on output (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    pub time: bool,

    /// Include a timestamp column on output (seconds since the first session shown)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,

    /// Wide column output (fits IPv6 addresses)
    #[arg(short = 'w', long = "wide")]
    pub wide: bool,

    /// Comma-separated values output (BCC's CSV: an IP column, TX_KB and RX_KB in whole KiB)
    #[arg(short = 's', long = "csv", conflicts_with = "json")]
    pub csv: bool,

    #[command(flatten)]
    pub event: EventArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn recipes_parse() {
        let a = Args::try_parse_from(["tcplife", "-stT", "-p", "1215", "-4"]).expect("parses");
        assert!(a.csv && a.timestamp && a.time && a.ipv4);
        assert_eq!(a.pid, Some(1215));
        let a = Args::try_parse_from(["tcplife", "-L", "80,81", "-D", "443", "-w"]).expect("ok");
        assert_eq!(a.localport, Some(Ports(vec![80, 81])));
        assert_eq!(a.remoteport, Some(Ports(vec![443])));
        assert!(a.wide);
        assert!(Args::try_parse_from(["tcplife", "-4", "-6"]).is_err());
        assert!(Args::try_parse_from(["tcplife", "-L", "0"]).is_err());
        assert!(Args::try_parse_from(["tcplife", "-s", "--json"]).is_err());
    }
}
