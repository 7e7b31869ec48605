// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! syscount against real syscalls: a helper process that, once told, makes a known number of
//! getppid() calls, opens of a missing file (ENOENT), 50 ms sleeps and i386 getpid() calls
//! (int 0x80), and the counts the tool prints for it: by syscall, by process, failed only, by
//! errno, with latency, as JSON, next to libbpf-tools' own. Tests named `root_*` need root
//! and BPF.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{Cgroup, TempDir, Tool, bpf_ready, is_hms};

const BIN: &str = env!("CARGO_BIN_EXE_syscount");

const BANNER: &str = "Tracing syscalls, printing top 10... Ctrl+C to quit.";

const HELPER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* i386's getpid (20) through int 0x80: a compat syscall, numbered in i386's table. */
static long int80_getpid(void)
{
	long ret = -1;
#if defined(__x86_64__)
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
#endif
	return ret;
}

/* argv: getppid calls, failed opens, 50 ms sleeps, i386 getpid calls. Says "ready", waits for
 * a byte on stdin, makes them, says "done int80=R pid=P", waits again. */
int main(int argc, char **argv)
{
	char c;
	long r = -1;
	if (argc < 5)
		return 2;
	long n = atol(argv[1]), m = atol(argv[2]), k = atol(argv[3]), x = atol(argv[4]);
	printf("ready\n");
	fflush(stdout);
	if (read(0, &c, 1) != 1)
		return 1;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	for (long i = 0; i < m; i++)
		open("/nonexistent-ferroscope-syscount", O_RDONLY);
	for (long i = 0; i < k; i++) {
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	for (long i = 0; i < x; i++)
		r = int80_getpid();
	printf("done int80=%ld pid=%d\n", r, getpid());
	fflush(stdout);
	return read(0, &c, 1) == 1 ? 0 : 1;
}
"#;

/// The helper, compiled once per test into its own directory (its comm is `sysloop`).
struct Helper {
    _dir: TempDir,
    bin: PathBuf,
}

impl Helper {
    fn build() -> Self {
        let dir = TempDir::new("ferroscope-syscount");
        let bin = testkit::compile_c(dir.path(), "sysloop", HELPER);
        Self { _dir: dir, bin }
    }

    /// Start it with these counts (getppid calls, failed opens, 50 ms sleeps, i386 getpids),
    /// and wait until it is ready: what it does before then is not counted by a tool started
    /// afterwards with `-p`.
    fn start(&self, counts: [u32; 4]) -> Running {
        Running::new(Command::new(&self.bin).args(counts.map(|c| c.to_string())))
    }
}

/// A started helper.
struct Running {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Running {
    fn new(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn helper");
        let mut out = BufReader::new(child.stdout.take().expect("stdout piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("helper's ready line");
        assert_eq!(line, "ready\n");
        Self { child, out }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Make the syscalls; returns its `done` line once they have all returned: after the go
    /// read's return, N getppid, M openat, K clock_nanosleep, X i386 getpid, one getpid and
    /// one write.
    fn go(&mut self) -> String {
        let stdin = self.child.stdin.as_mut().expect("stdin piped");
        stdin.write_all(b"\n").expect("tell the helper to go");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("helper's done line");
        assert!(line.starts_with("done "), "{line:?}");
        // The line may be read before the write that sent it has returned: wait until the
        // helper waits in its last read, so that the write is counted before the tool stops.
        let path = format!("/proc/{}/syscall", self.child.id());
        let read = format!("{} ", libc::SYS_read);
        let end = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with(&read)) {
            assert!(Instant::now() < end, "the helper never waited in read");
            std::thread::sleep(Duration::from_millis(5));
        }
        line
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rows of the text output: (first column, COUNT, TIME if -L), the first column being the
/// first 22 characters (libbpf-tools' `%-22s`) trimmed.
fn rows(out: &str) -> Vec<(String, u64, Option<f64>)> {
    out.lines()
        .filter(|l| l.len() > 23 && !l.starts_with("SYSCALL") && !l.starts_with("PID "))
        .filter_map(|l| {
            let (key, rest) = l.split_at(22);
            let mut cols = rest.split_whitespace();
            let count = cols.next()?.parse().ok()?;
            let time = cols.next().and_then(|t| t.parse().ok());
            Some((key.trim_end().to_owned(), count, time))
        })
        .collect()
}

/// The COUNT of the row whose first column is `key`, if there is one.
fn count(out: &str, key: &str) -> Option<u64> {
    rows(out)
        .into_iter()
        .find(|(k, ..)| k == key)
        .map(|(_, c, _)| c)
}

#[test]
fn root_getppid_counted_exactly_for_one_process() {
    if !bpf_ready("root_getppid_counted_exactly_for_one_process") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([20000, 0, 0, 0]);
    let t = Tool::spawn(BIN, &["-p", &h.pid()]).ready();
    h.go();
    let out = t.interrupt().success();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&BANNER), "{out}");
    let stamp = lines.get(1).copied().unwrap_or_default();
    assert!(
        stamp.starts_with('[') && stamp.ends_with(']') && is_hms(&stamp[1..stamp.len() - 1]),
        "{out}"
    );
    assert_eq!(
        lines.get(2),
        Some(&"SYSCALL                   COUNT"),
        "{out}"
    );
    assert_eq!(count(&out.stdout, "getppid"), Some(20000), "{out}");
    // The go read's return, the done line's getpid and write: nothing else of the helper's.
    assert_eq!(count(&out.stdout, "read"), Some(1), "{out}");
    assert_eq!(count(&out.stdout, "getpid"), Some(1), "{out}");
    assert_eq!(count(&out.stdout, "write"), Some(1), "{out}");
    assert_eq!(rows(&out.stdout).len(), 4, "{out}");
    assert_eq!(
        out.lines().last(),
        Some(""),
        "a report ends with an empty line: {out}"
    );
}

/// The hooks `-v` names: tp_btf, or with FERROSCOPE_DISABLE=tp_btf raw tracepoints, which
/// count the same.
#[test]
fn root_tp_btf_or_raw_tracepoints() {
    if !bpf_ready("root_tp_btf_or_raw_tracepoints") {
        return;
    }
    let helper = Helper::build();
    for raw in [false, true] {
        let mut h = helper.start([300, 0, 0, 0]);
        let mut cmd = Command::new(BIN);
        cmd.args(["-v", "-L", "-p", &h.pid()]);
        let want = if raw || testkit::feature_disabled("tp_btf") {
            "raw tracepoints"
        } else {
            "tp_btf"
        };
        if raw {
            cmd.env("FERROSCOPE_DISABLE", "tp_btf");
        }
        let t = Tool::spawn_cmd(&mut cmd).ready();
        h.go();
        let out = t.interrupt().success();
        // Task storage maps came in 5.11.
        let times = if want == "tp_btf"
            && !testkit::feature_disabled("task_storage")
            && testkit::kernel_at_least(5, 11)
        {
            "task storage"
        } else {
            "a hash map"
        };
        assert!(
            out.stderr.contains(&format!(
                "attached to raw_syscalls:sys_enter and sys_exit as {want}; counts in a \
                 per-CPU array by syscall, entry times in {times}"
            )),
            "{out}"
        );
        assert_eq!(count(&out.stdout, "getppid"), Some(300), "{out}");
    }
}

#[test]
fn root_failed_syscalls_and_errno_filter() {
    if !bpf_ready("root_failed_syscalls_and_errno_filter") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([100, 7, 0, 0]);
    let pid = h.pid();
    let failed = Tool::spawn(BIN, &["-x", "-p", &pid]).ready();
    let enoent = Tool::spawn(BIN, &["-e", "ENOENT", "-p", &pid]).ready();
    let eperm = Tool::spawn(BIN, &["--errno=1", "-p", &pid]).ready();
    h.go();
    for t in [failed, enoent] {
        let out = t.interrupt().success();
        let got: Vec<(String, u64)> = rows(&out.stdout)
            .into_iter()
            .map(|(k, c, _)| (k, c))
            .collect();
        assert_eq!(got, [("openat".to_owned(), 7)], "{out}");
    }
    // Nothing failed with EPERM: an empty report prints nothing, not even its time.
    let out = eperm.interrupt().success();
    assert_eq!(out.stdout, format!("{BANNER}\n"), "{out}");
}

#[test]
fn root_latency_of_sleeps() {
    if !bpf_ready("root_latency_of_sleeps") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([0, 0, 3, 0]);
    let pid = h.pid();
    let ms = Tool::spawn(BIN, &["-L", "-m", "-p", &pid]).ready();
    let us = Tool::spawn(BIN, &["-L", "-p", &pid]).ready();
    h.go();
    for (t, header, min) in [
        (
            ms,
            "SYSCALL                   COUNT        TIME (ms)",
            150.0,
        ),
        (
            us,
            "SYSCALL                   COUNT        TIME (us)",
            150_000.0,
        ),
    ] {
        let out = t.interrupt().success();
        assert!(out.lines().any(|l| l == header), "{out}");
        let row = rows(&out.stdout)
            .into_iter()
            .find(|(k, ..)| k == "clock_nanosleep")
            .unwrap_or_else(|| panic!("no clock_nanosleep row: {out}"));
        assert_eq!(row.1, 3, "{out}");
        let time = row.2.unwrap_or_else(|| panic!("no TIME column: {out}"));
        // Three 50 ms sleeps: at least 150 ms, and not absurdly more.
        assert!(time >= min && time < min * 20.0, "{out}");
        // Sorted by time: the sleeps first.
        assert_eq!(rows(&out.stdout)[0].0, "clock_nanosleep", "{out}");
    }
}

#[test]
fn root_counts_by_process_with_comm() {
    if !bpf_ready("root_counts_by_process_with_comm") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([20000, 0, 0, 0]);
    let pid = h.pid();
    let all = Tool::spawn(BIN, &["-P", "-T", "1000"]).ready();
    let one = Tool::spawn(BIN, &["-P", "-L", "-p", &pid]).ready();
    h.go();
    let key = format!("{pid:<6} sysloop");
    let out = all.interrupt().success();
    assert!(
        out.lines().any(|l| l == "PID    COMM               COUNT"),
        "{out}"
    );
    assert!(
        count(&out.stdout, &key).is_some_and(|c| c >= 20000),
        "{out}"
    );
    let out = one.interrupt().success();
    assert!(
        out.lines()
            .any(|l| l == "PID    COMM               COUNT        TIME (us)"),
        "{out}"
    );
    // getppid, the done line's getpid and write; not the go read, which entered before the
    // tool started (-L counts only syscalls it saw enter).
    assert_eq!(count(&out.stdout, &key), Some(20002), "{out}");
    assert_eq!(rows(&out.stdout).len(), 1, "{out}");
}

#[test]
fn root_cgroup_filter() {
    if !bpf_ready("root_cgroup_filter") {
        return;
    }
    let helper = Helper::build();
    let cg = Cgroup::new("ferroscope-syscount");
    let t = Tool::spawn(BIN, &["-c", cg.path()]).ready();
    let script = format!("exec {} 300 0 0 0", helper.bin.display());
    let mut h = Running::new(&mut cg.shell("sh", &script));
    cg.wait_for(h.child.id());
    h.go();
    let out = t.interrupt().success();
    assert_eq!(count(&out.stdout, "getppid"), Some(300), "{out}");
    drop(h);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn root_compat_syscalls_named_from_i386() {
    if !bpf_ready("root_compat_syscalls_named_from_i386") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([0, 0, 0, 50]);
    let pid = h.pid();
    let t = Tool::spawn(BIN, &["-p", &pid]).ready();
    let json = Tool::spawn(BIN, &["--json", "-v", "-p", &pid]).ready();
    let done = h.go();
    let out = t.interrupt().success();
    let json = json.interrupt().success();
    let missing = (!done.contains(&format!("int80={pid} ")))
        .then(|| format!("int 0x80 does not run i386 syscalls here ({})", done.trim()));
    if !testkit::prerequisite("root_compat_syscalls_named_from_i386", missing) {
        return;
    }
    // i386's getpid (20) is x86_64's writev: named from the right table, with its ABI.
    assert_eq!(count(&out.stdout, "getpid (i386)"), Some(50), "{out}");
    assert_eq!(count(&out.stdout, "writev"), None, "{out}");
    let compat: Vec<serde_json::Value> = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["abi"] == "i386")
        .collect();
    assert_eq!(compat.len(), 1, "{json}");
    assert_eq!(
        (&compat[0]["syscall"], &compat[0]["nr"], &compat[0]["count"]),
        (&"getpid".into(), &20.into(), &50.into()),
        "{json}"
    );
}

#[test]
fn root_json_rows() {
    if !bpf_ready("root_json_rows") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([500, 0, 1, 0]);
    let pid = h.pid();
    let t = Tool::spawn(BIN, &["--json", "-v", "-L", "-p", &pid]).ready();
    h.go();
    let out = t.interrupt().success();
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out}")))
        .collect();
    // getppid, clock_nanosleep, getpid, write; not the go read, which entered before the
    // tool started.
    assert_eq!(rows.len(), 4, "{out}");
    for r in &rows {
        assert!(r["time"].as_str().is_some_and(|t| t.contains('T')), "{out}");
        assert_eq!(r["abi"], std::env::consts::ARCH, "{out}");
        assert!(r["nr"].is_u64() && r["total_ns"].is_u64(), "{out}");
    }
    let getppid = rows
        .iter()
        .find(|r| r["syscall"] == "getppid")
        .unwrap_or_else(|| panic!("no getppid: {out}"));
    assert_eq!(getppid["count"], 500, "{out}");
    #[cfg(target_arch = "x86_64")]
    assert_eq!(getppid["nr"], 110, "{out}");
    let sleep = rows
        .iter()
        .find(|r| r["syscall"] == "clock_nanosleep")
        .unwrap_or_else(|| panic!("no clock_nanosleep: {out}"));
    assert!(sleep["total_ns"].as_u64() >= Some(50_000_000), "{out}");
    // Sorted by total time with -L: the sleep first.
    assert_eq!(rows[0]["syscall"], "clock_nanosleep", "{out}");
}

#[test]
fn root_interval_and_duration() {
    if !bpf_ready("root_interval_and_duration") {
        return;
    }
    let helper = Helper::build();
    let mut h = helper.start([1000, 0, 0, 0]);
    let t = Tool::spawn(BIN, &["-i", "1", "-d", "3", "-T", "1", "-p", &h.pid()]).ready();
    h.go();
    // -d ends it by itself; the helper's syscalls fall in one interval, and the intervals
    // that counted nothing print nothing.
    let out = t.finish(Duration::from_secs(30)).success();
    let reports = out.lines().filter(|l| l.starts_with('[')).count();
    assert_eq!(reports, 1, "{out}");
    assert_eq!(
        rows(&out.stdout),
        [("getppid".to_owned(), 1000, None)],
        "-T 1: {out}"
    );
}

#[test]
fn root_rows_match_libbpf_tools() {
    let Some(reference) = testkit::reference_tool("root_rows_match_libbpf_tools", "syscount")
    else {
        return;
    };
    if !bpf_ready("root_rows_match_libbpf_tools") {
        return;
    }
    let helper = Helper::build();
    for opt in ["-p", "-L", "-P"] {
        // A helper per run, its syscalls made while both tools trace it.
        let mut h = helper.start([5000, 3, 2, 0]);
        let pid = h.pid();
        let args: Vec<&str> = if opt == "-p" {
            vec!["-p", &pid]
        } else {
            vec![opt, "-p", &pid]
        };
        let theirs = testkit::spawn_reference(&reference, &args);
        let ours = Tool::spawn(BIN, &args).ready();
        h.go();
        let theirs = theirs.interrupt();
        let ours = ours.interrupt().success();
        if opt == "-L" {
            // Times differ: the same header, syscalls and counts.
            let strip = |out: &testkit::Finished| {
                let mut v: Vec<(String, u64)> = rows(&out.stdout)
                    .into_iter()
                    .map(|(k, c, _)| (k, c))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(strip(&theirs), strip(&ours), "{theirs}\n{ours}");
            let header = |out: &testkit::Finished| {
                out.lines()
                    .find(|l| l.starts_with("SYSCALL"))
                    .map(str::to_owned)
            };
            assert_eq!(header(&theirs), header(&ours), "{theirs}\n{ours}");
            assert!(header(&ours).is_some(), "{ours}");
            continue;
        }
        // The same lines, byte for byte, but the time stamp (rows of equal counts in any order).
        let shape = |out: &testkit::Finished| -> Vec<String> {
            let mut v: Vec<String> = out
                .lines()
                .map(|l| {
                    if l.starts_with('[') {
                        "[time]".to_owned()
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            shape(&theirs),
            shape(&ours),
            "{args:?}\n--- theirs ---\n{theirs}\n--- ours ---\n{ours}"
        );
        assert!(!rows(&ours.stdout).is_empty(), "{ours}");
    }
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let trigger = || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    };
    for out in testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &["-i", "1"], trigger) {
        assert!(
            out.lines().any(|l| l == "SYSCALL                   COUNT"),
            "final report: {out}"
        );
    }
}

#[test]
fn list_names_the_syscalls_without_privileges() {
    let out = testkit::run(Command::new(BIN).arg("-l")).success();
    #[cfg(target_arch = "x86_64")]
    {
        assert!(out.stdout.starts_with("  0: read\n  1: write\n"), "{out}");
        assert!(out.lines().any(|l| l == "110: getppid"), "{out}");
        // Past Debian's libbpf-tools 0.26 table, which ends at 438.
        assert!(out.lines().any(|l| l == "439: faccessat2"), "{out}");
    }
    assert!(out.lines().count() > 300, "{out}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "syscount",
        &[
            &["-T", "0"],
            &["-e", "EBOGUS"],
            &["-e", "0"],
            &["-e", "4096"],
            &["-i", "-1"],
            &["-d", "0"],
            &["-p", "0"],
            &["-c", "/nonexistent-ferroscope"],
            &["-c", "/proc"],
            &["--container", ""],
            &["--container", "a/b"],
            &["--prometheus", "9435"],
            &["--prometheus", "127.0.0.1:1", "--json"],
            &["--textfile", "a.prom", "--json"],
            &["--textfile", ""],
            &["surplus"],
        ],
    );
}

#[test]
fn docs() {
    testkit::docs::assert_docs(BIN, "syscount");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "syscount");
}
