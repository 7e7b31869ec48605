// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Diagnostics on stderr: `-v` lines of our own and libbpf's log at the verbosity asked for.

use std::sync::atomic::{AtomicU8, Ordering};

static VERBOSE: AtomicU8 = AtomicU8::new(0);

/// Route libbpf's messages to stderr at the verbosity the user asked for.
pub fn init_logging(verbose: u8) {
    VERBOSE.store(verbose, Ordering::Relaxed);
    let level = match verbose {
        0 => None,
        1 => Some(libbpf_rs::PrintLevel::Warn),
        _ => Some(libbpf_rs::PrintLevel::Debug),
    };
    libbpf_rs::set_print(level.map(|l| (l, print_libbpf as libbpf_rs::PrintCallback)));
}

fn print_libbpf(_level: libbpf_rs::PrintLevel, msg: String) {
    stderr(format_args!("{msg}"));
}

/// Print a diagnostic line on stderr when running with -v.
pub fn verbose(msg: impl std::fmt::Display) {
    if VERBOSE.load(Ordering::Relaxed) > 0 {
        stderr(format_args!("{msg}\n"));
    }
}

/// Write `text` to stderr as it is (the caller ends its lines). A failed write (stderr on a
/// full disk, `2>/dev/full`) is ignored: `eprint!` panics there (exit 101), and the exit status
/// still says how the tool ended.
pub fn stderr(text: std::fmt::Arguments) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// Silence libbpf while probing something that is expected to fail on some kernels (except
/// at -vv, which asked for all of libbpf's log).
pub fn quietly<R>(f: impl FnOnce() -> R) -> R {
    if VERBOSE.load(Ordering::Relaxed) >= 2 {
        return f();
    }
    let prev = libbpf_rs::set_print(None);
    let r = f();
    libbpf_rs::set_print(prev);
    r
}
