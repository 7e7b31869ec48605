// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! offcputime: off-CPU time (blocked, sleeping, waiting for a CPU) added up per thread and the
//! kernel and user stacks it left the CPU with. Based on offcputime(8) from BCC by Brendan
//! Gregg and its libbpf-tools port by Wenbo Zhang; options and output follow libbpf-tools
//! HEAD, with BCC's `-f -d -U -K` and a flame graph drawn directly (`--svg`).

mod args;
mod render;

use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use common::cli;
use common::container::{Containers, Sweep};
use common::error::{Error, Result};
use common::event_loop::StopCheck;
use common::lifecycle;
use common::output::Printer;
use common::stacks::flamegraph::SvgFile;
use common::stacks::{StackMap, Symbols};
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags};

use crate::args::{Args, MAX_IDS};
use crate::bpf::{OffcputimeSkelBuilder, types};
use crate::render::{Counted, Style};

common::tool_main!();

// SAFETY: plain integers and byte arrays with explicit padding.
unsafe impl plain::Plain for types::offcputime_key {}
// SAFETY: as above.
unsafe impl plain::Plain for types::offcputime_val {}

type Loaded<'obj> = (bpf::OffcputimeSkel<'obj>, bool);

/// Open, configure and load the program of one path (tp_btf, with the stamps in task storage
/// where the kernel allocates it without locks (6.4+), or the raw tracepoint with a hash map),
/// the stack map sized by the options.
fn load<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    args: &Args,
    tp_btf: bool,
) -> Result<Loaded<'obj>> {
    let task_storage = common::sched::task_storage(tp_btf);
    let mut open = lifecycle::open(OffcputimeSkelBuilder::default(), storage)?;
    common::configure_containers!(open, args.containers)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.ferro_floor = args.common.floor;
        ro.filter_tgids = !args.pids.is_empty();
        ro.filter_tids = !args.tids.is_empty();
        ro.user_threads_only = args.user_threads_only;
        ro.kernel_threads_only = args.kernel_threads_only;
        ro.user_stacks = !args.kernel_stacks_only;
        ro.kernel_stacks = !args.user_stacks_only;
        ro.min_block_us = args.min_block_time;
        ro.max_block_us = args.max_block_time;
        let (matching, state) = match (args.state, args.state_mask) {
            (Some(s), _) => (types::offcputime_state_match::STATE_EQUAL, s),
            (_, Some(m)) => (types::offcputime_state_match::STATE_MASK, m),
            _ => (types::offcputime_state_match::STATE_ANY, 0),
        };
        ro.state_match = matching;
        ro.targ_state = state.into();
        ro.use_task_storage = task_storage;
    }
    let p = &mut open.progs;
    p.btf_sched_switch.set_autoload(tp_btf);
    p.raw_sched_switch.set_autoload(!tp_btf);
    let m = &mut open.maps;
    common::stacks::size_map(
        &mut m.stackmap,
        args.stack_storage_size,
        args.perf_max_stack_depth,
    )?;
    lifecycle::create_maps([
        // sched.bpf.h's u64 stamps: this tool keeps its stacks with each stamp instead.
        (&mut m.start, false),
        (&mut m.start_task, false),
        (&mut m.starts, !task_storage),
        (&mut m.starts_task, task_storage),
        (&mut m.tgids, !args.pids.is_empty()),
        (&mut m.tids, !args.tids.is_empty()),
    ])?;
    Ok((lifecycle::load(open)?, task_storage))
}

/// Put `ids` in the filter map `map` (`tgids` or `tids`).
fn fill_ids(map: &dyn MapCore, ids: &[u32]) -> Result<()> {
    for id in ids {
        map.update(&id.to_ne_bytes(), &[1], MapFlags::ANY)
            .map_err(|e| Error::from(e).context("filling the -p/-t filter"))?;
    }
    Ok(())
}

