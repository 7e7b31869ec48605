// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' tcpconnect options, BCC's -L, and ferroscope's additions.

use clap::Parser;
use common::cli::EventArgs;
use common::net::Ports;

const EXAMPLES: &str = "\
EXAMPLES:
    tcpconnect             # trace all TCP connect()s
    tcpconnect -t          # include timestamps
    tcpconnect -p 181      # only trace PID 181
    tcpconnect -P 80       # only trace port 80
    tcpconnect -P 80,81    # only trace port 80 and 81
    tcpconnect -U          # include UID
    tcpconnect -u 1000     # only trace UID 1000
    tcpconnect -c          # count connects per src, dest, port
    tcpconnect -s          # include source port
    tcpconnect -4          # only trace IPv4 family
    tcpconnect -6          # only trace IPv6 family
    tcpconnect -o          # show each connect's outcome and latency
    tcpconnect --cgroup /sys/fs/cgroup/unified/app   # only this cgroup v2
    tcpconnect --containers  # show the container of each connect
    tcpconnect --container 46441cff64eb   # only connects from this container";

#[derive(Parser, Debug)]
#[command(
    name = "tcpconnect",
    version,
    about = "Trace active TCP connections (connect())",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Include timestamp on output (seconds since the first event)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,

    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Comma-separated list of destination ports to trace
    #[arg(short = 'P', long = "port", value_name = "PORTS", value_parser = common::net::ports)]
    pub ports: Option<Ports>,

    /// Include UID on output
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,

    /// Process UID to trace
    #[arg(short = 'u', long = "uid", value_name = "UID",
          value_parser = common::cli::uid())]
    pub uid: Option<u32>,

    /// Count connects per source address, destination address and port, until Ctrl-C
    #[arg(short = 'c', long = "count",
          conflicts_with_all = ["outcome", "json", "prometheus", "textfile"])]
    pub count: bool,

    /// Consider source port when counting; show it (SPORT column)
    #[arg(short = 's', long = "source-port")]
    pub source_port: bool,

    /// Include the local port after SADDR (BCC's LPORT column)
    #[arg(short = 'L', long = "lport")]
    pub lport: bool,

    /// Trace IPv4 only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Trace IPv6 only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Print each connect when its handshake ends, with OUTCOME and LAT(ms) columns
    #[arg(short = 'o', long = "outcome")]
    pub outcome: bool,

    /// Trace tasks in this cgroup v2 (or below it)
    #[arg(long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub event: EventArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn ports_parse() {
        let a = Args::try_parse_from(["tcpconnect", "-P", "80,81"]).expect("parses");
        assert_eq!(a.ports, Some(Ports(vec![80, 81])));
        assert!(Args::try_parse_from(["tcpconnect", "-P", "80,x"]).is_err());
    }

    #[test]
    fn families_exclude_each_other() {
        assert!(Args::try_parse_from(["tcpconnect", "-4", "-6"]).is_err());
        assert!(Args::try_parse_from(["tcpconnect", "-c", "-o"]).is_err());
    }
}
