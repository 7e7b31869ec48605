// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The event loop: poll the event buffer until a signal, the deadline or a closed pipe, flush
//! the output once per batch, and say how many events the kernel could not deliver.
//!
//! Whether to stop is asked between records as well as between batches ([`StopCheck`]): a
//! batch can be long (a ring buffer is read until it is empty, and `opensnoop -c` symbolizes
//! every record), and must not hold off Ctrl-C, SIGTERM, `-d` or a closed pipe.

use std::cell::Cell;
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
/// After a signal or the deadline, records already in the buffer are still delivered for this
/// long (what happened before the stop is worth printing); the event tools then only count the
/// rest (see [`OVERDUE`]) and say how many were not printed.
pub const DRAIN: Duration = Duration::from_millis(100);
/// After a stop, records left unprinted (see [`DRAIN`]) are still read and counted for this long.
pub const OVERDUE: Duration = Duration::from_secs(2);
/// How often the handler looks whether the reader of stdout has gone (one poll(2) each time).
const PIPE_CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// When to stop, asked by the loop between batches and by the record handler between records,
/// so that slow work per record delays a stop by at most one record (after [`DRAIN`]).
pub struct StopCheck {
    deadline: Option<Instant>,
    /// When a signal or the deadline was first seen.
    since: Cell<Option<Instant>>,
    reader_gone: Cell<bool>,
    last_pipe_check: Cell<Instant>,
    /// The output whose reader is watched: stdout (a pipe of the tests' own otherwise).
    out_fd: libc::c_int,
}

impl StopCheck {
    /// `deadline`: `-d`, if given.
    pub fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            since: Cell::new(None),
            reader_gone: Cell::new(false),
            last_pipe_check: Cell::new(Instant::now()),
            out_fd: libc::STDOUT_FILENO,
        }
    }

    /// A signal or the deadline asked to stop, or the reader of stdout has gone.
    fn requested(&self, now: Instant) -> bool {
        if self.since.get().is_some() || self.reader_gone(now) {
            return true;
        }
        if signal::stop_requested() {
            self.since.set(Some(now));
            return true;
        }
        // From the deadline itself, not from when it was noticed: a tool held up (stopped,
        // starved) past it drains no longer than one that was not.
        if let Some(d) = self.deadline.filter(|&d| now >= d) {
            self.since.set(Some(d));
            return true;
        }
        false
    }

    /// Between records: true when the next record must not be handled: the reader of stdout
    /// has gone, or a stop was asked at least [`DRAIN`] ago.
    pub fn due(&self) -> bool {
        let now = Instant::now();
        self.requested(now)
            && (self.reader_gone.get()
                || self
                    .since
                    .get()
                    .is_some_and(|s| now.saturating_duration_since(s) >= DRAIN))
    }

    /// A stop was asked [`OVERDUE`] ago or more: records still arriving after that are left
    /// in the buffer, not even counted (a storm that outpaces counting must not hold the exit).
    pub fn overdue(&self) -> bool {
        self.since.get().is_some_and(|s| s.elapsed() >= OVERDUE)
    }

    /// Whether the reader of stdout was seen gone (by [`StopCheck::due`]): a tool that ends
    /// then prints nothing more, not even its warnings.
    pub fn reader_closed(&self) -> bool {
        self.reader_gone.get()
    }

    /// Whether stdout is a pipe or socket whose reader has gone (poll(2) says POLLERR or
    /// POLLHUP), looked at most every [`PIPE_CHECK_INTERVAL`]. A buffered write would only
    /// find out once 64 KiB are pending, which slow records may take minutes to fill.
    fn reader_gone(&self, now: Instant) -> bool {
        if self.reader_gone.get() {
            return true;
        }
        if now.saturating_duration_since(self.last_pipe_check.get()) < PIPE_CHECK_INTERVAL {
            return false;
        }
        self.last_pipe_check.set(now);
        let mut fd = libc::pollfd {
            fd: self.out_fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        let gone = n > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0;
        self.reader_gone.set(gone);
        gone
    }
}

