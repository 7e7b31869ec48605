// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! softirqs: the time softirq handlers take, per vector (timer, net_rx, rcu, ...): totals, or
//! counts with -C, or histograms with -d, every interval. Based on softirqs(8) from BCC by
//! Brendan Gregg and its libbpf-tools port; options and output follow libbpf-tools.

mod args;

use std::mem::MaybeUninit;

use common::cli;
use common::error::Result;
use common::hist::Intervals;
use common::hist_tool::Reading;
use common::irq::{self, Kind};
use common::maps::{end_interval, read_percpu_at};
use libbpf_rs::MapCore;

use crate::args::Args;
use crate::bpf::{SoftirqsSkelBuilder, types};

common::tool_main!();

common::irq_skel!(bpf::OpenSoftirqsSkel, types::irq_hist;
    btf_softirq_entry, btf_softirq_exit; raw_softirq_entry, raw_softirq_exit);

/// The vectors' names when the kernel's own list cannot be read: kernel/softirq.c's
/// `softirq_to_name`, lower case as libbpf-tools prints them. The same ten names and numbers
/// since Linux 4.5 (IRQ_POLL was BLOCK_IOPOLL before; HRTIMER kept its number while unused,
/// 4.2 to 4.15).
const KNOWN: [&str; 10] = [
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
];

/// The vectors' names from the `softirq_entry` tracepoint's print format (tracefs
/// `events/irq/softirq_entry/format`), where the kernel lists them:
/// `__print_symbolic(REC->vec, { 0, "HI" }, { 1, "TIMER" }, ...)`; lower case, as
/// libbpf-tools prints them. `None` when the format has no such list.
fn names_from_format(format: &str) -> Option<Vec<(u32, String)>> {
    let fmt = format.lines().find_map(|l| l.strip_prefix("print fmt:"))?;
    let (_, list) = fmt.split_once("__print_symbolic(")?;
    let mut names = Vec::new();
    for entry in list.split('{').skip(1) {
        let (number, rest) = entry.split_once(',')?;
        let name = rest.split('"').nth(1)?;
        names.push((number.trim().parse().ok()?, name.to_ascii_lowercase()));
    }
    (!names.is_empty()).then_some(names)
}

/// Every vector's name (index = vector number) and where the names came from: the kernel's
/// tracepoint format, else [`KNOWN`]. A vector without a name is shown by its number.
fn vector_names() -> (Vec<String>, String) {
    let path = common::probe::tracefs()
        .map(|t| t.join("events/irq/softirq_entry/format"))
        .ok();
    let listed = path.as_ref().and_then(|p| {
        let text = std::fs::read_to_string(p).ok()?;
        Some((names_from_format(&text)?, p.display().to_string()))
    });
    let Some((listed, from)) = listed else {
        let known = KNOWN.iter().map(|n| n.to_string()).collect();
        return (
            known,
            "ferroscope's table (the tracepoint's format was unreadable)".into(),
        );
    };
    let mut names = Vec::new();
    for (vec, name) in listed {
        let Ok(i) = usize::try_from(vec) else {
            continue;
        };
        if i >= names.len() {
            names.resize_with(i + 1, String::new);
        }
        names[i] = name;
    }
    (names, from)
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cpu = args.irq.check(args.cpu)?;

    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let storage = [&mut first, &mut second];
    // softirqs has no rodata of its own.
    let (mut skel, tp_btf) =
        irq::load::<SoftirqsSkelBuilder>(storage, &args.irq, &args.common, cpu, |_| Ok(()))?;
    let (names, from) = vector_names();
    let note = format!("; vector names from {from}");
    irq::attach(TOOL, Kind::Soft, &mut skel, tp_btf, &note)?;

    let vectors = skel.maps.hists.max_entries();
    // Each vector's histogram, kept across readings (see Intervals).
    let mut by_vector = Intervals::new(args.irq.hist.cumulative);
    irq::report(TOOL, Kind::Soft, &args.irq, args.common.json, "", || {
        let bss = skel.maps.bss_data.as_deref_mut();
        let epoch = end_interval(bss.map(|b| &mut b.ferro_hist_epoch));
        let mut hists = Vec::new();
        for vec in 0..vectors {
            let cpus = read_percpu_at::<types::irq_hist>(&skel.maps.hists, vec)?;
            let name = usize::try_from(vec)
                .ok()
                .and_then(|i| names.get(i))
                .filter(|n| !n.is_empty())
                .map_or_else(|| vec.to_string(), Clone::clone);
            hists.push((name.into_bytes(), by_vector.update(vec, &cpus, epoch)));
        }
        // A per-CPU array has a slot for every vector: nothing is dropped.
        Ok(Reading {
            hists,
            dropped: Vec::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> Option<Args> {
        Args::try_parse_from(std::iter::once("softirqs").chain(argv.iter().copied())).ok()
    }

    /// This machine's (Linux 6.18) tracefs format of softirq_entry.
    const FORMAT: &str = "name: softirq_entry
ID: 223
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned int vec;\toffset:8;\tsize:4;\tsigned:0;

print fmt: \"vec=%u [action=%s]\", REC->vec, __print_symbolic(REC->vec, { 0, \"HI\" }, { 1, \"TIMER\" }, { 2, \"NET_TX\" }, { 3, \"NET_RX\" }, { 4, \"BLOCK\" }, { 5, \"IRQ_POLL\" }, { 6, \"TASKLET\" }, { 7, \"SCHED\" }, { 8, \"HRTIMER\" }, { 9, \"RCU\" })
";

    #[test]
    fn vector_names_come_from_the_tracepoint_format() {
        let names = names_from_format(FORMAT).expect("names");
        let by_number: Vec<(u32, &str)> = names.iter().map(|(n, s)| (*n, s.as_str())).collect();
        let known: Vec<(u32, &str)> = (0..).zip(KNOWN).collect();
        assert_eq!(by_number, known);
        assert_eq!(names_from_format("print fmt: \"vec=%u\", REC->vec\n"), None);
        assert_eq!(names_from_format("no format at all"), None);
        // Whatever the list holds is read, in its numbers.
        assert_eq!(
            names_from_format("print fmt: \"\", __print_symbolic(REC->vec, { 12, \"NEW\" })"),
            Some(vec![(12, "new".to_owned())])
        );
    }

    #[test]
    fn options_as_libbpf_tools_takes_them() {
        let a = parse(&["-NTd", "1", "10"]).expect("parses");
        assert!(a.irq.nanoseconds && a.irq.hist.timestamp && a.irq.distributed);
        assert_eq!((a.irq.hist.interval, a.irq.hist.count), (Some(1), Some(10)));
        assert_eq!(a.irq.unit_ns(), 1);
        let a = parse(&["-C", "-c", "1"]).expect("parses");
        assert!(a.irq.count && a.cpu == Some(1));
        // -C counts instead of timing: no time histograms (as hardirqs' -C); -N and -m are two
        // units at once.
        for bad in [&["-C", "-d"][..], &["-N", "-m"], &["-c", "8192"]] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
