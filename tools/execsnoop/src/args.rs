// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Command line: libbpf-tools' execsnoop options and ferroscope's additions.

use clap::Parser;
use common::cli::EventArgs;

const EXAMPLES: &str = "\
EXAMPLES:
    execsnoop              # trace all exec() syscalls
    execsnoop -x           # include failed exec()s
    execsnoop -T           # include time (HH:MM:SS)
    execsnoop -U           # include UID
    execsnoop -u 1000      # only trace UID 1000
    execsnoop -t           # include timestamps
    execsnoop -q           # add \"quotemarks\" around arguments
    execsnoop -n main      # only print commands whose name contains \"main\"
    execsnoop -l tpkg      # only print command where arguments contain \"tpkg\"
    execsnoop -P 1234      # only trace children of PID 1234
    execsnoop -M           # show the parent's command name
    execsnoop -c CG        # trace process under cgroupsPath CG
    execsnoop --containers # show the container of each exec
    execsnoop --container 46441cff64eb  # only execs in this container
    execsnoop --json       # one JSON object per exec, argv as an array, every audit field
    execsnoop --exe-path --cwd   # the executable the kernel ran, and the working directory
    execsnoop --tty --ids --parents  # terminal, ids (setuid gains), parent and grandparent
    execsnoop --audit      # all of the audit columns above
    execsnoop --rules builtin --alerts  # only execs that match a built-in rule
    execsnoop --rules my.toml --json    # tag each exec with the rules it matches
    execsnoop --list-rules # the built-in rules
    execsnoop --list-rules --json  # the rules as JSON, one object a line";

#[derive(Parser, Debug)]
#[command(
    name = "execsnoop",
    version,
    about = "Trace exec syscalls",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Include time column on output (HH:MM:SS)
    #[arg(short = 'T', long = "time")]
    pub time: bool,

    /// Include timestamp on output (seconds since start)
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,

    /// Include failed exec()s
    #[arg(short = 'x', long = "fails")]
    pub fails: bool,

    /// Trace this UID only
    #[arg(short = 'u', long = "uid", value_name = "UID",
          value_parser = common::cli::uid())]
    pub uid: Option<u32>,

    /// Add quotemarks (") around arguments
    #[arg(short = 'q', long = "quote")]
    pub quote: bool,

    /// Only print commands whose name contains NAME (its first 15 bytes, as the kernel keeps)
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,

    /// Only print commands whose arguments contain LINE
    #[arg(short = 'l', long = "line", value_name = "LINE")]
    pub line: Option<String>,

    /// Include UID on output
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,

    /// Maximum number of arguments parsed and displayed
    #[arg(long = "max-args", value_name = "N", default_value_t = 20,
          value_parser = common::cli::int::<u16>(1, 255))]
    pub max_args: u16,

    /// Trace process in cgroup path (cgroup v2)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = common::cli::path())]
    pub cgroup: Option<std::path::PathBuf>,

    /// Trace children of this PID only
    #[arg(short = 'P', long = "ppid", value_name = "PPID",
          value_parser = common::cli::pid())]
    pub ppid: Option<u32>,

    /// Trace this PID only (the process after its exec)
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = common::cli::pid())]
    pub pid: Option<u32>,

    /// Include the parent's command name (PARENT column)
    #[arg(short = 'M', long = "print-pcomm")]
    pub print_pcomm: bool,

    /// Include the executable the kernel ran (EXE: symlinks and fexecve resolved) and its
    /// flags (FLAGS: memfd, deleted, upper)
    #[arg(long = "exe-path")]
    pub exe_path: bool,

    /// Include the working directory (CWD column)
    #[arg(long = "cwd")]
    pub cwd: bool,

    /// Include the controlling terminal (TTY column: pts/N, ttyN, or -)
    #[arg(long = "tty")]
    pub tty: bool,

    /// Include real and effective uid, gid, effective gid, audit login uid and session (UID as
    /// with -U, EUID, GID, EGID, LOGINUID, SESSION columns)
    #[arg(long = "ids")]
    pub ids: bool,

    /// Include the parent's and grandparent's command names (PARENT, GPARENT columns)
    #[arg(long = "parents")]
    pub parents: bool,

    /// All audit columns: --exe-path --cwd --tty --ids --parents
    #[arg(long = "audit")]
    pub audit: bool,

    /// Tag each exec with the rules it matches (RULE column; rules and severity in JSON):
    /// `builtin` or a TOML rules file (see execsnoop(8)); may be given more than once
    #[arg(long = "rules", value_name = "FILE|builtin", action = clap::ArgAction::Append)]
    pub rules: Vec<std::ffi::OsString>,

    /// Print only the execs that match a rule
    #[arg(long = "alerts")]
    pub alerts: bool,

    /// List the rules (those of --rules, else the built-in ones) and exit; with --json, one
    /// object a line: name, severity, description
    #[arg(long = "list-rules")]
    pub list_rules: bool,

    #[command(flatten)]
    pub event: EventArgs,
}
