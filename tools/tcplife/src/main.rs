// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcplife: one line per closed TCP session with its addresses, ports, bytes sent and received,
//! and duration. Based on tcplife(8) from BCC by Brendan Gregg and its libbpf-tools port;
//! options and columns follow libbpf-tools, plus BCC's -t and -s. See bpf/tcplife.bpf.c for
//! the hooks (sock:inet_sock_set_state only: no kprobes or fentry).

mod args;
mod format;

use std::mem::MaybeUninit;

use common::buffer::BufferKind;
use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle::{self, Storage};
use common::metrics::Labels;
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{TcplifeSkelBuilder, types};
use crate::format::Columns;

common::tool_main!();

// SAFETY: plain integers and byte arrays.
unsafe impl plain::Plain for types::tcplife_event {}
common::event_record!(types::tcplife_event);

type Loaded<'obj> = (bpf::TcplifeSkel<'obj>, BufferKind);

/// Open and load with the tp_btf program (`tp_btf`) or the classic tracepoint's.
fn load<'obj>(args: &Args, tp_btf: bool, storage: &'obj mut Storage) -> Result<Loaded<'obj>> {
    let builder = TcplifeSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, storage, args, pid)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.targ_family = common::net::family_filter(args.ipv4, args.ipv6);
        if let Some(ports) = &args.localport {
            ro.n_lports = ports.fill(&mut ro.targ_lports);
        }
        if let Some(ports) = &args.remoteport {
            ro.n_rports = ports.fill(&mut ro.targ_rports);
        }
    }
    open.progs.btf_state_change.set_autoload(tp_btf);
    open.progs.tp_state_change.set_autoload(!tp_btf);
    // tcplife has no --cgroup: filter.bpf.h's cgroup map is never used.
    lifecycle::create_maps([(&mut open.maps.cgroup_map, false)])?;
    Ok((lifecycle::load(open)?, kind))
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    lifecycle::start(args.event.common.verbose)?;
    if !probe::tracepoint_exists("sock", "inet_sock_set_state")? {
        return Err(Error::fatal(
            "the sock:inet_sock_set_state tracepoint is missing on this kernel (needs Linux 4.16+)",
        ));
    }
    // tp_btf where the kernel loads it; the probe is the load itself (FERROSCOPE_DISABLE=tp_btf
    // forces the classic tracepoint).
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((skel, kind), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(&args, tp_btf, storage)
        })?;
    let how = if tp_btf { "tp_btf" } else { "tracepoint" };

    let tool = Tcplife {
        cols: Columns {
            time: args.time,
            timestamp: args.timestamp,
            wide: args.wide,
            csv: args.csv,
        },
        line: String::with_capacity(160),
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "sock:inet_sock_set_state")?;
        Ok((links, format!("to sock:inet_sock_set_state ({how})")))
    })
}

struct Tcplife {
    /// The columns the options chose (-T, -t, -w, -L, -s).
    cols: Columns,
    /// One text row, reused from event to event (format::text_row writes a String).
    line: String,
}

impl EventTool for Tcplife {
    type Event = types::tcplife_event;

    const METRIC_HELP: &'static str = "TCP sessions closed, by address family";
    /// Not by port: one side of nearly every session is an ephemeral port, which would
    /// make a series per connection.
    const LABEL_NAMES: &'static [&'static str] = &["family"];

    fn header(&self) -> Option<String> {
        Some(self.cols.header())
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        self.line.clear();
        let hms = if self.cols.time {
            times.hms(e.ts_ns)
        } else {
            String::new()
        };
        let secs = times.since_first(e.ts_ns);
        format::text_row(&self.cols, e, &hms, secs, &mut self.line);
        out.extend_from_slice(self.line.as_bytes());
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        format::json_row(e, &times.rfc3339(e.ts_ns), out);
    }

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        let v = common::net::ip_version(e.family);
        out.push(("family", format!("ipv{v}")));
    }
}
