// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Prometheus export (`--prometheus ADDR`, `--textfile PATH`): what the tools measured is
//! added to counters that never reset while the tool runs, and the whole state is rendered
//! once per interval, in both exposition formats, by `prometheus-client`; `/metrics` (served
//! by [`crate::http`] on its own thread) and the text file hand out that rendering, so a
//! scrape costs one copy and never waits for, or slows, the tool's reading of its maps or
//! events.
//!
//! What a histogram tool exports (`runqlat` below):
//! - `ferroscope_runqlat_latency_seconds`: a Prometheus histogram in seconds. BPF log2 slot `i`
//!   counts integer values `2^i ..= 2^(i+1) - 1` of the tool's unit (microseconds, or
//!   milliseconds with `-m`; slot 0 also holds 0), so its bucket bound is
//!   `le = (2^(i+1) - 1) / 1e6` (or `/ 1e3`): 1e-06, 3e-06, 7e-06, ... The last slot also
//!   holds every larger value (the BPF side clamps the slot), so its bound is `+Inf`.
//!   `_bucket` is cumulative, `_count` is the `+Inf` bucket (the sum of the slots), `_sum` is
//!   the sum of the values in seconds. Sections become labels ([`crate::hist_tool::HistTool::labels`]).
//!
//! What an event tool exports (`opensnoop` below):
//! - `ferroscope_opensnoop_events_total`: a counter of the events the tool would have
//!   printed, by the tool's labels ([`crate::event_tool::EventTool::labels`]).
//!
//! What a table tool exports (`syscount` below, [`State::counters`]):
//! - `ferroscope_syscount_syscalls_total` and, with `-L`, `ferroscope_syscount_syscall_seconds_total`:
//!   several counters of one label set each (`{syscall="read"}`), the second in seconds (a
//!   float), folded into `other` together.
//!
//! Every tool:
//! - At most [`MAX_SERIES`] label sets per metric: the measurements of any further label
//!   set go to one series whose labels all read `other`, and
//!   `ferroscope_folded_series_total{tool}` counts the distinct label sets folded there.
//! - `ferroscope_lost_events_total{tool,what}`: what the BPF side could not count or deliver:
//!   a histogram tool's full maps (its `wakeups`, `requests`, `latencies` counters), an event
//!   tool's full event buffer (`events`).
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

/// What a tool's metric is: its name without the `ferroscope_<tool>_` prefix and without
/// the unit or `_total` suffix the encoder adds (`latency`, `events`), and its help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub help: &'static str,
}

impl Metric {
    /// An event tool's counter, `ferroscope_<tool>_events_total`, with its help text.
    pub const fn events(help: &'static str) -> Self {
        Self {
            name: "events",
            help,
        }
    }
}

/// The value of an `errno` label for a syscall's return value `ret`: `0` for success (0 or
/// more), else the errno's name (`ENOENT` for -2) as Linux's headers spell it (through
/// `nix`), or its number where it has none.
pub fn errno_label(ret: i32) -> String {
    errno_name(ret.min(0).saturating_neg())
}

/// The name of a positive errno (`ENOENT` for 2); `0` for 0, the number for one without a
/// name.
pub fn errno_name(errno: i32) -> String {
    use nix::errno::Errno;
    match Errno::from_raw(errno) {
        Errno::UnknownErrno => errno.to_string(),
        e => format!("{e:?}"),
    }
}

/// One counter of a [`State::counters`] state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterSpec {
    pub metric: Metric,
    /// `None`: exported as counted (`ferroscope_<tool>_<name>_total`, an integer);
    /// `Some(n)`: the values added are 1/n seconds, exported in seconds
    /// (`ferroscope_<tool>_<name>_seconds_total`, a float): 1e9 for nanoseconds.
    pub per_second: Option<f64>,
}

/// One histogram series: slot counts and the sum of values (in the tool's unit), since the
/// start.
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

