// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! One report: the rows of an interval sorted, cut to the top N, and printed as libbpf-tools
//! prints them (`[HH:MM:SS]`, the header, one row per syscall or process, an empty line) or as
//! JSON lines. With `--containers`, one table per container under its section line.

use common::output::{JsonLine, escaped};

use crate::names;

/// What one key counted in one report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// Syscall mode: the syscall's number; -P: the process ID.
    pub nr_or_pid: u32,
    /// Syscall mode: a compat (32-bit) task's syscall, numbered in the compat table.
    pub compat: bool,
    pub count: u64,
    /// -L: the syscalls' time from entry to exit, summed, in nanoseconds.
    pub total_ns: u64,
    /// -P: the process's comm (its leader's), as the kernel holds it.
    pub comm: Vec<u8>,
}

/// How rows are shown (from the options).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub process: bool,
    pub latency: bool,
    pub milliseconds: bool,
    pub top: usize,
}

impl Style {
    fn divisor(&self) -> f64 {
        if self.milliseconds { 1e6 } else { 1e3 }
    }

    /// libbpf-tools' header: `%-22s %8s` (and ` %16s` with -L).
    pub fn header(&self) -> String {
        let key = if self.process {
            "PID    COMM"
        } else {
            "SYSCALL"
        };
        if self.latency {
            let unit = if self.milliseconds {
                "TIME (ms)"
            } else {
                "TIME (us)"
            };
            format!("{key:<22} {:>8} {unit:>16}", "COUNT")
        } else {
            format!("{key:<22} {:>8}", "COUNT")
        }
    }
}

/// Sort as libbpf-tools does, by count (by total time with -L), largest first; ties by key, so
/// equal reports print alike. Keeps the top `style.top`.
pub fn top(mut rows: Vec<Row>, style: &Style) -> Vec<Row> {
    rows.sort_by(|a, b| {
        let (x, y) = if style.latency {
            (a.total_ns, b.total_ns)
        } else {
            (a.count, b.count)
        };
        y.cmp(&x)
            .then(a.compat.cmp(&b.compat))
            .then(a.nr_or_pid.cmp(&b.nr_or_pid))
    });
    rows.truncate(style.top);
    rows
}

/// The first column: the syscall's name, or `%-6u %-15s` (PID, comm) with -P.
fn key_column(r: &Row, style: &Style) -> String {
    if style.process {
        format!("{:<6} {:<15}", r.nr_or_pid, escaped(&r.comm))
    } else {
        names::column(r.nr_or_pid, r.compat)
    }
}

/// Rows of one key counted in several cgroups (a container's, the host's) added up into one
/// row per syscall (or process), in key order; a process keeps the latest name it was read
/// with.
pub fn merge(rows: impl IntoIterator<Item = Row>) -> Vec<Row> {
    let mut by_key: std::collections::BTreeMap<(bool, u32), Row> = Default::default();
    for r in rows {
        match by_key.entry((r.compat, r.nr_or_pid)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(r);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let m = o.get_mut();
                m.count = m.count.saturating_add(r.count);
                m.total_ns = m.total_ns.saturating_add(r.total_ns);
                if !r.comm.is_empty() {
                    m.comm = r.comm;
                }
            }
        }
    }
    by_key.into_values().collect()
}

/// A report as text: nothing when no row counted anything (libbpf-tools prints no time stamp
/// then either), else `[HH:MM:SS]`, the header, the rows, an empty line.
pub fn text(rows: &[Row], style: &Style, hms: &str) -> String {
    text_sections(&[(None, rows.to_vec())], style, hms)
}

/// A report of several tables (`--containers`: one per container, host tasks in their own),
/// each a section line (`container = 46441cff64eb (podman)`, `host tasks`), then as
/// [`text`] prints one: the header, the rows, an empty line. `[HH:MM:SS]` once, above the
/// first; sections without rows are left out, and a report without any prints nothing.
pub fn text_sections(sections: &[(Option<String>, Vec<Row>)], style: &Style, hms: &str) -> String {
    let mut out = String::new();
    for (label, rows) in sections.iter().filter(|(_, rows)| !rows.is_empty()) {
        if out.is_empty() {
            out = format!("[{hms}]\n");
        }
        if let Some(label) = label {
            out.push_str(label);
            out.push('\n');
        }
        out.push_str(&style.header());
        out.push('\n');
        for r in rows {
            let key = key_column(r, style);
            if style.latency {
                let t = r.total_ns as f64 / style.divisor();
                out.push_str(&format!("{key:<22} {:>8} {t:>16.3}\n", r.count));
            } else {
                out.push_str(&format!("{key:<22} {:>8}\n", r.count));
            }
        }
        out.push('\n');
    }
    out
}

