// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The event buffer: a BPF ring buffer where the kernel has one, a perf buffer otherwise,
//! behind one API, with lost events counted in both modes and reported, never silently dropped.
//!
//! The BPF side is `bpf/events.bpf.h`: it declares both maps (`events_rb`, `events_pb`) and a
//! per-CPU counter of failed writes to either (`events_lost`). The loop that drains it is
//! [`crate::event_loop`].

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use libbpf_rs::{
    MapCore, OpenMapMut, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder,
};

use crate::cli::BufferChoice;
use crate::error::{Error, Result};
use crate::probe;

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
                "this kernel has no BPF ring buffer (Linux 5.8+); use FERROSCOPE_BUFFER=perf \
                 or auto",
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
                let pages = perf_pages(kib, page_size());
                let sh = Rc::clone(&shared);
                // No lost callback: PERF_RECORD_LOST misses the drops at the end of a burst,
                // so the program counts every failed write itself (events.bpf.h).
                let pb = PerfBufferBuilder::new(pb)
                    .pages(pages)
                    .sample_cb(move |_cpu, data: &[u8]| {
                        if !sh.stopped.get() && handler(data) == Flow::Stop {
                            sh.stopped.set(true);
                        }
                    })
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

    /// Events the kernel could not deliver so far: the program's per-CPU count of failed
    /// writes (`events_lost` in events.bpf.h), on both paths; 0 if the map cannot be read.
    pub fn lost(&self) -> u64 {
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

/// Pages per CPU of a perf buffer of `kib` KiB: a power of two, as the kernel requires, and at
/// least one.
fn perf_pages(kib: u32, page: usize) -> usize {
    (kib as usize * 1024 / page).max(1).next_power_of_two()
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_buffer_pages_are_a_power_of_two() {
        assert_eq!(perf_pages(1024, 4096), 256);
        assert_eq!(perf_pages(4, 4096), 1);
        assert_eq!(perf_pages(4, 65536), 1, "never zero pages");
        assert_eq!(perf_pages(12, 4096), 4, "rounded up");
    }

    #[test]
    fn kinds_are_named_for_messages() {
        assert_eq!(BufferKind::RingBuf.name(), "ring buffer");
        assert_eq!(BufferKind::PerfBuf.name(), "perf buffer");
        assert!(page_size().is_power_of_two());
    }
}
