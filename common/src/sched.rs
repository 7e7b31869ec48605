// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What the scheduler histogram tools (cpudist, runqlat) share on the Rust side, as they share
//! `bpf/sched.bpf.h` and `bpf/bits.bpf.h` on the BPF side: where the start times live (task
//! storage or the `start` hash), which of the maps these options need, the `--cgroup` rodata,
//! the `-v` line, and every interval's reading of the histograms (the per-CPU array
//! `hist_cpu`, or the `hists` hash map keyed by task or cgroup) with the full-map counters.
//! Each tool keeps its own keys, programs and sections.

use libbpf_rs::{MapCore, OpenMapMut};
use plain::Plain;

use crate::cgroup::CgroupV2;
use crate::cli::HistArgs;
use crate::container::Containers;
use crate::error::Result;
use crate::hist::{Hist, Intervals, Log2Source, SectionValue, extension_line};
use crate::hist_tool::{self, HistTool, Reading};
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
pub struct Reader<'c> {
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
    pub fn read<T: Plain + Default + Log2Source>(
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

/// cpudist's and runqlat's output once attached: [`hist_tool::run`] of `view` with `read` reading each
/// interval through a [`Reader`] (`dropped` names what `start_full` and `hists_full` count:
/// `["wakeups", "latencies"]`), then the containers' skip report. Errors: `read`'s, and the
/// driver's.
#[allow(clippy::too_many_arguments)]
pub fn report(
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
