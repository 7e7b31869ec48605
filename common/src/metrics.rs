// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Prometheus export of the histogram tools (`--prometheus ADDR`, `--textfile PATH`): every
//! interval's histograms are added to counters that never reset while the tool runs, and the
//! whole state is rendered once per interval, in both exposition formats, by
//! `prometheus-client`; `/metrics` (served by `tiny_http` on its own thread) and the text file
//! hand out that rendering, so a scrape costs one copy and never waits for, or slows, the
//! tool's reading of its maps.
//!
//! What is exported, per tool (`runqlat` below):
//! - `ferroscope_runqlat_latency_seconds`: a Prometheus histogram in seconds. BPF log2 slot `i`
//!   counts integer values `2^i ..= 2^(i+1) - 1` of the tool's unit (microseconds, or
//!   milliseconds with `-m`; slot 0 also holds 0), so its bucket bound is
//!   `le = (2^(i+1) - 1) / 1e6` (or `/ 1e3`): 1e-06, 3e-06, 7e-06, ... The last slot also
//!   holds every larger value (the BPF side clamps the slot), so its bound is `+Inf`.
//!   `_bucket` is cumulative, `_count` is the `+Inf` bucket (the sum of the slots), `_sum` is
//!   the sum of the values in seconds. Sections become labels ([`crate::hist_tool::HistTool::labels`]).
//! - At most [`MAX_SERIES`] label sets per histogram: the measurements of any further label
//!   set go to one series whose labels all read `other`, and
//!   `ferroscope_folded_series_total{tool}` counts the distinct label sets folded there.
//! - `ferroscope_lost_events_total{tool,what}`: measurements the BPF side could not count
//!   because a map was full (the tool's `wakeups`, `requests`, `latencies` counters).
//! - `ferroscope_build_info{tool,version}`: 1.
//!
//! Formats: `/metrics` answers in OpenMetrics 1.0 text when the request's `Accept` header
//! prefers `application/openmetrics-text` (Prometheus itself asks for it), else in the
//! Prometheus text format 0.0.4; the text file is always 0.0.4 (node_exporter's textfile
//! collector reads nothing else).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::error::{Error, Result};
use crate::hist::Hist;

/// The most label sets one histogram exports; measurements of further ones are folded into
/// one `other` series (a tool keyed by PID on a busy host would otherwise grow without bound).
pub const MAX_SERIES: usize = 1000;

/// The value of every label of the series that holds what was folded.
pub const OTHER: &str = "other";

/// Labels of one series, in a fixed order: `[("disk", "vda"), ("flags", "Read")]`.
pub type Labels = Vec<(&'static str, String)>;

/// What a histogram metric is: its name without the `ferroscope_<tool>_` prefix and the
/// `_seconds` unit (`latency`), and its help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub help: &'static str,
}

/// One series: slot counts and the sum of values (in the tool's unit), since the start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Series {
    slots: Vec<u64>,
    sum: u64,
}

impl Series {
    fn add(&mut self, h: &Hist) {
        if self.slots.len() < h.slots.len() {
            self.slots.resize(h.slots.len(), 0);
        }
        for (a, &b) in self.slots.iter_mut().zip(&h.slots) {
            *a = a.saturating_add(b);
        }
        self.sum = self.sum.saturating_add(h.totals.sum);
    }
}

/// Everything exported, as counted since the tool started.
#[derive(Debug)]
pub struct State {
    tool: &'static str,
    version: &'static str,
    /// `ferroscope_<tool>_<metric.name>`, without the unit (the encoder adds `_seconds`).
    name: String,
    help: &'static str,
    /// The tool's unit per second: 1e6 for microseconds, 1e3 for milliseconds.
    per_second: f64,
    series: BTreeMap<Labels, Series>,
    other: Option<(Labels, Series)>,
    /// Hashes of the label sets folded into `other`, to count each once.
    folded: HashSet<u64>,
    /// The BPF side's counters of what it could not count, by what they count.
    lost: BTreeMap<&'static str, u64>,
}

