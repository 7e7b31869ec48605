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
use common::container::{Containers, Group};
use common::decode::copy_prefix;
use common::error::{Error, Result};
use common::hist::FullMapWarning;
use common::metrics::{CounterSpec, Exporter, Labels, Metric, State, Targets};
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
// SAFETY: as above (the padding is a named field, zeroed by the BPF side).
unsafe impl plain::Plain for types::syscount_cgroup_key {}

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
    let mut containers = Containers::start(TOOL, &args.containers)?;
    let by_cgroup = containers.wanted();

    // tp_btf first, raw tracepoints if it does not load.
    let (mut first, mut second) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let ((skel, task_storage), tp_btf) =
        lifecycle::load_tp_btf_or_fallback(&mut first, &mut second, |storage, tp_btf| {
            load(storage, &args, cgroup.is_some(), by_cgroup, tp_btf)
        })?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;
    containers.skip_in_kernel(&skel.maps.ferro_skip_cgroups, &skel.maps.ferro_skipped)?;
    let _links = lifecycle::attach_loaded(skel.object(), "raw_syscalls")?;
    common::log::verbose(format_args!(
        "{TOOL}: attached to raw_syscalls:{} as {}; counts in {}{}",
        if args.latency {
            "sys_enter and sys_exit"
        } else {
            "sys_exit"
        },
        if tp_btf { "tp_btf" } else { "raw tracepoints" },
        match (by_cgroup, args.process) {
            (true, false) => "a hash map by cgroup and syscall",
            (true, true) => "a hash map by cgroup and process",
            (false, true) => "a hash map by process",
            (false, false) => "a per-CPU array by syscall",
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
    let mut reader = Reader::new(args.process, by_cgroup);
    let containers = by_cgroup.then_some(containers);
    let sink = match args.export.targets() {
        Some(targets) => Sink::export(&args, containers, &targets)?,
        None => Sink::Print {
            printer: Printer::new(),
            json: args.common.json,
            containers,
        },
    };
    report_loop(&args, &style, sink, |report| reader.read(&skel, report))
}

/// Open, configure and load the object for these options, with the tp_btf programs or the raw
/// tracepoint ones; maps they leave unused are not created, and sys_enter is loaded for -L only.
/// With it, whether -L's entry times are in task storage (else a hash map).
fn load<'obj>(
    storage: &'obj mut MaybeUninit<libbpf_rs::OpenObject>,
    args: &Args,
    cgroup: bool,
    by_cgroup: bool,
    tp_btf: bool,
) -> Result<(SyscountSkel<'obj>, bool)> {
    // -L on tp_btf keeps entry times in task storage where the kernel has it (5.11+;
    // FERROSCOPE_DISABLE=task_storage: the hash map, as on raw tracepoints).
    let task_storage = args.latency && tp_btf && probe::task_storage();
    let mut open = lifecycle::open(SyscountSkelBuilder::default(), storage)?;
    common::configure_containers!(open, args.containers)?;
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
        ro.by_cgroup = by_cgroup;
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
        (&mut m.syscalls, !args.process && !by_cgroup),
        (&mut m.procs, args.process && !by_cgroup),
        (&mut m.cgroups, by_cgroup),
        (&mut m.start, args.latency && !task_storage),
        (&mut m.start_task, task_storage),
    ])?;
    Ok((lifecycle::load(open)?, task_storage))
}

/// libbpf-tools' banner.
fn banner(top: usize) -> String {
    format!("Tracing syscalls, printing top {top}... Ctrl+C to quit.")
}

/// Where reports go: printed (text or JSON), or added to Prometheus counters.
enum Sink {
    Print {
        printer: Printer,
        json: bool,
        /// `--containers`, `--container`: the report's rows are by cgroup.
        containers: Option<Containers>,
    },
    Export {
        exporter: Exporter,
        containers: Option<Containers>,
        latency: bool,
    },
}

impl Sink {
    /// Say with -v, at the end, what `--container`'s kernel skip list dropped.
    fn report_skips(&self) {
        let (Self::Print { containers, .. } | Self::Export { containers, .. }) = self;
        if let Some(c) = containers {
            c.report_skips(TOOL);
        }
    }

