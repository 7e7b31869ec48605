// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Every numeric option and positional of a tool, tried with boundary values: the tool must
//! refuse a value with exit status 2 and one line, or run with it and end cleanly at Ctrl-C;
//! never panic (status 101), whatever the number. The options come from the binary itself
//! (`--generate options`, from its clap definition), so an option added later is tried too.

use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::{Tool, run, unsafe_geteuid};

/// One argument that takes a value, as `--generate options` lists it.
struct Opt {
    /// `--long`, `-s`, or `#N` for the Nth positional.
    how: String,
    /// `u8` ... `i64`, or `other` (a tool's own parser of numbers).
    kind: String,
}

fn options(bin: &str) -> Vec<Opt> {
    let out = run(Command::new(bin).args(["--generate", "options"])).success();
    out.lines()
        .filter_map(|l| {
            let (how, kind) = l.split_once('\t')?;
            Some(Opt {
                how: how.to_owned(),
                kind: kind.to_owned(),
            })
        })
        .collect()
}

/// The largest value of a numeric type (`other` is tried with u64's).
fn type_max(kind: &str) -> u128 {
    match kind {
        "u8" => u8::MAX.into(),
        "u16" => u16::MAX.into(),
        "u32" => u32::MAX.into(),
        "i8" => 127,
        "i16" => i16::MAX as u128,
        "i32" => i32::MAX as u128,
        "i64" => i64::MAX as u128,
        _ => u64::MAX.into(),
    }
}

/// The command line that gives `opt` the value `v`: earlier positionals get `1`.
fn argv(opt: &Opt, v: &str) -> Vec<String> {
    match opt.how.strip_prefix('#') {
        Some(n) => {
            let n: usize = n.parse().expect("positional number");
            let mut a = vec!["1".to_owned(); n - 1];
            a.push(v.to_owned());
            a
        }
        // `--opt=-1`, so that a negative number is the option's value, not a flag.
        None if opt.how.starts_with("--") => vec![format!("{}={v}", opt.how)],
        None => vec![opt.how.clone(), v.to_owned()],
    }
}

/// Try each numeric option and positional of `bin` with 0, 1, its type's maximum, one past it,
/// -1 (as `--opt=-1`, and as `-s -1` for a short option or a bare `-1` for a positional: a
/// negative number is the option's value, not an unknown flag), a word, and ` 1` (surrounding
/// spaces: the one rule for every number is that they are ignored, so ` 1` fares as `1` does).
/// Refused: status 2, nothing on stdout, one line on stderr starting `tool: ` that names the
/// value and the option (its name, or `[NAME]`/`<NAME>` for a positional) and, for an option of
/// a numeric type, its range (`must be an integer from MIN to MAX`, `a power of two from MIN
/// to MAX`, `a number from 1 to 64`). Accepted: as root the tool
/// attaches, and Ctrl-C ends it with status 0 (a value that breaks time or size arithmetic
/// panics there); without root it may only stop with status 1 at its privilege check.
pub fn assert_numeric_options_bounded(bin: &str, tool: &str) {
    // Not a number, but read before the options are parsed (the hidden --generate is looked
    // for in the first argument): bytes that are not UTF-8 there, alone or in a flag's name.
    for first in [&b"\xff"[..], b"--\xff", b"-p\xff"] {
        let what = format!("{tool} {:?}", String::from_utf8_lossy(first));
        let out = run(Command::new(bin).arg(std::ffi::OsStr::from_bytes(first)));
        assert_eq!(out.status.code(), Some(2), "{what}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {out}");
        assert!(
            out.stderr.starts_with(&format!("{tool}: ")),
            "{what}: {out}"
        );
    }
    let opts: Vec<Opt> = options(bin)
        .into_iter()
        .filter(|o| o.kind != "text" && o.kind != "choice")
        .collect();
    assert!(!opts.is_empty(), "{tool} lists no numeric options");
    let shorts = short_names(bin);
    let root = unsafe_geteuid() == 0;
    for opt in &opts {
        let max = type_max(&opt.kind);
        let mut cases: Vec<Vec<String>> = [
            "0".to_owned(),
            "1".to_owned(),
            max.to_string(),
            (max + 1).to_string(),
            "-1".to_owned(),
            "ten".to_owned(),
            " 1".to_owned(),
        ]
        .iter()
        .map(|v| argv(opt, v))
        .collect();
        if let Some(short) = shorts.iter().find(|(l, _)| *l == opt.how) {
            cases.push(vec![short.1.clone(), "-1".to_owned()]);
        }
        let mut outcome_of_1 = None;
        for args in &cases {
            let v = args.last().expect("a value");
            let v = v.split_once('=').map_or(v.as_str(), |(_, v)| v);
            let what = format!("{tool} {args:?}");
            let t = Tool::spawn(bin, args);
            let code = match t.ready_or_exit() {
                Ok(t) => {
                    // Running: give a time computation (an interval's first sleep, a
                    // deadline) the chance to go wrong, then stop it as a user would.
                    thread::sleep(Duration::from_millis(300));
                    let out = t.interrupt();
                    assert_eq!(out.status.code(), Some(0), "{what}: {out}");
                    0
                }
                Err(out) => {
                    match out.status.code() {
                        Some(2) => {
                            assert_eq!(out.stderr.lines().count(), 1, "{what}: {out}");
                            assert!(
                                out.stderr.starts_with(&format!("{tool}: ")),
                                "{what}: {out}"
                            );
                            assert!(out.stderr.contains(v.trim()), "{what}: {out}");
                            assert!(out.stdout.is_empty(), "{what}: {out}");
                            let named = if opt.how.starts_with('#') {
                                out.stderr.contains(" for '[") || out.stderr.contains(" for '<")
                            } else {
                                out.stderr.contains(&format!(" for '{}", opt.how))
                            };
                            assert!(named, "{what}: the error names no option: {out}");
                            if opt.kind != "other" {
                                let range = out.stderr.split_once(" for '").map(|(_, r)| r);
                                assert!(
                                    range.is_some_and(|r| r.contains(" from ") && r.contains(" to ")),
                                    "{what}: the error gives no range: {out}"
                                );
                            }
                        }
                        Some(1) if !root => {
                            assert!(out.stderr.contains("root"), "{what}: {out}")
                        }
                        Some(0) if !root => {}
                        _ => panic!("{what}: neither refused (2) nor run cleanly: {out}"),
                    }
                    out.status.code().unwrap_or(-1)
                }
            };
            match v {
                "1" => outcome_of_1 = Some(code),
                " 1" => assert_eq!(
                    Some(code),
                    outcome_of_1,
                    "{what}: ' 1' is not taken as '1' is"
                ),
                _ => {}
            }
        }
    }
}

/// `(--long, -s)` for each option that has both, from the tool's `--help`.
fn short_names(bin: &str) -> Vec<(String, String)> {
    let out = run(Command::new(bin).arg("--help")).success();
    out.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (short, rest) = l.split_once(", ")?;
            let long = rest.split([' ', '=', '\t']).next()?;
            (short.len() == 2 && short.starts_with('-') && long.starts_with("--"))
                .then(|| (long.to_owned(), short.to_owned()))
        })
        .collect()
}
