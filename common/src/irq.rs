// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What hardirqs and softirqs share: their options (`-d`, `-N`, `-C`), the histogram value
//! their BPF sides keep (`bpf/irq.h`), and their output: libbpf-tools' table of totals
//! (`HARDIRQ  TOTAL_usecs`), counts with `-C`, or with `-d` a log2 histogram per interrupt.
//!
//! Both BPF sides keep a histogram per interrupt (or softirq vector) whatever the options, so
//! the table, the counts, the histograms, `--json`, `--cumulative` and `--prometheus` are
//! views of the same never-reset counters (see [`crate::hist::Intervals`]). The table's
//! totals are the handlers' times summed in nanoseconds, converted per interval: libbpf-tools
//! truncates each handler's time to the unit before adding it, so a handler that runs under a
//! microsecond (most hard interrupts) adds nothing to its `TOTAL_usecs` there.

use clap::Args;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use crate::Result;
use crate::hist::{Hist, SectionValue};
use crate::hist_tool::{self, HistTool, Reading, Style};
use crate::lifecycle::Storage;
use crate::metrics::Metric;
use crate::output::escaped;

/// The options hardirqs and softirqs take from libbpf-tools 0.26 (Debian's): `-d`, `-N`, `-C`
/// after [`crate::cli::HistArgs`]' `[interval] [count] -T -m`. Each tool adds its own
/// `--cpu` (hardirqs' `-s`, softirqs' `-c`) and hardirqs its `-c` cgroup.
#[derive(Args, Debug, Clone)]
pub struct IrqArgs {
    #[command(flatten)]
    pub hist: crate::cli::HistArgs,

    /// Show distributions as histograms
    #[arg(short = 'd', long = "distributed")]
    pub distributed: bool,

    /// Output in nanoseconds
    #[arg(short = 'N', long = "nanoseconds", conflicts_with = "milliseconds")]
    pub nanoseconds: bool,

    /// Show event counts instead of timing
    #[arg(
        short = 'C',
        long = "count",
        id = "count_events",
        conflicts_with = "distributed"
    )]
    pub count: bool,
}

impl IrqArgs {
    /// How many nanoseconds make one unit of the histograms: 1 with `-N`, 10^6 with `-m`
    /// (from [`crate::cli::HistArgs`]), else 1000. The BPF side divides each handler's time by
    /// it for the histogram's slot.
    pub fn unit_ns(&self) -> u32 {
        match (self.nanoseconds, self.hist.milliseconds) {
            (true, _) => 1,
            (_, true) => 1_000_000,
            _ => 1000,
        }
    }

    /// The checks clap cannot make, before any BPF work: `--percentiles` describes histograms,
    /// so without `-d` it is a usage error; `cpu` (`--cpu`) must be one of this machine's.
    /// Returns the BPF side's `targ_cpu` ([`cpu_filter`]).
    pub fn check(&self, cpu: Option<u32>) -> crate::Result<i32> {
        if self.hist.percentiles && !self.distributed {
            return Err(crate::Error::usage(
                "--percentiles needs -d (it describes the histograms)",
            ));
        }
        cpu_filter(cpu)
    }
}

/// The BPF side's `targ_cpu` for libbpf-tools HEAD's `--cpu CPU` (hardirqs' `-s`, softirqs'
/// `-c`): -1 for every CPU. A CPU this machine cannot have is a usage error (libbpf-tools takes
/// any number, and a CPU it does not have traces nothing).
pub fn cpu_filter(cpu: Option<u32>) -> crate::Result<i32> {
    let Some(cpu) = cpu else {
        return Ok(-1);
    };
    let possible = libbpf_rs::num_possible_cpus()
        .map_err(|e| crate::Error::from(e).context("counting the CPUs"))?;
    if usize::try_from(cpu).map_or(true, |c| c >= possible) {
        return Err(crate::Error::usage(format!(
            "invalid value '{cpu}' for '--cpu <CPU>': this machine's CPUs are from 0 to {}",
            possible.saturating_sub(1)
        )));
    }
    i32::try_from(cpu).map_err(|_| crate::Error::usage(format!("no CPU {cpu}")))
}

/// Hard interrupts or softirqs: the words of the banner, the section lines and the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hard,
    Soft,
}

