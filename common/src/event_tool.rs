// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The driver of every event tool (one record per event, one row or JSON object per record).
//! A tool supplies an [`EventTool`]: its record type, its columns and its JSON; [`run`] does
//! the rest: decode each record (copied, see [`crate::decode`]), hand it to the tool, flush the
//! output per batch, attach once the stream exists, print the header, stop at Ctrl-C, SIGTERM,
//! the deadline or a closed pipe, count lost events, and call the end-of-run hook.
//!
//! Containers are the driver's too (`--containers`, `--container ID`, see
//! [`crate::container`]): each record's cgroup v2 id ([`EventTool::cgroup_id`]) keeps or drops
//! it, puts a CONTAINER column first in text rows, and adds `cgroup_id`, `cgroup`,
//! `container_id`, `container_runtime` and `pod_uid` at the end of every JSON object. With
//! `--container`, a record from a cgroup that is definitely not the container's also puts that
//! cgroup in the kernel's skip list ([`crate::container::SkipList`]), so its later events are
//! dropped before the ring buffer; the tool loads its programs with `filter_container` set
//! ([`ContainerArgs::filter_in_kernel`]). `-v` says at the end how many the kernel dropped.
//!
//! So is Prometheus export (`--prometheus ADDR`, `--textfile PATH`, see [`crate::metrics`]):
//! instead of printed, each event that would have been printed is counted in
//! `ferroscope_<tool>_events_total`, by the labels the tool gives it ([`EventTool::labels`])
//! and, with `--containers`, by `container` (the full container id, its name for nspawn and
//! LXC, `-` for host tasks, `?` when the cgroup cannot be resolved: the values the histogram
//! tools' `container` label takes). The kernel's count of events the full buffer dropped is
//! `ferroscope_lost_events_total{what="events"}`. The metrics are rendered every second
//! ([`PUBLISH_INTERVAL`]) and once more when the tool stops.

use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::time::{Duration, Instant};

use libbpf_rs::{Link, MapMut};
use plain::Plain;

use crate::buffer::{BufferKind, EventStream};
use crate::container::{self, ContainerArgs, Containers};
use crate::decode::copy_prefix;
use crate::error::Result;
use crate::event_loop::{self, Ended, StopCheck};
use crate::log;
use crate::metrics::{Exporter, Labels, Metric, State, Targets};
use crate::output::{JsonLine, Printer};
use crate::time::EventTimes;

/// What the driver reads in every event tool's record (`struct <tool>_event` of
/// `bpf/<tool>.h`): implemented for the skeleton's generated type by
/// [`event_record!`](crate::event_record), since those types share fields but no trait.
pub trait Record {
    /// The cgroup v2 id of the task the record is about, taken in the kernel
    /// (`bpf_get_current_cgroup_id()` for the current task; the woken task's, the socket's or
    /// the submitter's where the record is about another task).
    fn cgroup_id(&self) -> u64;
}

/// Implement [`Record`] for a generated record type with a `cgroup_id: u64` field:
/// `common::event_record!(types::exitsnoop_event);`. A macro because the
/// skeleton's types are generated per tool, with no trait of their own to read them through.
#[macro_export]
macro_rules! event_record {
    ($event:ty) => {
        impl $crate::event_tool::Record for $event {
            fn cgroup_id(&self) -> u64 {
                self.cgroup_id
            }
        }
    };
}

