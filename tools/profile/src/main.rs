// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! profile: sample the stacks running on the CPUs at a fixed frequency and count them. Based on
//! profile(8) from BCC by Brendan Gregg and its libbpf-tools port; options and output follow
//! libbpf-tools.

mod args;
mod perf;

use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::cli;
use common::container::{Containers, Sweep};
use common::error::{Error, Result};
use common::event_loop::StopCheck;
use common::lifecycle;
use common::output::Printer;
use common::stacks::flamegraph::SvgFile;
use common::stacks::{self, Entry, Part, StackMap, Symbols};
use libbpf_rs::{MapCore, MapFlags};

use crate::args::{Args, MAX_IDS};
use crate::bpf::{ProfileSkelBuilder, types};
use crate::perf::Clock;

common::tool_main!();

/// Entries of the counts map (bpf/profile.h).
const MAX_ENTRIES: usize = common::decode::c_define(
    include_str!("../../../bpf/profile.h"),
    "PROFILE_MAX_ENTRIES",
);

const KEY_SIZE: usize = std::mem::size_of::<types::profile_key>();

// SAFETY: plain integers and a byte array, with the padding explicit.
unsafe impl plain::Plain for types::profile_key {}

/// Options turned into what the BPF side, the clock and the printer need, checked before any
/// BPF work (bad input exits 2 without loading anything).
struct Plan {
    args: Args,
    cpus: Vec<u32>,
    svg: Option<SvgFile>,
}

fn plan(args: Args) -> Result<Plan> {
    for (flag, ids) in [("-p", &args.pids), ("-L", &args.tids)] {
        if ids.len() > MAX_IDS {
            return Err(Error::usage(format!(
                "{flag}: at most {MAX_IDS} ids, got {}",
                ids.len()
            )));
        }
    }
    stacks::check_depth(args.perf_max_stack_depth)?;
    if let Some(max) = perf::max_sample_rate()
        && args.frequency > max
    {
        return Err(Error::usage(format!(
            "invalid value '{}' for '--frequency <FREQUENCY>': must be an integer from 1 to \
             {max} (kernel.perf_event_max_sample_rate)",
            args.frequency
        )));
    }
    let online = perf::online_cpus()?;
    let cpus = match args.cpu {
        None => online,
        Some(c) if online.contains(&c) => vec![c],
        Some(c) => {
            let last = online.iter().max().copied().unwrap_or(0);
            return Err(Error::usage(format!(
                "invalid value '{c}' for '--cpu <CPU>': must be an integer from 0 to {last}, \
                 an online CPU"
            )));
        }
    };
    let svg = args.svg.as_deref().map(SvgFile::new).transpose()?;
    Ok(Plan { args, cpus, svg })
}