impl Kind {
    /// `hardirq`, `softirq`: libbpf-tools' section word (`hardirq = virtio1-req.0`), the
    /// JSON field and Prometheus label of the interrupt's name.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Hard => "hardirq",
            Kind::Soft => "softirq",
        }
    }

    /// The entry and exit tracepoints the tool times a handler between.
    fn hooks(self) -> [&'static str; 2] {
        match self {
            Kind::Hard => ["irq_handler_entry", "irq_handler_exit"],
            Kind::Soft => ["softirq_entry", "softirq_exit"],
        }
    }

    /// The name column's width in libbpf-tools 0.26's table (`%-26s`, `%-16s`).
    fn name_width(self) -> usize {
        match self {
            Kind::Hard => 26,
            Kind::Soft => 16,
        }
    }
}

/// libbpf-tools' banner: `Tracing hard irq event time... Hit Ctrl-C to end.`, or with `-C`
/// `Tracing hard irq events... Hit Ctrl-C to end.` (`soft` for softirqs).
pub fn banner(kind: Kind, count: bool) -> String {
    let what = match kind {
        Kind::Hard => "hard",
        Kind::Soft => "soft",
    };
    let measure = if count { "events" } else { "event time" };
    format!("Tracing {what} irq {measure}... Hit Ctrl-C to end.")
}

/// [`crate::hist::Log2Source`] for a skeleton's `struct irq_hist` (`bpf/irq.h`): the slots,
/// count and maxima as every histogram has them, but the sum from `ns`, the handlers' time in
/// nanoseconds (the `sum` field, in the unit, is left unread): [`in_unit`] converts each
/// interval's difference.
#[macro_export]
macro_rules! irq_hist_source {
    ($t:ty) => {
        impl $crate::hist::Log2Source for $t {
            fn slots(&self) -> &[u32] {
                &self.slots
            }
            fn count_sum(&self) -> (u64, u64) {
                (self.count, self.ns)
            }
            fn max_in(&self, epoch: u64) -> u64 {
                let i = (epoch & 1) as usize;
                if self.max_epoch[i] == epoch {
                    self.max[i]
                } else {
                    0
                }
            }
        }
    };
}

/// A histogram read through [`irq_hist_source!`] (its sum in nanoseconds) with its sum in the
/// histogram's unit, `unit_ns` nanoseconds ([`IrqArgs::unit_ns`]).
pub fn in_unit(mut h: Hist, unit_ns: u32) -> Hist {
    h.totals.sum /= u64::from(unit_ns.max(1));
    h
}

/// An open hardirqs or softirqs skeleton: the rodata and programs [`load`] sets, which both
/// objects have under the same names (`bpf/irq.h`'s histograms, `ferro_floor`, `targ_unit_ns`,
/// `targ_cpu`). Implemented by [`irq_skel!`](crate::irq_skel): they are fields of each tool's
/// generated types.
pub trait IrqOpen<'obj>: OpenSkel<'obj> {
    /// Set `ferro_floor` (`floor`, `--floor`), `targ_unit_ns` ([`IrqArgs::unit_ns`]) and
    /// `targ_cpu` (`cpu`, [`cpu_filter`]'s), and load the entry and exit programs as tp_btf
    /// or raw tracepoints (`tp_btf`). Errors: an object without rodata.
    fn configure(&mut self, args: &IrqArgs, floor: bool, cpu: i32, tp_btf: bool) -> Result<()>;
}

/// [`IrqOpen`] for a tool's generated open skeleton type, with its tp_btf and raw tracepoint
/// programs (entry, then exit), and for its `struct irq_hist` (plain integers and arrays with
/// explicit padding) `plain::Plain` and [`irq_hist_source!`](crate::irq_hist_source):
/// `common::irq_skel!(bpf::OpenSoftirqsSkel, types::irq_hist; btf_softirq_entry,
/// btf_softirq_exit; raw_softirq_entry, raw_softirq_exit);`.
#[macro_export]
macro_rules! irq_skel {
    ($m:ident :: $open:ident, $hist:ty; $($btf:ident),+; $($raw:ident),+) => {
        // SAFETY: plain integers and arrays with explicit padding (bpf/irq.h).
        unsafe impl plain::Plain for $hist {}

        $crate::irq_hist_source!($hist);

        impl<'obj> $crate::irq::IrqOpen<'obj> for $m::$open<'obj> {
            fn configure(
                &mut self,
                args: &$crate::irq::IrqArgs,
                floor: bool,
                cpu: i32,
                tp_btf: bool,
            ) -> $crate::error::Result<()> {
                let ro = $crate::lifecycle::rodata(self.maps.rodata_data.as_deref_mut())?;
                ro.ferro_floor = floor;
                ro.targ_unit_ns = args.unit_ns();
                ro.targ_cpu = cpu;
                let p = &mut self.progs;
                $crate::lifecycle::autoload_tp_btf_or_raw(
                    [$(&mut p.$btf),+],
                    [$(&mut p.$raw),+],
                    tp_btf,
                );
                Ok(())
            }
        }
    };
}