/// The [`EventTool::header`], [`EventTool::text_row`] and [`EventTool::json_row`] of a tool
/// whose `format` module renders a record by itself, one option (a field of the tool) choosing
/// its columns: `common::hms_rows!(format, timestamp);` inside the `impl EventTool` stands for
/// `format::header(self.timestamp)`, `format::text_row(self.timestamp, e, hms, out)` with
/// the record's `HH:MM:SS` ([`EventTimes::hms`] of `ts_ns`) and `format::json_row(e, time, out)`
/// with its RFC 3339 time ([`EventTimes::rfc3339`]). `common::hms_rows!(format, header(),
/// names);` is the same for a header that no option changes (killsnoop's). A macro: the three
/// methods are the trait's, and each tool's `format` functions take its own record type.
#[macro_export]
macro_rules! hms_rows {
    ($format:ident, header(), $field:ident) => {
        fn header(&self) -> ::std::option::Option<::std::string::String> {
            ::std::option::Option::Some($format::header())
        }

        $crate::hms_rows!(@rows $format, $field);
    };
    ($format:ident, $field:ident) => {
        fn header(&self) -> ::std::option::Option<::std::string::String> {
            ::std::option::Option::Some($format::header(self.$field))
        }

        $crate::hms_rows!(@rows $format, $field);
    };
    (@rows $format:ident, $field:ident) => {
        fn text_row(
            &mut self,
            e: &Self::Event,
            times: &$crate::time::EventTimes,
            out: &mut ::std::vec::Vec<u8>,
        ) {
            $format::text_row(self.$field, e, &times.hms(e.ts_ns), out);
        }

        fn json_row(
            &mut self,
            e: &Self::Event,
            times: &$crate::time::EventTimes,
            out: &mut ::std::vec::Vec<u8>,
        ) {
            $format::json_row(e, &times.rfc3339(e.ts_ns), out);
        }
    };
}

/// What an event tool supplies.
pub trait EventTool {
    /// The record the BPF side sends (`struct <tool>_event` from `bpf/<tool>.h`).
    type Event: Plain + Default + Record;

    /// The help text of what `--prometheus` counts, `ferroscope_<tool>_events_total`: what
    /// one event is, and by which labels it is counted.
    const METRIC_HELP: &'static str = "Events traced";

    /// The names of the labels [`Self::labels`] gives every event, in order. None: the
    /// counter is one series, there (at 0) from the start.
    const LABEL_NAMES: &'static [&'static str] = &[];

    /// Bytes every record carries; a variable-length record may stop anywhere after them.
    /// Shorter ones (a tool and kernel object out of step) are skipped.
    fn min_len(&self) -> usize {
        std::mem::size_of::<Self::Event>()
    }

    /// The cgroup v2 id of the task the record is about (the record's, [`Record::cgroup_id`]).
    fn cgroup_id(&self, e: &Self::Event) -> u64 {
        e.cgroup_id()
    }

    /// The column header of text output; `None` prints none (a count mode, or rows that are
    /// sentences, as oomkill's, whose start line is a [`EventTool::banner`]).
    fn header(&self) -> Option<String>;

    /// Lines of text output before the header (BCC's `Tracing ...` line), newline included;
    /// `--containers` puts its column in front of the header, not in front of these.
    fn banner(&self) -> Option<String> {
        None
    }

    /// Whether to show this record: filters that BPF cannot apply, or a count mode that
    /// absorbs the record (then shown by [`EventTool::finish`]).
    fn wanted(&mut self, _e: &Self::Event) -> bool {
        true
    }

    /// Append one text row, newline included.
    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>);

    /// Append one JSON object, newline included.
    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>);

    /// Text printed after a run that ended normally (not on a closed pipe): a count table.
    /// Not called when exporting.
    fn finish(&mut self) -> Option<String> {
        None
    }

    /// The event's labels for `--prometheus` and `--textfile`, named as
    /// [`Self::LABEL_NAMES`] says. Their values must be few (an errno name, a port, a disk,
    /// never a PID or a path): past [`crate::metrics::MAX_SERIES`] label sets, events are
    /// counted in one series labelled `other`.
    fn labels(&mut self, _e: &Self::Event, _out: &mut Labels) {}
}

/// How often the exported metrics are rendered for `/metrics` and the text file.
pub const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// The loaded skeleton's event maps (`bpf/events.bpf.h`) and `--container`'s skip list
/// (`bpf/container.bpf.h`); see [`event_maps!`](crate::event_maps).
pub struct EventMaps<'a, 'obj> {
    pub rb: &'a MapMut<'obj>,
    pub pb: &'a MapMut<'obj>,
    pub lost: &'a MapMut<'obj>,
    /// `ferro_skip_cgroups`.
    pub skip: &'a MapMut<'obj>,
    /// `ferro_skipped`.
    pub skipped: &'a MapMut<'obj>,
}

