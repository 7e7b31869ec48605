// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! tcpconnect: trace active TCP connections. Based on tcpconnect(8) from BCC by Brendan Gregg
//! and its libbpf-tools port; options and columns follow libbpf-tools. Unlike them it needs
//! no kprobes: see bpf/tcpconnect.bpf.c for the tracepoint design.

mod args;
mod format;

use std::collections::HashMap;
use std::mem::MaybeUninit;

use common::buffer::BufferKind;
use common::cli;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle::{self, Hooks, Storage};
use common::metrics::Labels;
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{TcpconnectSkelBuilder, types};
use crate::format::{Columns, CountKey, Phase};

common::tool_main!();

// SAFETY: plain integers and byte arrays.
unsafe impl plain::Plain for types::tcpconnect_event {}
common::event_record!(types::tcpconnect_event);

/// How connects are caught, best first; each is forced off by FERROSCOPE_DISABLE (`fentry`,
/// `kprobes`) so every path can be tested on a kernel that has them all. All three also
/// attach to sock:inet_sock_set_state.
const FENTRY: Hooks = Hooks {
    name: "fexit",
    what: "sock:inet_sock_set_state, fexit:tcp_v4_connect, fexit:tcp_v6_connect",
};
const KPROBES: Hooks = Hooks {
    name: "kprobes",
    what: "sock:inet_sock_set_state, kprobe:tcp_v4_connect, kretprobe:tcp_v4_connect, \
           kprobe:tcp_v6_connect, kretprobe:tcp_v6_connect, syscalls:sys_exit_connect, \
           tcp:tcp_retransmit_skb",
};
const TRACEPOINTS: Hooks = Hooks {
    name: "tracepoints",
    what: "sock:inet_sock_set_state, syscalls:sys_exit_connect, tcp:tcp_retransmit_skb",
};

fn choose_hooks() -> Result<Hooks> {
    if common::log::quietly(|| probe::fentry("tcp_v4_connect") && probe::fentry("tcp_v6_connect")) {
        return Ok(FENTRY);
    }
    if probe::kprobes() {
        return Ok(KPROBES);
    }
    for (cat, name) in [
        ("syscalls", "sys_exit_connect"),
        ("tcp", "tcp_retransmit_skb"),
    ] {
        if !probe::tracepoint_exists(cat, name)? {
            return Err(Error::fatal(format!(
                "no fentry, no kprobes and no {cat}:{name} tracepoint on this kernel: \
                 nothing to trace connects with"
            )));
        }
    }
    Ok(TRACEPOINTS)
}

type Loaded<'obj> = (bpf::TcpconnectSkel<'obj>, BufferKind);

fn load<'obj>(args: &Args, hooks: Hooks, storage: &'obj mut Storage) -> Result<Loaded<'obj>> {
    let builder = TcpconnectSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, storage, args, pid, uid, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.register_at_syn_sent = hooks != FENTRY;
        ro.emit_phases = wanted_phase(args).0;
        ro.targ_family = common::net::family_filter(args.ipv4, args.ipv6);
        if let Some(ports) = &args.ports {
            ro.n_ports = ports.fill(&mut ro.targ_ports);
        }
    }
    let p = &mut open.progs;
    p.fexit_v4.set_autoload(hooks == FENTRY);
    p.fexit_v6.set_autoload(hooks == FENTRY);
    for prog in [
        &mut p.kprobe_v4,
        &mut p.kretprobe_v4,
        &mut p.kprobe_v6,
        &mut p.kretprobe_v6,
    ] {
        prog.set_autoload(hooks == KPROBES);
    }
    // The kprobe path registers at SYN_SENT like the tracepoint path and keeps its reporting
    // points, so a kretprobe that misses a return delays a row instead of losing it.
    p.exit_connect.set_autoload(hooks != FENTRY);
    p.syn_retransmit.set_autoload(hooks != FENTRY);
    // Each per-thread map is a preallocated 16k-entry LRU hash (about 1 MiB of kernel memory),
    // created only for the paths that use it; libbpf poisons the references left in code the
    // verifier prunes, as it prunes syn_sent() without register_at_syn_sent.
    let m = &mut open.maps;
    lifecycle::create_maps([
        (&mut m.by_tid, hooks != FENTRY),
        (&mut m.entry_sk, hooks == KPROBES),
    ])?;
    Ok((hooks.load(open)?, kind))
}

