// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' bindsnoop options (HEAD, the same as Debian's 0.26), and BCC's
//! -u.

use clap::Parser;
use common::cli::EventArgs;
use common::net::Ports;

const EXAMPLES: &str = "\
OPTS: socket options, one letter each when set, else '.':
    F.... IP_FREEBIND
    .T... IP_TRANSPARENT
    ..N.. IP_BIND_ADDRESS_NO_PORT
    ...R. SO_REUSEADDR
    ....r SO_REUSEPORT

EXAMPLES:
    bindsnoop             # trace all bind() calls that succeed
    bindsnoop -t          # include timestamps
    bindsnoop -x          # include failed binds
    bindsnoop -p 1216     # only trace PID 1216
    bindsnoop -P 80,81    # only trace ports 80 and 81
    bindsnoop -u 1000     # only trace UID 1000
    bindsnoop -c CG       # trace process under cgroupsPath CG
    bindsnoop --containers  # show the container of each bind
    bindsnoop --json      # one JSON object per bind";

#[derive(Parser, Debug)]
#[command(
    name = "bindsnoop",
    version,
    about = "Trace bind() calls on IPv4 and IPv6 sockets",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Include timestamp on output (HH:MM:SS)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,

    /// Include errors on output (failed binds; default: only those that succeed)
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,

    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Comma-separated list of ports to trace (the bound port)
    #[arg(short = 'P', long = "ports", value_name = "PORTS",
          value_parser = common::net::ports)]
    pub ports: Option<Ports>,

    /// Process UID to trace
    #[arg(short = 'u', long = "uid", value_name = "UID",
          value_parser = common::cli::uid())]
    pub uid: Option<u32>,

    /// Trace process in cgroup path (cgroup v2)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub event: EventArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn recipes_parse() {
        let a = Args::try_parse_from(["bindsnoop", "-tx", "-p", "1216", "-P", "80,81"])
            .expect("parses");
        assert!(a.timestamp && a.failed);
        assert_eq!(a.pid, Some(1216));
        assert_eq!(a.ports, Some(Ports(vec![80, 81])));
        assert!(Args::try_parse_from(["bindsnoop", "-P", "0"]).is_err());
        assert!(Args::try_parse_from(["bindsnoop", "-P", "65536"]).is_err());
    }
}
