// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biolatency against real block I/O: O_DIRECT reads and writes of a file on the disk that
//! holds the temp directory, so every request reaches the device.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use testkit::block::LoopDevice;
use testkit::{TempDir, Tool, bpf_ready, feature_disabled, kernel_at_least};

const BIN: &str = env!("CARGO_BIN_EXE_biolatency");
const BLOCK: usize = 4096;

/// A 4 KiB-aligned buffer, as O_DIRECT requires.
struct Aligned(Box<[u8]>, usize);

impl Aligned {
    fn new() -> Self {
        let raw = vec![0x5au8; BLOCK * 2].into_boxed_slice();
        let off = raw.as_ptr().align_offset(BLOCK);
        Self(raw, off)
    }

    fn buf(&mut self) -> &mut [u8] {
        &mut self.0[self.1..self.1 + BLOCK]
    }
}

/// O_DIRECT writes and reads in a background thread until dropped.
struct DirectIo {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    _dir: TempDir,
    path: PathBuf,
}

impl DirectIo {
    fn start() -> Self {
        // Not /tmp if that is a tmpfs: the test needs a real block device.
        let dir = TempDir::new("biolatency-io");
        let path = dir.path().join("data");
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (path.clone(), Arc::clone(&stop));
        // Opened here, not in the thread: callers stat the file as soon as this returns.
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT | libc::O_SYNC)
            .open(&p)
            .expect("O_DIRECT open (is the temp dir on a block device?)");
        let thread = thread::spawn(move || {
            let mut b = Aligned::new();
            while !s.load(Ordering::Relaxed) {
                f.seek(SeekFrom::Start(0)).expect("seek");
                for _ in 0..16 {
                    f.write_all(b.buf()).expect("direct write");
                }
                f.seek(SeekFrom::Start(0)).expect("seek");
                for _ in 0..16 {
                    f.read_exact(b.buf()).expect("direct read");
                }
                thread::sleep(Duration::from_millis(5));
            }
        });
        // Let the I/O get going before callers measure it.
        thread::sleep(Duration::from_millis(50));
        Self {
            stop,
            thread: Some(thread),
            _dir: dir,
            path,
        }
    }

    /// The whole disk the file lives on, as /proc/partitions names it.
    fn disk(&self) -> String {
        let dev = std::fs::metadata(&self.path).expect("stat").dev();
        let (major, minor) = (libc::major(dev), libc::minor(dev));
        let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
        let real = std::fs::canonicalize(&sys).expect("sysfs block device");
        let real = if real.join("partition").exists() {
            real.parent().expect("parent disk").to_path_buf()
        } else {
            real
        };
        real.file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for DirectIo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run_with_io(args: &[&str]) -> (testkit::Finished, String) {
    let io = DirectIo::start();
    let disk = io.disk();
    let out = Tool::spawn(BIN, args)
        .finish(Duration::from_secs(30))
        .success();
    drop(io);
    (out, disk)
}

#[test]
fn root_direct_io_gives_a_histogram() {
    if !bpf_ready("root_direct_io_gives_a_histogram") {
        return;
    }
    let (out, _) = run_with_io(&["1", "1"]);
    testkit::hist::assert_usecs_histogram(
        &out,
        "Tracing block device I/O... Hit Ctrl-C to end.\n\n\n",
    );
}

#[test]
fn root_per_disk_and_per_flag_sections() {
    if !bpf_ready("root_per_disk_and_per_flag_sections") {
        return;
    }
    let (out, disk) = run_with_io(&["-D", "1", "1"]);
    assert!(
        out.stdout.contains(&format!("\ndisk = {disk}\t\n")),
        "{disk}: {out}"
    );
    let (out, _) = run_with_io(&["-F", "1", "1"]);
    let flags: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("flags = "))
        .collect();
    assert!(flags.iter().any(|f| f.ends_with("Read")), "{out}");
    assert!(flags.iter().any(|f| f.ends_with("Write")), "{out}");
    assert!(
        !out.stdout.contains("(null)") && !out.stdout.contains("Unknown\n"),
        "{out}"
    );
}