/// The [`EventMaps`] of a loaded skeleton, whose object includes `bpf/events.bpf.h` and
/// `bpf/container.bpf.h` (which `bpf/filter.bpf.h` includes).
#[macro_export]
macro_rules! event_maps {
    ($skel:expr) => {
        $crate::event_tool::EventMaps {
            rb: &$skel.maps.events_rb,
            pb: &$skel.maps.events_pb,
            lost: &$skel.maps.events_lost,
            skip: &$skel.maps.ferro_skip_cgroups,
            skipped: &$skel.maps.ferro_skipped,
        }
    };
}

/// Choose the event buffer of an open skeleton (`--buffer`, `--buffer-size`): the unused map
/// is not created. The BPF side's `use_perf_buffer` must be set to `kind == PerfBuf`.
#[macro_export]
macro_rules! configure_events {
    ($open:expr, $buffer:expr) => {
        $crate::buffer::configure(
            $buffer.buffer,
            $buffer.buffer_kib,
            &mut $open.maps.events_rb,
            &mut $open.maps.events_pb,
        )
    };
}

/// Open an event tool's skeleton and set what every event tool sets: `lifecycle::open`, the
/// event buffer ([`configure_events!`](crate::configure_events), and `use_perf_buffer` to
/// match), `--container`'s skip list ([`configure_containers!`](crate::configure_containers)),
/// `ferro_floor` (`--floor`), then the task filters of `bpf/filter.bpf.h` named after `args`,
/// each an `Args` field of that name: `pid` (`-p`, `Option<u32>`: `targ_tgid`), `tid` (`-t`:
/// `targ_tid`), `uid` (`-u`: `filter_uid`, `targ_uid`), `cgroup` (`--cgroup`, an `Option`:
/// `filter_cgroup` when given; the map is filled after loading, [`crate::cgroup::install`]):
/// `common::open_events!(builder, &mut storage, args, pid, uid, cgroup)`.
///
/// `args` is the tool's `Args`, with `event` ([`crate::cli::EventArgs`]). Evaluates to
/// `Result<(open skeleton, BufferKind)>`; the tool then sets its own rodata, chooses its
/// programs and loads. A macro, as `configure_events!`: the maps and rodata are fields of each
/// tool's generated types.
#[macro_export]
macro_rules! open_events {
    (@set $ro:ident, pid, $args:ident) => {
        $ro.targ_tgid = $args.pid.unwrap_or(0)
    };
    (@set $ro:ident, tid, $args:ident) => {
        $ro.targ_tid = $args.tid.unwrap_or(0)
    };
    (@set $ro:ident, uid, $args:ident) => {
        if let Some(uid) = $args.uid {
            $ro.filter_uid = true;
            $ro.targ_uid = uid;
        }
    };
    (@set $ro:ident, cgroup, $args:ident) => {
        $ro.filter_cgroup = $args.cgroup.is_some()
    };
    ($builder:expr, $storage:expr, $args:expr $(, $filter:ident)* $(,)?) => {{
        let args = &$args;
        // Moved into the closure, which is called once: what it returns borrows the storage.
        let (builder, storage) = ($builder, $storage);
        (move || -> $crate::error::Result<_> {
            let mut open = $crate::lifecycle::open(builder, storage)?;
            let kind = $crate::configure_events!(open, args.event.buffer)?;
            $crate::configure_containers!(open, args.event.containers)?;
            let ro = $crate::lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
            ro.ferro_floor = args.event.common.floor;
            ro.use_perf_buffer = kind == $crate::buffer::BufferKind::PerfBuf;
            $($crate::open_events!(@set ro, $filter, args);)*
            Ok((open, kind))
        })()
    }};
}

