// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Log2 histograms: the text libbpf-tools' `print_log2_hist` prints, byte for byte, plus
//! percentiles and a JSON form. The loop that prints them every interval is
//! [`crate::interval`].
//!
//! Slot `i` counts values in `[2^i, 2^(i+1) - 1]`, except that slot 0 holds 0 and 1; the BPF
//! side computes the slot with log2 and clamps it to the last slot.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::output::JsonLine;

/// What [`FullMapWarning`] takes for the runs of a tool's programs the kernel skipped
/// ([`crate::lifecycle::recursion_misses`]): an entry of `dropped` with this name is reported
/// as skipped runs, not as a full map (and, like the others, as
/// `ferroscope_lost_events_total{what="program runs"}`).
pub const SKIPPED_RUNS: &str = "program runs";

/// Says once, on stderr, that the BPF side dropped measurements because a map was full, so a
/// busy host's histograms are not silently short. `dropped` pairs counts with what they count;
/// an entry named [`SKIPPED_RUNS`] gets a line of its own, also said once.
#[derive(Debug, Default)]
pub struct FullMapWarning {
    warned: bool,
    warned_skipped: bool,
}

impl FullMapWarning {
    pub fn check(&mut self, tool: &str, dropped: &[(u64, &str)], hint: &str) {
        let (full, skipped) = self.lines(tool, dropped, hint);
        for line in [full, skipped].into_iter().flatten() {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    /// The lines `check` prints now, if any: the full maps', and the skipped runs'.
    fn lines(
        &mut self,
        tool: &str,
        dropped: &[(u64, &str)],
        hint: &str,
    ) -> (Option<String>, Option<String>) {
        let (skipped, maps): (Vec<_>, Vec<_>) =
            dropped.iter().partition(|(_, w)| *w == SKIPPED_RUNS);
        let mut full = None;
        if !self.warned && maps.iter().any(|(n, _)| *n != 0) {
            self.warned = true;
            let what: Vec<String> = maps.iter().map(|(n, w)| format!("{n} {w}")).collect();
            full = Some(format!(
                "{tool}: a BPF map is full: {} were not counted{hint}",
                what.join(" and ")
            ));
        }
        let runs: u64 = skipped.iter().map(|(n, _)| *n).sum();
        let mut line = None;
        if !self.warned_skipped && runs != 0 {
            self.warned_skipped = true;
            line = Some(format!(
                "{tool}: the kernel skipped {runs} runs of its BPF programs (a hook fired on a \
                 CPU where the same program was running, from an interrupt): their events were \
                 not counted"
            ));
        }
        (full, line)
    }
}

/// Text of one histogram; empty when every slot is zero (libbpf-tools prints nothing then,
/// not even the header).
pub fn log2_text(slots: &[u64], unit: &str) -> String {
    let mut out = String::new();
    let Some(idx_max) = slots.iter().rposition(|&v| v != 0) else {
        return out;
    };
    let val_max = slots.iter().copied().max().unwrap_or(0);
    let wide = idx_max > 32;
    let (pad, unit_w, num_w, bar) = if wide {
        (15, 29, 20, 20)
    } else {
        (5, 19, 10, 40)
    };
    let _ = writeln!(out, "{:pad$}{unit:<unit_w$} : count    distribution", "");
    for (i, &val) in slots.iter().enumerate().take(idx_max + 1) {
        let (low, high) = slot_range(i);
        let _ = write!(out, "{low:>num_w$} -> {high:<num_w$} : {val:<8} |");
        stars(&mut out, val, val_max, bar);
        out.push_str("|\n");
    }
    out
}

/// The values slot `i` stands for, as the printer labels them.
pub fn slot_range(i: usize) -> (u64, u64) {
    let high = if i >= 63 {
        u64::MAX
    } else {
        (1u64 << (i + 1)) - 1
    };
    let low = if i == 0 { 0 } else { 1u64 << i };
    (low, high)
}

fn stars(out: &mut String, val: u64, val_max: u64, width: usize) {
    let n = if val_max == 0 {
        0
    } else {
        (u128::from(val.min(val_max)) * width as u128 / u128::from(val_max)) as usize
    };
    out.extend(std::iter::repeat_n('*', n));
    out.extend(std::iter::repeat_n(' ', width - n));
    if val > val_max {
        out.push('+');
    }
}

/// Upper bound of the slot holding the `pct` percentile (0 < pct <= 100): with log2 slots a
/// percentile is known only to within its slot, so this says "at most".
pub fn percentile(slots: &[u64], pct: f64) -> Option<u64> {
    let total: u64 = slots.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((pct / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, &v) in slots.iter().enumerate() {
        seen += v;
        if seen >= rank {
            return Some(slot_range(i).1);
        }
    }
    None
}

/// Extra numbers the BPF side keeps beside the slots.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub count: u64,
    pub sum: u64,
    pub max: u64,
}

/// A histogram as a BPF program lays it out (`bpf/hist.h`): u32 slots and u64 count and sum
/// that only grow, and the maximum of each interval parity tagged with its interval
/// (`ferro_hist_epoch`, `bpf/bits.bpf.h`).
pub trait Log2Source {
    fn slots(&self) -> &[u32];
    /// Values counted and their sum (in the histogram's unit) since the histogram was created.
    fn count_sum(&self) -> (u64, u64);
    /// The largest value counted in interval `epoch`; 0 when none was.
    fn max_in(&self, epoch: u64) -> u64;
}

/// [`Log2Source`] for a skeleton's histogram type, which every tool lays out the same way
/// (`bpf/hist.h`): `slots`, `count`, `sum`, `max[2]`, `max_epoch[2]`.
#[macro_export]
macro_rules! log2_source {
    ($t:ty) => {
        impl $crate::hist::Log2Source for $t {
            fn slots(&self) -> &[u32] {
                &self.slots
            }
            fn count_sum(&self) -> (u64, u64) {
                (self.count, self.sum)
            }
            fn max_in(&self, epoch: u64) -> u64 {
                let i = (epoch & 1) as usize;
                if self.max_epoch[i] == epoch {
                    self.max[i]
                } else {
                    0
                }
            }
        }
    };
}

/// Slots and totals as printed: one interval of a BPF histogram (or the sum of its per-CPU
/// copies), or everything since the start with `--cumulative`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hist {
    pub slots: Vec<u64>,
    pub totals: Totals,
}

/// One copy of a BPF histogram's counters as last read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counters {
    slots: Vec<u32>,
    count: u64,
    sum: u64,
}

