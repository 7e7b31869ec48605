// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Options every tool shares, and argument parsing with one-line errors.

use std::ffi::{OsStr, OsString};
use std::marker::PhantomData;
use std::os::unix::ffi::OsStrExt;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{ArgAction, Args, Parser, ValueEnum};

use crate::error::Error;
use crate::tool::ToolInfo;

/// Which event buffer to use. `auto` picks the ring buffer where the kernel has one; the others
/// force a path so the fallback can be tested on a kernel that has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BufferChoice {
    Auto,
    Ringbuf,
    Perf,
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Print one JSON object per line instead of columns
    #[arg(long)]
    pub json: bool,

    /// Say which hooks and buffer were chosen (-vv: libbpf's debug log too)
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Attach the same hooks with programs that return at once (benchmark floor)
    #[arg(long, hide = true)]
    pub floor: bool,
}

/// The scheduler histogram tools' task filters (cpudist, runqlat: libbpf-tools' `-p` and `-c`),
/// both applied in the kernel (`targ_tgid`; `targ_cgid` with `crate::sched::cgroup_rodata`).
#[derive(Args, Debug, Clone, Default)]
pub struct TaskFilterArgs {
    /// Trace this PID only
    #[arg(short = 'p', long = "pid", value_name = "PID",
          value_parser = pid())]
    pub pid: Option<u32>,

    /// Trace tasks in this cgroup v2 (or below it)
    #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = path())]
    pub cgroup: Option<std::path::PathBuf>,
}

/// The options every event tool has, after its own (flattened last in its `Args`, so `--help`
/// lists them in this order): `--containers`/`--container`, then [`CommonArgs`], then
/// [`BufferArgs`]. [`crate::event_tool::Run::new`] and
/// [`open_events!`](crate::open_events) take what they need from it.
#[derive(Args, Debug, Clone)]
pub struct EventArgs {
    #[command(flatten)]
    pub containers: crate::container::ContainerArgs,

    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub buffer: BufferArgs,
}

/// Options of the tools that stream events.
#[derive(Args, Debug, Clone)]
pub struct BufferArgs {
    /// Event buffer: auto, ringbuf or perf
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        env = "FERROSCOPE_BUFFER",
        hide = true
    )]
    pub buffer: BufferChoice,

    /// Ring buffer size in KiB (perf buffer: per CPU); a power of two
    #[arg(long = "buffer-size", value_name = "KIB", default_value_t = 1024,
          value_parser = parse_buffer_kib)]
    pub buffer_kib: u32,

    #[command(flatten)]
    pub export: ExportArgs,
}

/// `--prometheus ADDR` and `--textfile PATH`, the same for every tool: the event tools (part of
/// [`BufferArgs`]; see [`crate::event_tool::run`]) count their events, the histogram tools
/// ([`HistArgs`]) and syscount export their tables, instead of printing.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics (ADDR: IP:PORT) instead of printing
    #[arg(long, value_name = "ADDR", conflicts_with = "json")]
    pub prometheus: Option<std::net::SocketAddr>,

    /// Write Prometheus metrics to PATH (node_exporter textfile) instead of printing
    #[arg(long, value_name = "PATH", conflicts_with = "json", value_parser = path())]
    pub textfile: Option<std::path::PathBuf>,
}

impl ExportArgs {
    /// Where the metrics go; `None` when neither option is given (events are printed).
    pub fn targets(&self) -> Option<crate::metrics::Targets> {
        (self.prometheus.is_some() || self.textfile.is_some()).then(|| crate::metrics::Targets {
            listen: self.prometheus,
            textfile: self.textfile.clone(),
        })
    }
}

/// Options every histogram tool shares: libbpf-tools' `[interval] [count] -T -m`, and ours.
#[derive(Args, Debug, Clone, Default)]
pub struct HistArgs {
    /// Output interval, in seconds
    #[arg(value_parser = seconds())]
    pub interval: Option<u64>,

    /// Number of outputs
    #[arg(value_parser = count())]
    pub count: Option<u64>,

    /// Include timestamp on output
    #[arg(short = 'T', long = "timestamp", conflicts_with_all = EXPORT)]
    pub timestamp: bool,

