// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! SIGINT, SIGTERM and SIGHUP end a tool cleanly: the poll loop sees the flag, detaches and
//! prints its final output, instead of the process dying mid-write.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static STOP: AtomicBool = AtomicBool::new(false);

/// Install the handler once, before attaching.
pub fn install() -> Result<()> {
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))
        .map_err(|e| Error::fatal(format!("installing the signal handler: {e}")))
}

/// True once a termination signal arrived (or [`request_stop`] was called).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Ask the main loop to end, as a signal would.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Sleep for `d`, waking early when a stop is requested; true if it was. A `d` beyond what the
/// monotonic clock can add means until the stop.
pub fn sleep_unless_stopped(d: std::time::Duration) -> bool {
    let end = std::time::Instant::now().checked_add(d);
    let step = std::time::Duration::from_millis(50);
    loop {
        if stop_requested() {
            return true;
        }
        let now = std::time::Instant::now();
        match end {
            Some(end) if now >= end => return false,
            Some(end) => std::thread::sleep((end - now).min(step)),
            None => std::thread::sleep(step),
        }
    }
}

/// The standard Linux signals 1 (`SIGHUP`) to 31 (`SIGSYS`), named as `kill -l` names them with
/// `SIG` (the numbers of asm-generic/signal.h, which x86_64 and arm64 share).
const SIGNAL_NAMES: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of signal `sig` (`SIGKILL` for 9); `None` for 0, the real-time signals (32 to 64)
/// and anything else, which each tool names in its reference's own way.
pub fn name(sig: i64) -> Option<&'static str> {
    let i = usize::try_from(sig.checked_sub(1)?).ok()?;
    SIGNAL_NAMES.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn standard_signals_only() {
        assert_eq!(name(1), Some("SIGHUP"));
        assert_eq!(name(9), Some("SIGKILL"));
        assert_eq!(name(31), Some("SIGSYS"));
        for sig in [0, 32, 64, -1, i64::MIN, i64::MAX] {
            assert_eq!(name(sig), None, "{sig}");
        }
    }
}
