// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! A real Prometheus server (Debian's `prometheus` package, scripts/deps) that scrapes a tool's
//! `--prometheus` listener on loopback every second, its HTTP API queried with PromQL, and
//! `promtool check metrics` for an exposition. HTTP requests go through curl.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{TempDir, prerequisite};

/// How long Prometheus may take to start (a few seconds on a loaded 2-CPU machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback address with a port nobody listened on a moment ago.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
}

/// Are `prometheus`, `promtool` and `curl` here? Outside CI their absence skips `test`; in CI
/// it fails it (scripts/deps installs them).
pub fn available(test: &str) -> bool {
    let missing = ["prometheus", "promtool", "curl"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_or(true, |s| !s.success())
        })
        .map(|b| format!("{b} is not installed (Debian packages prometheus and curl)"));
    prerequisite(test, missing)
}

/// `curl` GET of `url` with an `Accept` header: (HTTP status, Content-Type, body).
pub fn get(url: &str, accept: &str) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", "-H"])
        .arg(format!("Accept: {accept}"))
        .args(["-w", "\n%{http_code} %{content_type}", url])
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (code, ctype) = tail.split_once(' ').unwrap_or((tail, ""));
    // curl wrote the body, then a newline and the status line we asked for.
    (
        code.parse().unwrap_or(0),
        ctype.to_string(),
        body.to_string(),
    )
}

/// The value of the sample `series` (its name and labels exactly as exposed:
/// `m{errno="ENOENT"}`, or `m` for an unlabelled one) in a text exposition.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Every sample of `metric` in a text exposition: its labels as exposed (`{errno="0"}`, empty
/// for none) and its value.
pub fn samples<'a>(text: &'a str, metric: &str) -> Vec<(&'a str, f64)> {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(metric)?;
            let (labels, value) = rest.rsplit_once(' ')?;
            (labels.is_empty() || labels.starts_with('{')).then_some(())?;
            Some((labels, value.parse().ok()?))
        })
        .collect()
}

/// GET `http://ADDR/metrics` (Prometheus text format) until `done` holds for the exposition,
/// then once more a rendering later (the tool renders every second), so that counts that
/// went on past what `done` awaits fail; return that second exposition. Panics after
/// `timeout` with the last exposition.
pub fn scrape_until(addr: SocketAddr, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let url = format!("http://{addr}/metrics");
    let end = Instant::now() + timeout;
    loop {
        let (code, _, text) = get(&url, "text/plain");
        if code == 200 && done(&text) {
            thread::sleep(Duration::from_millis(1200));
            let (code, _, again) = get(&url, "text/plain");
            assert!(
                code == 200 && done(&again),
                "{url} went on: HTTP {code}\n{again}\nafter\n{text}"
            );
            return again;
        }
        assert!(
            Instant::now() < end,
            "{url} not as awaited within {timeout:?}: HTTP {code}\n{text}"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// What every event tool's exposition holds besides its counter: nothing lost
/// (`ferroscope_lost_events_total{tool,what="events"} 0`), the build-info gauge at 1 with the
/// tool and a version; and it passes `promtool check metrics`.
pub fn assert_event_tool_basics(text: &str, tool: &str) {
    let lost = format!("ferroscope_lost_events_total{{tool=\"{tool}\",what=\"events\"}}");
    assert_eq!(sample(text, &lost), Some(0.0), "{lost}: {text}");
    let info = samples(text, "ferroscope_build_info");
    let prefix = format!("{{tool=\"{tool}\",version=\"");
    assert!(
        matches!(info.as_slice(), [(l, v)] if l.starts_with(&prefix) && *v == 1.0),
        "ferroscope_build_info: {text}"
    );
    check_metrics(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

/// `promtool check metrics` of an exposition: Ok, or what promtool said.
pub fn check_metrics(exposition: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("promtool check metrics: {}: {said}", out.status))
    }
}

/// A Prometheus server scraping `targets` every second; stopped (and its data removed) on drop.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Prometheus {
    /// Start Prometheus on a free loopback port, scraping `targets` (job `ferroscope`) every
    /// second, and wait until it is ready.
    pub fn start(targets: &[SocketAddr]) -> Self {
        let dir = TempDir::new("prometheus");
        let addr = free_addr();
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: ferroscope\n    static_configs:\n      \
             - targets: [{}]\n",
            list.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let log = std::fs::File::create(dir.path().join("log")).expect("create log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Self { child, addr, dir };
        let end = Instant::now() + START_TIMEOUT;
        loop {
            if get(&format!("http://{addr}/-/ready"), "*/*").0 == 200 {
                return p;
            }
            assert!(
                Instant::now() < end,
                "prometheus not ready within {START_TIMEOUT:?}\n{}",
                p.log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Prometheus's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// An instant query: the result vector's `(labels, value)`s.
    pub fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "5", "-G", "--data-urlencode"])
            .arg(format!("query={promql}"))
            .arg(format!("http://{}/api/v1/query", self.addr))
            .stdin(Stdio::null())
            .output()
            .expect("run curl");
        let body = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{promql}: not JSON ({e}): {body}"));
        assert_eq!(v["status"], "success", "{promql}: {body}");
        v["data"]["result"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|s| {
                        let value = s["value"][1]
                            .as_str()
                            .and_then(|x| x.parse::<f64>().ok())
                            .unwrap_or(f64::NAN);
                        (s["metric"].clone(), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The single value of `promql`, if it has exactly one.
    pub fn value(&self, promql: &str) -> Option<f64> {
        match self.query(promql).as_slice() {
            [(_, v)] => Some(*v),
            _ => None,
        }
    }

    /// The `_bucket` series that `selector` names (`METRIC_bucket{disk="loop0"}`), as
    /// (le, value) pairs in increasing `le` (`+Inf` last; an unreadable bound is NaN).
    pub fn buckets(&self, selector: &str) -> Vec<(f64, f64)> {
        let mut buckets: Vec<(f64, f64)> = self
            .query(selector)
            .into_iter()
            .map(|(labels, v)| {
                let le = labels["le"].as_str().unwrap_or("nan");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap_or(f64::NAN)
                };
                (le, v)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }

    /// Wait (up to `timeout`) until `promql` has one value for which `pred` holds; return it.
    pub fn wait_value(&self, promql: &str, timeout: Duration, pred: impl Fn(f64) -> bool) -> f64 {
        let end = Instant::now() + timeout;
        loop {
            let v = self.value(promql);
            if let Some(v) = v.filter(|&v| pred(v)) {
                return v;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting on {promql} (last: {v:?}); targets: {}\n{}",
                get(&format!("http://{}/api/v1/targets", self.addr), "*/*").2,
                self.log()
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET url` as text/plain: status 200, Prometheus's text format 0.0.4, and an exposition that
/// passes promtool ([`check_metrics`]). Returns the exposition.
pub fn get_checked_text(url: &str) -> String {
    let (code, ctype, text) = get(url, "text/plain");
    assert_eq!(
        (code, ctype.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    text
}