#[test]
fn root_disk_filter_keeps_that_disk() {
    if !bpf_ready("root_disk_filter_keeps_that_disk") {
        return;
    }
    let disk = DirectIo::start().disk();
    let (out, _) = run_with_io(&["-D", "-d", &disk, "1", "1"]);
    let sections: Vec<&str> = out.lines().filter(|l| l.starts_with("disk = ")).collect();
    assert!(!sections.is_empty(), "{out}");
    assert!(
        sections.iter().all(|s| *s == format!("disk = {disk}\t")),
        "{out}"
    );
    let bad = testkit::run(Command::new(BIN).args(["-d", "nosuchdisk0"]));
    assert_eq!(bad.status.code(), Some(2), "{bad}");
    assert!(
        bad.stderr
            .starts_with("biolatency: unknown disk 'nosuchdisk0'"),
        "{bad}"
    );
}

/// A loop device with one partition: naming the partition must say which disk to name.
#[test]
fn root_partition_name_gets_a_clear_error() {
    if !bpf_ready("root_partition_name_gets_a_clear_error") {
        return;
    }
    let d = LoopDevice::with_partition("biolatency-part", 8 << 20, 2048, 8192);
    let (dev, part) = (d.name.clone(), d.partition.clone().expect("partition"));
    let out = testkit::run(Command::new(BIN).args(["-d", &part]));
    drop(d);
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "biolatency: '{part}' is a partition; I/O is accounted to whole disks: use -d {dev}"
        ),
        "{out}"
    );
}

/// A disk attached after the tool started is named in the -D sections (text and JSON), not
/// "Unknown": a loop device set up once both run, read with O_DIRECT, and detached before the
/// histograms print (at Ctrl-C), so /proc/partitions no longer lists it then: the name is the
/// one the kernel had for the disk at its I/O.
#[test]
fn root_disk_attached_after_start_is_named() {
    if !bpf_ready("root_disk_attached_after_start_is_named") {
        return;
    }
    let text = Tool::spawn(BIN, &["-D"]).ready();
    let json = Tool::spawn(BIN, &["--json", "-v", "-D"]).ready();
    let d = LoopDevice::new("biolatency-late", 4 << 20);
    let (dev, name) = (d.dev.clone(), d.name.clone());
    let dd = testkit::run(Command::new("dd").args([
        &format!("if={dev}"),
        "of=/dev/null",
        "bs=4096",
        "count=64",
        "iflag=direct",
        "status=none",
    ]));
    drop(d);
    // Detached: gone from /proc/partitions once nothing holds it open (udev may, briefly). A
    // parallel test may take the same loopN at once; its name is the same then.
    let listed = || {
        std::fs::read_to_string("/proc/partitions").is_ok_and(|p| {
            p.lines()
                .any(|l| l.split_whitespace().nth(3) == Some(name.as_str()))
        })
    };
    for _ in 0..100 {
        if !listed() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let text = text.interrupt();
    let json = json.interrupt();
    assert!(dd.status.success(), "dd: {dd}");
    let (text, json) = (text.success(), json.success());
    assert!(
        text.stdout.contains(&format!("disk = {name}\t")),
        "no section for {name}:\n{text}"
    );
    let named = json.lines().any(|l| {
        serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v["disk"] == name.as_str())
    });
    assert!(named, "no JSON histogram for {name}:\n{json}");
    assert!(!text.stdout.contains("disk = Unknown"), "{text}");
}

#[test]
fn root_interval_count_units_and_timestamps() {
    if !bpf_ready("root_interval_count_units_and_timestamps") {
        return;
    }
    let (out, _) = run_with_io(&["-m", "-T", "1", "2"]);
    testkit::hist::assert_msecs_with_timestamps(&out, 2);
}