/// Start the BPF work ([`crate::lifecycle::start`] at `common`'s verbosity) and load
/// hardirqs' or softirqs' object with its tp_btf programs, or its raw tracepoint ones if those
/// do not load ([`crate::lifecycle::load_tp_btf_or_fallback`]): a `B` opened into `storage`,
/// set up by [`IrqOpen::configure`] (`cpu`: [`IrqArgs::check`]'s) and by the tool's
/// `configure` (its own rodata). Returns the loaded skeleton and whether it is on tp_btf.
/// Errors: the start's and the load's.
pub fn load<'obj, B>(
    storage: [&'obj mut Storage; 2],
    args: &IrqArgs,
    common: &crate::cli::CommonArgs,
    cpu: i32,
    mut configure: impl FnMut(&mut B::Output) -> Result<()>,
) -> Result<(<B::Output as OpenSkel<'obj>>::Output, bool)>
where
    B: SkelBuilder<'obj> + Default,
    B::Output: IrqOpen<'obj>,
{
    crate::lifecycle::start(common.verbose)?;
    let [first, second] = storage;
    crate::lifecycle::load_tp_btf_or_fallback(first, second, |storage, tp_btf| {
        let mut open = crate::lifecycle::open(B::default(), storage)?;
        open.configure(args, common.floor, cpu, tp_btf)?;
        configure(&mut open)?;
        crate::lifecycle::load(open)
    })
}

/// Attach the loaded programs of `kind`'s tool (its entry and exit hooks, as tp_btf or raw
/// tracepoints: `tp_btf`) and say so at `-v` (`hardirqs: attached to irq_handler_entry,
/// irq_handler_exit as tp_btf`, then `note` where it is not empty: softirqs' `; vector names
/// from ...`). Errors: libbpf's attach error, naming the hooks.
pub fn attach<'obj>(
    tool: &str,
    kind: Kind,
    skel: &mut impl libbpf_rs::skel::Skel<'obj>,
    tp_btf: bool,
    note: &str,
) -> crate::Result<()> {
    let [entry, exit] = kind.hooks();
    skel.attach()
        .map_err(|e| crate::Error::from(e).context(format!("attaching to {entry} and {exit}")))?;
    crate::log::verbose(format_args!(
        "{tool}: attached to {entry}, {exit} as {}{note}",
        if tp_btf { "tp_btf" } else { "raw tracepoints" },
    ));
    Ok(())
}

/// hardirqs' and softirqs' output, from the attached programs to the end ([`hist_tool::run`]):
/// the banner, then every interval the table, the counts or the histograms of what `read`
/// returns. `read` ends the interval ([`crate::maps::end_interval`]), reads the maps and
/// returns each interrupt's histogram as
/// [`irq_hist_source!`] reads it (sum in nanoseconds) with its name, and the measurements a
/// full map dropped; the interrupts that ran in the interval are kept, their sums converted to
/// the unit ([`in_unit`]) and ordered ([`IrqView::sort`]). `full_hint` ends the full-map
/// warning. Errors: `read`'s, and the driver's (see [`hist_tool::run`]).
pub fn report(
    tool: &'static str,
    kind: Kind,
    args: &IrqArgs,
    json: bool,
    full_hint: &str,
    mut read: impl FnMut() -> crate::Result<Reading<Vec<u8>>>,
) -> crate::Result<()> {
    let unit_ns = args.unit_ns();
    let mut view = IrqView::new(kind, args);
    let banner = banner(kind, args.count);
    hist_tool::run(
        tool,
        &banner,
        &mut view,
        &args.hist,
        json,
        full_hint,
        |view| {
            let Reading { hists, dropped } = read()?;
            let mut hists: Vec<_> = hists
                .into_iter()
                .filter(|(_, h)| h.totals.count > 0)
                .map(|(name, h)| (name, in_unit(h, unit_ns)))
                .collect();
            view.sort(&mut hists);
            Ok(Reading { hists, dropped })
        },
    )
}

/// How hardirqs and softirqs print: sections are interrupt names (kernel bytes, escaped).
#[derive(Debug)]
pub struct IrqView {
    pub kind: Kind,
    pub distributed: bool,
    pub count: bool,
    pub nanoseconds: bool,
}

impl IrqView {
    pub fn new(kind: Kind, args: &IrqArgs) -> Self {
        Self {
            kind,
            distributed: args.distributed,
            count: args.count,
            nanoseconds: args.nanoseconds,
        }
    }