impl Counters {
    fn of(h: &impl Log2Source) -> Self {
        let (count, sum) = h.count_sum();
        Self {
            slots: h.slots().to_vec(),
            count,
            sum,
        }
    }
}

/// Turns readings of never-reset BPF histograms into what each interval counted.
///
/// Resetting a map from user space (read, then zero or delete, as libbpf-tools does) loses
/// every value counted between the read and the reset; under load, or on a slow kernel, that
/// is several per interval. Instead the BPF side only adds, and this keeps each key's last
/// reading and hands out the difference: nothing is lost, and a u32 slot that wraps still
/// yields the right difference (fewer than 2^32 values per slot per interval). With
/// `cumulative`, the differences are added up (in u64) and the totals since the start come out.
#[derive(Debug)]
pub struct Intervals<K> {
    last: std::collections::HashMap<K, Vec<Counters>>,
    totals: std::collections::HashMap<K, Hist>,
    cumulative: bool,
}

impl<K: std::hash::Hash + Eq + Clone> Intervals<K> {
    pub fn new(cumulative: bool) -> Self {
        Self {
            last: Default::default(),
            totals: Default::default(),
            cumulative,
        }
    }

    /// Are totals since the start asked for (`--cumulative`)?
    pub fn cumulative(&self) -> bool {
        self.cumulative
    }

    /// What `key` counted since its last reading: `copies` are its per-CPU copies (one for a
    /// map all CPUs share) as read now, `epoch` the interval that just ended (whose maximum is
    /// reported). With `cumulative`, everything counted since the start instead.
    pub fn update<T: Log2Source>(&mut self, key: K, copies: &[T], epoch: u64) -> Hist {
        let now: Vec<Counters> = copies.iter().map(Counters::of).collect();
        let before = self.last.get(&key);
        let mut h = Hist::default();
        for (cpu, c) in now.iter().enumerate() {
            let prev = before.and_then(|b| b.get(cpu));
            if h.slots.len() < c.slots.len() {
                h.slots.resize(c.slots.len(), 0);
            }
            for (i, (a, &v)) in h.slots.iter_mut().zip(&c.slots).enumerate() {
                let was = prev.and_then(|p| p.slots.get(i)).copied().unwrap_or(0);
                *a = a.saturating_add(u64::from(v.wrapping_sub(was)));
            }
            let (count, sum) = prev.map_or((0, 0), |p| (p.count, p.sum));
            h.totals.count = h.totals.count.saturating_add(c.count.wrapping_sub(count));
            h.totals.sum = h.totals.sum.saturating_add(c.sum.wrapping_sub(sum));
        }
        h.totals.max = copies.iter().map(|c| c.max_in(epoch)).max().unwrap_or(0);
        self.last.insert(key.clone(), now);
        if !self.cumulative {
            return h;
        }
        let total = self.totals.entry(key).or_default();
        total.merge(&h);
        total.clone()
    }