#[test]
fn root_queued_time_and_extension() {
    if !bpf_ready("root_queued_time_and_extension") {
        return;
    }
    let (out, _) = run_with_io(&["-Q", "-e", "--percentiles", "1", "1"]);
    testkit::hist::assert_counted(&out);
    assert!(
        out.lines()
            .any(|l| l.starts_with("avg = ") && l.contains(" usecs, total: ")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("p50 <= ")), "{out}");
}

#[test]
fn root_json_lines() {
    if !bpf_ready("root_json_lines") {
        return;
    }
    let (out, disk) = run_with_io(&["--json", "-D", "-F", "1", "1"]);
    let mut total = 0;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["unit"], "usecs", "{v}");
        assert!(
            v["flags"].is_string() && v["buckets"].is_array() && v["time"].is_string(),
            "{v}"
        );
        if v["disk"] == disk.as_str() {
            total += v["count"].as_u64().expect("count");
        }
    }
    assert!(total > 0, "{out}");
}

/// The `count`s of the `--json` lines `lines` (a line without one is a test failure).
fn json_total(lines: &[String]) -> u64 {
    lines
        .iter()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            v["count"]
                .as_u64()
                .unwrap_or_else(|| panic!("no count: {l}"))
        })
        .sum()
}

/// `-c` counts the I/O submitted from the cgroup only (every read, though other tasks' I/O and
/// busy CPUs mean some are issued from elsewhere), and without --cumulative each interval
/// starts from zero. Two rounds of direct reads from the cgroup, the second once the first's
/// have all been printed, while other I/O goes on outside it: what the intervals print after
/// the second round starts holds its reads but neither the first round's again (cumulative
/// totals) nor the outside I/O (hundreds a second). No assertion depends on where the 1-second
/// interval boundaries fall, so an emulated kernel's slowness changes nothing.
#[test]
fn root_cgroup_filter_and_intervals_start_from_zero() {
    if !bpf_ready("root_cgroup_filter_and_intervals_start_from_zero") {
        return;
    }
    const FIRST: u64 = 200;
    const SECOND: u64 = 50;
    let dir = TempDir::new("biolatency-cg");
    let data = dir.path().join("data");
    let mut f = std::fs::File::create(&data).expect("create");
    f.write_all(&vec![0x5a; FIRST as usize * BLOCK])
        .expect("write");
    // Written back now, so the reads below are the only I/O on this file.
    f.sync_all().expect("fsync");
    // Load from outside the cgroup, as the other test binaries make it in a full run: direct
    // I/O that shares the disk's queue (its plugs and dispatches interleave with the cgroup's),
    // and busy CPUs, so requests are often issued by a task other than their submitter.
    // The load starts once the tool has attached: on an emulated kernel (the matrix's 5.10)
    // loading the programs against it took longer than the attach timeout.
    let cg = testkit::Cgroup::new("ferroscope-biolatency");
    let t = Tool::spawn(BIN, &["-v", "--json", "-c", cg.path(), "1"]).ready();
    let _outside = [DirectIo::start(), DirectIo::start()];
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let s = Arc::clone(&stop);
            thread::spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let reads = |n: u64| {
        let dd = format!(
            "exec dd if={} of=/dev/null bs={BLOCK} count={n} iflag=direct status=none",
            data.display()
        );
        let st = cg.shell("sh", &dd).status().expect("sh");
        assert!(st.success(), "dd failed");
    };
    reads(FIRST);
    let first = t.wait_lines(&format!("{FIRST} reads counted"), |l| {
        json_total(l) >= FIRST
    });
    reads(SECOND);
    t.wait_lines(&format!("{SECOND} more reads counted"), |l| {
        json_total(&l[first.len()..]) >= SECOND
    });
    let out = t.interrupt().success();
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        let _ = s.join();
    }
    let lines: Vec<String> = out.lines().map(str::to_owned).collect();
    let (before, after) = lines.split_at(first.len());
    assert!(
        json_total(before) >= FIRST,
        "every one of the {FIRST} reads: {out}"
    );
    let second = json_total(after);
    assert!(
        (SECOND..FIRST).contains(&second),
        "the second round's {SECOND} reads, without the first's {FIRST} again or outside \
         I/O: {second}\n{out}"
    );
}