    /// `--prometheus`, `--textfile`: the counters (see [`export_labels`]), the listener bound
    /// and the text file written once (a bad address or path: exit 2).
    fn export(args: &Args, containers: Option<Containers>, targets: &Targets) -> Result<Self> {
        let mut counters = vec![CounterSpec {
            metric: Metric {
                name: "syscalls",
                help: "Syscalls counted at raw_syscalls:sys_exit (after -p, -c, -x, -e)",
            },
            per_second: None,
        }];
        if args.latency {
            counters.push(CounterSpec {
                metric: Metric {
                    name: "syscall",
                    help: "Time from raw_syscalls:sys_enter to sys_exit of the syscalls counted, \
                           summed",
                },
                per_second: Some(1e9),
            });
        }
        let mut state = State::counters(TOOL, env!("CARGO_PKG_VERSION"), &counters);
        state.set_lost(&[(0, LOST)]);
        let exporter = Exporter::start(state, targets)?;
        // No top-N reports while exporting: libbpf-tools' banner would promise them.
        common::log::stderr(format_args!("Tracing syscalls... Ctrl+C to quit.\n"));
        exporter.announce("counting syscalls as Prometheus metrics");
        Ok(Self::Export {
            exporter,
            containers,
            latency: args.latency,
        })
    }

    fn json(&self) -> bool {
        matches!(self, Self::Print { json: true, .. })
    }

    /// Print a report, or add it to the counters and publish them. `Ok(false)`: the reader
    /// closed the pipe.
    fn report(
        &mut self,
        report: Report,
        style: &Style,
        lost: u64,
        time: &chrono::DateTime<chrono::Local>,
    ) -> Result<bool> {
        match self {
            Self::Print {
                printer,
                json,
                containers,
            } => {
                let out = print(report, style, *json, containers.as_mut(), time);
                Ok(out.is_empty() || printer.emit_or_closed(&out)?)
            }
            Self::Export {
                exporter,
                containers,
                latency,
            } => {
                {
                    let mut state = exporter.state();
                    for ((cgroup, _), row) in report.rows {
                        let mut labels = Labels::new();
                        if let Some(c) = containers.as_mut() {
                            if !c.keep(cgroup) {
                                continue;
                            }
                            export_labels(
                                &row,
                                style,
                                c.show.then(|| c.group(cgroup)),
                                &mut labels,
                            );
                        } else {
                            export_labels(&row, style, None, &mut labels);
                        }
                        let values = [row.count, row.total_ns];
                        state.count_all(labels, &values[..if *latency { 2 } else { 1 }]);
                    }
                    state.set_lost(&[(lost, LOST)]);
                }
                exporter.publish();
                Ok(true)
            }
        }
    }
}

/// What `ferroscope_lost_events_total` calls the syscalls not counted for want of room.
const LOST: &str = "syscalls";

/// The labels of a row's series: `syscall` (the SYSCALL column's name: `read`,
/// `getpid (i386)`, `[unknown: 470]`), or with -P `pid` and `comm` (as the histogram tools'
/// -P); with `--containers`, then `container` (see `common::container::Group::label_value`).
fn export_labels(row: &Row, style: &Style, group: Option<Group>, out: &mut Labels) {
    if style.process {
        out.push(("pid", row.nr_or_pid.to_string()));
        out.push(("comm", common::output::escaped(&row.comm)));
    } else {
        out.push(("syscall", names::column(row.nr_or_pid, row.compat)));
    }
    if let Some(g) = group {
        out.push(("container", g.label_value()));
    }
}

/// A report as text or JSON. By cgroup (`containers`): text has one table per container
/// (its cgroups' rows added up, host tasks in one, `-T` rows each) under its section line
/// with `--containers`, or with `--container` alone one table of that container's rows; JSON
/// has one object per cgroup and syscall (or process), `-T` of them per cgroup, each with
/// the cgroup's fields.
fn print(
    report: Report,
    style: &Style,
    json: bool,
    containers: Option<&mut Containers>,
    time: &chrono::DateTime<chrono::Local>,
) -> Vec<u8> {
    let Some(c) = containers else {
        let rows = report::top(report.rows.into_values().collect(), style);
        return if json {
            let mut out = Vec::new();
            report::json(&rows, style, &rfc3339(time), &mut out, |_| {});
            out
        } else {
            report::text(&rows, style, &hms(time)).into_bytes()
        };
    };
    let mut by_cgroup: BTreeMap<u64, Vec<Row>> = BTreeMap::new();
    for ((cgroup, _), row) in report.rows {
        by_cgroup.entry(cgroup).or_default().push(row);
    }
    by_cgroup.retain(|&cgroup, _| c.keep(cgroup));
    if json {
        let time = rfc3339(time);
        let mut out = Vec::new();
        let mut cgroups: Vec<(Group, u64, Vec<Row>)> = by_cgroup
            .into_iter()
            .map(|(id, rows)| (c.group(id), id, rows))
            .collect();
        cgroups.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        for (_, id, rows) in cgroups {
            let rows = report::top(rows, style);
            report::json(&rows, style, &time, &mut out, |j| c.json_fields(j, id));
        }
        return out;
    }
    let mut groups: BTreeMap<Option<Group>, Vec<Row>> = BTreeMap::new();
    for (id, rows) in by_cgroup {
        let group = c.show.then(|| c.group(id));
        groups.entry(group).or_default().extend(rows);
    }
    let sections: Vec<(Option<String>, Vec<Row>)> = groups
        .into_iter()
        .map(|(g, rows)| {
            let rows = report::top(report::merge(rows), style);
            (g.map(|g| g.label()), rows)
        })
        .collect();
    report::text_sections(&sections, style, &hms(time)).into_bytes()
}