    /// Millisecond histogram
    #[arg(short = 'm', long = "milliseconds")]
    pub milliseconds: bool,

    /// Print p50, p90, p99 and max under each histogram
    #[arg(long, conflicts_with_all = EXPORT)]
    pub percentiles: bool,

    /// Keep counting across intervals instead of starting each one afresh
    #[arg(long, conflicts_with_all = EXPORT)]
    pub cumulative: bool,

    #[command(flatten)]
    pub metrics: ExportArgs,
}

/// The options of [`ExportArgs`], which the printing-only options of [`HistArgs`] exclude.
const EXPORT: [&str; 2] = ["prometheus", "textfile"];

impl HistArgs {
    pub fn unit(&self) -> &'static str {
        if self.milliseconds { "msecs" } else { "usecs" }
    }

    /// How many of the histograms' unit make a second: 1e6 (microseconds) or 1e3 (-m).
    pub fn units_per_second(&self) -> f64 {
        if self.milliseconds { 1e3 } else { 1e6 }
    }

    /// Where `--prometheus` and `--textfile` send the metrics; `None` when neither is given
    /// (the histograms are printed).
    pub fn export(&self) -> Option<crate::metrics::Targets> {
        self.metrics.targets()
    }

    pub fn schedule(&self, json: bool) -> crate::interval::Schedule {
        crate::interval::Schedule {
            interval: self.interval,
            count: self.count,
            timestamp: self.timestamp,
            json,
        }
    }
}

// The value parsers of every numeric option, in one place so that each tool (and each tool to
// come) range-checks its numbers while parsing: a value out of range is one line naming the
// option and the range, exit status 2, never a panic later in time or map arithmetic.

/// A whole number from `min` to `max` (both included) parsed into `T`, the one rule for every
/// numeric option: surrounding spaces are ignored (`-p " 1"` is `-p 1`, as in the port and
/// signal lists), an optional `+` or `-` sign and decimal digits; anything else (a word, a
/// fraction, a number of any size outside the range, negative ones included) is refused with
/// `invalid value 'V' for 'OPTION': must be an integer from MIN to MAX`.
#[derive(Debug, Clone, Copy)]
pub struct Int<T> {
    min: i128,
    max: i128,
    ty: PhantomData<fn() -> T>,
}

/// [`Int`] from `min` to `max`, inclusive.
pub fn int<T>(min: i128, max: i128) -> Int<T> {
    Int {
        min,
        max,
        ty: PhantomData,
    }
}

impl<T: TryFrom<i128> + Clone + Send + Sync + 'static> Int<T> {
    /// The value `text` stands for, or the reason it is refused (without the option's name).
    pub fn check(&self, text: &OsStr) -> Result<T, String> {
        let (min, max) = (self.min, self.max);
        let refuse = || format!("must be an integer from {min} to {max}");
        let t = text.to_str().ok_or_else(refuse)?.trim();
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        // Digits only: the parse fails only when the number overflows i128, far out of range.
        let v: i128 = t.parse().map_err(|_| refuse())?;
        if !(min..=max).contains(&v) {
            return Err(refuse());
        }
        T::try_from(v).map_err(|_| refuse())
    }
}

impl<T: TryFrom<i128> + Clone + Send + Sync + 'static> TypedValueParser for Int<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        self.check(value).map_err(|why| {
            let name = arg.map_or_else(|| "...".to_owned(), |a| a.to_string());
            let shown = crate::error::shown(value.as_bytes());
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value '{shown}' for '{name}': {why}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// The value parser of a path option (`-c PATH`, `--textfile PATH`): any bytes, but not none.
/// clap's own path parser refuses an empty value (`-c ''`) with "a value is required ... but
/// none was supplied", which reads as if the value had been left out; this one says it is empty:
/// `invalid value '' for '--textfile <PATH>': an empty path`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NonEmptyPath;

/// [`NonEmptyPath`].
pub fn path() -> NonEmptyPath {
    NonEmptyPath
}

impl TypedValueParser for NonEmptyPath {
    type Value = std::path::PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<std::path::PathBuf, clap::Error> {
        if value.is_empty() {
            let name = arg.map_or_else(|| "...".to_owned(), |a| a.to_string());
            return Err(clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value '' for '{name}': an empty path\n"),
            )
            .with_cmd(cmd));
        }
        Ok(value.into())
    }
}

