// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What the scheduler histogram tools (cpudist, runqlat) share on the Rust side, as they share
//! `bpf/sched.bpf.h` and `bpf/bits.bpf.h` on the BPF side: where the start times live (task
//! storage or the `start` hash), which of the maps these options need, the `--cgroup` rodata,
//! the `-v` line, and every interval's reading of the histograms (the per-CPU array
//! `hist_cpu`, or the `hists` hash map keyed by task or cgroup) with the full-map counters.
//! Each tool keeps its own keys, programs and sections.

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapMut, OpenMapMut};
use plain::Plain;

use crate::cgroup::CgroupV2;
use crate::cli::{CommonArgs, HistArgs, TaskFilterArgs};
use crate::container::{ContainerArgs, Containers};
use crate::error::{Error, Result};
use crate::hist::{Hist, Intervals, Log2Source, SectionValue, extension_line};
use crate::hist_tool::{self, HistTool, Reading};
use crate::lifecycle::Storage;
use crate::maps::{TaskSection, end_interval, read_percpu, read_task_hists};
use crate::metrics::Metric;
use crate::output::escaped;

/// How a tool keeps its histograms and names their sections (each tool's `key_by` maps onto
/// one of these; the names are libbpf-tools' section lines: `pid = 42 bash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keying {
    /// One histogram for the machine, in the per-CPU array `hist_cpu` (summed when read), with
    /// no section line.
    Machine,
    /// One histogram per CPU, in `hist_cpu`: `cpu = 3`.
    PerCpu,
    /// The `hists` hash map keyed by PID: `pid = 42 bash`.
    Process,
    /// Keyed by TID: `tid = 43 worker`.
    Thread,
    /// Keyed by PID namespace (with the comm of a task in it): `pidns = 4026531836 bash`.
    PidNs,
    /// Keyed by cgroup id, printed per container (`--containers`): `container = 46441cff64eb
    /// (podman)` or `host tasks`.
    Containers,
}

impl Keying {
    /// Whether the histograms are in the per-CPU array (`hist_cpu`) rather than `hists`.
    pub fn per_cpu(self) -> bool {
        matches!(self, Keying::Machine | Keying::PerCpu)
    }

    /// The section's field name in text and JSON (`pid`); `None` where there is none.
    fn field(self) -> Option<&'static str> {
        match self {
            Keying::PerCpu => Some("cpu"),
            Keying::Process => Some("pid"),
            Keying::Thread => Some("tid"),
            Keying::PidNs => Some("pidns"),
            Keying::Machine | Keying::Containers => None,
        }
    }
}

/// How cpudist and runqlat print: sections named by the [`Keying`], the tool's metric for
/// `--prometheus`, and BCC's `-e` line where asked for.
#[derive(Debug, Clone, Copy)]
pub struct TaskView {
    pub keying: Keying,
    pub metric: Metric,
    /// BCC's `-e`: average, total and count under each histogram.
    pub extension: bool,
}

impl HistTool for TaskView {
    type Key = TaskSection;

    fn metric(&self) -> Metric {
        self.metric
    }

    fn section_text(&self, (id, comm, group): &TaskSection, out: &mut Vec<u8>) {
        if let Some(g) = group {
            out.extend_from_slice(format!("\n{}\n", g.label()).as_bytes());
            return;
        }
        let Some(field) = self.keying.field() else {
            return;
        };
        let line = if self.keying == Keying::PerCpu {
            format!("\n{field} = {id}\n")
        } else {
            format!("\n{field} = {id} {}\n", escaped(comm))
        };
        out.extend_from_slice(line.as_bytes());
    }

    fn section_json<'a>(
        &'a self,
        (id, comm, group): &'a TaskSection,
        out: &mut Vec<(&'static str, SectionValue<'a>)>,
    ) {
        if let Some(g) = group {
            g.json_fields(out);
            return;
        }
        let Some(field) = self.keying.field() else {
            return;
        };
        out.push((field, SectionValue::Num((*id).into())));
        if self.keying != Keying::PerCpu {
            out.push(("comm", SectionValue::Str(comm)));
        }
    }

    fn extra_text(&self, h: &Hist, unit: &str, out: &mut Vec<u8>) {
        if self.extension {
            out.extend_from_slice(extension_line(&h.totals, unit).as_bytes());
        }
    }
}