/// Read the maps every [`TICK`] into the report under way (`read`), and hand the report to
/// `sink` every `-i` seconds (or once, at the end, without it; exporting, every second
/// without it), until `-d`, Ctrl-C or SIGTERM, which make a last report. A report that
/// counted nothing prints nothing. A closed pipe ends quietly.
fn report_loop(
    args: &Args,
    style: &Style,
    mut sink: Sink,
    mut read: impl FnMut(&mut Report) -> Result<u64>,
) -> Result<()> {
    let exporting = matches!(sink, Sink::Export { .. });
    if !exporting && !sink.json() {
        let printer = Printer::new();
        if !printer.emit_or_closed(format!("{}\n", banner(args.top)).as_bytes())? {
            return Ok(());
        }
    }
    let seconds = if exporting {
        args.interval.max(1)
    } else {
        args.interval
    };
    let start = Instant::now();
    let after = |secs: u64| start.checked_add(Duration::from_secs(secs));
    let end = args.duration.and_then(after);
    let interval = Duration::from_secs(seconds);
    let mut next_report = (seconds > 0).then(|| after(seconds)).flatten();
    let mut report = Report::default();
    loop {
        let now = Instant::now();
        let mut wake = now + TICK;
        for t in [next_report, end].into_iter().flatten() {
            wake = wake.min(t);
        }
        let stopped = signal::sleep_unless_stopped(wake.saturating_duration_since(now));
        let lost = read(&mut report)?;
        let now = Instant::now();
        let last = stopped || end.is_some_and(|e| now >= e);
        if last || next_report.is_some_and(|r| now >= r) {
            let time = chrono::Local::now();
            if !sink.report(std::mem::take(&mut report), style, lost, &time)? {
                return Ok(());
            }
            next_report = next_report.and_then(|r| r.checked_add(interval));
        }
        if last {
            sink.report_skips();
            return Ok(());
        }
    }
}

/// What the readings since the last report counted, by cgroup (0 unless by cgroup) and key
/// (array slot in syscall mode, process ID with -P).
#[derive(Debug, Default)]
struct Report {
    rows: BTreeMap<(u64, u32), Row>,
}

impl Report {
    fn add(&mut self, key: (u64, u32), count: u64, total_ns: u64, make: impl FnOnce() -> Row) {
        if count == 0 {
            return;
        }
        let r = self.rows.entry(key).or_insert_with(make);
        r.count = r.count.saturating_add(count);
        r.total_ns = r.total_ns.saturating_add(total_ns);
    }
}

/// The row of array slot `slot`: syscall `slot % IDS` of the native table, or of the compat
/// one from `IDS` up.
fn syscall_row(slot: u32) -> Row {
    Row {
        nr_or_pid: slot % IDS,
        compat: slot >= IDS,
        ..Row::default()
    }
}

/// Reads the maps, whose counters only grow, and adds to a report what each key counted
/// since the last reading: nothing counted between a read and a reset is lost, since nothing
/// is reset.
struct Reader {
    process: bool,
    by_cgroup: bool,
    /// The counters as last read: (count, total_ns) by (cgroup, slot or process ID).
    last: HashMap<(u64, u32), (u64, u64)>,
    full: FullMapWarning,
    beyond_warned: bool,
}

impl Reader {
    fn new(process: bool, by_cgroup: bool) -> Self {
        Self {
            process,
            by_cgroup,
            last: HashMap::new(),
            full: FullMapWarning::default(),
            beyond_warned: false,
        }
    }

