// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The event loop: poll the event buffer until a signal, the deadline or a closed pipe, flush
//! the output once per batch, and say how many events the kernel could not deliver.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::buffer::EventStream;
use crate::error::{Error, Result};
use crate::output::{Printer, is_broken_pipe};
use crate::{log, signal};

/// How often the lost counters are read while running.
const LOST_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// libbpf-tools polls every 100 ms; so do we, which also bounds the reaction to a signal.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Why the event loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Signal, `--duration`, or a handler's own decision.
    Normally,
    /// The reader closed the pipe.
    BrokenPipe,
}

/// Poll until a signal, the deadline, a handler's stop or a closed pipe; flush after every
/// batch and report lost events as they happen and in a final summary.
pub fn run(
    tool: &str,
    stream: &EventStream<'_>,
    printer: &Printer,
    deadline: Option<Instant>,
) -> Result<Ended> {
    let mut reported = 0u64;
    let mut last_check = Instant::now();
    let mut finishing = false;
    loop {
        let now = Instant::now();
        if signal::stop_requested() || stream.stopped() || deadline.is_some_and(|d| now >= d) {
            if finishing {
                break;
            }
            // One more non-blocking pass delivers what is already in the buffer.
            finishing = true;
        }
        let timeout = if finishing {
            Duration::ZERO
        } else {
            deadline.map_or(POLL_INTERVAL, |d| {
                d.saturating_duration_since(now).min(POLL_INTERVAL)
            })
        };
        stream.poll(timeout)?;
        if let Err(e) = printer.flush() {
            if is_broken_pipe(&e) {
                return Ok(Ended::BrokenPipe);
            }
            return Err(Error::fatal(format!("writing output: {e}")));
        }
        if last_check.elapsed() >= LOST_REPORT_INTERVAL {
            last_check = Instant::now();
            reported = report_lost(tool, stream, reported);
        }
    }
    let total = report_lost(tool, stream, reported);
    if total > 0 {
        let _ = writeln!(io::stderr(), "{tool}: {total} events lost in total");
    }
    log::verbose(format_args!("{tool}: {total} events lost"));
    Ok(Ended::Normally)
}

fn report_lost(tool: &str, stream: &EventStream<'_>, reported: u64) -> u64 {
    let total = stream.lost();
    if total > reported {
        let _ = writeln!(
            io::stderr(),
            "{tool}: lost {} events: the {} was full (try --buffer-size or a filter)",
            total - reported,
            stream.kind().name()
        );
    }
    total.max(reported)
}
