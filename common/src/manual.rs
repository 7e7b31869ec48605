// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Manual pages and shell completions, generated from the same clap definitions the tools parse
//! their command lines with, so the documented options cannot drift from the real ones.
//!
//! `TOOL --generate man|bash|zsh|fish [NAME]` prints one of them. It is hidden from `--help`:
//! `make man` and `make install` call it. NAME renames the command the completions register
//! for (an install with `APP_PREFIX`). `TOOL --generate options` lists the options and
//! positionals that take a value, with the type they parse to, for the tests that try each
//! with boundary values (see [`options`]).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::error::Error;
use crate::tool::ToolInfo;

/// The flag, recognised only as the first argument so it can never collide with a tool's own
/// options or positional arguments.
pub const FLAG: &str = "--generate";

/// Marks where the generated OPTIONS section goes in a tool's hand-written sections.
const OPTIONS_MARK: &str = ".\\\" @OPTIONS@\n";
/// Marks where the sections every tool shares (ENVIRONMENT, EXIT STATUS) go.
const COMMON_MARK: &str = ".\\\" @COMMON@\n";
/// Marks where SEE ALSO names the other ferroscope tools.
const TOOLS_MARK: &str = ".\\\" @TOOLS@\n";

/// What the roff crate puts at the top of everything it writes: `\*(Aq` as a plain quote.
const ROFF_PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

const COMMON_SECTIONS: &str = include_str!("../../man/sections/common.roff");

/// What `--generate` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Man,
    Shell(Shell),
    Options,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "man" => Self::Man,
            "bash" => Self::Shell(Shell::Bash),
            "zsh" => Self::Shell(Shell::Zsh),
            "fish" => Self::Shell(Shell::Fish),
            "options" => Self::Options,
            _ => return None,
        })
    }
}

/// A name a shell can take as a command and a completion function's suffix unquoted.
fn is_command_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'))
}

/// Handle `--generate` if it is the first argument: Some(result) when it was, None otherwise.
pub(crate) fn intercept<T: CommandFactory>(info: &ToolInfo) -> Option<Result<(), Error>> {
    let tool = info.name;
    // args_os: any argument may be bytes that are not UTF-8 (std::env::args would panic).
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new(FLAG)) {
        return None;
    }
    let usage = |what: String| Error::usage(format!("{what} (see '{tool} --help')"));
    let shown = |v: &std::ffi::OsStr| crate::error::shown(v.as_bytes());
    let kind = match args.next() {
        None => {
            return Some(Err(usage(format!(
                "{FLAG} needs a value: man, bash, zsh, fish or options"
            ))));
        }
        Some(k) => match k.to_str().and_then(Kind::parse) {
            Some(kind) => kind,
            None => {
                return Some(Err(usage(format!(
                    "invalid value '{}' for '{FLAG}': expected man, bash, zsh, fish or options",
                    shown(&k)
                ))));
            }
        },
    };
    // The name the completions register: a command name, so it can go into shell code as is.
    let name = match args.next() {
        None => tool.to_owned(),
        Some(n) => match n.to_str().filter(|n| is_command_name(n)) {
            Some(n) => n.to_owned(),
            None => {
                return Some(Err(usage(format!(
                    "invalid command name '{}' for '{FLAG}': letters, digits, '_', '-', '.' \
                     and '+' only",
                    shown(&n)
                ))));
            }
        },
    };
    if let Some(extra) = args.next() {
        return Some(Err(usage(format!(
            "unexpected argument '{}'",
            shown(&extra)
        ))));
    }
    let text = match kind {
        Kind::Man => man_page(T::command(), &with_siblings(info)),
        Kind::Shell(shell) => completions(T::command(), shell, &name),
        Kind::Options => Ok(options(T::command()).into_bytes()),
    };
    Some(text.and_then(|t| {
        match std::io::stdout().lock().write_all(&t) {
            // A reader that stopped (`| head`) wanted no more: as for --help, end quietly.
            Err(e) if !crate::output::is_broken_pipe(&e) => {
                Err(Error::fatal(format!("writing to stdout: {e}")))
            }
            _ => Ok(()),
        }
    }))
}

/// The tool's sections with SEE ALSO's `@TOOLS@` mark replaced by the other tools, one
/// `.BR tool (8),` line each.
fn with_siblings(info: &ToolInfo) -> String {
    let lines: String = info.siblings().map(|t| format!(".BR {t} (8),\n")).collect();
    info.manual.replacen(TOOLS_MARK, &lines, 1)
}

