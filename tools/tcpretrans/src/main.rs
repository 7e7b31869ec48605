// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpretrans: trace TCP retransmissions with their addresses, ports and the socket's state,
//! or count them per flow. Based on tcpretrans(8) from BCC by Brendan Gregg (libbpf-tools has
//! none); options and columns follow BCC's. See bpf/tcpretrans.bpf.c for the hooks.

mod args;
mod format;

use std::collections::HashMap;
use std::mem::MaybeUninit;

use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle;
use common::metrics::Labels;
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{TcpretransSkelBuilder, types};
use crate::format::Flow;

common::tool_main!();

// SAFETY: plain integers and byte arrays.
unsafe impl plain::Plain for types::tcpretrans_event {}
common::event_record!(types::tcpretrans_event);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    lifecycle::start(args.event.common.verbose)?;
    if !probe::tracepoint_exists("tcp", "tcp_retransmit_skb")? {
        return Err(Error::fatal(
            "the tcp:tcp_retransmit_skb tracepoint is missing on this kernel (needs Linux 4.16+)",
        ));
    }
    // Tail loss probes have no tracepoint; fentry is not used for them (yet): only a kprobe.
    if args.lossprobe && !probe::kprobes() {
        return Err(Error::fatal(
            "-l needs a kprobe on tcp_send_loss_probe, and this kernel has no kprobes \
             (no tracepoint reports tail loss probes)",
        ));
    }

    let mut storage = MaybeUninit::uninit();
    let builder = TcpretransSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, &mut storage, args)?;
    let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
    ro.targ_family = common::net::family_filter(args.ipv4, args.ipv6);
    open.progs.loss_probe.set_autoload(args.lossprobe);
    let skel = lifecycle::load(open)?;

    let tool = Tcpretrans {
        sequence: args.sequence,
        counts: args.count.then(HashMap::new),
        line: String::with_capacity(128),
    };
    let run = Run::new(kind, &args.event, args.duration);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "tcp:tcp_retransmit_skb")?;
        let what = if args.lossprobe {
            "to tcp:tcp_retransmit_skb, kprobe:tcp_send_loss_probe"
        } else {
            "to tcp:tcp_retransmit_skb"
        };
        Ok((links, what.to_owned()))
    })
}

struct Tcpretrans {
    /// `-s`: the STATE column 12 wide, and SEQ.
    sequence: bool,
    /// `-c`: retransmits counted per flow instead of shown, printed at the end.
    counts: Option<HashMap<Flow, u64>>,
    line: String,
}

impl EventTool for Tcpretrans {
    type Event = types::tcpretrans_event;

    const METRIC_HELP: &'static str =
        "TCP retransmits (and tail loss probes), by type and socket state";
    const LABEL_NAMES: &'static [&'static str] = &["type", "state"];

    /// BCC prints its "Tracing" line in both modes, the columns only when tracing.
    fn banner(&self) -> Option<String> {
        Some(format::TRACING.to_owned())
    }

    fn header(&self) -> Option<String> {
        self.counts.is_none().then(|| format::header(self.sequence))
    }

    fn wanted(&mut self, e: &Self::Event) -> bool {
        let Some(counts) = &mut self.counts else {
            return true;
        };
        *counts.entry(format::flow(e)).or_insert(0) += 1;
        false
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        self.line.clear();
        format::text_row(self.sequence, e, &times.hms(e.ts_ns), &mut self.line);
        out.extend_from_slice(self.line.as_bytes());
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        format::json_row(e, &times.rfc3339(e.ts_ns), out);
    }

    fn finish(&mut self) -> Option<String> {
        self.counts.as_ref().map(format::count_table)
    }

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        let t = if e.r#type == types::tcpretrans_type::TCPRETRANS_LOSS_PROBE {
            "loss_probe"
        } else {
            "retransmit"
        };
        out.push(("type", t.to_owned()));
        out.push(("state", format::state_name(e.state)));
    }
}
