// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Time: kernel timestamps (CLOCK_MONOTONIC, what `bpf_ktime_get_ns` returns) turned into wall
//! clock time, so a row's time is when the event happened, not when it was printed.

use chrono::{DateTime, Local, TimeZone};

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks used here always exist on Linux.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Nanoseconds of CLOCK_MONOTONIC now.
pub fn monotonic_ns() -> u64 {
    u64::try_from(clock_ns(libc::CLOCK_MONOTONIC)).unwrap_or(0)
}

/// Maps monotonic kernel timestamps to wall-clock time. Re-`sync` it per batch: the offset
/// moves when the wall clock is stepped.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    offset_ns: i128,
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl WallClock {
    pub fn new() -> Self {
        let mut c = Self { offset_ns: 0 };
        c.sync();
        c
    }

    pub fn sync(&mut self) {
        self.offset_ns = clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC);
    }

    /// Local time of a CLOCK_MONOTONIC timestamp.
    pub fn local(&self, mono_ns: u64) -> DateTime<Local> {
        let ns = i128::from(mono_ns) + self.offset_ns;
        let secs = i64::try_from(ns.div_euclid(1_000_000_000)).unwrap_or(0);
        let sub = u32::try_from(ns.rem_euclid(1_000_000_000)).unwrap_or(0);
        Local
            .timestamp_opt(secs, sub)
            .single()
            .unwrap_or_else(|| DateTime::<Local>::from(std::time::UNIX_EPOCH))
    }
}

/// The time columns of every event tool, from a record's CLOCK_MONOTONIC timestamp (`ts_ns`):
/// `HH:MM:SS` (libbpf-tools' `-T`), seconds since the tool started (execsnoop's `-t`), seconds
/// since the first event shown (tcpconnect's `-t`), and RFC 3339 for JSON's `time`.
#[derive(Debug)]
pub struct EventTimes {
    clock: WallClock,
    start_ns: u64,
    first_ns: std::cell::Cell<u64>,
}

impl Default for EventTimes {
    fn default() -> Self {
        Self::new()
    }
}

impl EventTimes {
    /// Start counting now.
    pub fn new() -> Self {
        Self {
            clock: WallClock::new(),
            start_ns: monotonic_ns(),
            first_ns: std::cell::Cell::new(0),
        }
    }

    pub fn hms(&self, ts_ns: u64) -> String {
        hms(&self.clock.local(ts_ns))
    }

    pub fn rfc3339(&self, ts_ns: u64) -> String {
        rfc3339(&self.clock.local(ts_ns))
    }

    /// `HH:MM:SS.mmm`, biosnoop's `-t` column (libbpf-tools prints `%-8s.%03ld`).
    pub fn hms_ms(&self, ts_ns: u64) -> String {
        self.clock.local(ts_ns).format("%H:%M:%S%.3f").to_string()
    }

    /// Seconds from start to `ts_ns` (0 for an event stamped before it).
    pub fn since_start(&self, ts_ns: u64) -> f64 {
        ts_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }

    /// Seconds from the first event asked about to `ts_ns`: the first call gives 0.
    pub fn since_first(&self, ts_ns: u64) -> f64 {
        if self.first_ns.get() == 0 {
            self.first_ns.set(ts_ns);
        }
        ts_ns.saturating_sub(self.first_ns.get()) as f64 / 1e9
    }
}

/// `HH:MM:SS`, the libbpf-tools `-T` column.
pub fn hms<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.format("%H:%M:%S").to_string()
}

/// RFC 3339 with microseconds and the local offset, the JSON `time` field.
pub fn rfc3339<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn formats_golden() {
        let tz = FixedOffset::east_opt(3600).expect("offset");
        let t = tz
            .with_ymd_and_hms(2026, 11, 22, 2, 30, 4)
            .single()
            .expect("time")
            + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(hms(&t), "02:30:04");
        assert_eq!(rfc3339(&t), "2026-11-22T02:30:04.123456+01:00");
    }

    #[test]
    fn relative_columns() {
        let t = EventTimes::new();
        assert_eq!(t.since_first(5_000_000_000), 0.0);
        assert_eq!(t.since_first(6_500_000_000), 1.5);
        assert_eq!(t.since_first(1), 0.0, "never negative");
        assert_eq!(t.since_start(0), 0.0);
        assert!((t.since_start(t.start_ns + 250_000_000) - 0.25).abs() < 1e-9);
        assert_eq!(t.hms(monotonic_ns()).len(), 8);
        let ms = t.hms_ms(monotonic_ns());
        assert_eq!((ms.len(), &ms[8..9]), (12, "."), "{ms}");
    }

    #[test]
    fn monotonic_maps_to_now() {
        let c = WallClock::new();
        let t = c.local(monotonic_ns());
        let drift = (Local::now() - t).num_milliseconds().abs();
        assert!(drift < 1000, "drift {drift} ms");
    }
}