/// A report as JSON, one object per row: `time` (RFC 3339, when the report was taken), then
/// `syscall` (the name, null when unknown), `nr` (its number) and `abi` (`x86_64`, `i386` for
/// a compat task's), or with -P `pid` and `comm`; `count`; with -L `total_ns`; then what
/// `fields` adds (`--containers`: the cgroup's fields, see
/// `common::container::Resolver::json_fields`).
pub fn json(
    rows: &[Row],
    style: &Style,
    time: &str,
    out: &mut Vec<u8>,
    mut fields: impl FnMut(&mut JsonLine<'_>),
) {
    for r in rows {
        let mut j = JsonLine::new(out);
        j.str("time", time.as_bytes());
        if style.process {
            j.u64("pid", r.nr_or_pid.into()).str("comm", &r.comm);
        } else {
            match names::syscall(r.nr_or_pid, r.compat) {
                Some(name) => j.str("syscall", name.as_bytes()),
                None => j.null("syscall"),
            };
            j.u64("nr", r.nr_or_pid.into())
                .str("abi", names::abi(r.compat).as_bytes());
        }
        j.u64("count", r.count);
        if style.latency {
            j.u64("total_ns", r.total_ns);
        }
        fields(&mut j);
        j.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(process: bool, latency: bool, milliseconds: bool) -> Style {
        Style {
            process,
            latency,
            milliseconds,
            top: 10,
        }
    }

    fn row(nr_or_pid: u32, count: u64, total_ns: u64) -> Row {
        Row {
            nr_or_pid,
            count,
            total_ns,
            ..Row::default()
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn text_as_libbpf_tools_prints_it() {
        let s = style(false, false, false);
        let rows = top(vec![row(0, 3, 0), row(110, 500, 0), row(999, 3, 0)], &s);
        assert_eq!(
            text(&rows, &s, "21:47:57"),
            "[21:47:57]
SYSCALL                   COUNT
getppid                     500
read                          3
[unknown: 999]                3

"
        );
        // The capture in next-tools.md 11.2 (libbpf-tools 0.26, -L -m).
        let s = style(false, true, true);
        let rows = vec![row(230, 4, 3_284_402_000)];
        assert_eq!(
            text(&rows, &s, "21:47:57"),
            "[21:47:57]
SYSCALL                   COUNT        TIME (ms)
clock_nanosleep               4         3284.402

"
        );
        let s = style(false, true, false);
        assert!(
            text(&rows, &s, "x")
                .contains("TIME (us)\nclock_nanosleep               4      3284402.000\n")
        );
    }

    #[test]
    fn processes_and_sorting() {
        let s = Style {
            top: 2,
            ..style(true, true, false)
        };
        let mut a = row(8629, 364, 10);
        a.comm = b"sleep".to_vec();
        let mut b = row(1, 1, 5_000);
        b.comm = b"bad\x1bname".to_vec();
        let c = row(2, 900, 0);
        let rows = top(vec![a, b, c], &s);
        assert_eq!(
            text(&rows, &s, "00:00:01"),
            "[00:00:01]
PID    COMM               COUNT        TIME (us)
1      bad\\ename              1            5.000
8629   sleep                364            0.010

"
        );
        assert_eq!(
            text(&[], &s, "00:00:01"),
            "",
            "an empty report prints nothing"
        );
    }

    #[test]
    fn json_rows() {
        let s = style(true, true, false);
        let mut a = row(42, 2, 7);
        a.comm = b"a\"b".to_vec();
        let mut out = Vec::new();
        json(&[a], &s, "T", &mut out, |_| {});
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"time\":\"T\",\"pid\":42,\"comm\":\"a\\\"b\",\"count\":2,\"total_ns\":7}\n"
        );
        let s = style(false, false, false);
        let mut out = Vec::new();
        json(&[row(5000, 1, 0)], &s, "T", &mut out, |j| {
            j.u64("cgroup_id", 9);
        });
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert!(v["syscall"].is_null());
        assert_eq!(v["nr"], 5000);
        assert_eq!(v["abi"], names::NATIVE_ABI);
        assert!(v.get("total_ns").is_none());
        assert_eq!(v["cgroup_id"], 9, "the fields the caller adds come last");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn one_table_per_container() {
        let s = Style {
            top: 2,
            ..style(false, false, false)
        };
        // The host's cgroups merged: read (0) from two, getppid (110) from one.
        let host = top(merge(vec![row(0, 3, 0), row(110, 1, 0), row(0, 4, 0)]), &s);
        let pod = top(
            merge(vec![row(110, 500, 0), row(1, 2, 0), row(39, 1, 0)]),
            &s,
        );
        let sections = [
            (Some("host tasks".to_owned()), host),
            (Some("container = 46441cff64eb (podman)".to_owned()), pod),
            (
                Some("container = ? (cgroup not resolved)".to_owned()),
                vec![],
            ),
        ];
        assert_eq!(
            text_sections(&sections, &s, "21:47:57"),
            "[21:47:57]
host tasks
SYSCALL                   COUNT
read                          7
getppid                       1

container = 46441cff64eb (podman)
SYSCALL                   COUNT
getppid                     500
write                         2

"
        );
        let s = style(true, true, true);
        let mut a = row(42, 2, 1_500_000);
        a.comm = b"sh".to_vec();
        let mut b = row(42, 1, 500_000);
        b.comm = b"sysloop".to_vec();
        let rows = top(merge(vec![a, b]), &s);
        assert_eq!(
            text_sections(&[(Some("host tasks".into()), rows)], &s, "00:00:01"),
            "[00:00:01]
host tasks
PID    COMM               COUNT        TIME (ms)
42     sysloop                3            2.000

"
        );
        assert_eq!(
            text_sections(&[(Some("host tasks".into()), vec![])], &s, "x"),
            ""
        );
    }
}
