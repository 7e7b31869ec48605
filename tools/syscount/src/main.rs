// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! syscount: syscalls counted per syscall or per process (-P), with their total latency (-L),
//! every interval or at the end. Based on syscount(8) from BCC by Sasha Goldshtein and its
//! libbpf-tools port by Anton Protopopov; options and output follow libbpf-tools.

mod args;
mod names;
mod report;

use std::collections::{BTreeMap, HashMap};
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use common::cli;
use common::decode::copy_prefix;
use common::error::{Error, Result};
use common::hist::FullMapWarning;
use common::output::Printer;
use common::signal;
use common::time::{hms, rfc3339};
use common::{lifecycle, probe};
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags};

use crate::args::Args;
use crate::bpf::{SyscountSkel, SyscountSkelBuilder, types};
use crate::report::{Row, Style};

common::tool_main!();

// SAFETY: plain integers and byte arrays, no padding the BPF side leaves unset.
unsafe impl plain::Plain for types::syscount_counts {}
// SAFETY: as above.
unsafe impl plain::Plain for types::syscount_proc {}

type Key = types::syscount_key;

/// The per-syscall array's slots: the native table's numbers, then the compat table's.
const IDS: u32 = types::syscount_limit::SYSCOUNT_IDS.0;
const SLOTS: u32 = types::syscount_limit::SYSCOUNT_SLOTS.0;

/// How often the maps are read, whatever the interval: each reading adds what was counted
/// since the last one to the report under way, and lets -P forget processes that made no
/// syscall for a whole reading (so that exited ones do not fill the map).
const TICK: Duration = Duration::from_secs(1);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    if args.list {
        // No privileges needed, as in libbpf-tools.
        Printer::new().emit_or_closed(names::list().as_bytes())?;
        return Ok(());
    }
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    lifecycle::start(args.common.verbose)?;
    // From tracefs, or where this process may not read it from the kernel's BTF.
    if !probe::tracepoint_exists("raw_syscalls", "sys_exit")? {
        return Err(Error::fatal(
            "the raw_syscalls tracepoints are missing (needs CONFIG_FTRACE_SYSCALLS)",
        ));
    }

    // tp_btf first, raw tracepoints if it does not load.
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((skel, task_storage), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(storage, &args, cgroup.is_some(), tp_btf)
        })?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;
    let _links = lifecycle::attach_loaded(skel.object(), "raw_syscalls")?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to raw_syscalls:{} as {}; counts in {}{}",
        if args.latency {
            "sys_enter and sys_exit"
        } else {
            "sys_exit"
        },
        if tp_btf { "tp_btf" } else { "raw tracepoints" },
        if args.process {
            "a hash map by process"
        } else {
            "a per-CPU array by syscall"
        },
        match (args.latency, task_storage) {
            (false, _) => "",
            (true, true) => ", entry times in task storage",
            (true, false) => ", entry times in a hash map",
        }
    ));

    let style = Style {
        process: args.process,
        latency: args.latency,
        milliseconds: args.milliseconds,
        top: args.top,
    };
    let mut reader = Reader::new(args.process);
    report_loop(&args, &style, |report| reader.read(&skel, report))
}

/// Open, configure and load the object for these options, with the tp_btf programs or the raw
/// tracepoint ones; maps they leave unused are not created, and sys_enter is loaded for -L only.
/// With it, whether -L's entry times are in task storage (else a hash map).
fn load<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    args: &Args,
    cgroup: bool,
    tp_btf: bool,
) -> Result<(SyscountSkel<'obj>, bool)> {
    // -L on tp_btf keeps entry times in task storage where the kernel has it (5.11+;
    // FERROSCOPE_DISABLE=task_storage: the hash map, as on raw tracepoints).
    let task_storage = args.latency && tp_btf && probe::task_storage();
    let mut open = lifecycle::open(SyscountSkelBuilder::default(), storage)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.ferro_floor = args.common.floor;
        ro.targ_tgid = args.pid.unwrap_or(0);
        ro.filter_cgroup = cgroup;
        ro.key_by = if args.process {
            Key::KEY_PROCESS
        } else {
            Key::KEY_SYSCALL
        };
        ro.measure_latency = args.latency;
        ro.filter_failed = args.failures;
        ro.filter_errno = args.errno.unwrap_or(0);
        ro.nr_exit = names::native_nr("exit");
        ro.nr_exit_group = names::native_nr("exit_group");
        ro.nr_compat_exit = names::compat_nr("exit");
        ro.nr_compat_exit_group = names::compat_nr("exit_group");
        ro.nr_execve = names::native_nr("execve");
        ro.nr_execveat = names::native_nr("execveat");
        ro.use_task_storage = task_storage;
    }
    let p = &mut open.progs;
    for (btf, enter, prog) in [
        (true, true, &mut p.btf_sys_enter),
        (false, true, &mut p.raw_sys_enter),
        (true, false, &mut p.btf_sys_exit),
        (false, false, &mut p.raw_sys_exit),
    ] {
        prog.set_autoload(btf == tp_btf && (!enter || args.latency));
    }
    let m = &mut open.maps;
    lifecycle::create_maps([
        (&mut m.syscalls, !args.process),
        (&mut m.procs, args.process),
        (&mut m.start, args.latency && !task_storage),
        (&mut m.start_task, task_storage),
    ])?;
    Ok((lifecycle::load(open)?, task_storage))
}