/// The longest duration or interval, in seconds: 2^32 - 1 (about 136 years). Longer would
/// overflow the monotonic clock's arithmetic; nobody waits that long, so "until Ctrl-C" is
/// what a user wants then, and leaving the option out says exactly that.
pub const MAX_SECONDS: u64 = u32::MAX as u64;

/// A duration or interval in whole seconds: 1 to [`MAX_SECONDS`].
pub fn seconds() -> Int<u64> {
    int(1, MAX_SECONDS.into())
}

/// A number of outputs or events: 1 to 2^64 - 1 (the largest is, in effect, until Ctrl-C).
pub fn count() -> Int<u64> {
    int(1, u64::MAX.into())
}

/// A process or thread ID: 1 to 2^31 - 1 (the kernel's pid_t is a signed int; its
/// PID_MAX_LIMIT, 2^22, is lower still, but a larger ID is only "no such task", not an error).
pub fn pid() -> Int<u32> {
    int(1, i32::MAX.into())
}

/// A CPU number: 0 to 8191 (the kernel's NR_CPUS is at most 8192). A CPU this machine does not
/// have is for the tool to refuse (see [`crate::irq::cpu_filter`]).
pub fn cpu() -> Int<u32> {
    int(0, 8191)
}

/// A user ID: 0 to 2^32 - 2 (2^32 - 1 is (uid_t)-1, "no user", in the kernel's uid_t).
pub fn uid() -> Int<u32> {
    int(0, (u32::MAX - 1).into())
}

/// The kernel's TASK_COMM_LEN (include/linux/sched.h): a task's command name is at most this
/// many bytes with its NUL, so at most 15 of a longer executable name.
pub const TASK_COMM_LEN: usize = 16;

/// A command-name filter (`-n NAME` and its kin) as the kernel can match it: the first 15 bytes
/// of `name`, since a task's comm holds no more, as libbpf-tools' opensnoop compares them.
/// Shortening it says so once, on stderr, naming the bytes compared. Errors: an empty name
/// (it would match everything) is a usage error naming `flag`.
pub fn comm_filter(tool: &str, flag: &str, name: &str) -> Result<Vec<u8>, Error> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(Error::usage(format!("{flag} needs a non-empty name")));
    }
    let max = TASK_COMM_LEN - 1;
    if bytes.len() > max {
        let kept = &bytes[..max];
        crate::error::warn(
            tool,
            format_args!(
                "{flag} '{name}' is longer than a kernel command name ({max} bytes): \
                 comparing its first {max}, '{}'",
                // A cut inside a UTF-8 character shows its bytes (`\xc3`), as PCOMM does.
                crate::error::shown(kept)
            ),
        );
        return Ok(kept.to_vec());
    }
    Ok(bytes.to_vec())
}

fn parse_buffer_kib(s: &str) -> Result<u32, String> {
    let refuse = || "must be a power of two from 4 to 1048576".to_owned();
    let v = int::<u32>(4, 1 << 20)
        .check(OsStr::new(s))
        .map_err(|_| refuse())?;
    if !v.is_power_of_two() {
        return Err(refuse());
    }
    Ok(v)
}

/// Parse the command line. Help and version go to stdout with status 0; anything else the
/// parser rejects becomes one line on stderr and status 2. `info.manual` is the hand-written
/// roff, for the hidden `--generate` (see [`crate::manual`]), which also exits here.
pub fn parse<T: Parser>(info: &ToolInfo) -> Result<T, Error> {
    let tool = info.name;
    if let Some(done) = crate::manual::intercept::<T>(info) {
        done?;
        std::process::exit(0);
    }
    let parsed = parse_from::<T>(std::env::args_os()).map_err(|e| match e.kind() {
        kind @ (ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            // `--help | head -1` ends quietly; `--help > /dev/full` says it wrote nothing.
            match e.print() {
                Err(err) if !crate::output::is_broken_pipe(&err) => {
                    let what = match kind {
                        ErrorKind::DisplayHelp => "help text",
                        _ => "version",
                    };
                    crate::error::warn(tool, format!("cannot write the {what}: {err}"));
                    std::process::exit(1);
                }
                _ => std::process::exit(0),
            }
        }
        _ => match buffer_env_refused(&e) {
            Some(value) => Error::usage(format!(
                "FERROSCOPE_BUFFER: invalid value '{value}' (auto, ringbuf or perf)"
            )),
            None => Error::usage(one_line_clap_error(&e, tool)),
        },
    })?;
    // After the command line, so that --help and --version answer whatever the environment.
    crate::probe::check_disabled_features().map_err(Error::usage)?;
    Ok(parsed)
}