/// JSON, the outcome column and the exported counts (by outcome) report a connect when its
/// handshake ends; plain rows and counts when the SYN goes out, as libbpf-tools does. Only
/// that record is sent.
fn wanted_phase(args: &Args) -> Phase {
    if args.event.common.json || args.outcome || args.event.buffer.export.targets().is_some() {
        Phase::TCPCONNECT_OUTCOME
    } else {
        Phase::TCPCONNECT_ATTEMPT
    }
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.event.common.verbose)?;
    if !probe::tracepoint_exists("sock", "inet_sock_set_state")? {
        return Err(Error::fatal(
            "tracepoint sock:inet_sock_set_state is missing on this kernel (needs Linux 4.16+)",
        ));
    }
    let first = choose_hooks()?;
    let (mut storage, mut fallback) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((skel, kind), hooks) = lifecycle::load_hooks_or_fallback(
        TOOL,
        first,
        (first != TRACEPOINTS).then_some(TRACEPOINTS),
        [&mut storage, &mut fallback],
        |storage, hooks| load(&args, hooks, storage),
    )?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let tool = Tcpconnect {
        cols: Columns {
            timestamp: args.timestamp,
            uid: args.print_uid,
            sport: args.source_port,
            lport: args.lport,
            outcome: args.outcome,
        },
        want: wanted_phase(&args),
        counts: args.count.then(HashMap::new),
        line: String::with_capacity(160),
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        hooks.attach(skel.object())
    })
}

struct Tcpconnect {
    cols: Columns,
    /// The phase shown: the SYN going out or the handshake's end (see [`wanted_phase`]).
    want: Phase,
    /// `-c`: connects counted per key instead of shown, printed at the end.
    counts: Option<HashMap<CountKey, u64>>,
    line: String,
}

impl EventTool for Tcpconnect {
    type Event = types::tcpconnect_event;

    const METRIC_HELP: &'static str = "Connects traced, by outcome and destination port";
    const LABEL_NAMES: &'static [&'static str] = &["outcome", "port"];

    fn min_len(&self) -> usize {
        0 // fixed-size records; a short one is copied as far as it goes
    }

    /// Count mode prints only its table, at the end, as libbpf-tools does.
    fn header(&self) -> Option<String> {
        self.counts.is_none().then(|| self.cols.header())
    }

    fn wanted(&mut self, e: &Self::Event) -> bool {
        if e.phase.0 & self.want.0 == 0 {
            return false;
        }
        let Some(counts) = &mut self.counts else {
            return true;
        };
        let sport = self.cols.sport.then_some(e.sport);
        let key = (
            format::addr(e, &e.saddr),
            format::addr(e, &e.daddr),
            sport,
            e.dport,
        );
        *counts.entry(key).or_insert(0) += 1;
        false
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        self.line.clear();
        format::text_row(&self.cols, e, times.since_first(e.ts_ns), &mut self.line);
        out.extend_from_slice(self.line.as_bytes());
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        format::json_row(e, &times.rfc3339(e.ts_ns), out);
    }

    fn finish(&mut self) -> Option<String> {
        let counts = self.counts.as_ref()?;
        Some(format::count_table(counts, self.cols.sport))
    }

    /// The outcome as the OUTCOME column says it (exporting, the tool waits for it).
    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("outcome", format::outcome(e)));
        out.push(("port", e.dport.to_string()));
    }
}
