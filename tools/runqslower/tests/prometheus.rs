// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! runqslower --prometheus: known run queue waits of one thread (a real-time thread of its CPU
//! holds it back), counted in the one series, read from `/metrics`.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use testkit::prometheus::{self, free_addr, sample, samples};
use testkit::{Tool, bpf_ready, columns};

const BIN: &str = env!("CARGO_BIN_EXE_runqslower");
const METRIC: &str = "ferroscope_runqslower_events_total";

/// The first CPU this thread may run on.
fn first_cpu() -> usize {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is this thread; the size is the set's.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) };
    assert_eq!(rc, 0, "sched_getaffinity");
    // SAFETY: CPU_ISSET reads the set within its size.
    (0..libc::CPU_SETSIZE as usize)
        .find(|&c| unsafe { libc::CPU_ISSET(c, &allowed) })
        .expect("an allowed CPU")
}

/// Make this thread SCHED_FIFO (priority 1): it runs as soon as it is woken, before any
/// normal thread of its CPU.
fn real_time() {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: pid 0 is this thread; a valid parameter.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    assert_eq!(rc, 0, "SCHED_FIFO: {}", std::io::Error::last_os_error());
}

fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within it.
    let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu, &mut one) };
    // SAFETY: pid 0 is this thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) };
    assert_eq!(rc, 0, "sched_setaffinity");
}

/// Rounds of a known run queue wait: a SCHED_FIFO thread and a normal one (the waiter),
/// pinned to one CPU. Each round the real-time thread wakes the waiter and then spins for
/// [`HOLD`], so that the waiter, runnable, waits that long before it runs; the waiter then
/// says it ran and sleeps until the next round.
struct Waits {
    waiter: u32,
    round: mpsc::Sender<()>,
    ran: mpsc::Receiver<()>,
    threads: Vec<thread::JoinHandle<()>>,
}

const HOLD: Duration = Duration::from_millis(5);

impl Waits {
    fn new() -> Self {
        let cpu = first_cpu();
        let (round, hog_rx) = mpsc::channel::<()>();
        let (wake, waiter_rx) = mpsc::channel::<()>();
        let (ran_tx, ran) = mpsc::channel();
        let (tid_tx, tid_rx) = mpsc::channel();
        let hog = thread::spawn(move || {
            pin(cpu);
            real_time();
            for () in hog_rx {
                wake.send(()).expect("wake the waiter");
                let end = Instant::now() + HOLD;
                while Instant::now() < end {
                    std::hint::spin_loop();
                }
            }
        });
        let waiter = thread::spawn(move || {
            pin(cpu);
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() } as u32).expect("tid");
            for () in waiter_rx {
                ran_tx.send(()).expect("say it ran");
            }
        });
        Self {
            waiter: tid_rx.recv().expect("the waiter's tid"),
            round,
            ran,
            threads: vec![hog, waiter],
        }
    }

    /// `n` rounds, one after the other; then the threads end.
    fn run(self, n: usize) {
        for _ in 0..n {
            self.round.send(()).expect("start a round");
            self.ran.recv().expect("the waiter ran");
        }
        drop(self.round);
        for t in self.threads {
            t.join().expect("thread");
        }
    }
}

/// N rounds of a wait of 5 ms (a real-time thread holds the CPU after waking the waiter), both
/// tools filtered to the waiter (`-t`) with a threshold of 1 ms, far from the waits made: the
/// printing twin shows at least the N waits of 4 ms or more (a wait another task of the CPU
/// causes could come too), and the exporter's one series equals the twin's rows; nothing lost,
/// build info there, promtool passes.
#[test]
fn root_prometheus_counts_waits_of_one_thread() {
    let test = "root_prometheus_counts_waits_of_one_thread";
    if !bpf_ready(test) || !prometheus::available(test) {
        return;
    }
    const N: usize = 8;
    let waits = Waits::new();
    let tid = waits.waiter.to_string();
    let addr = free_addr();
    let twin = Tool::spawn(BIN, &["-t", &tid, "1000"]).ready();
    let tool = Tool::spawn(
        BIN,
        &["-v", "-t", &tid, "--prometheus", &addr.to_string(), "1000"],
    )
    .ready();
    waits.run(N);
    // The banner, the header and the rows; LAT(us) is the fourth column.
    let long = |l: &[String]| {
        l.iter()
            .skip(2)
            .filter(|r| columns(r).get(3).and_then(|v| v.parse::<u64>().ok()) >= Some(4000))
            .count()
    };
    twin.wait_lines("N rows", |l| long(l) >= N);
    let text = prometheus::scrape_until(addr, Duration::from_secs(10), |t| {
        sample(t, METRIC) == Some((twin.lines().len() - 2) as f64)
    });
    assert_eq!(samples(&text, METRIC).len(), 1, "one series: {text}");
    prometheus::assert_event_tool_basics(&text, "runqslower");
    let twin = twin.interrupt().success();
    let rows = twin.lines().count() - 2;
    assert_eq!(sample(&text, METRIC), Some(rows as f64), "{twin}\n{text}");
    let out = tool.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
}