/// `-c` counts every request of a read the queue's limits split (a loop device takes at most
/// 1280 KiB a request): the part split off is a new bio, never seen at block_bio_queue, and is
/// recorded at block_split (without that, -c lost it). The cgroup's 4 MiB direct reads are the
/// loop device's only I/O, so `-c` on that disk counts as many requests as the disk without it.
#[test]
fn root_cgroup_filter_counts_every_part_of_a_split_read() {
    if !bpf_ready("root_cgroup_filter_counts_every_part_of_a_split_read") {
        return;
    }
    const READS: u64 = 4;
    let d = LoopDevice::new("biolatency-split", 16 << 20);
    let cg = testkit::Cgroup::new("ferroscope-biolatency-split");
    let all = Tool::spawn(BIN, &["-v", "--json", "-d", &d.name]).ready();
    let mine = Tool::spawn(BIN, &["-v", "--json", "-d", &d.name, "-c", cg.path()]).ready();
    let dd = format!(
        "exec dd if={} of=/dev/null bs=4M count={READS} iflag=direct status=none",
        d.dev
    );
    assert!(
        cg.shell("sh", &dd).status().expect("sh").success(),
        "dd failed"
    );
    let (all, mine) = (all.interrupt().success(), mine.interrupt().success());
    let count = |out: &testkit::Finished| {
        let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        json_total(&lines)
    };
    let (n_all, n_mine) = (count(&all), count(&mine));
    // 4 MiB in requests of at most 1280 KiB: at least 4 each.
    assert!(n_all >= 4 * READS, "the reads were split: {all}");
    assert_eq!(
        n_mine, n_all,
        "every request of the cgroup's reads:\n{mine}\n{all}"
    );
}

#[test]
fn root_sigint_prints_the_final_histogram() {
    if !bpf_ready("root_sigint_prints_the_final_histogram") {
        return;
    }
    let t = Tool::spawn(BIN, &["-v"]).ready();
    let io = DirectIo::start();
    thread::sleep(Duration::from_millis(800));
    let out = t.interrupt().success();
    drop(io);
    testkit::hist::assert_counted(&out);
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let _io = DirectIo::start();
    for out in testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &["1"], || {}) {
        testkit::hist::assert_final_histogram_counted(&out);
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "biolatency",
        &[
            &["0"][..],
            &["1", "0"],
            &["-1"],
            &["x"],
            &["1", "2", "3"],
            &["-d"],
            &["-d", "nosuchdisk0"],
            &["-c", "/nonexistent"],
            &["--bogus"],
        ],
    );
}

/// The hooks and the issue-time store follow the kernel: the in-flight table on raw tracepoints
/// with BPF atomics (5.12+), else a hash map on tp_btf, else on raw tracepoints. scripts/test
/// reruns the root tests with FERROSCOPE_DISABLE ruling the better ones out.
#[test]
fn root_hook_choice_follows_the_probe() {
    if !bpf_ready("root_hook_choice_follows_the_probe") {
        return;
    }
    let atomics = kernel_at_least(5, 12) && !feature_disabled("atomics");
    let want = if atomics {
        "as raw tracepoints (5.11+ argument layout); issue times in an in-flight table"
    } else if feature_disabled("tp_btf") {
        "as raw tracepoints"
    } else {
        "as tp_btf"
    };
    let (out, _) = run_with_io(&["-v", "1", "1"]);
    assert!(out.stderr.contains(want), "{want}: {out}");
    testkit::hist::assert_counted(&out);
}

/// A path that is not UTF-8 is shown as its bytes (`\\xff`), as every message shows them.
#[test]
fn bad_cgroup_path_is_shown_escaped() {
    testkit::assert_bad_cgroup_path_escaped(BIN, "biolatency");
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "biolatency");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "biolatency");
}