/// The manual page: clap's NAME, SYNOPSIS and OPTIONS around the tool's hand-written roff, in
/// section 8 like BCC's pages.
pub fn man_page(cmd: clap::Command, sections: &str) -> Result<Vec<u8>, Error> {
    let (head, tail) = sections
        .split_once(OPTIONS_MARK)
        .ok_or_else(|| Error::fatal("the manual's sections have no @OPTIONS@ mark"))?;
    let tail = tail.replacen(COMMON_MARK, COMMON_SECTIONS, 1);
    let source = format!(
        "ferroscope {}",
        cmd.get_version().unwrap_or(env!("CARGO_PKG_VERSION"))
    );
    let man = clap_mangen::Man::new(cmd)
        .section("8")
        .source(source)
        .manual("System Manager's Manual");
    // Each render call writes roff's quote-string preamble; the page needs it once, on top.
    let part = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| -> Result<String, Error> {
        let mut buf = Vec::new();
        render(&mut buf).map_err(|e| Error::fatal(format!("rendering the manual: {e}")))?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        Ok(match text.strip_prefix(ROFF_PREAMBLE) {
            Some(rest) => rest.to_owned(),
            None => text,
        })
    };
    let mut page = String::from(ROFF_PREAMBLE);
    page += &part(&|w| man.render_title(w))?;
    page += &part(&|w| man.render_name_section(w))?;
    page += &part(&|w| man.render_synopsis_section(w))?;
    page += head;
    page += &part(&|w| man.render_options_section(w))?;
    page += &tail;
    Ok(page.into_bytes())
}

/// A completion script for `shell`, registered for the command `name`.
pub fn completions(mut cmd: clap::Command, shell: Shell, name: &str) -> Result<Vec<u8>, Error> {
    // clap_complete offers hidden options too; rebuild the command from the visible ones
    // (help and version included, as clap added them at build time).
    cmd.build();
    let visible: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .cloned()
        .collect();
    let mut shown = clap::Command::new(cmd.get_name().to_owned())
        .version(cmd.get_version().unwrap_or_default().to_owned())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(visible);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut shown, name, &mut out);
    Ok(out)
}

/// The numeric type `p` parses to, by name, as [`options`] reports it.
fn numeric_type(p: &clap::builder::ValueParser) -> Option<&'static str> {
    fn is<T: 'static>(p: &clap::builder::ValueParser) -> bool {
        p.type_id() == std::any::TypeId::of::<T>()
    }
    Some(if is::<u8>(p) {
        "u8"
    } else if is::<u16>(p) {
        "u16"
    } else if is::<u32>(p) {
        "u32"
    } else if is::<u64>(p) {
        "u64"
    } else if is::<usize>(p) {
        "usize"
    } else if is::<i8>(p) {
        "i8"
    } else if is::<i16>(p) {
        "i16"
    } else if is::<i32>(p) {
        "i32"
    } else if is::<i64>(p) {
        "i64"
    } else {
        return None;
    })
}

