// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! cpudist against the real scheduler: busy shells (more than there are CPUs, so they are
//! preempted) for on-CPU time, a thread that sleeps a known time for off-CPU time, and the
//! histograms the tool prints. Tests named `root_*` need root and BPF.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use testkit::container_tests::section_count;
use testkit::{Tool, bpf_ready, hist_row_counts, me};

const BIN: &str = env!("CARGO_BIN_EXE_cpudist");

/// Shells that loop without a pause, one more than there are CPUs, so each is preempted by the
/// others; they wait on stdin until [`Busy::go`], so the tool can attach first (on an emulated
/// kernel, loading under load takes long) and filter on their PIDs. Each holds [`LOAD`] for
/// reading while it lives.
struct Busy(Vec<Child>, #[allow(dead_code)] RwLockReadGuard<'static, ()>);

/// Held for reading by every [`Busy`] and for writing by the idle-task test, which needs idle
/// CPUs: with the busy shells of the tests running beside it (the harness runs tests in
/// threads), a 2-CPU machine was idle for 7 ticks in 2 s and CI failed.
static LOAD: RwLock<()> = RwLock::new(());

impl Busy {
    fn new() -> Self {
        let guard = LOAD.read().unwrap_or_else(|e| e.into_inner());
        let n = thread::available_parallelism().map_or(2, |n| n.get()) + 1;
        Self(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "read _; while :; do :; done"])
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .spawn()
                        .expect("spawn sh")
                })
                .collect(),
            guard,
        )
    }

    fn pid(&self) -> String {
        self.0[0].id().to_string()
    }

    fn go(&mut self) {
        for c in &mut self.0 {
            let _ = c.stdin.as_mut().map(|s| s.write_all(b"\n"));
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A thread of this process that sleeps `period` again and again until dropped; `tid` is its
/// thread ID, as `-L` sections name it.
struct Sleeper {
    tid: u32,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sleeper {
    fn start(period: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("ferro-sleep".into())
            .spawn(move || {
                // SAFETY: gettid has no preconditions and cannot fail.
                let _ = tx.send(unsafe { libc::gettid() } as u32);
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(period);
                }
            })
            .expect("spawn sleeper");
        let tid = rx.recv().expect("sleeper's tid");
        Self {
            tid,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The rows `(low, high, count)` of the histogram under the section line `section` (up to the
/// next blank line); `None` without that section.
fn section_rows(text: &str, section: &str) -> Option<Vec<(u64, u64, u64)>> {
    let start = text.find(&format!("\n{section}\n"))? + section.len() + 2;
    let rest = &text[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    Some(
        rest[..end]
            .lines()
            .filter_map(|l| {
                let (range, tail) = l.split_once(':')?;
                let (low, high) = range.split_once("->")?;
                let count = tail.split('|').next()?.trim().parse().ok()?;
                Some((low.trim().parse().ok()?, high.trim().parse().ok()?, count))
            })
            .collect(),
    )
}

/// The section line of thread `tid` in `-L` output (its comm follows the TID).
fn tid_section(text: &str, tid: u32) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(&format!("tid = {tid} ")))
        .map(str::to_owned)
}

/// Run the tool with each argument list at once, start `busy` once all have attached, and
/// return what each printed.
fn run_together(busy: Option<&mut Busy>, runs: &[&[&str]]) -> Vec<testkit::Finished> {
    let tools: Vec<Tool> = runs.iter().map(|a| Tool::spawn(BIN, a).ready()).collect();
    if let Some(b) = busy {
        b.go();
    }
    tools
        .into_iter()
        .map(|t| t.finish(Duration::from_secs(30)).success())
        .collect()
}

#[test]
fn root_preempted_busy_process_shows_its_runs() {
    if !bpf_ready("root_preempted_busy_process_shows_its_runs") {
        return;
    }
    let mut busy = Busy::new();
    let pid = busy.pid();
    let out = run_together(Some(&mut busy), &[&["-P", "-p", &pid, "1", "1"]]).remove(0);
    assert!(
        out.stdout
            .starts_with("Tracing on-CPU time... Hit Ctrl-C to end.\n\n"),
        "{out}"
    );
    // -p filters in the kernel: this one process, named by its comm.
    let section = format!("pid = {pid} sh");
    let rows = section_rows(&out.stdout, &section).unwrap_or_else(|| panic!("{section}\n{out}"));
    assert_eq!(out.stdout.matches("\npid = ").count(), 1, "{out}");
    // A loop that never sleeps runs until the scheduler preempts it for another: at least a
    // few microseconds (a waking task's preemption), well under a second (the scheduler's
    // slices are milliseconds).
    let total: u64 = rows.iter().map(|r| r.2).sum();
    let within: u64 = rows
        .iter()
        .filter(|r| r.0 >= 8 && r.1 < 1_000_000)
        .map(|r| r.2)
        .sum();
    assert!(total > 0 && within * 10 >= total * 9, "{out}");
}

/// libbpf-tools counts a run only when it ends in preemption (the default here too);
/// --all-switches counts runs that end in a sleep as BCC does. A thread that sleeps 5 ms at a
/// time ends nearly every run by sleeping.
#[test]
fn root_runs_ended_by_sleeping_count_only_with_all_switches() {
    if !bpf_ready("root_runs_ended_by_sleeping_count_only_with_all_switches") {
        return;
    }
    let sleeper = Sleeper::start(Duration::from_millis(5));
    let me = me();
    let outs = run_together(
        None,
        &[
            &["-L", "-p", &me, "1", "1"],
            &["-L", "--all-switches", "-p", &me, "1", "1"],
        ],
    );
    let count = |text: &str| {
        tid_section(text, sleeper.tid).map_or(0, |s| section_count(text, &s).unwrap_or(0))
    };
    let (preempted, all) = (count(&outs[0].stdout), count(&outs[1].stdout));
    assert!(
        all >= 20 && preempted * 4 <= all,
        "runs ended by preemption {preempted}, all runs {all}\n{}\n{}",
        outs[0],
        outs[1]
    );
}

/// Off-CPU time (-O) of a thread sleeping 50 ms at a time: its times land in the 32768-65535
/// usecs slot (32-63 with -m), where libbpf-tools puts them too.
#[test]
fn root_off_cpu_sleeps_land_in_their_slot() {
    if !bpf_ready("root_off_cpu_sleeps_land_in_their_slot") {
        return;
    }
    let sleeper = Sleeper::start(Duration::from_millis(50));
    let me = me();
    let outs = run_together(
        None,
        &[
            &["-O", "-L", "-p", &me, "2", "1"],
            &["-O", "-m", "-L", "-p", &me, "2", "1"],
        ],
    );
    let tid = sleeper.tid;
    drop(sleeper);
    for (out, slot) in outs.iter().zip([(32768, 65535), (32, 63)]) {
        assert!(
            out.stdout
                .starts_with("Tracing off-CPU time... Hit Ctrl-C to end.\n"),
            "{out}"
        );
        let section = tid_section(&out.stdout, tid)
            .unwrap_or_else(|| panic!("no section for the sleeper\n{out}"));
        let rows = section_rows(&out.stdout, &section).expect("rows");
        let total: u64 = rows.iter().map(|r| r.2).sum();
        let in_slot: u64 = rows
            .iter()
            .filter(|r| (r.0, r.1) == slot)
            .map(|r| r.2)
            .sum();
        assert!(
            total >= 10 && in_slot * 4 >= total * 3,
            "{slot:?}: {in_slot} of {total}\n{out}"
        );
    }
}

/// Each CPU's idle task (PID 0) is measured as libbpf-tools measures it, unless
/// --exclude-idle. Only where the CPUs were idle meanwhile (/proc/stat): a machine loaded by
/// others may never run its idle tasks for seconds. No other test of this binary runs its busy
/// shells meanwhile ([`LOAD`]).
///
/// An idle task's run is counted only if it began after the attach and ended before the
/// report: on a quiet machine (CI's) a CPU can stay idle through the whole interval, woken only
/// by the tool's own timer, and then nothing is counted. A thread sleeping 5 ms at a time makes
/// its CPU's idle task switch in and out all along; `--all-switches` counts that thread's runs
/// (each ends in a sleep) in the `--exclude-idle` run.
#[test]
fn root_idle_tasks_unless_excluded() {
    let test = "root_idle_tasks_unless_excluded";
    if !bpf_ready(test) {
        return;
    }
    let _alone = LOAD.write().unwrap_or_else(|e| e.into_inner());
    let _waker = Sleeper::start(Duration::from_millis(5));
    // Idle time counted while each tool traces, not while the other loads (under emulation
    // loading takes seconds of busy CPU while the first one's interval runs).
    let mut outs = Vec::new();
    for args in [
        &["-P", "--all-switches", "2", "1"][..],
        &["-P", "--all-switches", "--exclude-idle", "2", "1"],
    ] {
        let t = Tool::spawn(BIN, args).ready();
        let before = idle_ticks();
        outs.push(t.finish(Duration::from_secs(30)).success());
        let idle = idle_ticks().saturating_sub(before);
        let busy = (idle < 10).then(|| format!("the CPUs were idle for only {idle} ticks in 2 s"));
        if !testkit::prerequisite(test, busy) {
            return;
        }
    }
    assert!(outs[0].stdout.contains("\npid = 0 swapper/"), "{}", outs[0]);
    assert!(
        hist_row_counts(&outs[1].stdout).iter().sum::<u64>() > 0,
        "{}",
        outs[1]
    );
    assert!(!outs[1].stdout.contains("\npid = 0 "), "{}", outs[1]);
}

/// The idle time of all CPUs so far, in USER_HZ ticks (the `cpu` line of /proc/stat).
fn idle_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").expect("read /proc/stat");
    stat.lines()
        .find(|l| l.starts_with("cpu "))
        .and_then(|l| l.split_whitespace().nth(4)?.parse().ok())
        .expect("idle ticks in /proc/stat")
}

#[test]
fn root_milliseconds_timestamps_and_count() {
    if !bpf_ready("root_milliseconds_timestamps_and_count") {
        return;
    }
    let mut busy = Busy::new();
    let started = Instant::now();
    let out = run_together(Some(&mut busy), &[&["-m", "-T", "1", "2"]]).remove(0);
    assert!(started.elapsed() >= Duration::from_secs(2), "{out}");
    testkit::hist::assert_msecs_with_timestamps(&out, 2);
}

#[test]
fn root_json_extension_and_percentiles() {
    if !bpf_ready("root_json_extension_and_percentiles") {
        return;
    }
    let mut busy = Busy::new();
    let pid = busy.pid();
    let outs = run_together(
        Some(&mut busy),
        &[
            &["--json", "-v", "-P", "-p", &pid, "1", "1"],
            &["-e", "--percentiles", "-p", &pid, "1", "1"],
        ],
    );
    let lines = testkit::hist::json_objects(&outs[0]);
    assert_eq!(lines.len(), 1, "{}", outs[0]);
    let v = &lines[0];
    assert_eq!(v["pid"].to_string(), pid, "{v}");
    assert_eq!(v["comm"], "sh", "{v}");
    assert_eq!(v["unit"], "usecs", "{v}");
    assert!(v["time"].is_string() && v["p50"].is_u64(), "{v}");
    testkit::hist::assert_json_buckets_hold_count(v);
    assert!(
        v["sum"]
            .as_u64()
            .is_some_and(|s| s >= v["max"].as_u64().unwrap_or(u64::MAX))
    );

    let text = &outs[1];
    assert!(
        text.lines().any(|l| {
            l.starts_with("avg = ") && l.contains(" usecs, total: ") && l.contains(", count: ")
        }),
        "{text}"
    );
    testkit::hist::assert_usecs_percentiles(text);
}

#[test]
fn root_cgroup_filter_measures_tasks_in_the_cgroup() {
    if !bpf_ready("root_cgroup_filter_measures_tasks_in_the_cgroup") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-cpudist");
    let mut busy = Busy::new();
    let mut child = cg.shell("sh", "while :; do :; done").spawn().expect("sh");
    cg.wait_for(child.id());
    let out = run_together(Some(&mut busy), &[&["-P", "-c", cg.path(), "1", "1"]]).remove(0);
    testkit::hist::end_and_assert_only_sections_of(&out, &mut child);
}

/// scripts/test reruns the root tests with FERROSCOPE_DISABLE=tp_btf; prove the raw
/// tracepoint path was the one measured then, and tp_btf otherwise.
#[test]
fn root_hook_choice_follows_the_probe() {
    if !bpf_ready("root_hook_choice_follows_the_probe") {
        return;
    }
    let want = testkit::hist::sched_attach_line("switch");
    let mut busy = Busy::new();
    let pid = busy.pid();
    let out = run_together(Some(&mut busy), &[&["-v", "-O", "-p", &pid, "1", "1"]]).remove(0);
    assert!(out.stderr.contains(&want), "{want}: {out}");
    testkit::hist::assert_counted(&out);
}

/// The text libbpf-tools' cpudist prints for the same workload, options and interval: the
/// same banner, blank lines, section lines and histogram layout (row labels and widths); only
/// counts and bars differ.
#[test]
fn root_output_has_the_shape_of_libbpf_tools() {
    let test = "root_output_has_the_shape_of_libbpf_tools";
    let Some(path) = testkit::reference_tool(test, "cpudist") else {
        return;
    };
    for opts in [&["-P"][..], &["-O", "-L"], &["-m"]] {
        let mut busy = Busy::new();
        let pid = busy.pid();
        let mut args: Vec<&str> = opts.to_vec();
        args.extend(["-p", &pid, "2", "1"]);
        let (ours, theirs) = testkit::run_beside_reference(BIN, &path, &args, || busy.go());
        assert_eq!(
            shape(&ours.stdout),
            shape(&theirs.stdout),
            "{args:?}\n{ours}\n{theirs}"
        );
    }
}

/// `text` with each histogram's rows cut to the first (which both tools print whatever the
/// times) and its count and bar left out. common::hist's unit tests hold the rows' layout
/// byte for byte.
fn shape(text: &str) -> String {
    let mut out = String::new();
    let mut rows = 0;
    for line in text.lines() {
        if let Some((label, _)) = line.split_once(" : ").filter(|_| line.contains(" -> ")) {
            rows += 1;
            if rows == 1 {
                out.push_str(label);
                out.push_str(" : #\n");
            }
            continue;
        }
        rows = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let mut busy = Busy::new();
    busy.go();
    let pid = busy.pid();
    for out in testkit::assert_signals_pipes_and_privileges(BIN, &["-v", "-p", &pid], &["1"], || {})
    {
        testkit::hist::assert_final_histogram_counted(&out);
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "cpudist",
        &[
            &["-P", "-L"][..],
            &["-O", "--all-switches"],
            &["0"],
            &["1", "0"],
            &["-1"],
            &["1", "2", "3"],
            &["-p", "x"],
            &["-p", "0"],
            &["-c", "/nonexistent"],
            &["--bogus"],
        ],
    );
}

/// A path that is not UTF-8 is shown as its bytes (`\\xff`), as every message shows them.
#[test]
fn bad_cgroup_path_is_shown_escaped() {
    testkit::assert_bad_cgroup_path_escaped(BIN, "cpudist");
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "cpudist");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "cpudist");
}