/// Where the start times and the histograms live, chosen before loading.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Start times in task storage ([`task_storage`]), else the `start` hash map.
    pub task_storage: bool,
    /// How the histograms are kept.
    pub keying: Keying,
}

impl Layout {
    /// The layout for a load on tp_btf (`tp_btf`) or raw tracepoints.
    pub fn new(tp_btf: bool, keying: Keying) -> Self {
        Self {
            task_storage: task_storage(tp_btf),
            keying,
        }
    }

    /// Create only the maps this layout uses: `start` or `start_task` (`starts`, in that
    /// order), `hists` or `hist_cpu` (`hists`, in that order). Errors: libbpf's, as
    /// [`crate::lifecycle::create_maps`] reports them.
    pub fn create_maps<'a, 'obj: 'a>(
        self,
        starts: [&'a mut OpenMapMut<'obj>; 2],
        hists: [&'a mut OpenMapMut<'obj>; 2],
    ) -> Result<()> {
        let [start, start_task] = starts;
        let [by_key, by_cpu] = hists;
        let per_cpu = self.keying.per_cpu();
        crate::lifecycle::create_maps([
            (start, !self.task_storage),
            (start_task, self.task_storage),
            (by_key, !per_cpu),
            (by_cpu, per_cpu),
        ])
    }

    /// The `-v` line once attached: `runqlat: attached to sched_switch as tp_btf; wakeup times
    /// in task storage` (`hooks` and `what`, the start times' name, are the tool's).
    pub fn log_attached(self, tool: &str, hooks: &str, what: &str, tp_btf: bool) {
        crate::log::verbose(format_args!(
            "{tool}: attached to {hooks} as {}; {what} times in {}",
            if tp_btf { "tp_btf" } else { "raw tracepoints" },
            if self.task_storage {
                "task storage"
            } else {
                "a hash map"
            }
        ));
    }
}

/// Whether a tool that stamps tasks (`use_task_storage` of `bpf/sched.bpf.h`; offcputime's
/// stamps too) keeps the stamps in task storage for a load on tp_btf (`tp_btf`) or raw
/// tracepoints: only on tp_btf (the storage helpers need a trusted task pointer) and where the
/// kernel allocates it without locks ([`crate::probe::lockless_task_storage`]); else in a hash
/// map.
pub fn task_storage(tp_btf: bool) -> bool {
    tp_btf && crate::probe::lockless_task_storage()
}

/// `--cgroup`'s rodata for `ferro_task_in_cgroup`: the cgroup's id and level (`targ_cgid`,
/// `targ_cg_level`; a level beyond i32 saturates); `(0, 0)` without `--cgroup`, which the
/// programs without the cgroup test never read.
pub fn cgroup_rodata(cgroup: Option<&CgroupV2>) -> (u64, i32) {
    cgroup.map_or((0, 0), |cg| {
        (cg.id, i32::try_from(cg.level).unwrap_or(i32::MAX))
    })
}

/// One interval's reading of a scheduler tool's maps, handed to the closure of [`report`]:
/// the histograms kept across readings (see [`Intervals`]) and what the full-map counters
/// count.
struct Reader<'c> {
    keying: Keying,
    containers: &'c mut Containers,
    by_cpu: Intervals<u32>,
    by_key: Intervals<Vec<u8>>,
    dropped: [&'static str; 2],
}

