// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The event buffer: a BPF ring buffer where the kernel has one, a perf buffer otherwise,
//! behind one API, with lost events counted in both modes and reported, never silently dropped.
//!
//! The BPF side is `bpf/events.bpf.h`: it declares both maps (`events_rb`, `events_pb`) and a
//! per-CPU counter of failed ring buffer writes (`events_lost`).

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use libbpf_rs::{
    MapCore, OpenMapMut, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder,
};

use crate::cli::{self, BufferChoice};
use crate::error::{Error, Result};
use crate::output::{Output, is_broken_pipe};
use crate::{probe, signal};

/// How often the lost counters are read while running.
const LOST_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// libbpf-tools polls every 100 ms; so do we, which also bounds the reaction to a signal.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferKind {
    RingBuf,
    PerfBuf,
}

impl BufferKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::RingBuf => "ring buffer",
            Self::PerfBuf => "perf buffer",
        }
    }
}

/// Choose the buffer before the object is loaded, and keep the unused map from being created.
/// The caller must also set the program's `use_perf_buffer` to `kind == PerfBuf`.
pub fn configure(
    choice: BufferChoice,
    kib: u32,
    rb: &mut OpenMapMut<'_>,
    pb: &mut OpenMapMut<'_>,
) -> Result<BufferKind> {
    let have_ringbuf = probe::ringbuf();
    let kind = match choice {
        BufferChoice::Auto if have_ringbuf => BufferKind::RingBuf,
        BufferChoice::Auto | BufferChoice::Perf => BufferKind::PerfBuf,
        BufferChoice::Ringbuf if have_ringbuf => BufferKind::RingBuf,
        BufferChoice::Ringbuf => {
            return Err(Error::fatal(
                "this kernel has no BPF ring buffer (Linux 5.8+); use --buffer perf",
            ));
        }
    };
    match kind {
        BufferKind::RingBuf => {
            pb.set_autocreate(false)?;
            rb.set_max_entries(kib.saturating_mul(1024))?;
        }
        BufferKind::PerfBuf => rb.set_autocreate(false)?,
    }
    Ok(kind)
}

/// What an event handler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

enum Reader<'a> {
    Ring(RingBuffer<'a>),
    Perf(PerfBuffer<'a>),
}

#[derive(Default)]
struct Shared {
    stopped: Cell<bool>,
    perf_lost: Cell<u64>,
}

/// Reads events from whichever buffer was configured and hands each record to a handler.
pub struct EventStream<'a> {
    reader: Reader<'a>,
    lost_map: &'a dyn MapCore,
    shared: Rc<Shared>,
    kind: BufferKind,
}

impl<'a> EventStream<'a> {
    /// `rb`, `pb` and `lost` are the loaded skeleton's `events_rb`, `events_pb` and
    /// `events_lost` maps.
    pub fn new<M, F>(
        kind: BufferKind,
        kib: u32,
        rb: &'a dyn MapCore,
        pb: &'a M,
        lost: &'a dyn MapCore,
        mut handler: F,
    ) -> Result<Self>
    where
        M: MapCore,
        F: FnMut(&[u8]) -> Flow + 'a,
    {
        let shared = Rc::new(Shared::default());
        let reader = match kind {
            BufferKind::RingBuf => {
                let sh = Rc::clone(&shared);
                let mut b = RingBufferBuilder::new();
                b.add(rb, move |data: &[u8]| match handler(data) {
                    Flow::Continue => 0,
                    Flow::Stop => {
                        sh.stopped.set(true);
                        -1 // makes ring_buffer__poll return at once
                    }
                })?;
                Reader::Ring(b.build()?)
            }
            BufferKind::PerfBuf => {
                let page = page_size();
                let pages = (kib as usize * 1024 / page).max(1).next_power_of_two();
                let sh = Rc::clone(&shared);
                let sh_lost = Rc::clone(&shared);
                let pb = PerfBufferBuilder::new(pb)
                    .pages(pages)
                    .sample_cb(move |_cpu, data: &[u8]| {
                        if !sh.stopped.get() && handler(data) == Flow::Stop {
                            sh.stopped.set(true);
                        }
                    })
                    .lost_cb(move |_cpu, n| sh_lost.perf_lost.set(sh_lost.perf_lost.get() + n))
                    .build()?;
                Reader::Perf(pb)
            }
        };
        Ok(Self {
            reader,
            lost_map: lost,
            shared,
            kind,
        })
    }

    pub fn kind(&self) -> BufferKind {
        self.kind
    }

    /// True once a handler returned [`Flow::Stop`].
    pub fn stopped(&self) -> bool {
        self.shared.stopped.get()
    }

    /// Wait up to `timeout` for events and handle all that are ready.
    pub fn poll(&self, timeout: Duration) -> Result<()> {
        let r = match &self.reader {
            // Small batches are written without a wakeup (see events.bpf.h), so a poll that
            // timed out may still leave records to collect.
            Reader::Ring(rb) => rb.poll(timeout).and_then(|()| rb.consume()),
            Reader::Perf(pb) => pb.poll(timeout),
        };
        match r {
            Ok(()) => Ok(()),
            Err(_) if self.stopped() => Ok(()),
            Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(Error::fatal(format!(
                "reading the {}: {e:#}",
                self.kind.name()
            ))),
        }
    }

    /// Events the kernel could not deliver so far.
    pub fn lost(&self) -> u64 {
        match self.kind {
            BufferKind::PerfBuf => self.shared.perf_lost.get(),
            BufferKind::RingBuf => {
                let key = 0u32.to_ne_bytes();
                match self.lost_map.lookup_percpu(&key, libbpf_rs::MapFlags::ANY) {
                    Ok(Some(per_cpu)) => per_cpu
                        .iter()
                        .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
                        .map(u64::from_ne_bytes)
                        .sum(),
                    _ => 0,
                }
            }
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// Output shared between the event handler and the loop that flushes it. A write error is
/// remembered and stops the stream; a closed pipe then ends the tool quietly.
pub struct Printer {
    out: RefCell<Output>,
    error: RefCell<Option<io::Error>>,
}

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}

impl Printer {
    pub fn new() -> Self {
        Self {
            out: RefCell::new(Output::new()),
            error: RefCell::new(None),
        }
    }

    /// Write `bytes`; on failure remember why and ask the stream to stop.
    pub fn emit(&self, bytes: &[u8]) -> Flow {
        if self.error.borrow().is_some() {
            return Flow::Stop;
        }
        match self.out.borrow_mut().write(bytes) {
            Ok(()) => Flow::Continue,
            Err(e) => {
                *self.error.borrow_mut() = Some(e);
                Flow::Stop
            }
        }
    }

    /// Write and flush at once (headers, final histograms).
    pub fn emit_now(&self, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.out.borrow_mut();
        out.write(bytes)?;
        out.flush()
    }

    /// Write and flush at once; `Ok(false)` when the reader has closed the pipe, which ends a
    /// tool quietly.
    pub fn emit_or_closed(&self, bytes: &[u8]) -> Result<bool> {
        match self.emit_now(bytes) {
            Ok(()) => Ok(true),
            Err(e) if is_broken_pipe(&e) => Ok(false),
            Err(e) => Err(Error::fatal(format!("writing output: {e}"))),
        }
    }

    pub fn flush(&self) -> io::Result<()> {
        if let Some(e) = self.error.borrow_mut().take() {
            return Err(e);
        }
        self.out.borrow_mut().flush()
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
    cli::verbose(format_args!("{tool}: {total} events lost"));
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