/// How the stream is read and for how long.
#[derive(Debug, Clone)]
pub struct Run {
    pub kind: BufferKind,
    /// `--buffer-size`, KiB.
    pub kib: u32,
    pub json: bool,
    /// `-d`: stop then.
    pub deadline: Option<Instant>,
    /// `--containers`, `--container ID`.
    pub containers: ContainerArgs,
    /// `--prometheus`, `--textfile`: count the events instead of printing them.
    pub export: Option<Targets>,
}

impl Run {
    /// From the shared options: `--buffer-size`, `--prometheus`, `--textfile`, `--json`,
    /// `--containers`, `--container`, and `-d` seconds where the tool has it.
    pub fn new(kind: BufferKind, args: &crate::cli::EventArgs, duration: Option<u64>) -> Self {
        Self {
            kind,
            kib: args.buffer.buffer_kib,
            json: args.common.json,
            // checked: a deadline the clock cannot represent is no deadline (the parser caps
            // -d anyway).
            deadline: duration
                .and_then(|s| Instant::now().checked_add(std::time::Duration::from_secs(s))),
            containers: args.containers.clone(),
            export: args.buffer.export.targets(),
        }
    }
}

/// `row` (one or more lines) with the CONTAINER column in front of its first line, and as
/// many spaces in front of the lines under it (opensnoop's callers).
fn with_container(column: &str, row: &[u8], out: &mut Vec<u8>) {
    let w = container::WIDTH;
    for (i, l) in row.split_inclusive(|&b| b == b'\n').enumerate() {
        let _ = if i == 0 {
            std::io::Write::write_fmt(out, format_args!("{column:<w$} "))
        } else {
            std::io::Write::write_fmt(out, format_args!("{:w$} ", ""))
        };
        out.extend_from_slice(l);
    }
}