impl Reader<'_> {
    /// End the interval and read it: from `hist_cpu` (a per-CPU array of `T`) or `hists` (a
    /// hash map of `T` whose comm `comm` finds) as the keying says, leaving out what counted
    /// nothing. `counters` are the BPF side's .bss counters (`None` when the object has no
    /// .bss): `ferro_hist_epoch` (see [`end_interval`]) and the full-map counts `start_full`
    /// and `hists_full`, reported with the tool's names for them. Errors: the maps' reads.
    fn read<T: Plain + Default + Log2Source>(
        &mut self,
        [hist_cpu, hists]: [&dyn MapCore; 2],
        counters: Option<(&mut u64, [u64; 2])>,
        comm: impl Fn(&T) -> &[u8],
    ) -> Result<Reading<TaskSection>> {
        let (epoch, full) = counters.map_or((None, None), |(e, f)| (Some(e), Some(f)));
        let epoch = end_interval(epoch);
        let hists = match self.keying {
            Keying::Machine => {
                let cpus = read_percpu::<T>(hist_cpu)?;
                vec![((0, Vec::new(), None), self.by_cpu.update(0, &cpus, epoch))]
            }
            Keying::PerCpu => {
                let cpus = read_percpu::<T>(hist_cpu)?;
                (0u32..)
                    .zip(&cpus)
                    .map(|(c, h)| {
                        let h = self.by_cpu.update(c, std::slice::from_ref(h), epoch);
                        ((c, Vec::new(), None), h)
                    })
                    .collect()
            }
            Keying::Process | Keying::Thread | Keying::PidNs | Keying::Containers => {
                let by_cgroup =
                    (self.keying == Keying::Containers).then_some(&mut *self.containers);
                read_task_hists(hists, &mut self.by_key, epoch, by_cgroup, comm)?
            }
        };
        let full = full.unwrap_or_default();
        Ok(Reading {
            hists: hists.into_iter().filter(|(_, h)| !h.is_empty()).collect(),
            dropped: vec![(full[0], self.dropped[0]), (full[1], self.dropped[1])],
        })
    }
}

/// An open scheduler tool's skeleton (cpudist's, runqlat's): the rodata and maps that
/// [`run`] sets, which each such object has under the same names (`bpf/sched.bpf.h`,
/// `bpf/filter.bpf.h`, `bpf/container.bpf.h`). Implemented by
/// [`sched_skel!`](crate::sched_skel): they are fields of each tool's generated types.
pub trait SchedOpen<'obj>: OpenSkel<'obj> {
    /// Set what every scheduler tool sets: `--container`'s switch and skip list
    /// ([`configure_containers!`](crate::configure_containers)), `ferro_floor` (`--floor`),
    /// `targ_ms` (`-m`), `targ_tgid` (`-p`), `use_task_storage` and `--cgroup`'s
    /// [`cgroup_rodata`]; create only the maps `layout` uses ([`Layout::create_maps`]: libbpf
    /// turns the code that would use the others, dead for these constants, into an invalid
    /// call the verifier then drops). Errors: an object without rodata, and libbpf's.
    fn configure(
        &mut self,
        options: &Options<'_>,
        layout: Layout,
        cgroup: Option<&CgroupV2>,
    ) -> Result<()>;
}

/// A loaded scheduler tool's skeleton: the maps [`run`] reads. Implemented by
/// [`sched_skel!`](crate::sched_skel).
pub trait SchedSkel<'obj>: Skel<'obj> {
    /// The value of `hist_cpu` and `hists` (`bpf/hist.h`'s layout, with the comm of the task it
    /// was last updated for).
    type Hist: Plain + Default + Log2Source;

