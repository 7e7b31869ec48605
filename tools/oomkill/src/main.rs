// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! oomkill: trace OOM kills, with the process that triggered the OOM killer, the one it
//! killed, the OOM domain's size in pages and the load average. Based on oomkill(8) from BCC
//! by Brendan Gregg and its libbpf-tools port; its row follows libbpf-tools. Unlike it, it also
//! works without kprobes (the oom:mark_victim tracepoint, see bpf/oomkill.bpf.c).

mod args;
mod format;

use std::mem::MaybeUninit;

use common::buffer::BufferKind;
use common::cli;
use common::decode::c_bytes;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle::{self, Hooks, Storage};
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{OomkillSkelBuilder, types};
use crate::format::Extra;

common::tool_main!();

// SAFETY: plain integers, a one-byte enum whose values the BPF side sets, and byte arrays.
unsafe impl plain::Plain for types::oomkill_event {}
common::event_record!(types::oomkill_event);

/// How OOM kills are caught, best first: libbpf-tools' kprobe on oom_kill_process, the only
/// path with the page count.
const KPROBE: Hooks = Hooks {
    name: format::hook_name(types::oomkill_hook::OOMKILL_KPROBE),
    what: "kprobe:oom_kill_process",
};
/// tp_btf/mark_victim, where the tracepoint passes the victim's task.
const TP_BTF: Hooks = Hooks {
    name: format::hook_name(types::oomkill_hook::OOMKILL_TP_BTF),
    what: "tp_btf:mark_victim",
};
/// The classic oom:mark_victim tracepoint.
const TRACEPOINT: Hooks = Hooks {
    name: format::hook_name(types::oomkill_hook::OOMKILL_TRACEPOINT),
    what: "oom:mark_victim",
};

/// The paths this kernel offers, best first. kprobes only where oom_kill_process is a function
/// of its own (FERROSCOPE_DISABLE=kprobes leaves them out); tp_btf only where the tracepoint
/// passes the task (6.8, backported to Debian's 6.1; 5.10 passes only the pid).
fn candidates() -> Result<Vec<Hooks>> {
    let mut c = Vec::new();
    if probe::kprobes() && probe::kernel_function("oom_kill_process") {
        c.push(KPROBE);
    }
    if probe::tracepoint_exists("oom", "mark_victim")? {
        let with_task = probe::with_vmlinux_btf(|btf| {
            btf.and_then(|b| b.tracepoint_arity("btf_trace_mark_victim")) == Some(2)
        });
        if with_task && probe::tp_btf("mark_victim") {
            c.push(TP_BTF);
        }
        c.push(TRACEPOINT);
    }
    if c.is_empty() {
        return Err(Error::fatal(
            "no kprobe on oom_kill_process and no oom:mark_victim tracepoint on this kernel \
             (CONFIG_KPROBES, CONFIG_TRACEPOINTS): nothing to trace OOM kills with",
        ));
    }
    Ok(c)
}

type Loaded<'obj> = (bpf::OomkillSkel<'obj>, BufferKind);

fn load<'obj>(args: &Args, hooks: Hooks, storage: &'obj mut Storage) -> Result<Loaded<'obj>> {
    let (mut open, kind) = common::open_events!(OomkillSkelBuilder::default(), storage, args)?;
    let p = &mut open.progs;
    p.kprobe_oom_kill_process.set_autoload(hooks == KPROBE);
    p.tp_btf_mark_victim.set_autoload(hooks == TP_BTF);
    p.tracepoint_mark_victim.set_autoload(hooks == TRACEPOINT);
    Ok((hooks.load(open)?, kind))
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    lifecycle::start(args.event.common.verbose)?;
    let candidates = candidates()?;
    let mut storages = [const { MaybeUninit::uninit() }; 3];
    let mut loaded = None;
    let mut failure = None;
    for (&hooks, storage) in candidates.iter().zip(storages.iter_mut()) {
        match load(&args, hooks, storage) {
            Ok(l) => {
                loaded = Some((l, hooks));
                break;
            }
            // The next path would be refused this user the same way.
            Err(e) if e.is_refusal() => return Err(e),
            Err(e) => {
                common::log::verbose(format_args!(
                    "{TOOL}: the {} path failed to load ({e})",
                    hooks.name
                ));
                failure = Some(e);
            }
        }
    }
    let Some(((skel, kind), hooks)) = loaded else {
        return Err(failure.unwrap_or_else(|| Error::fatal("no hook to load")));
    };

    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, Oomkill, common::event_maps!(skel), run, || {
        hooks.attach(skel.object())
    })
}

struct Oomkill;

/// The victim's comm: the record's, else (the classic tracepoint of kernels whose record has
/// only the pid) /proc/PID/comm while the victim is still there, dying or not yet reaped.
fn victim_comm(e: &types::oomkill_event) -> Option<Vec<u8>> {
    if e.tcomm_known != 0 {
        return Some(c_bytes(&e.tcomm).to_vec());
    }
    let mut comm = std::fs::read(format!("/proc/{}/comm", e.tpid)).ok()?;
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    Some(comm)
}

/// /proc/loadavg without its newline, read for each row as libbpf-tools does.
fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let line = text.trim_end();
    (!line.is_empty()).then(|| line.to_owned())
}

impl EventTool for Oomkill {
    type Event = types::oomkill_event;

    const METRIC_HELP: &'static str = "OOM kills";

    fn header(&self) -> Option<String> {
        None
    }

    fn banner(&self) -> Option<String> {
        Some(format::BANNER.to_owned())
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let (comm, load) = (victim_comm(e), loadavg());
        let x = Extra {
            victim_comm: comm.as_deref(),
            loadavg: load.as_deref(),
        };
        format::text_row(&times.hms(e.ts_ns), e, &x, out);
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let (comm, load) = (victim_comm(e), loadavg());
        let x = Extra {
            victim_comm: comm.as_deref(),
            loadavg: load.as_deref(),
        };
        format::json_row(&times.rfc3339(e.ts_ns), e, &x, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn libbpf_tools_recipes_parse() {
        assert!(Args::try_parse_from(["oomkill"]).is_ok());
        assert!(Args::try_parse_from(["oomkill", "-v"]).is_ok());
        assert!(Args::try_parse_from(["oomkill", "-p", "1"]).is_err());
    }
}
