// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqslower against real run queue contention: two busy threads of this test process pinned
//! to one CPU, so each waits for the other's time slice; the -p, -t and -P options, JSON, and
//! Debian's libbpf-tools runqslower's rows for the same waits.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Tool, bpf_ready, columns, feature_disabled, me};

const BIN: &str = env!("CARGO_BIN_EXE_runqslower");

/// Two threads named `rqs-spin-0` and `rqs-spin-1`, pinned to the first CPU this process may
/// use; they spin for `ms` milliseconds once [`Spinners::go`] is called.
struct Spinners {
    tids: Vec<u32>,
    go: Arc<Barrier>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Spinners {
    fn new(ms: u64) -> Self {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
        let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is this thread; the size is the set's.
        let rc = unsafe {
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed)
        };
        assert_eq!(rc, 0, "sched_getaffinity");
        // SAFETY: CPU_ISSET reads the set within its size.
        let cpu = (0..libc::CPU_SETSIZE as usize)
            .find(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
            .expect("an allowed CPU");
        let ready = Arc::new(Barrier::new(3));
        let go = Arc::new(Barrier::new(3));
        let (tx, rx) = std::sync::mpsc::channel();
        let threads = (0..2)
            .map(|i| {
                let (ready, go, tx) = (Arc::clone(&ready), Arc::clone(&go), tx.clone());
                thread::Builder::new()
                    .name(format!("rqs-spin-{i}"))
                    .spawn(move || {
                        // SAFETY: as above; CPU_SET writes within the set.
                        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
                        unsafe { libc::CPU_SET(cpu, &mut one) };
                        // SAFETY: pid 0 is this thread.
                        let rc = unsafe {
                            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one)
                        };
                        assert_eq!(rc, 0, "sched_setaffinity");
                        // SAFETY: gettid has no preconditions.
                        tx.send((i, unsafe { libc::gettid() } as u32))
                            .expect("send tid");
                        ready.wait();
                        go.wait();
                        let end = Instant::now() + Duration::from_millis(ms);
                        while Instant::now() < end {
                            std::hint::spin_loop();
                        }
                    })
                    .expect("spawn")
            })
            .collect();
        ready.wait();
        let mut tids: Vec<(usize, u32)> = rx.iter().take(2).collect();
        tids.sort_unstable();
        let tids = tids.into_iter().map(|(_, tid)| tid).collect();
        Self { tids, go, threads }
    }

    /// Start spinning and wait until both are done.
    fn go(self) -> Vec<u32> {
        self.go.wait();
        for t in self.threads {
            t.join().expect("spinner");
        }
        self.tids
    }
}

/// The rows of the threads `tids`, waiting for at least one.
fn spinner_rows(t: &Tool, tids: &[u32]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<String> = t
            .lines()
            .into_iter()
            .filter(|l| {
                tids.iter()
                    .any(|tid| columns(l).get(2) == Some(&tid.to_string().as_str()))
            })
            .collect();
        if !rows.is_empty() {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "no row for {tids:?}: {:?}",
            t.lines()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn latency(line: &str) -> u64 {
    columns(line)[3]
        .parse()
        .unwrap_or_else(|e| panic!("LAT(us) of {line}: {e}"))
}

#[test]
fn root_contention_on_one_cpu_shows_the_waiting_threads() {
    if !bpf_ready("root_contention_on_one_cpu_shows_the_waiting_threads") {
        return;
    }
    let spin = Spinners::new(400);
    let t = Tool::spawn(BIN, &["-P", "-p", &me(), "500"]).ready();
    let tids = spin.go();
    // At least one spinner waits for the other (on a one-CPU guest under emulation, one may
    // run its whole time after the other without a long wait).
    let rows = spinner_rows(&t, &tids);
    let out = t.interrupt().success();
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("Tracing run queue latency higher than 500 us")
    );
    assert_eq!(
        lines.next(),
        Some("TIME     COMM             TID           LAT(us) PREV COMM        PREV TID")
    );
    for row in &rows {
        let c = columns(row);
        assert!(testkit::is_hms(c[0]), "{row}");
        assert!(c[1].starts_with("rqs-spin-"), "{row}");
        assert!(tids.iter().any(|t| c[2] == t.to_string()), "{row}");
        assert!((501..10_000_000).contains(&latency(row)), "{row}");
        // A PREV COMM may have spaces ("lto cgu.0.rcgu."): at least two more columns.
        assert!(c.len() >= 6, "PREV COMM and PREV TID: {row}");
    }
    // Only this process's threads (-p), and each wait above the threshold.
    for l in out.lines().skip(2) {
        assert!(latency(l) > 500, "{l}");
    }
}

#[test]
fn root_tid_filter_and_json() {
    if !bpf_ready("root_tid_filter_and_json") {
        return;
    }
    let spin = Spinners::new(300);
    let (a, b) = (spin.tids[0], spin.tids[1]);
    let t = Tool::spawn(BIN, &["-v", "--json", "-t", &a.to_string(), "200"]).ready();
    spin.go();
    let line = t.wait_line(&format!("\"tid\":{a},"));
    let out = t.interrupt().success();
    assert!(
        !out.stdout.contains(&format!("\"tid\":{b},")),
        "-t let thread {b} through: {out}"
    );
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["comm"], "rqs-spin-0", "{line}");
    assert_eq!(
        v["pid"].as_u64(),
        Some(me().parse().expect("pid")),
        "{line}"
    );
    assert!(v["latency_us"].as_u64().is_some_and(|l| l > 200), "{line}");
    assert!(v["prev_comm"].as_str().is_some(), "{line}");
    assert!(v["cgroup_id"].as_u64().is_some(), "{line}");
    assert!(
        !out.stdout.contains("Tracing run queue"),
        "no banner in JSON: {out}"
    );
}