/// `FERROSCOPE_BUFFER`'s value, quoted as every message quotes input (clap's copy has U+FFFD
/// for a byte that is not UTF-8), when `e` refuses the hidden `--buffer`'s value and that
/// value came from the variable, not the command line: clap names the option either way,
/// which blames a flag nobody typed.
fn buffer_env_refused(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let typed = std::env::args_os()
        .skip(1)
        .any(|a| a == "--buffer" || a.as_bytes().starts_with(b"--buffer="));
    let on_buffer = matches!(e.get(ContextKind::InvalidArg),
                             Some(ContextValue::String(a)) if a.starts_with("--buffer "));
    if e.kind() != ErrorKind::InvalidValue || typed || !on_buffer {
        return None;
    }
    std::env::var_os("FERROSCOPE_BUFFER").map(|v| crate::error::shown(v.as_bytes()))
}

/// Parse `args` (the program name first) as `T`, letting every option and positional take a
/// negative number as its value, so `-p -1` is refused by the option's range (naming `--pid`)
/// rather than as an unknown flag `-1`. A value that is not UTF-8 where text is expected
/// is refused naming its option (clap names none). Errors are clap's, the user's text in them
/// escaped ([`escape_quoted_input`]).
fn parse_from<T: Parser>(args: impl IntoIterator<Item = OsString>) -> Result<T, clap::Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    let mut cmd = T::command().mut_args(|a| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    });
    let mut matches = cmd.try_get_matches_from_mut(args.iter()).map_err(|e| {
        if e.kind() == ErrorKind::InvalidUtf8
            && let Some(msg) = invalid_utf8_option(&args, &cmd)
        {
            return clap::Error::raw(ErrorKind::InvalidUtf8, msg).with_cmd(&cmd);
        }
        escape_quoted_input_of(e, &args)
    })?;
    T::from_arg_matches_mut(&mut matches).map_err(|e| escape_quoted_input(e.format(&mut cmd)))
}

/// For clap's "invalid UTF-8 was detected": which argument was not UTF-8, and the option it
/// was the value of (`-n X`, `-nX`, `--name X` or `--name=X`), or that it was a positional.
fn invalid_utf8_option(args: &[OsString], cmd: &clap::Command) -> Option<String> {
    use crate::error::shown;
    // The option as clap's other messages name it, `--container <ID>`, whichever spelling was
    // typed; as typed when it is no option of `cmd`.
    let named = |typed: &[u8]| -> String {
        let arg = match typed.strip_prefix(b"--") {
            Some(long) => cmd
                .get_arguments()
                .find(|a| a.get_long().is_some_and(|l| l.as_bytes() == long)),
            None => cmd.get_arguments().find(|a| {
                a.get_short()
                    .is_some_and(|c| typed.len() == 2 && u8::try_from(c) == Ok(typed[1]))
            }),
        };
        arg.filter(|a| a.get_action().takes_values())
            .map_or_else(|| shown(typed), |a| a.to_string())
    };
    let i = args.iter().skip(1).position(|a| a.to_str().is_none())? + 1;
    let bytes = args[i].as_bytes();
    let what = "it is not valid UTF-8";
    let opt_value = if let Some(rest) = bytes.strip_prefix(b"--") {
        rest.iter()
            .position(|&b| b == b'=')
            .map(|eq| (&bytes[..eq + 2], &rest[eq + 1..]))
    } else if bytes.len() > 2 && bytes[0] == b'-' && bytes[1].is_ascii_alphanumeric() {
        Some((&bytes[..2], &bytes[2..]))
    } else {
        None
    };
    if let Some((opt, value)) = opt_value {
        let (opt, value) = (named(opt), shown(value));
        return Some(format!("invalid value '{value}' for '{opt}': {what}\n"));
    }
    let value = shown(bytes);
    let prev = args[i - 1].to_str().filter(|p| i > 1 && p.starts_with('-'));
    Some(match prev.map(|p| named(p.as_bytes())) {
        Some(opt) => format!("invalid value '{value}' for '{opt}': {what}\n"),
        None => format!("argument '{value}' is not valid UTF-8\n"),
    })
}