impl State {
    /// `tool`'s histogram `metric` in a unit of which `per_second` make a second.
    pub fn new(tool: &'static str, version: &'static str, metric: Metric, per_second: f64) -> Self {
        Self {
            tool,
            version,
            name: format!("ferroscope_{tool}_{}", metric.name),
            help: metric.help,
            per_second,
            series: BTreeMap::new(),
            other: None,
            folded: HashSet::new(),
            lost: BTreeMap::new(),
        }
    }

    /// Add one interval's histogram of the section `labels`.
    pub fn add(&mut self, labels: Labels, h: &Hist) {
        if let Some(s) = self.series.get_mut(&labels) {
            s.add(h);
            return;
        }
        if self.series.len() < MAX_SERIES {
            self.series.entry(labels).or_default().add(h);
            return;
        }
        let mut hasher = DefaultHasher::new();
        labels.hash(&mut hasher);
        self.folded.insert(hasher.finish());
        let (_, other) = self.other.get_or_insert_with(|| {
            let names = labels.iter().map(|(k, _)| (*k, OTHER.to_string()));
            (names.collect(), Series::default())
        });
        other.add(h);
    }

    /// The BPF side's counts of measurements it dropped (totals since the start, as
    /// [`crate::hist_tool::Reading::dropped`] carries them).
    pub fn set_lost(&mut self, dropped: &[(u64, &'static str)]) {
        for &(n, what) in dropped {
            self.lost.insert(what, n);
        }
    }

    /// The bucket bounds of `n` slots, in seconds: `(2^(i+1) - 1) / per_second`, and `+Inf`
    /// for the last slot, which the BPF side clamps every larger value into.
    fn bounds(&self, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                if i + 1 == n {
                    f64::INFINITY
                } else {
                    // Divided, not multiplied by 1e-6: the quotient of two exact values is
                    // the double nearest the bound, printed as 3e-06, not 2.9999999999999997e-06.
                    crate::hist::slot_range(i).1 as f64 / self.per_second
                }
            })
            .collect()
    }

    fn encode(&self, mut enc: DescriptorEncoder) -> std::result::Result<(), std::fmt::Error> {
        let tool = [("tool", self.tool)];
        {
            let info = [("tool", self.tool), ("version", self.version)];
            let help = "ferroscope's version, as a label (value 1)";
            let mut m = enc.encode_descriptor("ferroscope_build", help, None, MetricType::Info)?;
            m.encode_info(&info)?;
        }
        {
            let help = "Measurements the BPF side could not count because a map was full";
            let mut m =
                enc.encode_descriptor("ferroscope_lost_events", help, None, MetricType::Counter)?;
            for (what, n) in &self.lost {
                let labels = [("tool", self.tool), ("what", what)];
                m.encode_family(&labels)?
                    .encode_counter::<NoLabelSet, u64, f64>(n, None)?;
            }
        }
        {
            let help = "Label sets over the series limit whose measurements went to the \
                        series labelled \"other\"";
            let mut m =
                enc.encode_descriptor("ferroscope_folded_series", help, None, MetricType::Counter)?;
            let n = self.folded.len() as u64;
            m.encode_family(&tool)?
                .encode_counter::<NoLabelSet, u64, f64>(&n, None)?;
        }
        let mut m = enc.encode_descriptor(
            &self.name,
            self.help,
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        let all = self
            .series
            .iter()
            .chain(self.other.iter().map(|(l, s)| (l, s)));
        let n = self
            .series
            .values()
            .chain(self.other.iter().map(|(_, s)| s))
            .map(|s| s.slots.len())
            .max()
            .unwrap_or(0);
        let bounds = self.bounds(n);
        for (labels, s) in all {
            let buckets: Vec<(f64, u64)> = bounds
                .iter()
                .enumerate()
                .map(|(i, &le)| (le, s.slots.get(i).copied().unwrap_or(0)))
                .collect();
            // _count is the +Inf bucket: the slots' sum, not the BPF count field, which a
            // reading may catch one update apart from the slots.
            let count = s.slots.iter().fold(0u64, |a, &b| a.saturating_add(b));
            let sum = s.sum as f64 / self.per_second;
            m.encode_family(labels)?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }
        Ok(())
    }
}

/// The [`State`] as `prometheus-client` encodes it (shared with the registry).
#[derive(Debug, Clone)]
struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock ends the tool anyway; the state is still whole.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Collector for Shared {
    fn encode(&self, enc: DescriptorEncoder) -> std::result::Result<(), std::fmt::Error> {
        self.lock().encode(enc)
    }
}

/// One rendering of the state in both formats.
#[derive(Debug, Default)]
pub struct Exposition {
    /// Prometheus text format 0.0.4.
    pub text: String,
    /// OpenMetrics 1.0 text (ends with `# EOF`).
    pub openmetrics: String,
}

/// Content type of the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// Content type of OpenMetrics 1.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Render `state` in both formats.
pub fn expose(registry: &Registry) -> Exposition {
    let mut e = Exposition::default();
    // Writing to a String cannot fail, and our collector returns only the writer's errors.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut e.text, registry);
    let _ = prometheus_client::encoding::text::encode(&mut e.openmetrics, registry);
    e
}

/// Does an `Accept` header prefer OpenMetrics to the 0.0.4 text format? Each media range's
/// `q` (default 1) decides; a tie, or a header naming neither, gives the text format.
pub fn prefers_openmetrics(accept: &str) -> bool {
    let mut om = 0.0f64;
    let mut text = 0.0f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => om = om.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    om > text
}

/// Where the exposition goes (`--prometheus`, `--textfile`).
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub listen: Option<SocketAddr>,
    pub textfile: Option<PathBuf>,
}

