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