    /// Did `key` count nothing since its last reading (`copy` read now)? A shared map's key
    /// idle for a whole interval may be deleted to keep the map from filling (PIDs come and
    /// go); [`Self::forget`] it then.
    pub fn unchanged<T: Log2Source>(&self, key: &K, copy: &T) -> bool {
        self.last
            .get(key)
            .is_some_and(|b| b.len() == 1 && b[0] == Counters::of(copy))
    }

    /// `key` was deleted from the map: when it is created again, it counts from zero. (Its
    /// cumulative totals stay.)
    pub fn forget(&mut self, key: &K) {
        self.last.remove(key);
    }
}

impl Hist {
    /// Add `other` in (histograms of several keys shown as one, e.g. a container's cgroups).
    pub fn merge(&mut self, other: &Hist) {
        if self.slots.len() < other.slots.len() {
            self.slots.resize(other.slots.len(), 0);
        }
        for (a, &b) in self.slots.iter_mut().zip(&other.slots) {
            *a = a.saturating_add(b);
        }
        self.totals.count = self.totals.count.saturating_add(other.totals.count);
        self.totals.sum = self.totals.sum.saturating_add(other.totals.sum);
        self.totals.max = self.totals.max.max(other.totals.max);
    }

    /// Nothing was counted: libbpf-tools prints no histogram then.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|&n| n == 0)
    }
}

/// `p50 <= 15 p90 <= 63 p99 <= 255 max 312 (usecs)` — printed under a histogram on request.
pub fn percentiles_line(slots: &[u64], totals: &Totals, unit: &str) -> String {
    let mut s = String::new();
    for p in [50.0, 90.0, 99.0] {
        if let Some(v) = percentile(slots, p) {
            let _ = write!(s, "p{p} <= {v} ");
        }
    }
    let _ = writeln!(s, "max {} ({unit})", totals.max);
    s
}

/// BCC's `-e`: average, total and count.
pub fn extension_line(totals: &Totals, unit: &str) -> String {
    let avg = totals.sum.checked_div(totals.count).unwrap_or(0);
    format!(
        "\navg = {avg} {unit}, total: {} {unit}, count: {}\n",
        totals.sum, totals.count
    )
}

/// One histogram as a JSON line: `time`, the section keys, `unit`, `count`, `sum`, `max`,
/// `p50`/`p90`/`p99` (slot upper bounds) and the non-empty `buckets` as `{low, high, count}`.
pub fn json_line(
    out: &mut Vec<u8>,
    time: &str,
    sections: &[(&str, SectionValue<'_>)],
    unit: &str,
    slots: &[u64],
    totals: &Totals,
) {
    let mut j = JsonLine::new(out);
    j.str("time", time.as_bytes());
    for (k, v) in sections {
        match v {
            SectionValue::Str(s) => j.str(k, s),
            SectionValue::Num(n) => j.u64(k, *n),
        };
    }
    j.str("unit", unit.as_bytes())
        .u64("count", totals.count)
        .u64("sum", totals.sum)
        .u64("max", totals.max);
    for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)] {
        match percentile(slots, p) {
            Some(v) => j.u64(name, v),
            None => j.null(name),
        };
    }
    let mut buckets = Vec::new();
    buckets.push(b'[');
    let mut first = true;
    for (i, &v) in slots.iter().enumerate() {
        if v == 0 {
            continue;
        }
        if !first {
            buckets.push(b',');
        }
        first = false;
        let (low, high) = slot_range(i);
        let _ = std::io::Write::write_fmt(
            &mut buckets,
            format_args!("{{\"low\":{low},\"high\":{high},\"count\":{v}}}"),
        );
    }
    buckets.push(b']');
    j.raw("buckets", &buckets);
    j.finish();
}