/// The exporter of one tool: the state, the registry that encodes it, the latest rendering
/// the listener serves, and the text file.
pub struct Exporter {
    state: Shared,
    registry: Registry,
    latest: Arc<Mutex<Arc<Exposition>>>,
    textfile: Option<PathBuf>,
    textfile_failed: bool,
    tool: &'static str,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("textfile", &self.textfile)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Bind the listener (only `targets.listen`), start its thread, and write the text file
    /// once, so that a bad address or path ends the tool before it runs. Errors: an address
    /// that cannot be bound (in use, not this host's) and a text file that cannot be written
    /// (no such directory, no permission) are usage errors (exit 2), naming the option.
    pub fn start(state: State, targets: &Targets) -> Result<Self> {
        let tool = state.tool;
        let state = Shared(Arc::new(Mutex::new(state)));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(state.clone()));
        let latest = Arc::new(Mutex::new(Arc::new(expose(&registry))));
        if let Some(addr) = targets.listen {
            let server = tiny_http::Server::http(addr)
                .map_err(|e| Error::usage(format!("--prometheus {addr}: cannot listen: {e}")))?;
            let latest = Arc::clone(&latest);
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || serve(&server, &latest))
                .map_err(|e| Error::fatal(format!("starting the metrics listener: {e}")))?;
        }
        let me = Self {
            state,
            registry,
            latest,
            textfile: targets.textfile.clone(),
            textfile_failed: false,
            tool,
        };
        if let Some(path) = &me.textfile {
            let text = me.snapshot().text.clone();
            write_atomically(path, text.as_bytes())
                .map_err(|e| Error::usage(format!("--textfile {}: {e}", path.display())))?;
        }
        Ok(me)
    }

    /// The state, to add an interval's histograms to.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The rendering `/metrics` serves now.
    pub fn snapshot(&self) -> Arc<Exposition> {
        Arc::clone(&self.latest.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Render the state and hand it to the listener and the text file. A text file that
    /// cannot be written is said once on stderr (until a write works again); the tool goes on.
    pub fn publish(&mut self) {
        let e = Arc::new(expose(&self.registry));
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&e);
        let Some(path) = &self.textfile else {
            return;
        };
        match write_atomically(path, e.text.as_bytes()) {
            Ok(()) => self.textfile_failed = false,
            Err(err) if !self.textfile_failed => {
                self.textfile_failed = true;
                eprintln!("{}: --textfile {}: {err}", self.tool, path.display());
            }
            Err(_) => {}
        }
    }
}