    /// The table's number for `h`: its count with `-C`, else its total time in the unit.
    fn total(&self, h: &Hist) -> u64 {
        if self.count {
            h.totals.count
        } else {
            h.totals.sum
        }
    }

    /// Order hard interrupts by this total, largest first (BCC's order; libbpf-tools prints
    /// its hash map's order, which is none), then by name. Softirqs keep the order `hists`
    /// has: their vectors' (libbpf-tools' order).
    pub fn sort(&self, hists: &mut [(Vec<u8>, Hist)]) {
        if self.kind == Kind::Hard {
            hists.sort_by(|(a, ha), (b, hb)| {
                self.total(hb).cmp(&self.total(ha)).then_with(|| a.cmp(b))
            });
        }
    }

    /// libbpf-tools 0.26's table: `HARDIRQ` padded to 26 columns (`SOFTIRQ` to 16), a space and
    /// `TOTAL_usecs` (`TOTAL_nsecs`, `TOTAL_count`) right-aligned in 11, then a row per
    /// interrupt that ran in the interval.
    fn table(&self, hists: &[(Vec<u8>, Hist)], unit: &str, out: &mut Vec<u8>) {
        let w = self.kind.name_width();
        let heading = self.kind.word().to_uppercase();
        let column = format!("TOTAL_{}", if self.count { "count" } else { unit });
        out.extend_from_slice(format!("{heading:<w$} {column:>11}\n").as_bytes());
        for (name, h) in hists {
            let name = escaped(name);
            out.extend_from_slice(format!("{name:<w$} {:>11}\n", self.total(h)).as_bytes());
        }
    }
}

impl HistTool for IrqView {
    type Key = Vec<u8>;

    fn unit(&self) -> Option<(&'static str, f64)> {
        self.nanoseconds.then_some(("nsecs", 1e9))
    }

    fn interval(
        &self,
        hists: &[(Vec<u8>, Hist)],
        style: &Style<'_>,
        time: &str,
        out: &mut Vec<u8>,
    ) {
        if self.distributed || style.json {
            for (k, h) in hists {
                hist_tool::render(self, k, h, style, time, out);
            }
        } else {
            self.table(hists, style.unit, out);
        }
    }

    /// `hardirq = virtio1-req.0`, `softirq = timer`, right after the interval's blank line.
    fn section_text(&self, name: &Vec<u8>, out: &mut Vec<u8>) {
        let line = format!("{} = {}\n", self.kind.word(), escaped(name));
        out.extend_from_slice(line.as_bytes());
    }