/// libbpf-tools' banner.
fn banner(top: usize) -> String {
    format!("Tracing syscalls, printing top {top}... Ctrl+C to quit.")
}

/// Read the maps every [`TICK`] into the report under way (`read`), and print the report every
/// `-i` seconds (or once, at the end, without it), until `-d`, Ctrl-C or SIGTERM, which print a
/// last report. A report that counted nothing prints nothing. A closed pipe ends quietly.
fn report_loop(
    args: &Args,
    style: &Style,
    mut read: impl FnMut(&mut Report) -> Result<()>,
) -> Result<()> {
    let printer = Printer::new();
    let json = args.common.json;
    if !json && !printer.emit_or_closed(format!("{}\n", banner(args.top)).as_bytes())? {
        return Ok(());
    }
    let start = Instant::now();
    let after = |secs: u64| start.checked_add(Duration::from_secs(secs));
    let end = args.duration.and_then(after);
    let interval = Duration::from_secs(args.interval);
    let mut next_report = (args.interval > 0).then(|| after(args.interval)).flatten();
    let mut report = Report::default();
    loop {
        let now = Instant::now();
        let mut wake = now + TICK;
        for t in [next_report, end].into_iter().flatten() {
            wake = wake.min(t);
        }
        let stopped = signal::sleep_unless_stopped(wake.saturating_duration_since(now));
        read(&mut report)?;
        let now = Instant::now();
        let last = stopped || end.is_some_and(|e| now >= e);
        if last || next_report.is_some_and(|r| now >= r) {
            let rows = report::top(std::mem::take(&mut report).rows(), style);
            let time = chrono::Local::now();
            let out = if json {
                let mut out = Vec::new();
                report::json(&rows, style, &rfc3339(&time), &mut out);
                out
            } else {
                report::text(&rows, style, &hms(&time)).into_bytes()
            };
            if !out.is_empty() && !printer.emit_or_closed(&out)? {
                return Ok(());
            }
            next_report = next_report.and_then(|r| r.checked_add(interval));
        }
        if last {
            return Ok(());
        }
    }
}

/// What the readings since the last report counted, by key.
#[derive(Debug, Default)]
struct Report {
    /// By array slot (syscall mode) or process ID (-P).
    rows: BTreeMap<u32, Row>,
}

impl Report {
    fn add(&mut self, key: u32, count: u64, total_ns: u64, make: impl FnOnce() -> Row) {
        if count == 0 {
            return;
        }
        let r = self.rows.entry(key).or_insert_with(make);
        r.count = r.count.saturating_add(count);
        r.total_ns = r.total_ns.saturating_add(total_ns);
    }

    fn rows(self) -> Vec<Row> {
        self.rows.into_values().collect()
    }
}

/// Reads the maps, whose counters only grow, and adds to a report what each key counted
/// since the last reading: nothing counted between a read and a reset is lost, since nothing
/// is reset.
struct Reader {
    process: bool,
    /// The counters as last read: (count, total_ns) by slot or process ID.
    last: HashMap<u32, (u64, u64)>,
    full: FullMapWarning,
    beyond_warned: bool,
}

impl Reader {
    fn new(process: bool) -> Self {
        Self {
            process,
            last: HashMap::new(),
            full: FullMapWarning::default(),
            beyond_warned: false,
        }
    }