/// Answer requests until the process ends: `GET /metrics` (and `HEAD`) with the latest
/// rendering in the format the client prefers, `/` with a pointer to it, 404 elsewhere.
fn serve(server: &tiny_http::Server, latest: &Mutex<Arc<Exposition>>) {
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or("");
        let get = matches!(
            req.method(),
            tiny_http::Method::Get | tiny_http::Method::Head
        );
        let (status, ctype, body): (u16, &str, Vec<u8>) = match (get, path) {
            (false, _) => (405, "text/plain", b"only GET and HEAD\n".to_vec()),
            (true, "/metrics") => {
                let accept = req
                    .headers()
                    .iter()
                    .filter(|h| h.field.equiv("Accept"))
                    .map(|h| h.value.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                let e = Arc::clone(&latest.lock().unwrap_or_else(|e| e.into_inner()));
                if prefers_openmetrics(&accept) {
                    (
                        200,
                        OPENMETRICS_CONTENT_TYPE,
                        e.openmetrics.as_bytes().to_vec(),
                    )
                } else {
                    (200, TEXT_CONTENT_TYPE, e.text.as_bytes().to_vec())
                }
            }
            (true, "/") => (
                200,
                "text/plain",
                b"ferroscope: metrics at /metrics\n".to_vec(),
            ),
            (true, _) => (
                404,
                "text/plain",
                b"not found: metrics at /metrics\n".to_vec(),
            ),
        };
        let mut resp = tiny_http::Response::from_data(body).with_status_code(status);
        if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()) {
            resp.add_header(h);
        }
        // A client that hung up is its own problem.
        let _ = req.respond(resp);
    }
}