/// Values by label set, at most [`MAX_SERIES`] of them; the values of further label sets go
/// to one series labelled [`OTHER`], and the distinct label sets folded there are counted.
#[derive(Debug)]
struct Bounded<V> {
    series: BTreeMap<Labels, V>,
    other: Option<(Labels, V)>,
    /// Hashes of the label sets folded into `other`, to count each once.
    folded: HashSet<u64>,
}

impl<V: Default> Bounded<V> {
    fn new() -> Self {
        Self {
            series: BTreeMap::new(),
            other: None,
            folded: HashSet::new(),
        }
    }

    /// The value of `labels`' series: its own while fewer than [`MAX_SERIES`] exist, else
    /// the `other` series.
    fn get(&mut self, labels: Labels) -> &mut V {
        if self.series.contains_key(&labels) || self.series.len() < MAX_SERIES {
            return self.series.entry(labels).or_default();
        }
        let mut hasher = DefaultHasher::new();
        labels.hash(&mut hasher);
        self.folded.insert(hasher.finish());
        let (_, other) = self.other.get_or_insert_with(|| {
            let names = labels.iter().map(|(k, _)| (*k, OTHER.to_string()));
            (names.collect(), V::default())
        });
        other
    }

    /// Every series in label order, then `other`.
    fn iter(&self) -> impl Iterator<Item = (&Labels, &V)> {
        self.series
            .iter()
            .chain(self.other.iter().map(|(l, v)| (l, v)))
    }
}

/// What a tool's metric counts.
#[derive(Debug)]
enum Family {
    /// A histogram; the tool's unit per second: 1e6 for microseconds, 1e3 for milliseconds.
    Histogram {
        per_second: f64,
        series: Bounded<Series>,
    },
    /// A counter of events.
    Counter { series: Bounded<u64> },
    /// Several counters of the same label sets: one value per counter in each series.
    Counters {
        counters: Vec<(String, CounterSpec)>,
        series: Bounded<Vec<u64>>,
    },
}

/// Everything exported, as counted since the tool started.
#[derive(Debug)]
pub struct State {
    tool: &'static str,
    version: &'static str,
    /// `ferroscope_<tool>_<metric.name>`, without the unit or `_total` (the encoder adds it).
    name: String,
    help: &'static str,
    family: Family,
    /// The BPF side's counters of what it could not count, by what they count.
    lost: BTreeMap<&'static str, u64>,
}

impl State {
    /// `tool`'s histogram `metric` in a unit of which `per_second` make a second.
    pub fn new(tool: &'static str, version: &'static str, metric: Metric, per_second: f64) -> Self {
        let family = Family::Histogram {
            per_second,
            series: Bounded::new(),
        };
        Self::with(tool, version, metric, family)
    }

    /// `tool`'s counter `metric` (`events` is exported as `ferroscope_<tool>_events_total`).
    pub fn counter(tool: &'static str, version: &'static str, metric: Metric) -> Self {
        let family = Family::Counter {
            series: Bounded::new(),
        };
        Self::with(tool, version, metric, family)
    }

    /// `tool`'s `counters`, kept per label set together (see [`Self::count_all`]); the
    /// state's own metric name is the first counter's.
    pub fn counters(tool: &'static str, version: &'static str, counters: &[CounterSpec]) -> Self {
        let named = counters
            .iter()
            .map(|c| (format!("ferroscope_{tool}_{}", c.metric.name), *c))
            .collect();
        let family = Family::Counters {
            counters: named,
            series: Bounded::new(),
        };
        let first = counters
            .first()
            .map_or(Metric { name: "", help: "" }, |c| c.metric);
        Self::with(tool, version, first, family)
    }

    fn with(tool: &'static str, version: &'static str, metric: Metric, family: Family) -> Self {
        Self {
            tool,
            version,
            name: format!("ferroscope_{tool}_{}", metric.name),
            help: metric.help,
            family,
            lost: BTreeMap::new(),
        }
    }

