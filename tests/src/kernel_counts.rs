// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! A tool's counts checked against the kernel's own counters (/proc/softirqs,
//! /proc/interrupts): read the counter before the tools start, once they have attached, after
//! a workload and after they end. Whatever ran between the second and third readings ran
//! while every tool traced, so each tool counted at least that; whatever a tool counted ran
//! between the first and the last, so it counted at most that.

use std::collections::BTreeMap;

use crate::{Finished, Tool};

/// Counts by name (`net_rx`, `virtio1-req.0`).
pub type Counts = BTreeMap<String, u64>;

/// What the tools printed and the kernel's counter `S` read around them.
pub struct Window<S> {
    pub outs: Vec<Finished>,
    /// Before the tools started.
    pub before: S,
    /// Once every tool had attached, before the workload.
    pub attached: S,
    /// After the workload, before the tools' interval ended.
    pub worked: S,
    /// After every tool ended.
    pub after: S,
}

/// Run `bin` with each argument list at once, run `work` once all have attached, interrupt
/// them (Ctrl-C: each prints its report then) and read the kernel's counter with `read`
/// around them. Give no interval where the counts are compared: a tool whose interval ended
/// before the workload did (it takes several times longer in the kernel matrix's emulated
/// guests) would count only part of it.
pub fn run_around<S>(
    bin: &str,
    runs: &[&[&str]],
    read: impl Fn() -> S,
    work: impl FnOnce(),
) -> Window<S> {
    let before = read();
    let tools: Vec<Tool> = runs.iter().map(|r| Tool::spawn(bin, r).ready()).collect();
    let attached = read();
    work();
    let worked = read();
    // The kernel counts an interrupt or softirq as it starts, the tools when its handler
    // returns: one that started just before `worked` was read is in `worked` but not yet in
    // any tool's map. Give such a handler time to end before the tools read their maps (a
    // host run saw a tool one short of `worked`; a stalled vCPU can hold a handler for ms).
    std::thread::sleep(IN_FLIGHT);
    let outs = tools.into_iter().map(|t| t.interrupt().success()).collect();
    let after = read();
    Window {
        outs,
        before,
        attached,
        worked,
        after,
    }
}

/// How long a handler that was running when `worked` was read may take to end: far above a
/// handler's microseconds, to cover a vCPU that the hypervisor stalls meanwhile.
const IN_FLIGHT: std::time::Duration = std::time::Duration::from_millis(200);

/// What each name counted from `before` to `after`.
pub fn diff(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .map(|(k, n)| {
            (
                k.clone(),
                n.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .collect()
}

/// The rows under the table heading that starts with `heading` (`SOFTIRQ `): each row's last
/// column as a number, the rest (trimmed) as its name.
pub fn table(out: &Finished, heading: &str) -> Counts {
    out.lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .filter_map(|l| {
            let (name, n) = l.rsplit_once(' ')?;
            Some((name.trim().to_owned(), n.parse().ok()?))
        })
        .collect()
}

/// Each name of `counts` (a tool's) is one the kernel counted, no more than `most` of it; and
/// each name of `least` has at least that count.
pub fn assert_within(counts: &Counts, least: &Counts, most: &Counts, out: &Finished) {
    for (name, &n) in least {
        let got = counts.get(name).copied().unwrap_or(0);
        assert!(
            got >= n,
            "{name}: counted {got}, the kernel {n} while every tool traced\n{out}"
        );
    }
    for (name, &got) in counts {
        let all = most.get(name).copied();
        assert!(
            all.is_some_and(|m| got <= m),
            "{name}: counted {got}, the kernel {all:?} from start to end\n{out}"
        );
    }
}

/// What the tools printed, and what the kernel counted (`C`, for all CPUs and for CPU 0's
/// column) from before the tools started to after they ended (`whole`: every interrupt or run
/// the tools counted is in it) and while the workload ran (`during`: within the tools' one
/// interval, so every such one was counted).
pub struct Traced<C> {
    pub outs: Vec<Finished>,
    pub whole: [C; 2],
    pub during: [C; 2],
}

/// [`run_around`] with `read(None)` and `read(Some(0))` reading the kernel's counter (all CPUs,
/// CPU 0's column), and `diff(before, after)` what it counted between two readings.
pub fn traced<S, C>(
    bin: &str,
    runs: &[&[&str]],
    read: impl Fn(Option<usize>) -> S,
    diff: impl Fn(&S, &S) -> C,
    work: impl FnOnce(),
) -> Traced<C> {
    let w = run_around(bin, runs, || [read(None), read(Some(0))], work);
    let ran = |a: &[S; 2], b: &[S; 2]| [diff(&a[0], &b[0]), diff(&a[1], &b[1])];
    Traced {
        whole: ran(&w.before, &w.after),
        during: ran(&w.attached, &w.worked),
        outs: w.outs,
    }
}