/// libbpf-tools' first line: `Sampling at 49 Hertz of all threads by user + kernel... Hit
/// Ctrl-C to end.` (profile.c print_headers).
fn header(a: &Args) -> String {
    let list = |ids: &[u32]| {
        ids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut h = format!("Sampling at {} Hertz of", a.frequency);
    if !a.pids.is_empty() {
        h += &format!(" PID [{}]", list(&a.pids));
    } else if !a.tids.is_empty() {
        h += &format!(" TID [{}]", list(&a.tids));
    } else {
        h += " all threads";
    }
    h += if a.user_stacks_only {
        " by user"
    } else if a.kernel_stacks_only {
        " by kernel"
    } else {
        " by user + kernel"
    };
    if let Some(c) = a.cpu {
        h += &format!(" on CPU#{c}");
    }
    match a.duration {
        Some(d) => h += &format!(" for {d} secs.\n"),
        None => h += "... Hit Ctrl-C to end.\n",
    }
    h
}

fn run() -> Result<()> {
    let plan = plan(cli::parse(&INFO)?)?;
    let args = &plan.args;
    let mut containers = Containers::start(TOOL, &args.containers)?;
    lifecycle::start(args.common.verbose)?;

    let clock = perf::choose(args.frequency, plan.cpus[0]);
    let mut storage = MaybeUninit::uninit();
    let mut open = lifecycle::open(ProfileSkelBuilder::default(), &mut storage)?;
    common::configure_containers!(open, args.containers)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.filter_pids = !args.pids.is_empty();
        ro.filter_tids = !args.tids.is_empty();
        ro.user_stacks = !args.kernel_stacks_only;
        ro.kernel_stacks = !args.user_stacks_only;
        ro.include_idle = args.include_idle;
        ro.by_cgroup = containers.wanted();
    }
    stacks::size_map(
        &mut open.maps.stackmap,
        args.stack_storage_size,
        args.perf_max_stack_depth,
    )?;
    for (map, ids) in [
        (&mut open.maps.pids, &args.pids),
        (&mut open.maps.tids, &args.tids),
    ] {
        let n = u32::try_from(ids.len().max(1)).unwrap_or(1);
        map.set_max_entries(n)
            .map_err(|e| Error::from(e).context("sizing the -p/-L maps"))?;
    }
    let skel = lifecycle::load(open)?;
    containers.skip_in_kernel(&skel.maps.ferro_skip_cgroups, &skel.maps.ferro_skipped)?;
    for (map, ids) in [(&skel.maps.pids, &args.pids), (&skel.maps.tids, &args.tids)] {
        for id in ids {
            map.update(&id.to_ne_bytes(), &[1], MapFlags::ANY)
                .map_err(|e| Error::from(e).context("filling the -p/-L maps"))?;
        }
    }

    let links = attach(&skel, clock, args.frequency, &plan.cpus)?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to {} perf events at {} Hz on {} CPUs; stacks of up to {} frames, \
         {} stacks stored",
        clock.describe(),
        args.frequency,
        links.len(),
        args.perf_max_stack_depth,
        args.stack_storage_size,
    ));
    let printer = Printer::new();
    if !args.folded && !args.common.json && !printer.emit_or_closed(header(args).as_bytes())? {
        return Ok(());
    }

    let deadline = args
        .duration
        .and_then(|d| Instant::now().checked_add(Duration::from_secs(d)));
    let stop = StopCheck::new(deadline);
    let mut sweep = Sweep::new();
    while !stop.due() {
        std::thread::sleep(Duration::from_millis(20));
        sweep.tick(&mut containers, &skel.maps.counts, |k, _| {
            let key: types::profile_key = common::decode::copy_prefix(k, KEY_SIZE)?;
            Some(key.cgroup_id)
        });
    }
    // Stop sampling before reading: the counts and stacks then hold still (libbpf-tools reads
    // them while still attached, and its loop can spin on an entry created meanwhile).
    drop(links);
    if stop.reader_closed() {
        return Ok(());
    }
    let reported = report(&skel, args, &mut containers, plan.svg.as_ref(), &printer);
    if let Some(s) = sweep.summary("the counts map") {
        common::log::verbose(format_args!("{TOOL}: {s}"));
    }
    containers.report_skips(TOOL);
    reported
}

/// Open the clock on every CPU of `cpus` and attach the sampling program to each; a CPU gone
/// offline since (ENODEV) is skipped, as libbpf-tools does.
fn attach(
    skel: &bpf::ProfileSkel<'_>,
    clock: Clock,
    freq: u64,
    cpus: &[u32],
) -> Result<Vec<libbpf_rs::Link>> {
    let mut links = Vec::with_capacity(cpus.len());
    for &cpu in cpus {
        let fd = match perf::open(clock, freq, cpu) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
            Err(e) => {
                let denied = matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM));
                let why = denied
                    .then(common::probe::perf_events_restricted_error)
                    .flatten()
                    .unwrap_or_else(|| Error::from(e));
                return Err(why.context(format!(
                    "opening a {} perf event on CPU {cpu}",
                    clock.describe()
                )));
            }
        };
        let link = skel
            .progs
            .sample
            .attach_perf_event(fd.as_raw_fd())
            .map_err(|e| {
                Error::from(e).context(format!("attaching to the perf event of CPU {cpu}"))
            })?;
        // The link closes the event's descriptor when it detaches (libbpf's perf link).
        std::mem::forget(fd);
        links.push(link);
    }
    if links.is_empty() {
        return Err(Error::fatal("no online CPU to sample"));
    }
    Ok(links)
}