/// Why the event loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Signal, `--duration`, or a handler's own decision.
    Normally,
    /// The reader closed the pipe.
    BrokenPipe,
}

/// Poll until a signal, the deadline, a handler's stop or a closed pipe; flush after every
/// batch and report lost events as they happen and in a final summary. `tick` is called
/// after every batch (at least every [`POLL_INTERVAL`]), and once more, with `true`, after
/// the last one of a run that ended normally.
pub fn run(
    tool: &str,
    stream: &EventStream<'_>,
    printer: &Printer,
    stop: &StopCheck,
    tick: &mut dyn FnMut(&EventStream<'_>, bool),
) -> Result<Ended> {
    let mut reported = 0u64;
    let mut last_check = Instant::now();
    let mut finishing = false;
    loop {
        let now = Instant::now();
        if stop.requested(now) || stream.stopped() {
            if finishing {
                break;
            }
            // One more non-blocking pass delivers what is already in the buffer (for up to
            // DRAIN, see StopCheck::due).
            finishing = true;
        }
        if stop.reader_gone.get() {
            return Ok(Ended::BrokenPipe);
        }
        let timeout = if finishing {
            Duration::ZERO
        } else {
            stop.deadline.map_or(POLL_INTERVAL, |d| {
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
        tick(stream, false);
        if last_check.elapsed() >= LOST_REPORT_INTERVAL {
            last_check = Instant::now();
            reported = report_lost(tool, stream, reported);
        }
    }
    if stop.reader_gone.get() {
        return Ok(Ended::BrokenPipe);
    }
    let total = report_lost(tool, stream, reported);
    tick(stream, true);
    // Said once: the total when there were losses, and with -v that there were none.
    if total > 0 {
        let _ = writeln!(io::stderr(), "{tool}: {} lost in total", events(total));
    } else {
        log::verbose(format_args!("{tool}: 0 events lost"));
    }
    Ok(Ended::Normally)
}

/// "1 event", "2 events".
pub fn events(n: u64) -> String {
    format!("{n} {}", crate::output::plural(n, "event", "events"))
}

fn report_lost(tool: &str, stream: &EventStream<'_>, reported: u64) -> u64 {
    let total = stream.lost();
    if total > reported {
        let _ = writeln!(
            io::stderr(),
            "{tool}: lost {}: the {} was full (try --buffer-size or a filter)",
            events(total - reported),
            stream.kind().name()
        );
    }
    total.max(reported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    #[test]
    fn a_passed_deadline_lets_records_drain_for_a_while_then_stops_each_record() {
        let stop = StopCheck::new(Some(Instant::now()));
        assert!(stop.requested(Instant::now()));
        assert!(!stop.due(), "records already in the buffer still delivered");
        std::thread::sleep(DRAIN);
        assert!(stop.due());
    }

    /// `| head` with no event after head's line: nothing is written, yet the closed reader is
    /// seen (at the next check), so the tool ends instead of waiting for an event to write.
    #[test]
    fn a_closed_reader_is_seen_without_writing() {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) into a two-int array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just created here and are closed once each.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let mut stop = StopCheck::new(None);
        stop.out_fd = w.as_raw_fd();
        let later = Instant::now() + PIPE_CHECK_INTERVAL;
        assert!(!stop.reader_gone(later), "the reader is still there");
        drop(r);
        assert!(
            !stop.reader_gone(later),
            "looked at most every PIPE_CHECK_INTERVAL"
        );
        assert!(stop.reader_gone(later + PIPE_CHECK_INTERVAL));
        assert!(stop.due(), "the next record is not handled");
    }

    #[test]
    fn no_deadline_no_stop() {
        let stop = StopCheck::new(None);
        if !signal::stop_requested() {
            assert!(!stop.due());
            assert!(stop.since.get().is_none());
        }
    }
}
