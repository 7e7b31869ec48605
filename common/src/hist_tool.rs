// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The driver of every histogram tool: every interval, read the maps into keyed histograms,
//! name each section, render it as libbpf-tools does (or as JSON), and warn once when a full
//! map dropped measurements. A tool supplies a [`HistTool`] (how a key is named) and a reader
//! of its maps; [`run`] does the rest on the [`crate::interval`] loop.

use crate::cli::HistArgs;
use crate::error::Result;
use crate::hist::{self, FullMapWarning, Hist, Intervals, Log2Source, SectionValue};
use crate::interval::{self, Schedule};
use crate::metrics::{Exporter, Labels, Metric, State};
use crate::output::escaped;
use crate::time::rfc3339;

/// How a histogram tool names its sections.
pub trait HistTool {
    /// What a histogram is kept per: a disk and flags, a PID and its comm, nothing at all.
    type Key;

    /// Text before the histogram: libbpf-tools' section line (`\npid = 42 bash\n`), if any.
    fn section_text(&self, _key: &Self::Key, _out: &mut Vec<u8>) {}

    /// The section's JSON fields (`"pid": 42, "comm": "bash"`), if any.
    fn section_json<'a>(
        &'a self,
        _key: &'a Self::Key,
        _out: &mut Vec<(&'static str, SectionValue<'a>)>,
    ) {
    }

    /// Lines under the histogram besides the percentiles (BCC's `-e`).
    fn extra_text(&self, _h: &Hist, _unit: &str, _out: &mut Vec<u8>) {}

    /// The histograms' unit and how many of it make a second, where the tool's own options set
    /// it (hardirqs' `-N`: `("nsecs", 1e9)`); `None`: [`HistArgs`]' `usecs`, or `msecs` with `-m`.
    fn unit(&self) -> Option<(&'static str, f64)> {
        None
    }

    /// One interval's output: by default each histogram with its section ([`render`]); a tool
    /// whose default output is a table (hardirqs, softirqs) prints that instead.
    fn interval(
        &self,
        hists: &[(Self::Key, Hist)],
        style: &Style<'_>,
        time: &str,
        out: &mut Vec<u8>,
    ) {
        for (k, h) in hists {
            render(self, k, h, style, time, out);
        }
    }

    /// What `--prometheus` exports the histograms as (`ferroscope_<tool>_latency_seconds`).
    fn metric(&self) -> Metric {
        Metric {
            name: "latency",
            help: "Latency histogram",
        }
    }

    /// The section as Prometheus labels for `--prometheus`: by default the JSON fields
    /// ([`Self::section_json`]) with their names (`disk`, `flags`, `pid`, `comm`, `cpu`),
    /// but `container_id` is `container`; kernel strings escaped as in text output.
    fn labels(&self, key: &Self::Key, out: &mut Labels) {
        let mut fields = Vec::new();
        self.section_json(key, &mut fields);
        for (name, v) in fields {
            let name = if name == "container_id" {
                "container"
            } else {
                name
            };
            let v = match v {
                SectionValue::Str(s) => escaped(s),
                SectionValue::Num(n) => n.to_string(),
            };
            out.push((name, v));
        }
    }
}

/// One interval's reading of the maps.
#[derive(Debug)]
pub struct Reading<K> {
    /// The histograms in print order.
    pub hists: Vec<(K, Hist)>,
    /// Measurements dropped because a map was full (from the BPF side's counters), with what
    /// they count: `(12, "wakeups")`.
    pub dropped: Vec<(u64, &'static str)>,
}

/// How histograms are printed (from [`HistArgs`] and `--json`).
#[derive(Debug, Clone, Copy)]
pub struct Style<'a> {
    pub unit: &'a str,
    pub json: bool,
    pub percentiles: bool,
}

/// One histogram with its section: text as libbpf-tools prints it, or one JSON line.
pub fn render<T: HistTool + ?Sized>(
    tool: &T,
    key: &T::Key,
    h: &Hist,
    style: &Style<'_>,
    time: &str,
    out: &mut Vec<u8>,
) {
    let (slots, totals) = (&h.slots, &h.totals);
    if style.json {
        let mut sections = Vec::new();
        tool.section_json(key, &mut sections);
        hist::json_line(out, time, &sections, style.unit, slots, totals);
        return;
    }
    tool.section_text(key, out);
    out.extend_from_slice(hist::log2_text(slots, style.unit).as_bytes());
    tool.extra_text(h, style.unit, out);
    if style.percentiles && totals.count > 0 {
        out.extend_from_slice(hist::percentiles_line(slots, totals, style.unit).as_bytes());
    }
}