/// Every argument that takes a value, one per line: how to pass it (`--long`, or `-s` when it
/// has no long name, or `#N` for the Nth positional, from 1) and a tab, then what it parses to:
/// a numeric type (`u8` ... `i64`), `choice` (a fixed list of values), `text` (a string or a
/// path), or `other` (a tool's own parser, e.g. a list of numbers). Hidden options included.
pub fn options(mut cmd: clap::Command) -> String {
    use std::any::TypeId;
    cmd.build();
    let mut out = String::new();
    let mut positional = 0;
    for a in cmd.get_arguments() {
        if !a.get_num_args().is_some_and(|n| n.takes_values()) {
            continue;
        }
        let how = if a.is_positional() {
            positional += 1;
            format!("#{positional}")
        } else if let Some(l) = a.get_long() {
            format!("--{l}")
        } else if let Some(s) = a.get_short() {
            format!("-{s}")
        } else {
            continue;
        };
        let parser = a.get_value_parser();
        let id = parser.type_id();
        let kind = if let Some(n) = numeric_type(parser) {
            n
        } else if parser.possible_values().is_some() {
            "choice"
        } else if [
            TypeId::of::<String>(),
            TypeId::of::<std::ffi::OsString>(),
            TypeId::of::<std::path::PathBuf>(),
        ]
        .iter()
        .any(|t| id == *t)
        {
            "text"
        } else {
            "other"
        };
        out += &format!("{how}\t{kind}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn completion_names_are_command_names() {
        for ok in ["opensnoop", "ferro-opensnoop", "opensnoop.8", "x_y+1"] {
            assert!(is_command_name(ok), "{ok}");
        }
        for bad in ["", "-x", "x\ny", "a b", "x;rm", "x$(id)", "é"] {
            assert!(!is_command_name(bad), "{bad:?}");
        }
    }

    /// A small stand-in for a tool's options.
    #[derive(Parser)]
    #[command(name = "demo", version = "1.2.3", about = "Trace demo events")]
    struct Demo {
        /// Print timestamp
        #[arg(short = 'T', long = "timestamp")]
        timestamp: bool,
        /// Not for users
        #[arg(long, hide = true)]
        secret: bool,
    }

    const SECTIONS: &str = ".SH DESCRIPTION\nDemo.\n.\\\" @OPTIONS@\n.SH EXAMPLES\nx\n.\\\" @COMMON@\n.SH SEE ALSO\ny\n";

    fn man() -> String {
        String::from_utf8(man_page(Demo::command(), SECTIONS).expect("renders")).expect("utf-8")
    }

    #[test]
    fn man_page_orders_generated_and_written_sections() {
        let m = man();
        assert!(
            m.starts_with(&format!(
                "{ROFF_PREAMBLE}.TH demo 8  \"ferroscope 1.2.3\" \"System Manager's Manual\"\n"
            )),
            "{m}"
        );
        assert_eq!(m.matches(".ds Aq").count(), 2, "one preamble:\n{m}");
        let order = [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH EXAMPLES",
            ".SH ENVIRONMENT",
            ".SH \"EXIT STATUS\"",
            ".SH SEE ALSO",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|s| m.find(s).unwrap_or_else(|| panic!("{s} missing in\n{m}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}\n{m}");
        assert!(m.contains("\\-\\-timestamp"), "{m}");
        assert!(!m.contains("secret"), "hidden options stay out:\n{m}");
        assert!(!m.contains("@OPTIONS@") && !m.contains("@COMMON@"));
    }

    #[test]
    fn sections_without_a_mark_are_refused() {
        assert!(man_page(Demo::command(), ".SH DESCRIPTION\nDemo.\n").is_err());
    }

    #[test]
    fn completions_name_the_command_and_skip_hidden_options() {
        let bash =
            String::from_utf8(completions(Demo::command(), Shell::Bash, "bpf-demo").unwrap())
                .unwrap();
        assert!(
            bash.contains("complete -F _bpf__demo -o nosort -o bashdefault -o default bpf-demo\n"),
            "{bash}"
        );
        assert!(bash.contains("--timestamp") && !bash.contains("--secret"));
    }

    #[test]
    fn see_also_names_the_other_tools() {
        let info = ToolInfo {
            name: "demo",
            manual: ".SH SEE ALSO\n.\\\" @TOOLS@\n.BR open (2)\n",
            family: "alpha,demo,zeta",
        };
        assert_eq!(
            with_siblings(&info),
            ".SH SEE ALSO\n.BR alpha (8),\n.BR zeta (8),\n.BR open (2)\n"
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::parse("man"), Some(Kind::Man));
        assert_eq!(Kind::parse("fish"), Some(Kind::Shell(Shell::Fish)));
        assert_eq!(Kind::parse("options"), Some(Kind::Options));
        assert_eq!(Kind::parse("powershell"), None);
    }

    #[test]
    fn options_lists_value_taking_arguments_with_their_types() {
        #[derive(Parser)]
        #[command(name = "demo")]
        struct Nums {
            #[arg(short = 'd', long = "duration", value_parser = crate::cli::seconds())]
            duration: Option<u64>,
            #[arg(short = 'p')]
            pid: Option<u32>,
            #[arg(short = 'n', long = "name")]
            name: Option<String>,
            #[arg(long, value_enum, default_value = "auto")]
            buffer: crate::cli::BufferChoice,
            #[arg(long, value_parser = |s: &str| s.parse::<u8>().map(|v| vec![v]))]
            list: Option<Vec<u8>>,
            #[arg(short = 'T')]
            flag: bool,
            #[arg(value_parser = crate::cli::seconds())]
            interval: Option<u64>,
        }
        assert_eq!(
            options(Nums::command()),
            "--duration\tu64\n-p\tu32\n--name\ttext\n--buffer\tchoice\n--list\tother\n#1\tu64\n"
        );
    }
}
