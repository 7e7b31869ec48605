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

/// Says once, on stderr, that the BPF side dropped measurements because a map was full, so a
/// busy host's histograms are not silently short. `dropped` pairs counts with what they count.
#[derive(Debug, Default)]
pub struct FullMapWarning {
    warned: bool,
}

impl FullMapWarning {
    pub fn check(&mut self, tool: &str, dropped: &[(u64, &str)], hint: &str) {
        if self.warned || dropped.iter().all(|(n, _)| *n == 0) {
            return;
        }
        self.warned = true;
        let what: Vec<String> = dropped.iter().map(|(n, w)| format!("{n} {w}")).collect();
        let _ = writeln!(
            std::io::stderr(),
            "{tool}: a BPF map is full: {} were not counted{hint}",
            what.join(" and ")
        );
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

/// A histogram as a BPF program lays it out: u32 slots plus the totals.
pub trait Log2Source {
    fn slots(&self) -> &[u32];
    fn totals(&self) -> Totals;
}

/// [`Log2Source`] for a skeleton's histogram type, which every tool lays out the same way
/// (`bpf/bits.bpf.h`): `slots`, `count`, `sum`, `max`.
#[macro_export]
macro_rules! log2_source {
    ($t:ty) => {
        impl $crate::hist::Log2Source for $t {
            fn slots(&self) -> &[u32] {
                &self.slots
            }
            fn totals(&self) -> $crate::hist::Totals {
                $crate::hist::Totals {
                    count: self.count,
                    sum: self.sum,
                    max: self.max,
                }
            }
        }
    };
}

/// Slots and totals as printed: one BPF histogram, or the sum of its per-CPU copies.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hist {
    pub slots: Vec<u64>,
    pub totals: Totals,
}

impl Hist {
    pub fn of(h: &impl Log2Source) -> Self {
        Self::sum(std::iter::once(h))
    }

    /// Per-CPU copies added up; the maximum is the largest of theirs.
    pub fn sum<'a, T: Log2Source + 'a>(copies: impl IntoIterator<Item = &'a T>) -> Self {
        let mut out = Self::default();
        for h in copies {
            let slots = h.slots();
            if out.slots.len() < slots.len() {
                out.slots.resize(slots.len(), 0);
            }
            for (a, &b) in out.slots.iter_mut().zip(slots) {
                *a = a.saturating_add(u64::from(b));
            }
            let t = h.totals();
            out.totals.count = out.totals.count.saturating_add(t.count);
            out.totals.sum = out.totals.sum.saturating_add(t.sum);
            out.totals.max = out.totals.max.max(t.max);
        }
        out
    }

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

    struct Raw([u32; 3], Totals);
    impl Log2Source for Raw {
        fn slots(&self) -> &[u32] {
            &self.0
        }
        fn totals(&self) -> Totals {
            self.1
        }
    }

    #[test]
    fn per_cpu_copies_add_up() {
        let t = |count, sum, max| Totals { count, sum, max };
        let cpus = [
            Raw([1, 0, u32::MAX], t(1, 5, 5)),
            Raw([0, 0, 0], t(0, 0, 0)),
            Raw([2, 3, 1], t(6, 40, 9)),
        ];
        let h = Hist::sum(&cpus);
        assert_eq!(h.slots, [3, 3, u64::from(u32::MAX) + 1]);
        assert_eq!(h.totals, t(7, 45, 9));
        assert!(!h.is_empty());
        assert!(Hist::of(&cpus[1]).is_empty());
        assert_eq!(Hist::of(&cpus[0]).slots, [1, 0, u64::from(u32::MAX)]);
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