    fn section_json<'a>(
        &'a self,
        name: &'a Vec<u8>,
        out: &mut Vec<(&'static str, SectionValue<'a>)>,
    ) {
        out.push((self.kind.word(), SectionValue::Str(name)));
    }

    /// libbpf-tools' softirqs ends each histogram with a blank line; its hardirqs does not.
    fn extra_text(&self, _h: &Hist, _unit: &str, out: &mut Vec<u8>) {
        if self.kind == Kind::Soft {
            out.push(b'\n');
        }
    }

    fn metric(&self) -> Metric {
        match self.kind {
            Kind::Hard => Metric {
                name: "duration",
                help: "Hard interrupt handler time: from irq:irq_handler_entry to \
                       irq:irq_handler_exit, per handler (irqaction) name",
            },
            Kind::Soft => Metric {
                name: "duration",
                help: "Softirq handler time: from irq:softirq_entry to irq:softirq_exit, \
                       per vector",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Totals;

    fn h(count: u64, sum: u64, slots: Vec<u64>) -> Hist {
        Hist {
            slots,
            totals: Totals { count, sum, max: 0 },
        }
    }

    fn text(view: &IrqView, hists: &[(Vec<u8>, Hist)], unit: &str) -> String {
        let style = Style {
            unit,
            json: false,
            percentiles: false,
        };
        let mut out = Vec::new();
        view.interval(hists, &style, "", &mut out);
        String::from_utf8(out).expect("utf8")
    }

    fn view(kind: Kind, distributed: bool, count: bool) -> IrqView {
        IrqView {
            kind,
            distributed,
            count,
            nanoseconds: false,
        }
    }

    #[test]
    fn banners_as_libbpf_tools() {
        assert_eq!(
            banner(Kind::Hard, false),
            "Tracing hard irq event time... Hit Ctrl-C to end."
        );
        assert_eq!(
            banner(Kind::Hard, true),
            "Tracing hard irq events... Hit Ctrl-C to end."
        );
        assert_eq!(
            banner(Kind::Soft, false),
            "Tracing soft irq event time... Hit Ctrl-C to end."
        );
    }

    /// The tables libbpf-tools 0.26 printed on this machine (hardirqs, hardirqs -C, softirqs).
    #[test]
    fn tables_as_libbpf_tools_0_26() {
        let hard = vec![
            (b"virtio1-req.0".to_vec(), h(78, 412, vec![1])),
            (b"virtio3-tx".to_vec(), h(10, 163, vec![1])),
        ];
        assert_eq!(
            text(&view(Kind::Hard, false, false), &hard, "usecs"),
            "HARDIRQ                    TOTAL_usecs
virtio1-req.0                      412
virtio3-tx                         163
"
        );
        assert_eq!(
            text(&view(Kind::Hard, false, true), &hard, "usecs"),
            "HARDIRQ                    TOTAL_count
virtio1-req.0                       78
virtio3-tx                          10
"
        );
        let soft = vec![(b"timer".to_vec(), h(3, 534, vec![1]))];
        assert_eq!(
            text(&view(Kind::Soft, false, false), &soft, "nsecs"),
            "SOFTIRQ          TOTAL_nsecs
timer                    534
"
        );
        // No interrupt in the interval: the heading alone, as libbpf-tools prints it.
        assert_eq!(
            text(&view(Kind::Soft, false, false), &[], "usecs"),
            "SOFTIRQ          TOTAL_usecs\n"
        );
    }

    #[test]
    fn histograms_as_libbpf_tools_0_26() {
        let one = |name: &[u8]| vec![(name.to_vec(), h(2, 5, vec![0, 2]))];
        let rows = "     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|
";
        // hardirqs: no blank line between histograms; softirqs: one after each.
        assert_eq!(
            text(&view(Kind::Hard, true, false), &one(b"virtio3-rx"), "usecs"),
            format!("hardirq = virtio3-rx\n{rows}")
        );
        assert_eq!(
            text(&view(Kind::Soft, true, false), &one(b"rcu"), "usecs"),
            format!("softirq = rcu\n{rows}\n")
        );
        // A name is the kernel's bytes: control characters are escaped.
        assert!(
            text(&view(Kind::Hard, false, false), &one(b"a\x1bb"), "usecs").contains("\na\\eb ")
        );
    }

    #[test]
    fn hard_interrupts_sort_by_their_total_softirqs_keep_vector_order() {
        let mut hists = vec![
            (b"b".to_vec(), h(1, 10, vec![1])),
            (b"a".to_vec(), h(5, 10, vec![5])),
            (b"c".to_vec(), h(2, 30, vec![2])),
        ];
        let names = |v: &[(Vec<u8>, Hist)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        view(Kind::Hard, false, false).sort(&mut hists);
        assert_eq!(names(&hists), [b"c".to_vec(), b"a".to_vec(), b"b".to_vec()]);
        view(Kind::Hard, false, true).sort(&mut hists);
        assert_eq!(names(&hists), [b"a".to_vec(), b"c".to_vec(), b"b".to_vec()]);
        let before = names(&hists);
        view(Kind::Soft, false, false).sort(&mut hists);
        assert_eq!(names(&hists), before);
    }

    #[test]
    fn totals_are_summed_in_nanoseconds_then_converted() {
        // 1999 handlers of 999 ns each: libbpf-tools' per-handler truncation would say 0 usecs.
        let ns = h(1999, 1999 * 999, vec![1999]);
        assert_eq!(in_unit(ns.clone(), 1000).totals.sum, 1997);
        assert_eq!(in_unit(ns.clone(), 1).totals.sum, 1999 * 999);
        assert_eq!(in_unit(ns, 1_000_000).totals.sum, 1);
        let hist = |milliseconds, percentiles| crate::cli::HistArgs {
            interval: None,
            count: None,
            timestamp: false,
            milliseconds,
            percentiles,
            cumulative: false,
            metrics: crate::cli::ExportArgs::default(),
        };
        let args = |nanoseconds, milliseconds, percentiles| IrqArgs {
            hist: hist(milliseconds, percentiles),
            distributed: false,
            nanoseconds,
            count: false,
        };
        let unit_ns = |ns| {
            (
                args(ns, false, false).unit_ns(),
                args(ns, true, false).unit_ns(),
            )
        };
        assert_eq!(unit_ns(true), (1, 1));
        assert_eq!(unit_ns(false), (1000, 1_000_000));
        let a = args(false, false, false);
        assert!(args(false, false, true).check(None).is_err());
        assert_eq!(a.check(None).ok(), Some(-1));
        assert_eq!(a.check(Some(0)).ok(), Some(0));
        assert!(a.check(Some(8191)).is_err());
    }
}