/// A value of a section key in JSON (`disk: "vda"`, `pid: 42`).
#[derive(Debug, Clone, Copy)]
pub enum SectionValue<'a> {
    Str(&'a [u8]),
    Num(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_map_and_skipped_runs_are_said_once_each() {
        let mut w = FullMapWarning::default();
        let none = [(0, "requests"), (0, "latencies"), (0, SKIPPED_RUNS)];
        assert_eq!(w.lines("biolatency", &none, ""), (None, None));
        let skipped = [(0, "requests"), (0, "latencies"), (2, SKIPPED_RUNS)];
        assert_eq!(
            w.lines("biolatency", &skipped, ""),
            (
                None,
                Some(
                    "biolatency: the kernel skipped 2 runs of its BPF programs (a hook fired on \
                     a CPU where the same program was running, from an interrupt): their events \
                     were not counted"
                        .into()
                )
            )
        );
        let both = [(3, "requests"), (0, "bios"), (5, SKIPPED_RUNS)];
        assert_eq!(
            w.lines("biolatency", &both, " (hint)"),
            (
                Some(
                    "biolatency: a BPF map is full: 3 requests and 0 bios were not counted (hint)"
                        .into()
                ),
                None
            )
        );
        assert_eq!(w.lines("biolatency", &both, ""), (None, None));
    }

    /// A BPF histogram as `bpf/hist.h` lays it out.
    #[derive(Debug, Clone, Default)]
    struct Raw {
        slots: [u32; 3],
        count: u64,
        sum: u64,
        max: [u64; 2],
        max_epoch: [u64; 2],
    }
    crate::log2_source!(Raw);

    /// What FERRO_HIST_ADD does in interval `epoch`, for `v` in slot `slot`.
    fn add(h: &mut Raw, slot: usize, v: u64, epoch: u64) {
        h.slots[slot] = h.slots[slot].wrapping_add(1);
        h.count += 1;
        h.sum += v;
        let i = (epoch & 1) as usize;
        if h.max_epoch[i] != epoch {
            h.max_epoch[i] = epoch;
            h.max[i] = v;
        } else if v > h.max[i] {
            h.max[i] = v;
        }
    }

    fn t(count: u64, sum: u64, max: u64) -> Totals {
        Totals { count, sum, max }
    }

    #[test]
    fn intervals_are_differences_of_per_cpu_copies() {
        let mut iv = Intervals::new(false);
        let mut cpus = [Raw::default(), Raw::default()];
        add(&mut cpus[0], 0, 1, 0);
        add(&mut cpus[1], 2, 5, 0);
        add(&mut cpus[1], 2, 6, 0);
        let h = iv.update((), &cpus, 0);
        assert_eq!(h.slots, [1, 0, 2]);
        assert_eq!(h.totals, t(3, 12, 6));
        // Interval 1: CPU 1 only, smaller values; the first interval's are not counted again,
        // and its maximum is not this one's.
        add(&mut cpus[1], 1, 3, 1);
        let h = iv.update((), &cpus, 1);
        assert_eq!(h.slots, [0, 1, 0]);
        assert_eq!(h.totals, t(1, 3, 3));
        // Interval 2: nothing. Interval 3 reuses parity 1's slot.
        assert!(iv.update((), &cpus, 2).is_empty());
        assert_eq!(iv.update((), &cpus, 2).totals, t(0, 0, 0));
        add(&mut cpus[0], 0, 1, 3);
        assert_eq!(iv.update((), &cpus, 3).totals, t(1, 1, 1));
    }

    #[test]
    fn a_wrapped_u32_slot_still_differs_by_what_was_counted() {
        let mut iv = Intervals::new(false);
        let mut h = Raw::default();
        h.slots[0] = u32::MAX - 1;
        h.count = u64::from(u32::MAX) - 1;
        iv.update(7u32, std::slice::from_ref(&h), 0);
        for _ in 0..5 {
            add(&mut h, 0, 1, 1);
        }
        assert_eq!(h.slots[0], 3, "wrapped");
        let d = iv.update(7, std::slice::from_ref(&h), 1);
        assert_eq!(d.slots, [5, 0, 0]);
        assert_eq!(d.totals.count, 5);
    }

    #[test]
    fn cumulative_adds_up_intervals_and_keeps_the_largest_maximum() {
        let mut iv = Intervals::new(true);
        let mut h = Raw::default();
        add(&mut h, 2, 7, 0);
        iv.update("a", std::slice::from_ref(&h), 0);
        add(&mut h, 0, 1, 1);
        let c = iv.update("a", std::slice::from_ref(&h), 1);
        assert_eq!(c.slots, [1, 0, 1]);
        assert_eq!(c.totals, t(2, 8, 7));
    }

    #[test]
    fn a_forgotten_key_counts_from_zero_again() {
        let mut iv = Intervals::new(false);
        let mut h = Raw::default();
        add(&mut h, 1, 2, 0);
        iv.update(1u64, std::slice::from_ref(&h), 0);
        assert!(iv.unchanged(&1, &h));
        add(&mut h, 1, 2, 1);
        assert!(!iv.unchanged(&1, &h));
        assert!(!iv.unchanged(&2, &h), "a key never read is not idle");
        iv.forget(&1);
        // The map's key was deleted and created anew by the BPF side.
        let mut fresh = Raw::default();
        add(&mut fresh, 0, 1, 2);
        assert_eq!(
            iv.update(1, std::slice::from_ref(&fresh), 2).totals,
            t(1, 1, 1)
        );
    }

    #[test]
    fn empty_histogram_prints_nothing() {
        assert_eq!(log2_text(&[0; 27], "usecs"), "");
    }

    #[test]
    fn narrow_layout_golden() {
        let mut slots = [0u64; 26];
        slots[0] = 1;
        slots[1] = 3;
        slots[2] = 10;
        slots[3] = 40;
        slots[4] = 20;
        slots[6] = 1;
        let want = "     usecs               : count    distribution
         0 -> 1          : 1        |*                                       |
         2 -> 3          : 3        |***                                     |
         4 -> 7          : 10       |**********                              |
         8 -> 15         : 40       |****************************************|
        16 -> 31         : 20       |********************                    |
        32 -> 63         : 0        |                                        |
        64 -> 127        : 1        |*                                       |
";
        assert_eq!(log2_text(&slots, "usecs"), want);
    }

    #[test]
    fn msecs_unit_keeps_columns() {
        let text = log2_text(&[0, 2], "msecs");
        assert_eq!(
            text,
            "     msecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|
"
        );
    }

    #[test]
    fn wide_layout_golden() {
        let mut slots = [0u64; 40];
        slots[0] = 4;
        slots[33] = 2;
        let text = log2_text(&slots, "usecs");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 35);
        assert_eq!(
            lines[0],
            "               usecs                         : count    distribution"
        );
        assert_eq!(
            lines[1],
            "                   0 -> 1                    : 4        |********************|"
        );
        assert_eq!(
            lines[34],
            "          8589934592 -> 17179869183          : 2        |**********          |"
        );
    }

    #[test]
    fn stars_overflow_marker() {
        let mut s = String::new();
        stars(&mut s, 5, 4, 4);
        assert_eq!(s, "****+");
    }

    #[test]
    fn percentiles_are_slot_upper_bounds() {
        let slots = [0, 0, 0, 50, 40, 9, 1];
        assert_eq!(percentile(&slots, 50.0), Some(15));
        assert_eq!(percentile(&slots, 90.0), Some(31));
        assert_eq!(percentile(&slots, 99.0), Some(63));
        assert_eq!(percentile(&[0; 4], 50.0), None);
        let t = Totals {
            count: 100,
            sum: 1500,
            max: 70,
        };
        assert_eq!(
            percentiles_line(&slots, &t, "usecs"),
            "p50 <= 15 p90 <= 31 p99 <= 63 max 70 (usecs)\n"
        );
        assert_eq!(
            extension_line(&t, "usecs"),
            "\navg = 15 usecs, total: 1500 usecs, count: 100\n"
        );
    }

    #[test]
    fn json_golden() {
        let mut v = Vec::new();
        let t = Totals {
            count: 3,
            sum: 10,
            max: 6,
        };
        json_line(
            &mut v,
            "T",
            &[
                ("disk", SectionValue::Str(b"vda")),
                ("pid", SectionValue::Num(7)),
            ],
            "usecs",
            &[1, 0, 2],
            &t,
        );
        assert_eq!(
            String::from_utf8(v).expect("utf8"),
            "{\"time\":\"T\",\"disk\":\"vda\",\"pid\":7,\"unit\":\"usecs\",\"count\":3,\"sum\":10,\
             \"max\":6,\"p50\":7,\"p90\":7,\"p99\":7,\"buckets\":[{\"low\":0,\"high\":1,\"count\":1},\
             {\"low\":4,\"high\":7,\"count\":2}]}\n"
        );
    }
}