/// Debian's /usr/sbin/runqslower (libbpf-tools 0.26, the same columns as HEAD) and ours, for
/// the same waits: each spinner's first row, equal byte for byte but for TIME (each prints its
/// own clock) and LAT(us) (each reads the clock in its own program), which must agree within
/// a few hundred microseconds.
#[test]
fn root_rows_match_libbpf_tools() {
    let Some(path) = testkit::reference_tool("root_rows_match_libbpf_tools", "runqslower") else {
        return;
    };
    let spin = Spinners::new(300);
    let args = ["-P", "-p", &me(), "1000"];
    let reference = testkit::spawn_reference(&path, &args);
    let ours = Tool::spawn(BIN, &args).ready();
    // The reference prints its header once attached; give its perf buffer a moment more.
    thread::sleep(Duration::from_millis(200));
    let tids = spin.go();
    // TIME is the first 8 bytes, LAT(us) the 14 right-aligned ones after COMM and TID.
    let norm = |l: &str| format!("{}{}", &l[9..33], &l[48..]);
    // The same wait in both: equal but for TIME, latencies within 500 us. Not necessarily each
    // tool's first row: under emulation one may attach a moment after the other.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (theirs, mine) = loop {
        let (t, m) = (spinner_rows(&reference, &tids), spinner_rows(&ours, &tids));
        let pair = t.iter().find_map(|a| {
            m.iter()
                .find(|b| norm(a) == norm(b) && latency(a).abs_diff(latency(b)) <= 500)
                .map(|b| (a.clone(), b.clone()))
        });
        if let Some(p) = pair {
            break p;
        }
        assert!(Instant::now() < deadline, "no common wait:\n{t:?}\n{m:?}");
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(norm(&theirs), norm(&mine));
    let ref_out = reference.interrupt();
    let our_out = ours.interrupt().success();
    assert_eq!(
        ref_out.lines().take(2).collect::<Vec<_>>(),
        our_out.lines().take(2).collect::<Vec<_>>(),
        "banner and header"
    );
}

/// tp_btf where it loads, raw tracepoints otherwise (scripts/test reruns the root tests with
/// tp_btf disabled); wakeup times in task storage on 6.4+ tp_btf.
#[test]
fn root_verbose_names_the_hooks() {
    if !bpf_ready("root_verbose_names_the_hooks") {
        return;
    }
    let want = if feature_disabled("tp_btf") {
        "runqslower: attached to sched_wakeup, sched_wakeup_new, sched_switch as raw tracepoints; wakeup times in a hash map"
    } else {
        "runqslower: attached to sched_wakeup, sched_wakeup_new, sched_switch as tp_btf; wakeup times in "
    };
    testkit::events::assert_verbose_says(BIN, want);
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let me = me();
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &["-p", &me, "100"], || {
        Spinners::new(100).go();
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "runqslower",
        &[
            &["--bogus"],
            &["0"],
            &["-1"],
            &["ten"],
            &["-p", "0"],
            &["-t", "x"],
            &["1", "2"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "runqslower");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "runqslower");
}
