// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqlat against the real scheduler: tests keep more threads busy than there are CPUs, so
//! tasks really wait on the run queue, and read the histograms the tool prints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Tool, bpf_ready, hist_row_counts, me};

const BIN: &str = env!("CARGO_BIN_EXE_runqlat");

/// Threads named `ferro-spin` that burn CPU until dropped: more of them than CPUs.
struct Spinners {
    stop: Arc<AtomicBool>,
    go: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Spinners {
    fn start() -> Self {
        let load = Self::named();
        load.go();
        load
    }

    /// The threads, named but idle until [`Spinners::go`]: a thread names itself after it
    /// starts, and a tool already tracing could record it under its creator's name.
    fn named() -> Self {
        let n = thread::available_parallelism().map_or(2, |n| n.get()) + 2;
        let stop = Arc::new(AtomicBool::new(false));
        let go = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let (stop, go) = (Arc::clone(&stop), Arc::clone(&go));
                thread::Builder::new()
                    .name("ferro-spin".into())
                    .spawn(move || {
                        while !go.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                            thread::sleep(Duration::from_millis(1));
                        }
                        let mut x = 0u64;
                        let end = Instant::now() + Duration::from_secs(30);
                        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                            x = x.wrapping_mul(31).wrapping_add(7);
                            std::hint::black_box(x);
                        }
                    })
                    .expect("spawn spinner")
            })
            .collect();
        Self { stop, go, threads }
    }

    fn go(&self) {
        self.go.store(true, Ordering::Relaxed);
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Run the tool to its end under load. The load starts once the tool has attached: on an
/// emulated kernel (the matrix's 5.10) loading the programs with spinners competing for the one
/// CPU took most of the 30 s.
fn run_once(args: &[&str]) -> testkit::Finished {
    let load = Spinners::named();
    let t = Tool::spawn(BIN, args).ready();
    load.go();
    t.finish(Duration::from_secs(30)).success()
}

#[test]
fn root_busy_threads_give_a_histogram() {
    if !bpf_ready("root_busy_threads_give_a_histogram") {
        return;
    }
    let out = run_once(&["-p", &me(), "1", "1"]);
    testkit::hist::assert_usecs_histogram(
        &out,
        "Tracing run queue latency... Hit Ctrl-C to end.\n",
    );
}

#[test]
fn root_per_process_section_names_the_process() {
    if !bpf_ready("root_per_process_section_names_the_process") {
        return;
    }
    let out = run_once(&["-P", "-p", &me(), "1", "1"]);
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    let want = format!("\npid = {} {}\n", me(), comm.trim_end());
    assert!(out.stdout.contains(&want), "want {want:?}\n{out}");
    assert_eq!(
        out.stdout.matches("\npid = ").count(),
        1,
        "only this process: {out}"
    );
}

#[test]
fn root_per_thread_sections_show_the_threads() {
    if !bpf_ready("root_per_thread_sections_show_the_threads") {
        return;
    }
    let out = run_once(&["-L", "-p", &me(), "1", "1"]);
    let spinners = out
        .lines()
        .filter(|l| l.starts_with("tid = ") && l.ends_with(" ferro-spin"))
        .count();
    assert!(spinners >= 2, "{out}");
}

#[test]
fn root_pid_namespace_sections() {
    if !bpf_ready("root_pid_namespace_sections") {
        return;
    }
    let link = std::fs::read_link("/proc/self/ns/pid").expect("ns link");
    let inum: String = link
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let out = run_once(&["--pidnss", "-p", &me(), "1", "1"]);
    assert!(
        out.stdout.contains(&format!("\npidns = {inum} ")),
        "{inum}\n{out}"
    );
}

#[test]
fn root_milliseconds_timestamps_and_count() {
    if !bpf_ready("root_milliseconds_timestamps_and_count") {
        return;
    }
    let started = Instant::now();
    let out = run_once(&["-m", "-T", "1", "2"]);
    assert!(started.elapsed() >= Duration::from_secs(2), "{out}");
    testkit::hist::assert_msecs_with_timestamps(&out, 2);
}

#[test]
fn root_json_and_percentiles() {
    if !bpf_ready("root_json_and_percentiles") {
        return;
    }
    let out = run_once(&["--json", "--cpus", "-p", &me(), "1", "1"]);
    let mut total = 0;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["unit"], "usecs", "{v}");
        assert!(
            v["cpu"].is_u64() && v["p50"].is_u64() && v["buckets"].is_array(),
            "{v}"
        );
        total += v["count"].as_u64().expect("count");
    }
    assert!(total > 0, "{out}");
    let out = run_once(&["--percentiles", "-p", &me(), "1", "1"]);
    testkit::hist::assert_usecs_percentiles(&out);
}