    /// `ferro_skip_cgroups` and `ferro_skipped`, for [`Containers::skip_in_kernel`].
    fn skip_maps(&self) -> [&MapMut<'obj>; 2];

    /// `hist_cpu` and `hists`, with the .bss counters `ferro_hist_epoch`, `start_full` and
    /// `hists_full` (`None` when the object has no .bss), as `Reader::read` takes them.
    fn hist_maps(&mut self) -> HistMaps<'_>;

    /// The comm of a histogram's task (`hists`' sections name it).
    fn comm(h: &Self::Hist) -> &[u8];
}

/// What [`SchedSkel::hist_maps`] returns: `[hist_cpu, hists]` and the .bss counters.
pub type HistMaps<'a> = ([&'a dyn MapCore; 2], Option<(&'a mut u64, [u64; 2])>);

/// [`SchedOpen`] and [`SchedSkel`] for a tool's generated skeleton types (the open and the
/// loaded one, from the tool's `bpf` module) and, for its histogram value type (`bpf/hist.h`'s
/// plain integers and byte arrays with explicit padding), `plain::Plain` and
/// [`Log2Source`](crate::log2_source):
/// `common::sched_skel!(bpf::OpenRunqlatSkel, bpf::RunqlatSkel, types::runqlat_hist);`.
#[macro_export]
macro_rules! sched_skel {
    ($m:ident :: $open:ident, $n:ident :: $skel:ident, $hist:ty) => {
        // SAFETY: plain integers and byte arrays with explicit padding (bpf/hist.h).
        unsafe impl plain::Plain for $hist {}

        $crate::log2_source!($hist);

        impl<'obj> $crate::sched::SchedOpen<'obj> for $m::$open<'obj> {
            fn configure(
                &mut self,
                options: &$crate::sched::Options<'_>,
                layout: $crate::sched::Layout,
                cgroup: Option<&$crate::cgroup::CgroupV2>,
            ) -> $crate::error::Result<()> {
                $crate::configure_containers!(self, options.containers)?;
                let ro = $crate::lifecycle::rodata(self.maps.rodata_data.as_deref_mut())?;
                ro.ferro_floor = options.common.floor;
                ro.targ_ms = options.hist.milliseconds;
                ro.targ_tgid = options.filter.pid.unwrap_or(0);
                ro.use_task_storage = layout.task_storage;
                (ro.targ_cgid, ro.targ_cg_level) = $crate::sched::cgroup_rodata(cgroup);
                let m = &mut self.maps;
                layout.create_maps(
                    [&mut m.start, &mut m.start_task],
                    [&mut m.hists, &mut m.hist_cpu],
                )
            }
        }

        impl<'obj> $crate::sched::SchedSkel<'obj> for $n::$skel<'obj> {
            type Hist = $hist;

            fn skip_maps(&self) -> [&libbpf_rs::MapMut<'obj>; 2] {
                [&self.maps.ferro_skip_cgroups, &self.maps.ferro_skipped]
            }

            fn hist_maps(&mut self) -> $crate::sched::HistMaps<'_> {
                let m = &mut self.maps;
                let bss = m.bss_data.as_deref_mut();
                let counters = bss.map(|b| (&mut b.ferro_hist_epoch, [b.start_full, b.hists_full]));
                ([&m.hist_cpu, &m.hists], counters)
            }

            fn comm(h: &$hist) -> &[u8] {
                &h.comm
            }
        }
    };
}

/// The options every scheduler tool takes, as [`run`] and [`SchedOpen::configure`] use them.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub hist: &'a HistArgs,
    pub common: &'a CommonArgs,
    pub containers: &'a ContainerArgs,
    /// `-p` and `--cgroup` ([`crate::cgroup::open_opt`] opens it).
    pub filter: &'a TaskFilterArgs,
}

impl<'a> Options<'a> {
    pub fn new(
        hist: &'a HistArgs,
        common: &'a CommonArgs,
        containers: &'a ContainerArgs,
        filter: &'a TaskFilterArgs,
    ) -> Self {
        Self {
            hist,
            common,
            containers,
            filter,
        }
    }
}

/// A scheduler tool's own words and choices for [`run`], with its [`Options`].
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    /// The banner: `Tracing run queue latency... Hit Ctrl-C to end.`
    pub banner: &'a str,
    /// The hooks the `-v` line names: `sched_wakeup, sched_wakeup_new, sched_switch`.
    pub hooks: &'a str,
    /// What an attach error names: `the sched tracepoints`.
    pub attaching: &'a str,
    /// The start times' name in the `-v` line ([`Layout::log_attached`]): `wakeup`.
    pub what: &'a str,
    /// What `start_full` and `hists_full` count: `["wakeups", "latencies"]`.
    pub dropped: [&'static str; 2],
    /// How the histograms are kept (from the tool's `key_by`).
    pub keying: Keying,
    /// What `--prometheus` exports.
    pub metric: Metric,
    /// BCC's `-e` (see [`TaskView::extension`]).
    pub extension: bool,
    pub options: Options<'a>,
}

