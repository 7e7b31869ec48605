// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' killsnoop (its sigsnoop in kill mode) options, HEAD.

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    killsnoop             # trace signals sent with kill/tkill/tgkill
    killsnoop -p 1216     # only trace PID 1216
    killsnoop -s 1,9,15   # trace signals 1, 9 and 15
    killsnoop -x          # trace failed signals only
    killsnoop -n          # display signal name instead of signal number
    killsnoop --containers  # show the sender's container
    killsnoop --json      # one JSON object per signal sent";

#[derive(Parser, Debug)]
#[command(
    name = "killsnoop",
    version,
    about = "Trace signals sent with the kill, tkill and tgkill syscalls",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Trace failed signals only
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,

    /// Accepted for libbpf-tools' sigsnoop recipes and changes nothing: kill, tkill and tgkill
    /// are always traced
    #[arg(short = 'k', long = "kill")]
    pub kill: bool,

    /// Process ID (sender) to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Signals to trace: comma-separated numbers 1-64
    #[arg(short = 's', long = "signal", value_name = "SIGNAL",
          value_parser = parse_signals)]
    pub signal: Option<u64>,

    /// Display signal name instead of signal number
    #[arg(short = 'n', long = "name")]
    pub name: bool,

    /// Trace process in cgroup path (cgroup v2)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub event: EventArgs,
}

/// `-s 1,9,15` as a mask with bit (sig - 1) set per signal (libbpf-tools HEAD takes 1-31; the
/// real-time signals up to 64 are accepted too).
pub fn parse_signals(s: &str) -> Result<u64, String> {
    let mut mask = 0u64;
    for part in s.split(',') {
        let sig: u32 = part.trim().parse().map_err(|_| {
            let shown = common::error::shown(part.as_bytes());
            format!("invalid signal '{shown}': a number from 1 to 64")
        })?;
        if !(1..=64).contains(&sig) {
            return Err(format!("invalid signal {sig}: a number from 1 to 64"));
        }
        mask |= 1u64 << (sig - 1);
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bad signal is quoted as every message quotes user input: escaped, in single quotes.
    #[test]
    fn bad_signals_quoted_golden() {
        assert_eq!(
            parse_signals("9,\x1b[2J"),
            Err("invalid signal '\\e[2J': a number from 1 to 64".to_owned())
        );
        assert_eq!(
            parse_signals("\x7f"),
            Err("invalid signal '\\x7f': a number from 1 to 64".to_owned())
        );
        assert_eq!(
            parse_signals("65"),
            Err("invalid signal 65: a number from 1 to 64".to_owned())
        );
    }

    #[test]
    fn signal_lists() {
        assert_eq!(parse_signals("9"), Ok(1 << 8));
        assert_eq!(parse_signals("1,9,15"), Ok(1 | 1 << 8 | 1 << 14));
        assert_eq!(parse_signals("64"), Ok(1 << 63));
        for bad in ["0", "65", "", "x", "1,,2", "-1"] {
            assert!(parse_signals(bad).is_err(), "{bad}");
        }
    }
}