#[test]
fn root_cumulative_keeps_counting() {
    if !bpf_ready("root_cumulative_keeps_counting") {
        return;
    }
    let out = run_once(&["--cumulative", "--json", "-p", &me(), "1", "2"]);
    let counts = out.json_counts();
    assert_eq!(counts.len(), 2, "{out}");
    assert!(
        counts[1] > counts[0],
        "second interval must include the first: {counts:?}"
    );
}

/// Without --cumulative each interval starts from zero. A cgroup busy only in the first of three
/// intervals must leave the third empty, which prints nothing; a histogram that was not cleared
/// (all of whose per-CPU copies must be) would print its first-interval counts again.
#[test]
fn root_intervals_start_from_zero() {
    if !bpf_ready("root_intervals_start_from_zero") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-runqlat");
    let t = Tool::spawn(BIN, &["-v", "--json", "-c", cg.path(), "1", "3"]).ready();
    {
        let _load = Spinners::start();
        let mut child = cg.shell("sh", "while :; do :; done").spawn().expect("sh");
        // Busy for 600 ms in the cgroup, counted from when it is there (a slow machine may
        // take that long to start the shell).
        cg.wait_for(child.id());
        thread::sleep(Duration::from_millis(600));
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = t.finish(Duration::from_secs(30)).success();
    let counts = out.json_counts();
    assert!(
        !counts.is_empty() && counts.len() <= 2 && counts.iter().all(|&c| c > 0),
        "busy in the first interval only, so one or two intervals with counts: {counts:?}\n{out}"
    );
}

#[test]
fn root_sigint_prints_the_final_histogram() {
    if !bpf_ready("root_sigint_prints_the_final_histogram") {
        return;
    }
    let t = Tool::spawn(BIN, &["-p", &me()]).ready();
    let load = Spinners::start();
    thread::sleep(Duration::from_millis(800));
    let out = t.interrupt().success();
    drop(load);
    testkit::hist::assert_counted(&out);
}

#[test]
fn root_cgroup_filter_measures_tasks_in_the_cgroup() {
    if !bpf_ready("root_cgroup_filter_measures_tasks_in_the_cgroup") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-runqlat");
    // The task is in the cgroup before the one-second interval starts (a slow machine can
    // take longer than that to start a shell), and the other load starts after attach.
    let load = Spinners::named();
    let mut child = cg.shell("sh", "while :; do :; done").spawn().expect("sh");
    cg.wait_for(child.id());
    let t = Tool::spawn(BIN, &["-P", "-c", cg.path(), "1", "1"]).ready();
    load.go();
    let out = t.finish(Duration::from_secs(30)).success();
    testkit::hist::end_and_assert_only_sections_of(&out, &mut child);
}

/// scripts/test reruns the root tests with FERROSCOPE_DISABLE=tp_btf; prove the raw
/// tracepoint path was the one measured then, and tp_btf otherwise.
#[test]
fn root_hook_choice_follows_the_probe() {
    if !bpf_ready("root_hook_choice_follows_the_probe") {
        return;
    }
    let want = testkit::hist::sched_attach_line("wakeup");
    let out = run_once(&["-v", "-p", &me(), "1", "1"]);
    assert!(out.stderr.contains(&want), "{want}: {out}");
    testkit::hist::assert_counted(&out);
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let _load = Spinners::start();
    let me = me();
    for out in testkit::assert_signals_pipes_and_privileges(BIN, &["-v", "-p", &me], &["1"], || {})
    {
        testkit::hist::assert_final_histogram_counted(&out);
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "runqlat",
        &[
            &["-P", "-L"][..],
            &["--pidnss", "-L"],
            &["--cpus", "-P"],
            &["0"],
            &["1", "0"],
            &["-1"],
            &["1", "2", "3"],
            &["-p", "x"],
            &["-c", "/nonexistent"],
            &["--bogus"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "runqlat");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "runqlat");
}

/// `--container` of a container that does not exist: every cgroup is another one. The first
/// interval's read puts the cgroups that had wakeups (this test's spinners', the kernel
/// threads' root cgroup) in the kernel's skip list, so in the second the kernel drops their
/// wakeups itself, and counts them (`-v`); no histogram is printed.
#[test]
fn root_container_filter_drops_other_cgroups_in_the_kernel() {
    if !bpf_ready("root_container_filter_drops_other_cgroups_in_the_kernel") {
        return;
    }
    let out = run_once(&["--container", "0123456789ab", "-v", "1", "2"]);
    testkit::container_tests::assert_kernel_dropped(&out, 1);
    assert_eq!(hist_row_counts(&out.stdout), Vec::<u64>::new(), "{out}");
}