    fn read(&mut self, skel: &SyscountSkel<'_>, report: &mut Report) -> Result<()> {
        if self.process {
            self.read_processes(&skel.maps.procs, report)?;
        } else {
            self.read_syscalls(&skel.maps.syscalls, report)?;
        }
        let bss = skel.maps.bss_data.as_deref();
        let (procs_full, start_full, beyond) =
            bss.map_or((0, 0, 0), |b| (b.procs_full, b.start_full, b.ids_beyond));
        let dropped: Vec<(u64, &str)> = [
            (procs_full, "syscalls (too many processes at once)"),
            (
                start_full,
                "syscalls (too many threads inside a syscall at once)",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect();
        self.full.check(TOOL, &dropped, "");
        if beyond > 0 && !self.beyond_warned {
            self.beyond_warned = true;
            common::error::warn(
                TOOL,
                format_args!("{beyond} syscalls numbered {IDS} or above (x32's) were not counted"),
            );
        }
        Ok(())
    }

    /// The difference from the last reading of a key now at `now`; a key whose counters went
    /// down was made anew (a process ID reused), and counted `now` since.
    fn delta(&mut self, key: u32, now: (u64, u64)) -> (u64, u64) {
        let before = self.last.insert(key, now).unwrap_or_default();
        if now.0 < before.0 {
            return now;
        }
        (now.0 - before.0, now.1.saturating_sub(before.1))
    }

    /// Every slot of the per-CPU array, each CPU's copy summed.
    fn read_syscalls(&mut self, map: &dyn MapCore, report: &mut Report) -> Result<()> {
        for slot in 0..SLOTS {
            let per_cpu = map
                .lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| Error::from(e).context("reading the syscall counts"))?
                .unwrap_or_default();
            let (mut count, mut ns) = (0u64, 0u64);
            for bytes in &per_cpu {
                let c = decode::<types::syscount_counts>(bytes);
                count = count.wrapping_add(c.count);
                ns = ns.wrapping_add(c.total_ns);
            }
            if count == 0 {
                continue;
            }
            let (count, ns) = self.delta(slot, (count, ns));
            report.add(slot, count, ns, || Row {
                nr_or_pid: slot % IDS,
                compat: slot >= IDS,
                ..Row::default()
            });
        }
        Ok(())
    }

    /// Every process in the hash map. One that made no syscall since the last reading is
    /// deleted, so that exited processes do not fill the map; a syscall it made in the instant
    /// between that reading and the delete is still counted (the kernel's lookup-and-delete,
    /// 5.14+; a plain delete before).
    fn read_processes(&mut self, map: &dyn MapCore, report: &mut Report) -> Result<()> {
        let keys: Vec<Vec<u8>> = map.keys().collect();
        for k in keys {
            let Some(pid) = k
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
            else {
                continue;
            };
            let Some(mut v) = map
                .lookup(&k, MapFlags::ANY)
                .map_err(|e| Error::from(e).context("reading the process counts"))?
                .map(|b| decode::<types::syscount_proc>(&b))
            else {
                continue;
            };
            let idle = self.last.get(&pid) == Some(&(v.count, v.total_ns));
            if idle {
                match map.lookup_and_delete(&k) {
                    Ok(Some(b)) => v = decode(&b),
                    Ok(None) => {}
                    Err(_) => {
                        let _ = map.delete(&k);
                    }
                }
            }
            let (count, ns) = self.delta(pid, (v.count, v.total_ns));
            if idle {
                self.last.remove(&pid);
            }
            let comm = common::decode::c_bytes(&v.comm).to_vec();
            report.add(pid, count, ns, || Row {
                nr_or_pid: pid,
                ..Row::default()
            });
            // The latest name: a process that called execve is named as it is now.
            if let Some(r) = report.rows.get_mut(&pid) {
                r.comm = comm;
            }
        }
        Ok(())
    }
}

/// A value as the BPF side wrote it; zeros if the kernel returned fewer bytes.
fn decode<T: plain::Plain + Default>(bytes: &[u8]) -> T {
    copy_prefix::<T>(bytes, std::mem::size_of::<T>()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> std::result::Result<Args, String> {
        Args::try_parse_from(std::iter::once("syscount").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn options_as_libbpf_tools_takes_them() {
        let a = parse(&["-LmPx", "-p", "185", "-i", "5", "-d", "10", "-T", "3"]).expect("parses");
        assert!(a.latency && a.milliseconds && a.process && a.failures);
        assert_eq!(
            (a.pid, a.interval, a.duration, a.top),
            (Some(185), 5, Some(10), 3)
        );
        let a = parse(&["-e", "ENOENT"]).expect("-e");
        assert_eq!(a.errno, Some(libc::ENOENT));
        let a = parse(&[]).expect("defaults");
        assert_eq!((a.interval, a.top, a.duration), (0, 10, None));
        for bad in [
            &["-T", "0"][..],
            &["-d", "0"],
            &["-i", "-1"],
            &["-e", "EBOGUS"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn banner_as_libbpf_tools() {
        assert_eq!(
            banner(10),
            "Tracing syscalls, printing top 10... Ctrl+C to quit."
        );
    }

    #[test]
    fn readings_become_differences() {
        let mut r = Reader::new(true);
        assert_eq!(r.delta(7, (5, 50)), (5, 50));
        assert_eq!(r.delta(7, (8, 80)), (3, 30));
        // A key made anew (a reused PID) counts from zero.
        assert_eq!(r.delta(7, (2, 20)), (2, 20));
        let mut report = Report::default();
        report.add(1, 0, 0, Row::default);
        assert!(report.rows.is_empty(), "nothing counted, no row");
        report.add(1, 2, 3, Row::default);
        report.add(1, 2, 3, Row::default);
        assert_eq!((report.rows[&1].count, report.rows[&1].total_ns), (4, 6));
    }
}