    /// Add what the maps counted since the last reading to `report`; the syscalls the BPF
    /// side could not count for want of room, since the start.
    fn read(&mut self, skel: &SyscountSkel<'_>, report: &mut Report) -> Result<u64> {
        if self.by_cgroup {
            self.read_shared(&skel.maps.cgroups, report, |k| {
                let k = decode::<types::syscount_cgroup_key>(k);
                (k.cgroup_id, k.id)
            })?;
        } else if self.process {
            self.read_shared(&skel.maps.procs, report, |k| {
                let pid = k
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u32::from_ne_bytes);
                (0, pid)
            })?;
        } else {
            self.read_syscalls(&skel.maps.syscalls, report)?;
        }
        let bss = skel.maps.bss_data.as_deref();
        let (procs_full, cgroups_full, start_full, beyond) = bss.map_or((0, 0, 0, 0), |b| {
            (b.procs_full, b.cgroups_full, b.start_full, b.ids_beyond)
        });
        let dropped: Vec<(u64, &str)> = [
            (procs_full, "syscalls (too many processes at once)"),
            (
                cgroups_full,
                "syscalls (too many cgroups and syscalls or processes at once)",
            ),
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
        Ok(procs_full
            .saturating_add(cgroups_full)
            .saturating_add(start_full))
    }

    /// The difference from the last reading of a key now at `now`; a key whose counters went
    /// down was made anew (a process ID reused), and counted `now` since.
    fn delta(&mut self, key: (u64, u32), now: (u64, u64)) -> (u64, u64) {
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
            let (count, ns) = self.delta((0, slot), (count, ns));
            report.add((0, slot), count, ns, || syscall_row(slot));
        }
        Ok(())
    }

    /// Every key of a hash map of shared counters: `procs` (-P) or `cgroups` (by cgroup),
    /// whose keys `key` decodes into (cgroup, slot or process ID). One that counted nothing
    /// since the last reading is deleted, so that exited processes and removed cgroups do not
    /// fill the map; a syscall counted in the instant between that reading and the delete is
    /// still counted (the kernel's lookup-and-delete, 5.14+; a plain delete before).
    fn read_shared(
        &mut self,
        map: &dyn MapCore,
        report: &mut Report,
        key: impl Fn(&[u8]) -> (u64, u32),
    ) -> Result<()> {
        let keys: Vec<Vec<u8>> = map.keys().collect();
        for k in keys {
            let id = key(&k);
            let Some(mut v) = map
                .lookup(&k, MapFlags::ANY)
                .map_err(|e| Error::from(e).context("reading the syscall counts"))?
                .map(|b| decode::<types::syscount_proc>(&b))
            else {
                continue;
            };
            let idle = self.last.get(&id) == Some(&(v.count, v.total_ns));
            if idle {
                match map.lookup_and_delete(&k) {
                    Ok(Some(b)) => v = decode(&b),
                    Ok(None) => {}
                    Err(_) => {
                        let _ = map.delete(&k);
                    }
                }
            }
            let (count, ns) = self.delta(id, (v.count, v.total_ns));
            if idle {
                self.last.remove(&id);
            }
            if !self.process {
                report.add(id, count, ns, || syscall_row(id.1));
                continue;
            }
            let comm = common::decode::c_bytes(&v.comm).to_vec();
            report.add(id, count, ns, || Row {
                nr_or_pid: id.1,
                ..Row::default()
            });
            // The latest name: a process that called execve is named as it is now.
            if let Some(r) = report.rows.get_mut(&id) {
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
        let mut r = Reader::new(true, false);
        assert_eq!(r.delta((0, 7), (5, 50)), (5, 50));
        assert_eq!(r.delta((0, 7), (8, 80)), (3, 30));
        // A key made anew (a reused PID) counts from zero.
        assert_eq!(r.delta((0, 7), (2, 20)), (2, 20));
        // The same PID in another cgroup is another key.
        assert_eq!(r.delta((9, 7), (1, 1)), (1, 1));
        let mut report = Report::default();
        report.add((0, 1), 0, 0, Row::default);
        assert!(report.rows.is_empty(), "nothing counted, no row");
        report.add((0, 1), 2, 3, Row::default);
        report.add((0, 1), 2, 3, Row::default);
        let r = &report.rows[&(0, 1)];
        assert_eq!((r.count, r.total_ns), (4, 6));
    }
}