/// A map's histogram value (`value`, one copy as the BPF side keeps it) rendered with its section
/// as [`render`] prints it in text, in usecs without percentiles: what a tool's golden tests of
/// its sections compare.
pub fn text_of<T: HistTool + ?Sized, V: Log2Source>(tool: &T, key: &T::Key, value: &V) -> String {
    let style = Style {
        unit: "usecs",
        json: false,
        percentiles: false,
    };
    let h = Intervals::new(false).update((), std::slice::from_ref(value), 0);
    let mut out = Vec::new();
    render(tool, key, &h, &style, "", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Print `banner`, then every interval what `read` returns (the interval's histograms, or
/// with `--cumulative` everything since the start: see [`crate::hist::Intervals`]), until
/// `count` intervals, Ctrl-C or SIGTERM. `full_hint` ends the full-map warning
/// (`" (too many threads at once)"`). With `--prometheus` or `--textfile`, export instead:
/// see [`export`].
pub fn run<T: HistTool>(
    tool_name: &'static str,
    banner: &str,
    tool: &mut T,
    args: &HistArgs,
    json: bool,
    full_hint: &str,
    mut read: impl FnMut(&mut T) -> Result<Reading<T::Key>>,
) -> Result<()> {
    if let Some(targets) = args.export() {
        return export(
            tool_name, banner, tool, args, json, full_hint, &targets, read,
        );
    }
    let style = Style {
        unit: tool.unit().map_or(args.unit(), |(unit, _)| unit),
        json,
        percentiles: args.percentiles,
    };
    let mut full = FullMapWarning::default();
    interval::run_intervals(banner, &args.schedule(json), |now, text| {
        let reading = read(tool)?;
        tool.interval(&reading.hists, &style, &rfc3339(now), text);
        full.check(tool_name, &reading.dropped, full_hint);
        Ok(())
    })
}

/// `--prometheus ADDR`, `--textfile PATH`: every interval (1 second unless given), add what
/// `read` returns (each interval's histograms: `--cumulative` is refused with these options)
/// to counters that never reset, and publish them (see [`crate::metrics`]). Nothing goes to
/// stdout; the banner and where the metrics are go to stderr. `--json` is refused (exit 2).
#[allow(clippy::too_many_arguments)]
fn export<T: HistTool>(
    tool_name: &'static str,
    banner: &str,
    tool: &mut T,
    args: &HistArgs,
    json: bool,
    full_hint: &str,
    targets: &crate::metrics::Targets,
    mut read: impl FnMut(&mut T) -> Result<Reading<T::Key>>,
) -> Result<()> {
    if json {
        return Err(crate::Error::usage(
            "--json prints histograms: it cannot go with --prometheus or --textfile",
        ));
    }
    let state = State::new(
        tool_name,
        env!("CARGO_PKG_VERSION"),
        tool.metric(),
        tool.unit()
            .map_or(args.units_per_second(), |(_, per_second)| per_second),
    );
    let exporter = Exporter::start(state, targets)?;
    crate::log::stderr(format_args!("{banner}\n"));
    exporter.announce("Prometheus metrics");
    let schedule = Schedule {
        interval: Some(args.interval.unwrap_or(1)),
        count: args.count,
        timestamp: false,
        // No banner or framing on stdout: it stays empty.
        json: true,
    };
    let mut full = FullMapWarning::default();
    interval::run_intervals("", &schedule, |_, _| {
        let reading = read(tool)?;
        {
            let mut state = exporter.state();
            for (k, h) in &reading.hists {
                let mut labels = Labels::new();
                tool.labels(k, &mut labels);
                state.add(labels, h);
            }
            state.set_lost(&reading.dropped);
        }
        exporter.publish();
        full.check(tool_name, &reading.dropped, full_hint);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ByPid;
    impl HistTool for ByPid {
        type Key = u32;
        fn section_text(&self, key: &u32, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("\npid = {key}\n").as_bytes());
        }
        fn section_json<'a>(
            &'a self,
            key: &'a u32,
            out: &mut Vec<(&'static str, SectionValue<'a>)>,
        ) {
            out.push(("pid", SectionValue::Num((*key).into())));
        }
    }

    fn hist(slots: Vec<u64>, count: u64) -> Hist {
        Hist {
            slots,
            totals: hist::Totals {
                count,
                sum: 3,
                max: 3,
            },
        }
    }

    #[test]
    fn text_is_section_histogram_then_percentiles() {
        let style = Style {
            unit: "usecs",
            json: false,
            percentiles: true,
        };
        let mut out = Vec::new();
        render(&ByPid, &7, &hist(vec![0, 1], 1), &style, "", &mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\npid = 7
     usecs               : count    distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 1        |****************************************|
p50 <= 3 p90 <= 3 p99 <= 3 max 3 (usecs)\n"
        );
    }

    #[test]
    fn json_carries_the_section_fields() {
        let style = Style {
            unit: "msecs",
            json: true,
            percentiles: false,
        };
        let mut out = Vec::new();
        render(&ByPid, &7, &hist(vec![0, 1], 1), &style, "T", &mut out);
        let line = String::from_utf8(out).expect("utf8");
        assert!(
            line.starts_with("{\"time\":\"T\",\"pid\":7,\"unit\":\"msecs\""),
            "{line}"
        );
    }
}