/// One entry of the counts map.
struct Counted {
    key: types::profile_key,
    count: u64,
}

/// Every entry of the counts map with a count.
fn read_counts(map: &dyn MapCore) -> Vec<Counted> {
    map.keys()
        .filter_map(|k| {
            let key: types::profile_key = common::decode::copy_prefix(&k, KEY_SIZE)?;
            let v = map.lookup(&k, MapFlags::ANY).ok()??;
            let count = u64::from_ne_bytes(v.get(..8)?.try_into().ok()?);
            (count > 0).then_some(Counted { key, count })
        })
        .collect()
}

/// One stack to print: its two sides symbolized, who ran it and its samples.
struct Row {
    key: types::profile_key,
    kernel: Part,
    user: Part,
    count: u64,
}

/// A side as printed without addresses: the frame names, or the missed-stack mark.
fn shown(part: &Part) -> Vec<String> {
    match part {
        Part::Frames(f) => f.iter().map(|f| f.name().into_owned()).collect(),
        Part::Missed => vec!["\0missed".to_string()],
        Part::Absent => Vec::new(),
    }
}

/// Rows that print the same (same process, comm, container and frame names) as one, their
/// samples added up: stacks the kernel keeps apart because an address differs (two
/// instructions of one loop) would otherwise print as identical entries. The first row's
/// frames are kept (their addresses are not printed).
fn merge(rows: Vec<Row>) -> Vec<Row> {
    let mut index: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    for r in rows {
        let k = (
            r.key.pid,
            r.key.comm,
            r.key.cgroup_id,
            shown(&r.kernel),
            shown(&r.user),
        );
        match index.get(&k) {
            Some(&i) => out[i].count += r.count,
            None => {
                index.insert(k, out.len());
                out.push(r);
            }
        }
    }
    out
}

/// Most samples first (libbpf-tools' order), ties by process and comm, so that the order
/// is stable.
fn sort_rows(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.key.pid.cmp(&b.key.pid))
            .then(a.key.comm.cmp(&b.key.comm))
    });
}

fn report(
    skel: &bpf::ProfileSkel<'_>,
    args: &Args,
    containers: &mut Containers,
    svg: Option<&SvgFile>,
    printer: &Printer,
) -> Result<()> {
    let counts = read_counts(&skel.maps.counts);
    let stackmap = StackMap::new(&skel.maps.stackmap);
    let mut syms = Symbols::new();
    let verbose = args.common.verbose > 0;
    let mut out = Vec::new();
    let mut folded = Vec::new();
    if !args.folded && !args.common.json {
        out.push(b'\n');
    }
    let mut rows = Vec::with_capacity(counts.len());
    for c in counts {
        let k = c.key;
        if containers.wanted() && !containers.keep(k.cgroup_id) {
            continue;
        }
        let kernel = stackmap.kernel(&mut syms, k.kern_stack_id.into());
        let user = stackmap.user(&mut syms, k.pid, k.user_stack_id.into());
        rows.push(Row {
            key: k,
            kernel,
            user,
            count: c.count,
        });
    }
    // Addresses are printed only in JSON and with -v (multi-line).
    if !args.common.json && (!verbose || args.folded) {
        rows = merge(rows);
    }
    sort_rows(&mut rows);
    for r in &rows {
        let (k, kernel, user) = (&r.key, &r.kernel, &r.user);
        let container = containers.show.then(|| containers.column(k.cgroup_id));
        let entry = Entry {
            kernel,
            user,
            comm: &k.comm,
            id: k.pid,
            count: r.count,
        };
        if svg.is_some() || args.folded {
            let start = folded.len();
            if let Some(c) = &container {
                folded.extend_from_slice(container_frame(c).as_bytes());
                folded.push(b';');
            }
            stacks::folded_line(&mut folded, &k.comm, user, kernel, args.delimited, r.count);
            if args.folded {
                out.extend_from_slice(&folded[start..]);
            }
        }
        if args.common.json {
            stacks::json_object(&mut out, &entry, "pid", "count");
            if containers.show
                && let Some(mut j) = common::output::JsonLine::reopen(&mut out)
            {
                containers.json_fields(&mut j, k.cgroup_id);
                j.finish();
            }
        } else if !args.folded {
            let start = out.len();
            stacks::multi_line(&mut out, &entry, args.delimited, |f, side| {
                if verbose {
                    f.verbose(side)
                } else {
                    f.name().into_owned()
                }
            });
            if let Some(c) = &container {
                add_container(&mut out, start, c);
            }
        }
    }
    if !printer.emit_or_closed(&out)? {
        return Ok(());
    }
    if let Some(svg) = svg {
        svg.write(&stacks::command_line(), "samples", &folded)?;
        common::log::verbose(format_args!(
            "{TOOL}: wrote the flame graph to {}",
            common::output::escaped(svg.path().as_os_str().as_encoded_bytes())
        ));
    }
    let full = skel.maps.bss_data.as_deref().map_or(0, |b| b.counts_full);
    if full > 0 {
        common::log::stderr(format_args!(
            "WARNING: {full} samples dropped: more than {MAX_ENTRIES} distinct stacks and \
             processes\n"
        ));
    }
    for w in stackmap.warning().into_iter().chain(syms.warnings()) {
        common::log::stderr(format_args!("{w}\n"));
    }
    Ok(())
}

