// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Errors that end a tool, each carrying the exit status the brief promises.

use std::fmt;
use std::process::ExitCode;

/// Exit status for bad input (unknown flag, malformed value, conflicting options).
pub const EXIT_USAGE: u8 = 2;
/// Exit status for an environment that cannot run the tool (privileges, BTF, tracefs, BPF).
pub const EXIT_FAILURE: u8 = 1;

/// A fatal error: one line of text and the status to exit with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    msg: String,
    code: u8,
    /// The kernel refused this user (see [`Error::refused`]).
    refused: bool,
}

impl Error {
    /// Bad input from the user: exit status 2.
    pub fn usage(msg: impl Into<String>) -> Self {
        Self {
            msg: msg.into(),
            code: EXIT_USAGE,
            refused: false,
        }
    }

    /// Anything else that stops the tool: exit status 1.
    pub fn fatal(msg: impl Into<String>) -> Self {
        Self {
            msg: msg.into(),
            code: EXIT_FAILURE,
            refused: false,
        }
    }

    /// The kernel refused this user (missing privileges, a locked-memory limit, lockdown):
    /// exit status 1. Another hook path would be refused the same way, so a tool that falls
    /// back from one path to another when a load fails does not for this (see
    /// [`Error::is_refusal`]); the message says how to fix it instead.
    pub fn refused(msg: impl Into<String>) -> Self {
        Self {
            refused: true,
            ..Self::fatal(msg)
        }
    }

    /// Made by [`Error::refused`] (kept through [`Error::context`]).
    pub fn is_refusal(&self) -> bool {
        self.refused
    }

    /// Prefix the message with what was being done when it happened.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Self {
            msg: format!("{what}: {}", self.msg),
            ..self
        }
    }

    pub fn code(&self) -> u8 {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::fatal(e.to_string())
    }
}

impl From<libbpf_rs::Error> for Error {
    fn from(e: libbpf_rs::Error) -> Self {
        Self::fatal(format!("{e:#}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `msg` as one line that is safe to print on a terminal: line breaks become spaces (a message
/// can embed kernel or libbpf text), then control and invisible format characters are escaped
/// as in text output ([`crate::output::escape_text`]: `\e`, `\xNN`), but a backslash is kept
/// (a message may already show bytes that are not UTF-8 as `\xNN`, see [`shown`]). Every error
/// and warning goes through it, so user input echoed in a message (`-d $'\e[31mX'`, a cgroup
/// path) cannot recolour or rewrite the terminal.
pub fn one_line(msg: &str) -> String {
    let mut v = Vec::with_capacity(msg.len());
    crate::output::escape(&mut v, msg.replace(['\r', '\n'], " ").as_bytes(), false);
    String::from_utf8_lossy(&v).into_owned()
}

/// User input (an argument, a path) to quote in a message: text as is, bytes that are not
/// UTF-8 as `\xNN`, controls escaped as the tools escape output (`\n`, `\e`), so a newline in
/// a value neither cuts the message short nor is mistaken for a space.
pub fn shown(input: &[u8]) -> String {
    let raw: String = input
        .utf8_chunks()
        .map(|c| {
            let mut s = c.valid().to_owned();
            for b in c.invalid() {
                s += &format!("\\x{b:02x}");
            }
            s
        })
        .collect();
    let mut v = Vec::with_capacity(raw.len());
    crate::output::escape(&mut v, raw.as_bytes(), false);
    String::from_utf8_lossy(&v).into_owned()
}

/// Print the warning `tool: msg` on stderr, as one escaped line (see [`one_line`]).
pub fn warn(tool: &str, msg: impl fmt::Display) {
    crate::log::stderr(format_args!("{tool}: {}\n", one_line(&msg.to_string())));
}

/// Print `tool: message` on one line and turn the error into the process exit status.
pub fn report(tool: &str, result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::log::stderr(format_args!("{tool}: {}\n", one_line(e.message())));
            ExitCode::from(e.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_context() {
        let e = Error::usage("bad -p").context("parsing");
        assert_eq!((e.code(), e.message()), (EXIT_USAGE, "parsing: bad -p"));
        let e = Error::fatal("no BTF");
        assert_eq!((e.code(), e.to_string().as_str()), (EXIT_FAILURE, "no BTF"));
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert_eq!(Error::from(io).code(), EXIT_FAILURE);
    }

    #[test]
    fn a_refusal_stays_one_through_context() {
        let e = Error::refused("run as root").context("the kprobes path");
        assert!(e.is_refusal());
        assert_eq!(
            (e.code(), e.message()),
            (EXIT_FAILURE, "the kprobes path: run as root")
        );
        assert!(!Error::fatal("no BTF").is_refusal());
        assert!(!Error::usage("bad -p").is_refusal());
    }

    #[test]
    fn messages_are_one_escaped_line() {
        assert_eq!(
            one_line("invalid value '\x1b[31mX' for '-d'"),
            r"invalid value '\e[31mX' for '-d'"
        );
        assert_eq!(
            one_line("no cgroup /x\u{9b}31m\u{202e}y\nlibbpf: a\r\nb"),
            r"no cgroup /x\xc2\x9b31m\xe2\x80\xaey libbpf: a  b"
        );
        assert_eq!(one_line("path C:\\x"), r"path C:\x");
        assert_eq!(shown(b"\xffab\x1b"), r"\xffab\e");
        assert_eq!(shown(b"1\n2"), r"1\n2");
        assert_eq!(one_line(&shown(b"\xffab\x1b")), r"\xffab\e");
        assert_eq!(one_line("plain: é"), "plain: é");
    }

    #[test]
    fn report_turns_errors_into_exit_statuses() {
        assert_eq!(report("t", Ok(())), ExitCode::SUCCESS);
        assert_eq!(report("t", Err(Error::usage("x"))), ExitCode::from(2));
        assert_eq!(report("t", Err(Error::fatal("a\nb"))), ExitCode::from(1));
    }
}