/// clap's message as one line: the first of its rendering (tips and usage follow).
fn one_line_clap_error(e: &clap::Error, tool: &str) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    // A conflict with several options lists them on indented lines after a colon
    // ("cannot be used with:"); they are the message, so they join the one line.
    if msg.ends_with(':') {
        let items: Vec<&str> = lines
            .take_while(|l| l.starts_with(' '))
            .map(str::trim)
            .collect();
        msg = format!("{msg} {}", items.join(", "));
    }
    format!("{msg} (see '{tool} --help')")
}

/// `e` with the user's text that its message quotes (the bad value, the unknown argument)
/// escaped as [`crate::error::shown`] shows it: clap's rendering deletes escape sequences and
/// DEL (so `--container $'ab\e[2Jc'` read as `'abc'`, `--max-args $'1\x7f'` as `'1'`, a value
/// said to be bad that is not what was typed), and a newline in the value cut the one line.
/// An argument clap quotes after a lossy conversion (U+FFFD for each byte that is not UTF-8,
/// as in `unexpected argument '\u{fffd}'`) is shown from the bytes typed instead (`'\xff'`),
/// found among `args`.
fn escape_quoted_input_of(mut e: clap::Error, args: &[OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    for kind in [
        ContextKind::InvalidValue,
        ContextKind::InvalidArg,
        ContextKind::InvalidSubcommand,
    ] {
        if let Some(ContextValue::String(text)) = e.get(kind) {
            let typed = text
                .contains('\u{fffd}')
                .then(|| args.iter().find(|a| a.to_string_lossy() == text.as_str()))
                .flatten();
            let shown = crate::error::shown(typed.map_or(text.as_bytes(), |a| a.as_bytes()));
            e.insert(kind, ContextValue::String(shown));
        }
    }
    e
}

fn escape_quoted_input(e: clap::Error) -> clap::Error {
    escape_quoted_input_of(e, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap lists a conflict with several options on lines of their own; the one line keeps
    /// them (fresh-user trial: `runqlat -P -L --cpus` said "cannot be used with:" and no name).
    #[test]
    fn a_conflict_with_several_options_names_them_all() {
        #[derive(Parser, Debug)]
        struct Three {
            #[arg(long, conflicts_with_all = ["tids", "cpus"])]
            pids: bool,
            #[arg(long)]
            tids: bool,
            #[arg(long)]
            cpus: bool,
        }
        let e = Three::try_parse_from(["t", "--pids", "--tids", "--cpus"]).expect_err("conflict");
        assert_eq!(
            one_line_clap_error(&e, "t"),
            "the argument '--pids' cannot be used with: --tids, --cpus (see 't --help')"
        );
    }

    #[derive(Parser, Debug)]
    struct Nums {
        /// A flag among the options: clap's debug checks refuse negative numbers on a flag.
        #[arg(short = 'x', long = "failed")]
        failed: bool,
        #[arg(short = 'd', long = "duration", value_parser = seconds())]
        duration: Option<u64>,
        #[arg(short = 'p', long = "pid", value_parser = pid())]
        pid: Option<u32>,
        #[arg(short = 'u', long = "uid", value_parser = uid())]
        uid: Option<u32>,
        #[arg(value_parser = count())]
        count: Option<u64>,
    }

    fn parse(args: &[&str]) -> Result<Nums, String> {
        parse_os(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn parse_os(args: &[OsString]) -> Result<Nums, String> {
        parse_from::<Nums>(std::iter::once("t".into()).chain(args.iter().cloned()))
            .map_err(|e| one_line_clap_error(&e, "t"))
    }

    #[derive(Parser, Debug)]
    struct Paths {
        #[arg(short = 'c', long = "cgroup", value_name = "PATH", value_parser = path())]
        cgroup: Option<std::path::PathBuf>,
        /// ExportArgs conflicts with it.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        export: ExportArgs,
    }

    /// An empty path is said to be empty, not missing (fresh-user trial: `-c ''` and
    /// `--textfile ''` read "a value is required ... but none was supplied").
    #[test]
    fn empty_paths_are_said_to_be_empty_golden() {
        let parse = |args: &[&str]| {
            parse_from::<Paths>(
                std::iter::once("t")
                    .chain(args.iter().copied())
                    .map(OsString::from),
            )
            .map_err(|e| one_line_clap_error(&e, "t"))
        };
        assert_eq!(
            parse(&["-c", ""]).unwrap_err(),
            "invalid value '' for '--cgroup <PATH>': an empty path (see 't --help')"
        );
        assert_eq!(
            parse(&["--textfile="]).unwrap_err(),
            "invalid value '' for '--textfile <PATH>': an empty path (see 't --help')"
        );
        let p = parse(&["-c", "/sys/fs/cgroup/x", "--textfile", "m.prom"]).expect("parses");
        assert_eq!(p.cgroup, Some("/sys/fs/cgroup/x".into()));
        assert_eq!(p.export.textfile, Some("m.prom".into()));
    }

    #[test]
    fn comm_filters_keep_what_the_kernel_keeps() {
        assert_eq!(comm_filter("t", "-n", "bash").unwrap(), b"bash");
        assert_eq!(
            comm_filter("t", "-n", "averyveryverylongname").unwrap(),
            b"averyveryverylo"
        );
        assert_eq!(
            comm_filter("t", "-n", "exactly15bytes!").unwrap(),
            b"exactly15bytes!"
        );
        // A multi-byte character cut in two: the kernel cuts bytes, so the filter does too.
        assert_eq!(comm_filter("t", "-n", "aaaaaaaaaaaaaaé").unwrap().len(), 15);
        assert!(comm_filter("t", "-n", "").is_err());
    }

    #[test]
    fn ranges_are_checked_when_parsing() {
        assert_eq!(
            parse(&["-d", "4294967295"]).unwrap().duration,
            Some(MAX_SECONDS)
        );
        assert_eq!(
            parse(&["-p", "2147483647"]).unwrap().pid,
            Some(i32::MAX as u32)
        );
        assert_eq!(parse(&["-u", "0"]).unwrap().uid, Some(0));
        assert_eq!(
            parse(&["18446744073709551615"]).unwrap().count,
            Some(u64::MAX)
        );
        // One rule for surrounding spaces, for every number: ignored.
        assert_eq!(parse(&["-p", " 1 "]).unwrap().pid, Some(1));
        assert_eq!(parse(&["-u", "+7"]).unwrap().uid, Some(7));
        assert!(parse(&["-x", "-p", "3"]).unwrap().failed);
        assert_eq!(
            parse(&["-d", "4294967296"]).unwrap_err(),
            "invalid value '4294967296' for '--duration <DURATION>': must be an integer from 1 \
             to 4294967295 (see 't --help')"
        );
        for bad in [
            &["-d", "0"][..],
            &["-d", "18446744073709551616"],
            &["--duration=-1"],
            &["-p", "0"],
            &["-p", "2147483648"],
            &["-u", "4294967295"],
            &["0"],
            &["ten"],
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.lines().count(), 1, "{bad:?}: {e}");
            assert!(e.contains("must be an integer from"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn range_errors_golden() {
        let cases: [(&[&str], &str); 11] = [
            (
                &["-u", "4294967295"],
                "invalid value '4294967295' for '--uid <UID>': must be an integer from 0 to \
                 4294967294",
            ),
            (
                &["0"],
                "invalid value '0' for '[COUNT]': must be an integer from 1 to \
                 18446744073709551615",
            ),
            (
                &["-p", "18446744073709551615"],
                "invalid value '18446744073709551615' for '--pid <PID>': must be an integer \
                 from 1 to 2147483647",
            ),
            (
                &["-d", "18446744073709551616"],
                "invalid value '18446744073709551616' for '--duration <DURATION>': must be an \
                 integer from 1 to 4294967295",
            ),
            (
                &["-p", "-1"],
                "invalid value '-1' for '--pid <PID>': must be an integer from 1 to 2147483647",
            ),
            (
                &["-1"],
                "invalid value '-1' for '[COUNT]': must be an integer from 1 to \
                 18446744073709551615",
            ),
            (
                &["-p", "1 2"],
                "invalid value '1 2' for '--pid <PID>': must be an integer from 1 to 2147483647",
            ),
            // A newline or an escape sequence in the value is shown escaped, the line whole.
            (
                &["-p", "1\n2"],
                "invalid value '1\\n2' for '--pid <PID>': must be an integer from 1 to 2147483647",
            ),
            (
                &["-p", "1\x1b[2J"],
                "invalid value '1\\e[2J' for '--pid <PID>': must be an integer from 1 to 2147483647",
            ),
            (
                &["-p", "99999999999999999999999999999999999999999999"],
                "invalid value '99999999999999999999999999999999999999999999' for '--pid <PID>': \
                 must be an integer from 1 to 2147483647",
            ),
            (
                &["-u", "ten"],
                "invalid value 'ten' for '--uid <UID>': must be an integer from 0 to 4294967294",
            ),
        ];
        for (args, msg) in cases {
            assert_eq!(
                parse(args).unwrap_err(),
                format!("{msg} (see 't --help')"),
                "{args:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_names_its_option() {
        use std::os::unix::ffi::OsStringExt;
        #[derive(Parser, Debug)]
        struct Names {
            #[arg(short = 'n', long = "name")]
            name: Option<String>,
            #[arg(long, value_name = "ID")]
            container: Option<String>,
            path: Option<String>,
        }
        let run = |args: &[&[u8]]| {
            let args = args.iter().map(|a| OsString::from_vec(a.to_vec()));
            parse_from::<Names>(std::iter::once("t".into()).chain(args))
                .map_err(|e| one_line_clap_error(&e, "t"))
                .unwrap_err()
        };
        let n =
            "invalid value '\\xffab' for '--name <NAME>': it is not valid UTF-8 (see 't --help')";
        assert_eq!(run(&[b"-n", b"\xffab"]), n);
        assert_eq!(run(&[b"-n\xffab"]), n);
        assert_eq!(
            run(&[b"--name=\xffab"]),
            "invalid value '\\xffab' for '--name <NAME>': it is not valid UTF-8 (see 't --help')"
        );
        assert_eq!(
            run(&[b"--name", b"\xff"]),
            "invalid value '\\xff' for '--name <NAME>': it is not valid UTF-8 (see 't --help')"
        );
        // Named as clap names it in its other messages, with its value's name (trial:
        // `--container $'\xff'` said `for '--container'`).
        for args in [&[&b"--container"[..], b"\xff"][..], &[b"--container=\xff"]] {
            assert_eq!(
                run(args),
                "invalid value '\\xff' for '--container <ID>': it is not valid UTF-8 \
                 (see 't --help')"
            );
        }
        assert_eq!(
            run(&[b"\xff"]),
            "argument '\\xff' is not valid UTF-8 (see 't --help')"
        );
        // Where nothing takes it, clap calls it unexpected, quoting it from a lossy copy.
        #[derive(Parser, Debug)]
        struct Flags {
            #[arg(short = 'x')]
            x: bool,
        }
        let run = |arg: &[u8]| {
            let arg = OsString::from_vec(arg.to_vec());
            parse_from::<Flags>(["t".into(), arg])
                .map_err(|e| one_line_clap_error(&e, "t"))
                .unwrap_err()
        };
        assert_eq!(
            run(b"\xff"),
            "unexpected argument '\\xff' found (see 't --help')"
        );
        assert_eq!(
            run(b"--\xffa"),
            "unexpected argument '--\\xffa' found (see 't --help')"
        );
    }

    #[derive(Parser, Debug)]
    #[command(name = "demo")]
    struct Demo {
        #[command(flatten)]
        hist: HistArgs,
        #[command(flatten)]
        common: CommonArgs,
    }

    #[derive(Parser, Debug)]
    #[command(name = "snoop")]
    struct Snoop {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        buffer: BufferArgs,
    }

    #[test]
    fn buffer_size_is_a_power_of_two_in_range() {
        assert_eq!(parse_buffer_kib("4"), Ok(4));
        assert_eq!(parse_buffer_kib("1048576"), Ok(1 << 20));
        // Spaces and a plus sign around the number as every numeric option takes them.
        assert_eq!(parse_buffer_kib(" 8 "), Ok(8));
        assert_eq!(parse_buffer_kib("+16"), Ok(16));
        for bad in ["2", "1000", "2097152", "-4", "x"] {
            assert!(parse_buffer_kib(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clap_errors_become_one_line() {
        let e = Demo::try_parse_from(["demo", "--bogus"]).expect_err("unknown flag");
        assert_eq!(
            one_line_clap_error(&e, "demo"),
            "unexpected argument '--bogus' found (see 'demo --help')"
        );
        let e = Demo::try_parse_from(["demo", "0"]).expect_err("interval 0");
        let line = one_line_clap_error(&e, "demo");
        assert!(
            !line.contains('\n') && line.ends_with("(see 'demo --help')"),
            "{line}"
        );
    }

    #[test]
    fn clap_errors_escape_what_the_user_typed_golden() {
        #[derive(Parser, Debug)]
        struct Ids {
            #[arg(long = "container", value_name = "ID",
                  value_parser = crate::container::parse_container)]
            container: Option<String>,
            #[arg(long = "ports", value_parser = crate::net::ports)]
            ports: Option<crate::net::Ports>,
        }
        let run = |args: &[&str]| {
            parse_from::<Ids>(
                std::iter::once("t")
                    .chain(args.iter().copied())
                    .map(OsString::from),
            )
            .map_err(|e| crate::error::one_line(&one_line_clap_error(&e, "t")))
            .unwrap_err()
        };
        assert_eq!(
            run(&["--container", "ab\x1b[2Jc"]),
            "invalid value 'ab\\e[2Jc' for '--container <ID>': a container id or name has no '/', \
             spaces or control characters (see 't --help')"
        );
        assert_eq!(
            run(&["--container", "a\x7f"]),
            "invalid value 'a\\x7f' for '--container <ID>': a container id or name has no '/', \
             spaces or control characters (see 't --help')"
        );
        assert_eq!(
            run(&["--container", "\n"]),
            "invalid value '\\n' for '--container <ID>': a container id or name has no '/', \
             spaces or control characters (see 't --help')"
        );
        assert_eq!(
            run(&["\x1b[2Jx"]),
            "unexpected argument '\\e[2Jx' found (see 't --help')"
        );
        assert_eq!(
            run(&["--ports", "80,8\x1b1"]),
            "invalid value '80,8\\e1' for '--ports <PORTS>': invalid port '8\\e1' (1-65535) \
             (see 't --help')"
        );
    }

    #[test]
    fn histogram_options() {
        let d = Demo::try_parse_from(["demo", "-mT", "2", "3"]).expect("parses");
        assert_eq!(d.hist.unit(), "msecs");
        let s = d.hist.schedule(true);
        assert_eq!(
            (s.interval, s.count, s.timestamp, s.json),
            (Some(2), Some(3), true, true)
        );
        let d = Demo::try_parse_from(["demo"]).expect("parses");
        assert_eq!(d.hist.unit(), "usecs");
    }

    #[test]
    fn event_tool_options() {
        let d = Snoop::try_parse_from(["snoop"]).expect("parses");
        assert_eq!(
            (d.buffer.buffer, d.buffer.buffer_kib),
            (BufferChoice::Auto, 1024)
        );
        assert!(d.buffer.export.targets().is_none());
        let d = Snoop::try_parse_from(["snoop", "--prometheus", "127.0.0.1:9435"]).expect("ok");
        let t = d.buffer.export.targets().expect("targets");
        assert_eq!(t.listen, Some("127.0.0.1:9435".parse().expect("addr")));
        assert_eq!(t.textfile, None);
        let d = Snoop::try_parse_from(["snoop", "--textfile", "/x/a.prom"]).expect("ok");
        let t = d.buffer.export.targets().expect("targets");
        assert_eq!(
            t.textfile.as_deref(),
            Some(std::path::Path::new("/x/a.prom"))
        );
        for bad in [
            &["snoop", "--prometheus", "9435"][..],
            &["snoop", "--prometheus", "127.0.0.1:1", "--json"],
            &["snoop", "--textfile", "a", "--json"],
        ] {
            assert!(Snoop::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
