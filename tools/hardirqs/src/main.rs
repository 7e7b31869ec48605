// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! hardirqs: the time hard interrupt handlers take, per handler name (as /proc/interrupts
//! names them: `virtio1-req.0`, `nvme0q1`): totals, or counts with -C, or histograms with -d,
//! every interval. Based on hardirqs(8) from BCC by Brendan Gregg and its libbpf-tools port;
//! options and output follow libbpf-tools (0.26, Debian's: -C counts).

mod args;

use std::mem::MaybeUninit;

use common::cli;
use common::decode::c_bytes;
use common::error::Result;
use common::hist::Intervals;
use common::hist_tool::Reading;
use common::irq::{self, Kind};
use common::lifecycle;
use common::maps::{end_interval, read_hash_hists};

use crate::args::Args;
use crate::bpf::{HardirqsSkelBuilder, types};

common::tool_main!();

common::irq_skel!(bpf::OpenHardirqsSkel, types::irq_hist;
    btf_irq_handler_entry, btf_irq_handler_exit; raw_irq_handler_entry, raw_irq_handler_exit);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cpu = args.irq.check(args.cpu)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;

    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let storage = [&mut first, &mut second];
    let (mut skel, tp_btf) =
        irq::load::<HardirqsSkelBuilder>(storage, &args.irq, &args.common, cpu, |open| {
            let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
            ro.filter_cgroup = cgroup.is_some();
            Ok(())
        })?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;
    irq::attach(TOOL, Kind::Hard, &mut skel, tp_btf, "")?;
    // Each handler name's histogram, kept across readings (see Intervals).
    let mut names = Intervals::new(args.irq.hist.cumulative);

    irq::report(
        TOOL,
        Kind::Hard,
        &args.irq,
        args.common.json,
        " (too many interrupt handler names)",
        || {
            let bss = skel.maps.bss_data.as_deref_mut();
            let epoch = end_interval(bss.map(|b| &mut b.ferro_hist_epoch));
            let read = read_hash_hists::<types::irq_hist>(&skel.maps.hists, &mut names, epoch)?;
            let hists = read
                .into_iter()
                .map(|(name, h, _)| (c_bytes(&name).to_vec(), h));
            let bss = skel.maps.bss_data.as_deref();
            Ok(Reading {
                hists: hists.collect(),
                dropped: vec![(bss.map_or(0, |b| b.hists_full), "interrupts")],
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> Option<Args> {
        Args::try_parse_from(std::iter::once("hardirqs").chain(argv.iter().copied())).ok()
    }

    #[test]
    fn options_as_libbpf_tools_takes_them() {
        let a = parse(&["-NTd", "-c", "/sys/fs/cgroup/unified", "1", "10"]).expect("parses");
        assert!(a.irq.nanoseconds && a.irq.hist.timestamp && a.irq.distributed);
        assert!(a.cgroup.is_some());
        assert_eq!((a.irq.hist.interval, a.irq.hist.count), (Some(1), Some(10)));
        let a = parse(&["-C", "-s", "1"]).expect("parses");
        assert!(a.irq.count && a.cpu == Some(1));
        // libbpf-tools 0.26: "count, distributed cann't be used together".
        for bad in [&["-C", "-d"][..], &["-N", "-m"], &["-s", "-1"]] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