/// Write `bytes` to `path` as node_exporter's textfile collector needs: into a temporary file
/// in the same directory (named so that its `*.prom` glob skips it), then renamed over `path`,
/// so a reader sees the old file or the new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::Totals;

    fn hist(slots: &[u64], sum: u64) -> Hist {
        Hist {
            slots: slots.to_vec(),
            totals: Totals {
                count: slots.iter().sum(),
                sum,
                max: 0,
            },
        }
    }

    const LATENCY: Metric = Metric {
        name: "latency",
        help: "Run queue latency",
    };

    fn exposition(state: State) -> Exposition {
        let mut r = Registry::default();
        r.register_collector(Box::new(Shared(Arc::new(Mutex::new(state)))));
        expose(&r)
    }

    #[test]
    fn golden_text_of_a_known_histogram() {
        let mut s = State::new("runqlat", "0.1.0", LATENCY, 1e6);
        // Values 1 (slot 0), 2 and 3 (slot 1), 100 (slot 6); 4 slots make the last one +Inf.
        s.add(vec![], &hist(&[1, 2, 0, 0], 6));
        s.add(vec![], &hist(&[0, 0, 0, 1], 100));
        s.set_lost(&[(0, "wakeups"), (3, "latencies")]);
        let e = exposition(s);
        assert_eq!(
            e.text,
            "# HELP ferroscope_build_info ferroscope's version, as a label (value 1)
# TYPE ferroscope_build_info gauge
ferroscope_build_info{tool=\"runqlat\",version=\"0.1.0\"} 1
# HELP ferroscope_lost_events_total Measurements the BPF side could not count because a map was full
# TYPE ferroscope_lost_events_total counter
ferroscope_lost_events_total{tool=\"runqlat\",what=\"latencies\"} 3
ferroscope_lost_events_total{tool=\"runqlat\",what=\"wakeups\"} 0
# HELP ferroscope_folded_series_total Label sets over the series limit whose measurements went to the series labelled \"other\"
# TYPE ferroscope_folded_series_total counter
ferroscope_folded_series_total{tool=\"runqlat\"} 0
# HELP ferroscope_runqlat_latency_seconds Run queue latency
# TYPE ferroscope_runqlat_latency_seconds histogram
ferroscope_runqlat_latency_seconds_bucket{le=\"1e-06\"} 1
ferroscope_runqlat_latency_seconds_bucket{le=\"3e-06\"} 3
ferroscope_runqlat_latency_seconds_bucket{le=\"7e-06\"} 3
ferroscope_runqlat_latency_seconds_bucket{le=\"+Inf\"} 4
ferroscope_runqlat_latency_seconds_sum 0.000106
ferroscope_runqlat_latency_seconds_count 4
"
        );
        assert!(e.openmetrics.ends_with("# EOF\n"), "{}", e.openmetrics);
        assert!(
            e.openmetrics
                .contains("# UNIT ferroscope_runqlat_latency_seconds seconds\n"),
            "{}",
            e.openmetrics
        );
    }

    #[test]
    fn bounds_are_slot_upper_values_in_seconds() {
        let s = State::new("t", "0", LATENCY, 1e6);
        let b = s.bounds(27);
        assert_eq!(b[0], 1e-6);
        assert_eq!(b[1], 3e-6);
        assert_eq!(b[9], 1023e-6);
        assert_eq!(b[25], ((1u64 << 26) - 1) as f64 / 1e6);
        assert_eq!(b[26], f64::INFINITY);
        let ms = State::new("t", "0", LATENCY, 1e3).bounds(3);
        assert_eq!(ms, [0.001, 0.003, f64::INFINITY]);
    }

    #[test]
    fn labels_and_the_series_limit() {
        let mut s = State::new("biolatency", "0", LATENCY, 1e3);
        for i in 0..MAX_SERIES + 2 {
            let labels = vec![("disk", format!("d{i}")), ("flags", "Read".into())];
            s.add(labels, &hist(&[1, 0], 1));
        }
        // The extra two, and one of them again: two label sets folded, three measurements.
        s.add(
            vec![("disk", format!("d{MAX_SERIES}")), ("flags", "Read".into())],
            &hist(&[0, 1], 2),
        );
        let text = exposition(s).text;
        assert!(
            text.contains("ferroscope_folded_series_total{tool=\"biolatency\"} 2\n"),
            "{text}"
        );
        let other =
            "ferroscope_biolatency_latency_seconds_count{disk=\"other\",flags=\"other\"} 3\n";
        assert!(text.contains(other), "{text}");
        assert!(
            text.contains(
                "ferroscope_biolatency_latency_seconds_bucket{disk=\"d0\",flags=\"Read\",le=\"0.001\"} 1\n"
            ),
            "{text}"
        );
        let series = text
            .lines()
            .filter(|l| l.starts_with("ferroscope_biolatency_latency_seconds_count"))
            .count();
        assert_eq!(series, MAX_SERIES + 1);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut s = State::new("runqlat", "0", LATENCY, 1e6);
        s.add(vec![("comm", "a\"b\\c\nd".into())], &hist(&[1, 0], 1));
        let text = exposition(s).text;
        assert!(
            text.contains("_count{comm=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn accept_header_negotiation() {
        // What Prometheus 2.42 sends.
        assert!(prefers_openmetrics(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
             version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        ));
        assert!(!prefers_openmetrics(""));
        assert!(!prefers_openmetrics("*/*"));
        assert!(!prefers_openmetrics("text/plain"));
        assert!(!prefers_openmetrics(
            "application/openmetrics-text;q=0.3, text/plain"
        ));
        assert!(prefers_openmetrics(
            "text/plain;q=0.2, Application/OpenMetrics-Text"
        ));
    }

    #[test]
    fn textfile_is_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("ferro-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("runqlat.prom");
        write_atomically(&path, b"a 1\n").expect("write");
        write_atomically(&path, b"a 2\n").expect("rewrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "a 2\n");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("readdir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("runqlat.prom")]);
        assert!(write_atomically(&dir.join("no/such/dir.prom"), b"").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
