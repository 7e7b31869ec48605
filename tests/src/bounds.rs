// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Every numeric option and positional of a tool, tried with boundary values: the tool must
//! refuse a value with exit status 2 and one line, or run with it and end cleanly at Ctrl-C;
//! never panic (status 101), whatever the number. The options come from the binary itself
//! (`--generate options`, from its clap definition), so an option added later is tried too.

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
/// -1 and a word. Refused: status 2, nothing on stdout, one line on stderr starting `tool: `
/// that names the value. Accepted: as root the tool attaches, and Ctrl-C ends it with status 0
/// (a value that breaks time or size arithmetic panics there); without root it may only stop
/// with status 1 at its privilege check.
pub fn assert_numeric_options_bounded(bin: &str, tool: &str) {
    let opts: Vec<Opt> = options(bin)
        .into_iter()
        .filter(|o| o.kind != "text" && o.kind != "choice")
        .collect();
    assert!(!opts.is_empty(), "{tool} lists no numeric options");
    let root = unsafe_geteuid() == 0;
    for opt in &opts {
        let max = type_max(&opt.kind);
        let values = [
            "0".to_owned(),
            "1".to_owned(),
            max.to_string(),
            (max + 1).to_string(),
            "-1".to_owned(),
            "ten".to_owned(),
        ];
        for v in &values {
            let args = argv(opt, v);
            let what = format!("{tool} {}", args.join(" "));
            let t = Tool::spawn(bin, &args);
            let out = match t.ready_or_exit() {
                Ok(t) => {
                    // Running: give a time computation (an interval's first sleep, a
                    // deadline) the chance to go wrong, then stop it as a user would.
                    thread::sleep(Duration::from_millis(300));
                    let out = t.interrupt();
                    assert_eq!(out.status.code(), Some(0), "{what}: {out}");
                    continue;
                }
                Err(out) => out,
            };
            match out.status.code() {
                Some(2) => {
                    assert_eq!(out.stderr.lines().count(), 1, "{what}: {out}");
                    assert!(
                        out.stderr.starts_with(&format!("{tool}: ")),
                        "{what}: {out}"
                    );
                    assert!(out.stderr.contains(v.as_str()), "{what}: {out}");
                    assert!(out.stdout.is_empty(), "{what}: {out}");
                }
                Some(1) if !root => assert!(out.stderr.contains("root"), "{what}: {out}"),
                Some(0) if !root => {}
                _ => panic!("{what}: neither refused (2) nor run cleanly: {out}"),
            }
        }
    }
}