/// cpudist's and runqlat's run once their options are parsed: open `--cgroup`, start the
/// containers' view ([`Containers::start`]) and the BPF work ([`crate::lifecycle::start`]),
/// then load with tp_btf programs, or raw tracepoint ones if those do not load
/// ([`crate::lifecycle::load_tp_btf_or_fallback`]): a `B` opened, set up by
/// [`SchedOpen::configure`] and by the tool's `configure(open, tp_btf, cgroup given)` (its own
/// rodata and programs). Then fill the skip list, attach and say so at `-v`, and [`report`]
/// every interval from the skeleton's maps. Errors: the options' (usage errors), the load's,
/// the attach error (`attaching to ...`), and [`report`]'s.
pub fn run<'obj, B>(
    tool: &'static str,
    spec: &Spec<'_>,
    storage: [&'obj mut Storage; 2],
    mut configure: impl FnMut(&mut B::Output, bool, bool) -> Result<()>,
) -> Result<()>
where
    B: SkelBuilder<'obj> + Default,
    B::Output: SchedOpen<'obj>,
    <B::Output as OpenSkel<'obj>>::Output: SchedSkel<'obj>,
{
    let o = &spec.options;
    let cgroup = crate::cgroup::open_opt(o.filter.cgroup.as_deref())?;
    let mut containers = Containers::start(tool, o.containers)?;
    crate::lifecycle::start(o.common.verbose)?;

    let [first, second] = storage;
    let ((mut skel, layout), tp_btf) =
        crate::lifecycle::load_tp_btf_or_fallback(first, second, |storage, tp_btf| {
            let layout = Layout::new(tp_btf, spec.keying);
            let mut open = crate::lifecycle::open(B::default(), storage)?;
            open.configure(o, layout, cgroup.as_ref())?;
            configure(&mut open, tp_btf, cgroup.is_some())?;
            Ok((crate::lifecycle::load(open)?, layout))
        })?;
    let [skip, skipped] = skel.skip_maps();
    containers.skip_in_kernel(skip, skipped)?;
    skel.attach()
        .map_err(|e| Error::from(e).context(format!("attaching to {}", spec.attaching)))?;
    layout.log_attached(tool, spec.hooks, spec.what, tp_btf);

    let mut view = TaskView {
        keying: layout.keying,
        metric: spec.metric,
        extension: spec.extension,
    };
    let (hist, json) = (o.hist, o.common.json);
    report(
        tool,
        spec.banner,
        &mut view,
        hist,
        json,
        &mut containers,
        spec.dropped,
        |r| {
            let (maps, counters) = skel.hist_maps();
            r.read(
                maps,
                counters,
                <<B::Output as OpenSkel<'obj>>::Output as SchedSkel>::comm,
            )
        },
    )
}

/// cpudist's and runqlat's output once attached: [`hist_tool::run`] of `view` with `read` reading each
/// interval through a [`Reader`] (`dropped` names what `start_full` and `hists_full` count:
/// `["wakeups", "latencies"]`), then the containers' skip report. Errors: `read`'s, and the
/// driver's.
#[allow(clippy::too_many_arguments)]
fn report(
    tool: &'static str,
    banner: &str,
    view: &mut TaskView,
    args: &HistArgs,
    json: bool,
    containers: &mut Containers,
    dropped: [&'static str; 2],
    mut read: impl FnMut(&mut Reader<'_>) -> Result<Reading<TaskSection>>,
) -> Result<()> {
    let mut reader = Reader {
        keying: view.keying,
        containers,
        by_cpu: Intervals::new(args.cumulative),
        by_key: Intervals::new(args.cumulative),
        dropped,
    };
    let hint = " (too many threads at once)";
    let ended = hist_tool::run(tool, banner, view, args, json, hint, |_| read(&mut reader));
    reader.containers.report_skips(tool);
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_in_the_per_cpu_array_for_the_machine_and_per_cpu() {
        assert!(Keying::Machine.per_cpu() && Keying::PerCpu.per_cpu());
        assert!(!Keying::Process.per_cpu() && !Keying::Containers.per_cpu());
        assert_eq!(cgroup_rodata(None), (0, 0));
    }
}