/// The first frame of a folded line with --containers: the container's short id, or `[host]`
/// for host tasks (whose column is `-`).
fn container_frame(column: &str) -> String {
    if column == "-" {
        "[host]".to_string()
    } else {
        format!("[container {column}]")
    }
}

/// With --containers, the multi-line entry written from `start` names the container after the
/// process: `    -                COMM (PID) [container ID]`.
fn add_container(out: &mut Vec<u8>, start: usize, column: &str) {
    let text = String::from_utf8_lossy(&out[start..]).into_owned();
    let Some(pos) = text.rfind(")\n        ") else {
        return;
    };
    let mut fixed = text[..=pos].to_string();
    fixed += &format!(" [container {column}]");
    fixed += &text[pos + 1..];
    out.truncate(start);
    out.extend_from_slice(fixed.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(a: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("profile").chain(a.iter().copied())).unwrap()
    }

    #[test]
    fn headers_as_libbpf_tools() {
        assert_eq!(
            header(&parse(&[])),
            "Sampling at 49 Hertz of all threads by user + kernel... Hit Ctrl-C to end.\n"
        );
        assert_eq!(
            header(&parse(&["-p", "12,34", "-U", "-C", "1", "5"])),
            "Sampling at 49 Hertz of PID [12, 34] by user on CPU#1 for 5 secs.\n"
        );
        assert_eq!(
            header(&parse(&["-L", "7", "-K", "-F", "99"])),
            "Sampling at 99 Hertz of TID [7] by kernel... Hit Ctrl-C to end.\n"
        );
    }

    #[test]
    fn rows_that_print_the_same_are_merged() {
        use common::stacks::Frame;
        let row = |pid: u32, leaf_addr: u64, leaf: &str, count: u64| {
            let key = types::profile_key {
                pid,
                ..Default::default()
            };
            Row {
                key,
                kernel: Part::Absent,
                user: Part::Frames(vec![Frame::named(leaf_addr, leaf), Frame::named(9, "main")]),
                count,
            }
        };
        let mut rows = merge(vec![
            row(1, 0x10, "spin", 3),
            row(1, 0x14, "spin", 5),
            row(2, 0x10, "spin", 1),
            row(1, 0x20, "other", 9),
        ]);
        sort_rows(&mut rows);
        let got: Vec<(u32, u64)> = rows.iter().map(|r| (r.key.pid, r.count)).collect();
        assert_eq!(got, [(1, 9), (1, 8), (2, 1)]);
    }

    #[test]
    fn container_named_in_the_entry() {
        let mut out = b"x\n    -                sh (12)\n        3\n\n".to_vec();
        add_container(&mut out, 2, "46441cff64eb");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x\n    -                sh (12) [container 46441cff64eb]\n        3\n\n"
        );
        assert_eq!(container_frame("-"), "[host]");
    }
}