/// Stream, render and print until stopped (or count, see the module's documentation).
/// `attach` runs once the stream exists (a perf buffer drops, uncounted, what is emitted
/// before its per-CPU buffers are in place) and returns the links and what it attached
/// (`to sched:sched_process_exec`, `via fexit (..)`), for the `-v` line, which says
/// `TOOL: attached ..; events through the ring buffer`. Errors: besides the stream's and
/// `attach`'s, a `--prometheus` address that cannot be bound or a `--textfile` that cannot be
/// written (exit 2).
pub fn run<T: EventTool>(
    tool_name: &'static str,
    tool: T,
    maps: EventMaps<'_, '_>,
    run: Run,
    attach: impl FnOnce() -> Result<(Vec<Link>, String)>,
) -> Result<()> {
    let tool = RefCell::new(tool);
    let mut containers = Containers::start(tool_name, &run.containers)?;
    containers.skip_in_kernel(maps.skip, maps.skipped)?;
    let show = containers.show && !run.json;
    let exporter = match &run.export {
        Some(targets) => Some(start_export::<T>(tool_name, show, targets)?),
        None => None,
    };
    let mut row = Vec::with_capacity(512);
    let printer = Printer::new();
    let times = EventTimes::new();
    let min_len = tool.borrow().min_len();
    let mut line = Vec::with_capacity(512);
    let stop = StopCheck::new(run.deadline);
    // Records wanted but not printed because the stop came first (see the handler).
    let unprinted = Cell::new(0u64);
    let cut = Cell::new(false);
    let handle = |data: &[u8]| {
        if stop.reader_closed() {
            return crate::buffer::Flow::Stop;
        }
        if stop.overdue() {
            cut.set(true);
            return crate::buffer::Flow::Stop;
        }
        let Some(e) = copy_prefix::<T::Event>(data, min_len) else {
            return crate::buffer::Flow::Continue; // a short record: kernel and tool out of step
        };
        let mut t = tool.borrow_mut();
        let cgroup = t.cgroup_id(&e);
        if !containers.keep(cgroup) || !t.wanted(&e) {
            return crate::buffer::Flow::Continue;
        }
        // Asked before each record's rendering, which can be slow (symbolizing callers, rules):
        // once due, the rest of the buffer is only counted, and the count said at the end, so
        // an exit never hides records silently. Counting them as metrics is cheap: no stop.
        if exporter.is_none() && stop.due() {
            if stop.reader_closed() {
                return crate::buffer::Flow::Stop;
            }
            unprinted.set(unprinted.get() + 1);
            return crate::buffer::Flow::Continue;
        }
        if let Some(x) = &exporter {
            let mut labels = Labels::new();
            t.labels(&e, &mut labels);
            if containers.show {
                labels.push(("container", containers.group(cgroup).label_value()));
            }
            x.state().count(labels, 1);
            return crate::buffer::Flow::Continue;
        }
        line.clear();
        if run.json {
            t.json_row(&e, &times, &mut line);
            if let Some(mut j) = JsonLine::reopen(&mut line) {
                containers.json_fields(&mut j, cgroup);
                j.finish();
            }
        } else if show {
            row.clear();
            t.text_row(&e, &times, &mut row);
            with_container(&containers.column(cgroup), &row, &mut line);
        } else {
            t.text_row(&e, &times, &mut line);
        }
        printer.emit(&line)
    };
    let stream = EventStream::new(run.kind, run.kib, maps.rb, maps.pb, maps.lost, handle)?;
    let (links, hooks) = attach()?;
    log::verbose(format_args!(
        "{tool_name}: attached {hooks}; events through the {}",
        run.kind.name()
    ));
    if let Some(x) = &exporter {
        if let Some(b) = tool.borrow().banner() {
            crate::log::stderr(format_args!("{b}"));
        }
        x.announce("counting events as Prometheus metrics");
        x.publish();
    } else if !run.json {
        let t = tool.borrow();
        let mut text = t.banner().unwrap_or_default().into_bytes();
        match t.header() {
            Some(h) if show => with_container(container::HEADER, h.as_bytes(), &mut text),
            Some(h) => text.extend_from_slice(h.as_bytes()),
            None => {}
        }
        if !text.is_empty() && !printer.emit_or_closed(&text)? {
            return Ok(());
        }
    }
    let mut published = Instant::now();
    let ended = event_loop::run(tool_name, &stream, &printer, &stop, &mut |stream, last| {
        let Some(x) = &exporter else {
            return;
        };
        if last || published.elapsed() >= PUBLISH_INTERVAL {
            published = Instant::now();
            x.state().set_lost(&[(stream.lost(), "events")]);
            x.publish();
        }
    })?;
    drop(links);
    drop(stream);
    containers.report_skips(tool_name);
    if ended == Ended::Normally && unprinted.get() > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "{tool_name}: {} not printed: still in the buffer {} ms after the stop{}",
            event_loop::events(unprinted.get()),
            event_loop::DRAIN.as_millis(),
            if cut.get() {
                format!(
                    " (and maybe more: they were counted for {} s only)",
                    event_loop::OVERDUE.as_secs()
                )
            } else {
                String::new()
            }
        );
    }
    if ended == Ended::Normally
        && exporter.is_none()
        && let Some(text) = tool.borrow_mut().finish()
    {
        // tcpconnect -c's table is all it prints: a failed write is an error, as for rows.
        printer.emit_or_closed(text.as_bytes())?;
    }
    Ok(())
}

/// The exporter of an event tool: its counter, with the one series of an unlabelled tool and
/// the lost counter there from the start.
fn start_export<T: EventTool>(
    tool_name: &'static str,
    containers: bool,
    targets: &Targets,
) -> Result<Exporter> {
    let metric = Metric::events(T::METRIC_HELP);
    let mut state = State::counter(tool_name, env!("CARGO_PKG_VERSION"), metric);
    if T::LABEL_NAMES.is_empty() && !containers {
        state.count(Labels::new(), 0);
    }
    state.set_lost(&[(0, "events")]);
    Exporter::start(state, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_column_goes_first_and_indents_continuation_lines() {
        let mut out = Vec::new();
        with_container("46441cff64eb", b"1 cat /x\n  main:12\n", &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "46441cff64eb 1 cat /x\n               main:12\n"
        );
        let mut out = Vec::new();
        with_container("-", b"PID COMM\n", &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "-            PID COMM\n"
        );
    }
}