/// Checks that need no BPF: libbpf-tools' `-m`/`-M` rule, the ID lists' length, the stack
/// depth against the kernel's limit.
fn check(args: &Args) -> Result<()> {
    if args.min_block_time >= args.max_block_time {
        return Err(Error::usage(
            "min_block_time should be smaller than max_block_time",
        ));
    }
    for (flag, ids) in [("-p", &args.pids), ("-t", &args.tids)] {
        if ids.len() > MAX_IDS {
            return Err(Error::usage(format!(
                "{flag}: at most {MAX_IDS} IDs, got {}",
                ids.len()
            )));
        }
    }
    common::stacks::check_depth(args.perf_max_stack_depth)
}

/// libbpf-tools HEAD's first line: `Tracing off-CPU time (us) of PID [1, 2] TID [3]` (or `all
/// threads`), then ` for N secs.` or `... Hit Ctrl-C to end.`.
fn header(pids: &[u32], tids: &[u32], duration: Option<u64>) -> String {
    let mut s = String::from("Tracing off-CPU time (us) of");
    let list = |ids: &[u32]| {
        ids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !pids.is_empty() {
        s += &format!(" PID [{}]", list(pids));
    }
    if !tids.is_empty() {
        s += &format!(" TID [{}]", list(tids));
    }
    if pids.is_empty() && tids.is_empty() {
        s += " all threads";
    }
    match duration {
        Some(d) => s += &format!(" for {d} secs."),
        None => s += "... Hit Ctrl-C to end.",
    }
    s
}

/// The counted entries of the info map, smallest time first (as BCC sorts them: the largest
/// ends up next to the prompt), entries with no time left out (libbpf-tools skips them too).
fn read_info(map: &dyn MapCore) -> Result<Vec<(types::offcputime_key, types::offcputime_val)>> {
    let mut out = Vec::new();
    for k in map.keys() {
        let Some(key) = common::decode::copy_prefix::<types::offcputime_key>(
            &k,
            std::mem::size_of::<types::offcputime_key>(),
        ) else {
            continue;
        };
        let Some(val) = map
            .lookup(&k, MapFlags::ANY)
            .map_err(|e| Error::from(e).context("reading the off-CPU times"))?
            .and_then(|b| {
                common::decode::copy_prefix::<types::offcputime_val>(
                    &b,
                    std::mem::size_of::<types::offcputime_val>(),
                )
            })
        else {
            continue;
        };
        if val.delta > 0 {
            out.push((key, val));
        }
    }
    out.sort_by_key(|(k, v)| (v.delta, k.tgid, k.pid));
    Ok(out)
}

/// Wait until Ctrl-C, SIGTERM, the duration, or the reader of stdout has gone (`| head`):
/// false in that last case, when nothing more is to be printed. Meanwhile `tick` runs every
/// 50 ms.
fn wait(duration: Option<u64>, mut tick: impl FnMut()) -> bool {
    let deadline = duration.and_then(|d| Instant::now().checked_add(Duration::from_secs(d)));
    let stop = StopCheck::new(deadline);
    while !stop.due() {
        std::thread::sleep(Duration::from_millis(50));
        tick();
    }
    !stop.reader_closed()
}

/// The cgroup id of an entry of the info map (its value's `cgroup_id`: the thread's).
fn info_cgroup(_key: &[u8], value: &[u8]) -> Option<u64> {
    let v: types::offcputime_val =
        common::decode::copy_prefix(value, std::mem::size_of::<types::offcputime_val>())?;
    Some(v.cgroup_id)
}

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    check(&args)?;
    let svg = args.svg.as_deref().map(SvgFile::new).transpose()?;
    let mut containers = Containers::start(TOOL, &args.containers)?;
    lifecycle::start(args.common.verbose)?;

    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((mut skel, task_storage), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(storage, &args, tp_btf)
        })?;
    fill_ids(&skel.maps.tgids, &args.pids)?;
    fill_ids(&skel.maps.tids, &args.tids)?;
    containers.skip_in_kernel(&skel.maps.ferro_skip_cgroups, &skel.maps.ferro_skipped)?;
    skel.attach()
        .map_err(|e| Error::from(e).context("attaching to sched_switch"))?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to sched_switch as {}; switch times in {}",
        if tp_btf { "tp_btf" } else { "a raw tracepoint" },
        if task_storage {
            "task storage"
        } else {
            "a hash map"
        }
    ));

    let printer = Printer::new();
    let text = !args.folded && !args.common.json;
    if text
        && !printer.emit_or_closed(
            format!("{}\n", header(&args.pids, &args.tids, args.duration)).as_bytes(),
        )?
    {
        return Ok(());
    }
    let mut sweep = Sweep::new();
    if !wait(args.duration, || {
        sweep.tick(&mut containers, &skel.maps.info, info_cgroup);
    }) {
        return Ok(());
    }
    // Detach first: what is read is then what was counted until the stop, and the info map
    // no longer changes under the walk of its keys.
    drop(skel.links);
    let entries = read_info(&skel.maps.info)?;
    let bss = skel.maps.bss_data.as_deref();
    let lost = bss.map_or((0, 0), |b| (b.starts_full, b.info_full));
    let stacks = StackMap::new(&skel.maps.stackmap);
    let mut syms = Symbols::new();
    let style = Style {
        folded: args.folded || svg.is_some(),
        json: args.common.json,
        delimited: args.delimited,
        verbose: args.common.verbose > 0,
        containers: args.containers.containers,
    };
    let mut out = Vec::new();
    let mut shown = 0usize;
    let mut total_us = 0u64;
    for (key, val) in &entries {
        if !containers.keep(val.cgroup_id) {
            continue;
        }
        let counted = Counted::read(key, val, &stacks, &mut syms);
        render::entry(&mut out, &counted, &style, &mut containers);
        shown += 1;
        total_us = total_us.saturating_add(val.delta);
    }
    match &svg {
        Some(svg) => {
            svg.write(&common::stacks::command_line(), "us", &out)?;
            let done = format!(
                "Wrote {}: {shown} stacks, {total_us} us off-CPU.\n",
                common::output::escaped(std::os::unix::ffi::OsStrExt::as_bytes(
                    svg.path().as_os_str()
                ))
            );
            if !printer.emit_or_closed(done.as_bytes())? {
                return Ok(());
            }
        }
        None => {
            if !printer.emit_or_closed(&out)? {
                return Ok(());
            }
        }
    }
    if let Some(s) = sweep.summary("the info map") {
        common::log::verbose(format_args!("{TOOL}: {s}"));
    }
    containers.report_skips(TOOL);
    for w in render::lost_warnings(lost.0, lost.1)
        .into_iter()
        .chain(stacks.warning())
        .chain(syms.warnings())
    {
        common::log::stderr(format_args!("{w}\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> std::result::Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("offcputime").chain(argv.iter().copied()))
    }

    #[test]
    fn header_as_libbpf_tools_head() {
        assert_eq!(
            header(&[], &[], None),
            "Tracing off-CPU time (us) of all threads... Hit Ctrl-C to end."
        );
        assert_eq!(
            header(&[185, 175], &[], Some(5)),
            "Tracing off-CPU time (us) of PID [185, 175] for 5 secs."
        );
        assert_eq!(
            header(&[1], &[2, 3], None),
            "Tracing off-CPU time (us) of PID [1] TID [2, 3]... Hit Ctrl-C to end."
        );
    }

    #[test]
    fn options_as_libbpf_tools_takes_them() {
        let a = parse(&["-p", "185,175", "-t", "7", "-m", "1000", "-M", "5000", "5"]).unwrap();
        assert_eq!(a.pids, [185, 175]);
        assert_eq!(a.tids, [7]);
        assert_eq!((a.min_block_time, a.max_block_time), (1000, 5000));
        assert_eq!(a.duration, Some(5));
        assert!(check(&a).is_ok());
        let a = parse(&[]).unwrap();
        assert_eq!((a.min_block_time, a.max_block_time), (1, u64::MAX));
        assert_eq!((a.stack_storage_size, a.perf_max_stack_depth), (1024, 127));
        for bad in [
            &["-u", "-k"][..],
            &["-U", "-K"],
            &["--state", "3"],
            &["--state", "1", "--state-mask", "2"],
            &["-f", "--svg", "x.svg"],
            &["-p", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let e = check(&parse(&["-m", "10", "-M", "10"]).unwrap()).unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (
                common::error::EXIT_USAGE,
                "min_block_time should be smaller than max_block_time"
            )
        );
    }
}
