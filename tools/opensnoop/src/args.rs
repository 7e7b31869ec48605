// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' opensnoop options, BCC's -f, and ferroscope's additions.

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    opensnoop             # trace all open() syscalls
    opensnoop -T          # include timestamps
    opensnoop -U          # include UID
    opensnoop -x          # only show failed opens
    opensnoop -p 181      # only trace PID 181
    opensnoop -t 123      # only trace TID 123
    opensnoop -u 1000     # only trace UID 1000
    opensnoop -d 10       # trace for 10 seconds only
    opensnoop -n main     # only print process names containing \"main\"
    opensnoop -e          # show extended fields
    opensnoop -F          # show full path for relative opens
    opensnoop -c          # show calling functions
    opensnoop -f O_WRONLY -f O_RDWR   # only opens for writing
    opensnoop --cgroup /sys/fs/cgroup/unified/app   # only tasks in this cgroup v2
    opensnoop --containers            # show the container of each open
    opensnoop --container 46441cff64eb   # only opens in this container
    opensnoop --json      # one JSON object per line";

#[derive(Parser, Debug, Clone)]
#[command(
    name = "opensnoop",
    version,
    about = "Trace open family syscalls",
    long_about = "Trace open(), openat() and openat2() system calls, one line per call, \
                  with the process, the result and the path.",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Print timestamp (wall clock HH:MM:SS of the event)
    #[arg(short = 'T', long = "timestamp")]
    pub timestamp: bool,

    /// Print UID
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,

    /// Failed opens only
    #[arg(short = 'x', long = "failed")]
    pub failed: bool,

    /// Process ID to trace
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Thread ID to trace
    #[arg(short = 't', long = "tid", value_name = "TID",
          value_parser = common::cli::pid())]
    pub tid: Option<u32>,

    /// User ID to trace
    #[arg(short = 'u', long = "uid", value_name = "UID",
          value_parser = common::cli::uid())]
    pub uid: Option<u32>,

    /// Duration to trace, in seconds
    #[arg(short = 'd', long = "duration", value_name = "SECONDS",
          value_parser = common::cli::seconds())]
    pub duration: Option<u64>,

    /// Trace process names containing this (its first 15 bytes, as the kernel keeps)
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,

    /// Print extended fields (FLAGS and MODE)
    #[arg(short = 'e', long = "extended-fields", alias = "extended_fields")]
    pub extended: bool,

    /// Print full path of relative opens
    #[arg(short = 'F', long = "full-path")]
    pub full_path: bool,

    /// Show the user-space calling functions of each open
    #[arg(short = 'c', long = "callers")]
    pub callers: bool,

    /// Only opens with this flag, e.g. O_WRONLY or O_CREAT (repeatable: any of them)
    #[arg(
        short = 'f',
        long = "flag-filter",
        alias = "flag_filter",
        value_name = "FLAG"
    )]
    pub flag_filter: Vec<String>,

    /// Only tasks in this cgroup v2 (or below it)
    #[arg(long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub event: EventArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_tools_recipes_parse() {
        let a =
            Args::try_parse_from(["opensnoop", "-x", "-p", "1234", "-T", "-U", "-e", "-d", "5"])
                .expect("parses");
        assert!(a.failed && a.timestamp && a.print_uid && a.extended);
        assert_eq!(a.pid, Some(1234));
        assert_eq!(a.duration, Some(5));
    }

    #[test]
    fn flag_filter_repeats() {
        let a = Args::try_parse_from(["opensnoop", "-f", "O_WRONLY", "--flag_filter", "O_RDWR"])
            .expect("parses");
        assert_eq!(a.flag_filter, ["O_WRONLY", "O_RDWR"]);
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            &["opensnoop", "-p", "0"][..],
            &["opensnoop", "-p", "abc"],
            &["opensnoop", "-d", "-1"],
            &["opensnoop", "-u", "4294967295"],
            &["opensnoop", "--bogus"],
            &["opensnoop", "extra"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?} accepted");
        }
    }
}