    /// Add one interval's histogram of the section `labels` (a histogram state; a counter
    /// state has no histogram to add to and ignores it).
    pub fn add(&mut self, labels: Labels, h: &Hist) {
        if let Family::Histogram { series, .. } = &mut self.family {
            series.get(labels).add(h);
        }
    }

    /// Count `n` events of the label set `labels` (a counter state; a histogram state
    /// ignores it). `n` = 0 makes the series exist at 0, so that a rate over it starts at
    /// the tool's start rather than at its first event.
    pub fn count(&mut self, labels: Labels, n: u64) {
        if let Family::Counter { series } = &mut self.family {
            let v = series.get(labels);
            *v = v.saturating_add(n);
        }
    }

    /// Add `values` (one per counter, in the order [`Self::counters`] was given them; missing
    /// ones add 0) to the series of `labels` (a [`Self::counters`] state; others ignore it).
    pub fn count_all(&mut self, labels: Labels, values: &[u64]) {
        if let Family::Counters { counters, series } = &mut self.family {
            let v = series.get(labels);
            v.resize(counters.len(), 0);
            for (a, &b) in v.iter_mut().zip(values) {
                *a = a.saturating_add(b);
            }
        }
    }

    /// The BPF side's counts of measurements it dropped (totals since the start, as
    /// [`crate::hist_tool::Reading::dropped`] carries them).
    pub fn set_lost(&mut self, dropped: &[(u64, &'static str)]) {
        for &(n, what) in dropped {
            self.lost.insert(what, n);
        }
    }

    fn folded(&self) -> u64 {
        let n = match &self.family {
            Family::Histogram { series, .. } => series.folded.len(),
            Family::Counter { series } => series.folded.len(),
            Family::Counters { series, .. } => series.folded.len(),
        };
        n as u64
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
            let help = "Measurements the BPF side could not count or deliver because a map or \
                        the event buffer was full";
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
            let n = self.folded();
            m.encode_family(&tool)?
                .encode_counter::<NoLabelSet, u64, f64>(&n, None)?;
        }
        match &self.family {
            Family::Histogram { per_second, series } => {
                encode_histogram(&mut enc, &self.name, self.help, *per_second, series)
            }
            Family::Counter { series } => {
                let mut m =
                    enc.encode_descriptor(&self.name, self.help, None, MetricType::Counter)?;
                for (labels, n) in series.iter() {
                    m.encode_family(labels)?
                        .encode_counter::<NoLabelSet, u64, f64>(n, None)?;
                }
                Ok(())
            }
            Family::Counters { counters, series } => {
                for (i, (name, c)) in counters.iter().enumerate() {
                    let unit = c.per_second.map(|_| Unit::Seconds);
                    let help = c.metric.help;
                    let mut m =
                        enc.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
                    for (labels, v) in series.iter() {
                        let n = v.get(i).copied().unwrap_or(0);
                        let mut family = m.encode_family(labels)?;
                        match c.per_second {
                            None => family.encode_counter::<NoLabelSet, u64, f64>(&n, None)?,
                            Some(per) => family
                                .encode_counter::<NoLabelSet, f64, f64>(&(n as f64 / per), None)?,
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// The bucket bounds of `n` slots, in seconds: `(2^(i+1) - 1) / per_second`, and `+Inf`
/// for the last slot, which the BPF side clamps every larger value into.
fn bounds(per_second: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if i + 1 == n {
                f64::INFINITY
            } else {
                // Divided, not multiplied by 1e-6: the quotient of two exact values is
                // the double nearest the bound, printed as 3e-06, not 2.9999999999999997e-06.
                crate::hist::slot_range(i).1 as f64 / per_second
            }
        })
        .collect()
}

fn encode_histogram(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    per_second: f64,
    series: &Bounded<Series>,
) -> std::result::Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
    let n = series.iter().map(|(_, s)| s.slots.len()).max().unwrap_or(0);
    let bounds = bounds(per_second, n);
    for (labels, s) in series.iter() {
        let buckets: Vec<(f64, u64)> = bounds
            .iter()
            .enumerate()
            .map(|(i, &le)| (le, s.slots.get(i).copied().unwrap_or(0)))
            .collect();
        // _count is the +Inf bucket: the slots' sum, not the BPF count field, which a
        // reading may catch one update apart from the slots.
        let count = s.slots.iter().fold(0u64, |a, &b| a.saturating_add(b));
        let sum = s.sum as f64 / per_second;
        m.encode_family(labels)?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
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
    textfile_failed: std::cell::Cell<bool>,
    tool: &'static str,
    /// The address the listener got (port 0 in `--prometheus` picks a free port).
    listening: Option<SocketAddr>,
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
        let mut listening = None;
        if let Some(addr) = targets.listen {
            let listener = std::net::TcpListener::bind(addr)
                .map_err(|e| Error::usage(format!("--prometheus {addr}: cannot listen: {e}")))?;
            listening = Some(listener.local_addr().unwrap_or(addr));
            let latest = Arc::clone(&latest);
            crate::http::spawn(listener, move |req| respond(req, &latest))
                .map_err(|e| Error::fatal(format!("starting the metrics listener: {e}")))?;
        }
        let me = Self {
            state,
            registry,
            latest,
            textfile: targets.textfile.clone(),
            textfile_failed: std::cell::Cell::new(false),
            tool,
            listening,
        };
        if let Some(path) = &me.textfile {
            let text = me.snapshot().text.clone();
            write_atomically(path, text.as_bytes())
                .map_err(|e| Error::usage(textfile_problem(path, &e)))?;
        }
        Ok(me)
    }

    /// Where the metrics go, one line each for stderr: `TOOL: WHAT at http://ADDR/metrics`
    /// with the address really bound (the port the kernel chose for port 0), and
    /// `TOOL: WHAT in PATH` with the path quoted as every message quotes input.
    pub fn announcements(&self, what: &str) -> Vec<String> {
        use std::os::unix::ffi::OsStrExt as _;
        let tool = self.tool;
        let mut lines = Vec::new();
        if let Some(addr) = self.listening {
            lines.push(format!("{tool}: {what} at http://{addr}/metrics"));
        }
        if let Some(path) = &self.textfile {
            let shown = crate::error::shown(path.as_os_str().as_bytes());
            lines.push(format!("{tool}: {what} in {shown}"));
        }
        lines
    }

    /// Print [`Self::announcements`] on stderr.
    pub fn announce(&self, what: &str) {
        for line in self.announcements(what) {
            crate::log::stderr(format_args!("{line}\n"));
        }
    }

    /// The state, to add an interval's histograms or events to.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The rendering `/metrics` serves now.
    pub fn snapshot(&self) -> Arc<Exposition> {
        Arc::clone(&self.latest.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Render the state and hand it to the listener and the text file. A text file that
    /// cannot be written is said once on stderr (until a write works again); the tool goes on.
    pub fn publish(&self) {
        let e = Arc::new(expose(&self.registry));
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&e);
        let Some(path) = &self.textfile else {
            return;
        };
        match write_atomically(path, e.text.as_bytes()) {
            Ok(()) => self.textfile_failed.set(false),
            Err(err) if !self.textfile_failed.get() => {
                self.textfile_failed.set(true);
                crate::error::warn(self.tool, textfile_problem(path, &err));
            }
            Err(_) => {}
        }
    }
}

/// `--textfile PATH: problem`, the path quoted as every message quotes input
/// ([`crate::error::shown`]): a path's ESC never reaches the terminal, and a byte that is not
/// UTF-8 shows as `\xNN`, not as U+FFFD.
fn textfile_problem(path: &Path, e: &std::io::Error) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    format!(
        "--textfile {}: {e}",
        crate::error::shown(path.as_os_str().as_bytes())
    )
}

/// One format of one rendering, as a response body (no copy).
struct Body(Arc<Exposition>, bool);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        if self.1 {
            self.0.openmetrics.as_bytes()
        } else {
            self.0.text.as_bytes()
        }
    }
}

/// `GET /metrics` (and `HEAD`): the latest rendering in the format the client prefers; `/`
/// a pointer to it; 404 elsewhere; 405 for other methods.
fn respond(
    req: &crate::http::Request<'_>,
    latest: &Mutex<Arc<Exposition>>,
) -> crate::http::Response {
    use crate::http::Response;
    if req.method != "GET" && req.method != "HEAD" {
        return Response::text(405, "only GET and HEAD\n");
    }
    match req.path {
        "/metrics" => {
            let e = Arc::clone(&latest.lock().unwrap_or_else(|e| e.into_inner()));
            let om = prefers_openmetrics(&req.accept);
            Response {
                status: 200,
                content_type: if om {
                    OPENMETRICS_CONTENT_TYPE
                } else {
                    TEXT_CONTENT_TYPE
                },
                body: Box::new(Body(e, om)),
            }
        }
        "/" => Response::text(200, "ferroscope: metrics at /metrics\n"),
        _ => Response::text(404, "not found: metrics at /metrics\n"),
    }
}

/// Write `bytes` to `path` as node_exporter's textfile collector needs: into a temporary file
/// in the same directory (named so that its `*.prom` glob skips it), then renamed over `path`,
/// so a reader sees the old file or the new one, never a part. Errors: the io error of the
/// step that failed; a `path` that exists and is not a regular file is refused
/// ([`crate::replace::check`]: a rename would replace a device node such as /dev/null).
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
    crate::replace::check(path)?;
    let result = std::fs::File::create(&tmp)
        .map_err(|e| {
            // The file written is the temporary one: its error alone ("No such file or
            // directory" for --textfile /proc/version) would deny a path that exists. Where
            // the directory itself is missing, the plain error is the whole truth.
            if dir.is_dir() {
                std::io::Error::new(e.kind(), crate::replace::temp_refused(&tmp, &e))
            } else {
                e
            }
        })
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| crate::replace::check(path))
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
# HELP ferroscope_lost_events_total Measurements the BPF side could not count or deliver because a map or the event buffer was full
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
        let b = bounds(1e6, 27);
        assert_eq!(b[0], 1e-6);
        assert_eq!(b[1], 3e-6);
        assert_eq!(b[9], 1023e-6);
        assert_eq!(b[25], ((1u64 << 26) - 1) as f64 / 1e6);
        assert_eq!(b[26], f64::INFINITY);
        let ms = bounds(1e3, 3);
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
    fn errno_labels() {
        assert_eq!(errno_label(0), "0");
        assert_eq!(errno_label(7), "0");
        assert_eq!(errno_label(-2), "ENOENT");
        assert_eq!(errno_label(-13), "EACCES");
        assert_eq!(errno_label(i32::MIN), "2147483647");
        assert_eq!(errno_name(libc::ECONNREFUSED), "ECONNREFUSED");
        assert_eq!(errno_name(4000), "4000");
    }

    const EVENTS: Metric = Metric {
        name: "events",
        help: "Opens traced",
    };

    #[test]
    fn golden_text_of_event_counters() {
        let mut s = State::counter("opensnoop", "0.1.0", EVENTS);
        s.set_lost(&[(0, "events")]);
        let l = |errno: &str, c: &str| vec![("errno", errno.to_string()), ("container", c.into())];
        s.count(l("ENOENT", "-"), 1);
        s.count(l("0", "-"), 0);
        s.count(l("ENOENT", "-"), 2);
        s.count(l("0", "46441cff64eb"), 1);
        s.set_lost(&[(5, "events")]);
        let e = exposition(s);
        assert_eq!(
            e.text,
            "# HELP ferroscope_build_info ferroscope's version, as a label (value 1)
# TYPE ferroscope_build_info gauge
ferroscope_build_info{tool=\"opensnoop\",version=\"0.1.0\"} 1
# HELP ferroscope_lost_events_total Measurements the BPF side could not count or deliver because a map or the event buffer was full
# TYPE ferroscope_lost_events_total counter
ferroscope_lost_events_total{tool=\"opensnoop\",what=\"events\"} 5
# HELP ferroscope_folded_series_total Label sets over the series limit whose measurements went to the series labelled \"other\"
# TYPE ferroscope_folded_series_total counter
ferroscope_folded_series_total{tool=\"opensnoop\"} 0
# HELP ferroscope_opensnoop_events_total Opens traced
# TYPE ferroscope_opensnoop_events_total counter
ferroscope_opensnoop_events_total{errno=\"0\",container=\"-\"} 0
ferroscope_opensnoop_events_total{errno=\"0\",container=\"46441cff64eb\"} 1
ferroscope_opensnoop_events_total{errno=\"ENOENT\",container=\"-\"} 3
"
        );
        assert!(e.openmetrics.ends_with("# EOF\n"), "{}", e.openmetrics);
        assert!(
            e.openmetrics.contains(
                "ferroscope_opensnoop_events_total{errno=\"ENOENT\",container=\"-\"} 3\n"
            ),
            "{}",
            e.openmetrics
        );
    }

    #[test]
    fn an_unlabelled_counter_and_the_series_limit() {
        let mut s = State::counter("oomkill", "0", EVENTS);
        s.count(Labels::new(), 0);
        let text = exposition(s).text;
        assert!(
            text.ends_with("\nferroscope_oomkill_events_total 0\n"),
            "{text}"
        );
        let mut s = State::counter("tcpconnect", "0", EVENTS);
        for port in 0..MAX_SERIES + 5 {
            s.count(vec![("port", port.to_string())], 1);
        }
        s.count(vec![("port", MAX_SERIES.to_string())], 1);
        let text = exposition(s).text;
        assert!(
            text.contains("ferroscope_tcpconnect_events_total{port=\"other\"} 6\n"),
            "{text}"
        );
        assert!(
            text.contains("ferroscope_folded_series_total{tool=\"tcpconnect\"} 5\n"),
            "{text}"
        );
        let series = text
            .lines()
            .filter(|l| l.starts_with("ferroscope_tcpconnect_events_total{"))
            .count();
        assert_eq!(series, MAX_SERIES + 1);
    }

    #[test]
    fn golden_text_of_counters_kept_together() {
        let counters = [
            CounterSpec {
                metric: Metric {
                    name: "syscalls",
                    help: "Syscalls counted",
                },
                per_second: None,
            },
            CounterSpec {
                metric: Metric {
                    name: "syscall",
                    help: "Time in syscalls",
                },
                per_second: Some(1e9),
            },
        ];
        let mut s = State::counters("syscount", "0.1.0", &counters);
        s.set_lost(&[(0, "syscalls")]);
        let l = |sys: &str| vec![("syscall", sys.to_string())];
        s.count_all(l("read"), &[3, 1_500_000_000]);
        s.count_all(l("getppid"), &[2]);
        s.count_all(l("read"), &[1, 500_000_000]);
        let e = exposition(s);
        assert!(
            e.text.ends_with(
                "# HELP ferroscope_syscount_syscalls_total Syscalls counted
# TYPE ferroscope_syscount_syscalls_total counter
ferroscope_syscount_syscalls_total{syscall=\"getppid\"} 2
ferroscope_syscount_syscalls_total{syscall=\"read\"} 4
# HELP ferroscope_syscount_syscall_seconds_total Time in syscalls
# TYPE ferroscope_syscount_syscall_seconds_total counter
ferroscope_syscount_syscall_seconds_total{syscall=\"getppid\"} 0.0
ferroscope_syscount_syscall_seconds_total{syscall=\"read\"} 2.0
"
            ),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains("ferroscope_lost_events_total{tool=\"syscount\",what=\"syscalls\"} 0\n"),
            "{}",
            e.text
        );
        assert!(
            e.openmetrics
                .contains("# UNIT ferroscope_syscount_syscall_seconds seconds\n"),
            "{}",
            e.openmetrics
        );
        // Folded together: one `other` series in each counter.
        let mut s = State::counters("syscount", "0", &counters);
        for i in 0..MAX_SERIES + 3 {
            s.count_all(vec![("pid", i.to_string())], &[1, 1_000_000_000]);
        }
        let text = exposition(s).text;
        assert!(
            text.contains("ferroscope_syscount_syscalls_total{pid=\"other\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("ferroscope_syscount_syscall_seconds_total{pid=\"other\"} 3.0\n"),
            "{text}"
        );
        assert!(
            text.contains("ferroscope_folded_series_total{tool=\"syscount\"} 3\n"),
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

    /// A bad --textfile path is named as input is (fresh-user trial: `$'\e[2J'` cleared the
    /// terminal, `$'\xff'` showed as U+FFFD).
    #[test]
    fn bad_textfile_path_is_quoted_golden() {
        use std::os::unix::ffi::OsStrExt as _;
        let path = Path::new(std::ffi::OsStr::from_bytes(
            b"/nonexistent-ferro/\x1b[2J\xff/m.prom",
        ));
        let targets = Targets {
            listen: None,
            textfile: Some(path.to_owned()),
        };
        let e = Exporter::start(State::new("runqlat", "0", LATENCY, 1e6), &targets)
            .expect_err("no such directory");
        assert_eq!(
            e.message(),
            "--textfile /nonexistent-ferro/\\e[2J\\xff/m.prom: No such file or directory (os error 2)"
        );
        assert_eq!(e.code(), 2);
    }

    /// The start-up lines name the port the kernel chose for `:0` (a fresh-user trial was told
    /// `http://127.0.0.1:0/metrics`) and quote the text file's path as input is (`\e[2J`).
    #[test]
    fn announcements_name_the_bound_port_and_quote_the_path_golden() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = std::env::temp_dir().join(format!("ferro-announce-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(std::ffi::OsStr::from_bytes(b"m\x1b[2J\xff.prom"));
        let targets = Targets {
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            textfile: Some(path),
        };
        let x = Exporter::start(State::new("runqlat", "0", LATENCY, 1e6), &targets).expect("start");
        let lines = x.announcements("Prometheus metrics");
        let port = x.listening.expect("listening").port();
        assert_ne!(port, 0);
        assert_eq!(
            lines,
            [
                format!("runqlat: Prometheus metrics at http://127.0.0.1:{port}/metrics"),
                format!(
                    "runqlat: Prometheus metrics in {}/m\\e[2J\\xff.prom",
                    dir.display()
                ),
            ]
        );
        std::fs::remove_dir_all(&dir).expect("rm");
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
        // A device node is never replaced (--textfile /dev/null made it a regular file).
        let e = write_atomically(Path::new("/dev/null"), b"").expect_err("a device");
        assert_eq!(
            e.to_string(),
            "is a character device, not a regular file (it would be replaced)"
        );
        assert!(
            Path::new("/dev/null")
                .metadata()
                .is_ok_and(|m| !m.is_file())
        );
        // procfs refuses new files (ENOENT for root): the message names the file refused.
        let e = write_atomically(Path::new("/proc/version"), b"").expect_err("procfs");
        let tmp = format!("/proc/.version.tmp{}", std::process::id());
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("cannot create {tmp} to rename over it: ")),
            "{shown}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
