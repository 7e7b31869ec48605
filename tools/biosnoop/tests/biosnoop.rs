// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! biosnoop against real block I/O: O_DIRECT reads of known sizes at known offsets on loop
//! devices the tests make (testkit::block), so each read is one request at a known sector.
//!
//! Debian's /usr/sbin/biosnoop (libbpf-tools 0.26) cannot run on a kernel without fentry, so
//! no test compares rows with it byte for byte; the header and row formats are checked against
//! libbpf-tools' format strings by golden unit tests (src/format.rs).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use testkit::block::{LoopDevice, direct_read};
use testkit::{Tool, bpf_ready, columns, feature_disabled, me, settle};

const BIN: &str = env!("CARGO_BIN_EXE_biosnoop");
const MIB: u64 = 1 << 20;

/// This thread's comm: the submitter of the reads it makes.
fn my_comm() -> String {
    let c = std::fs::read_to_string("/proc/thread-self/comm").expect("comm");
    c.trim_end().to_owned()
}

/// The COMM column shows at most 14 bytes of it.
fn my_comm_column() -> String {
    my_comm().chars().take(14).collect()
}

/// The row of the request at `sector` on disk `disk`, waiting for it. Columns (no -t):
/// TIME(s) COMM PID DISK T SECTOR BYTES [QUE(ms)] LAT(ms).
fn row_at(t: &Tool, disk: &str, sector: u64) -> Vec<String> {
    let needle = format!(" {disk} ");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(l) = t.lines().into_iter().find(|l| {
            let c = columns(l);
            l.contains(&needle) && c.len() > 5 && c[5] == sector.to_string()
        }) {
            return columns(&l).into_iter().map(str::to_owned).collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no row for {disk} sector {sector}: {:?}",
            t.lines()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ms(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|e| panic!("milliseconds {s:?}: {e}"))
}

/// Reads on a disk and on its partition: the disk, the sector on the whole disk (a
/// partition's offset plus its start), the size, the submitter and a latency; -Q adds QUE(ms).
#[test]
fn root_direct_reads_show_disk_sector_bytes_and_latency() {
    if !bpf_ready("root_direct_reads_show_disk_sector_bytes_and_latency") {
        return;
    }
    let d = LoopDevice::with_partition("biosnoop-rw", 16 * MIB, 2048, 8192);
    let part = d.partition.clone().expect("partition");
    let t = Tool::spawn(BIN, &["-Q"]).ready();
    direct_read(&d.dev, MIB, 8192);
    direct_read(&format!("/dev/{part}"), 4096, 4096);
    let whole = row_at(&t, &d.name, 2048);
    let in_part = row_at(&t, &d.name, 2048 + 8);
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   QUE(ms) LAT(ms)")
    );
    for (row, bytes) in [(&whole, "8192"), (&in_part, "4096")] {
        assert_eq!(row[1], my_comm_column(), "{row:?}");
        assert_eq!(row[2], me(), "{row:?}");
        assert!(row[4].starts_with('R'), "T of a read: {row:?}");
        assert_eq!(row[6], bytes, "{row:?}");
        let (que, lat) = (ms(&row[7]), ms(&row[8]));
        assert!(que == -1.0 || que >= 0.0, "{row:?}");
        assert!((0.0..10_000.0).contains(&lat), "{row:?}");
    }
}

/// -d keeps one disk; -t prints the time of day; a duration ends the run by itself.
#[test]
fn root_disk_filter_timestamp_and_duration() {
    if !bpf_ready("root_disk_filter_timestamp_and_duration") {
        return;
    }
    let a = LoopDevice::new("biosnoop-a", 4 * MIB);
    let b = LoopDevice::new("biosnoop-b", 4 * MIB);
    let t = Tool::spawn(BIN, &["-d", &a.name, "-t", "3"]).ready();
    direct_read(&b.dev, 0, 4096);
    direct_read(&a.dev, 4096, 4096);
    let line = t.wait_line(&format!(" {} ", a.name));
    let out = t.finish(Duration::from_secs(20)).success();
    let c = columns(&line);
    let (hms, ms) = c[0].split_at(8);
    assert!(testkit::is_hms(hms) && ms.len() == 4, "{line}");
    assert_eq!(c[5], "8", "{line}");
    assert!(
        out.stdout.starts_with(
            "TIMESTAMP    COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)\n"
        ),
        "{out}"
    );
    assert!(!out.stdout.contains(&format!(" {} ", b.name)), "{out}");
}

/// -m drops requests faster than MIN ms in the kernel; the JSON fields.
#[test]
fn root_min_latency_and_json() {
    if !bpf_ready("root_min_latency_and_json") {
        return;
    }
    let d = LoopDevice::new("biosnoop-json", 4 * MIB);
    let slow = Tool::spawn(BIN, &["-d", &d.name, "-m", "60000"]).ready();
    let json = Tool::spawn(BIN, &["-v", "-d", &d.name, "--json", "-Q"]).ready();
    direct_read(&d.dev, 12288, 8192);
    let line = json.wait_line("\"sector\":24,");
    settle();
    let quiet = slow.interrupt().success();
    json.interrupt().success();
    assert_eq!(quiet.lines().count(), 1, "only the header: {quiet}");
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["disk"], d.name.as_str(), "{line}");
    assert_eq!(v["bytes"], 8192, "{line}");
    assert_eq!(
        v["pid"].as_u64(),
        Some(me().parse().expect("pid")),
        "{line}"
    );
    assert_eq!(v["comm"], my_comm().as_str(), "{line}");
    assert!(
        v["rwbs"].as_str().is_some_and(|r| r.starts_with('R')),
        "{line}"
    );
    assert_eq!(v["dev_major"], 7, "{line}");
    assert!(v["latency_ns"].as_u64().is_some_and(|n| n > 0), "{line}");
    assert!(v.get("queued_ns").is_some(), "{line}");
    assert!(v["cgroup_id"].as_u64().is_some(), "{line}");
    assert!(
        v["time"].as_str().is_some_and(|s| s.contains('T')),
        "{line}"
    );
}

/// -c keeps I/O submitted from inside the cgroup: dd inside is shown as dd, reads outside are not.
#[test]
fn root_cgroup_filter() {
    if !bpf_ready("root_cgroup_filter") {
        return;
    }
    let d = LoopDevice::new("biosnoop-cg", 4 * MIB);
    let cg = testkit::Cgroup::new("ferroscope-biosnoop");
    let t = Tool::spawn(BIN, &["-c", cg.path(), "-d", &d.name]).ready();
    direct_read(&d.dev, 0, 4096);
    let dd = format!(
        "exec dd if={} of=/dev/null bs=4096 skip=16 count=1 iflag=direct status=none",
        d.dev
    );
    let st = cg.shell("sh", &dd).status().expect("sh");
    assert!(st.success());
    let row = row_at(&t, &d.name, 128);
    settle();
    let out = t.interrupt().success();
    assert_eq!(row[1], "dd", "{out}");
    assert_eq!(out.lines().count(), 2, "the header and dd's read: {out}");
}

/// -v names the hooks: tp_btf stages with block_io_start where the kernel has it (6.5+),
/// classic tracepoints where tp_btf is ruled out, block_bio_queue (or the function
/// block_io_start replaced) before 6.5. scripts/test reruns the root tests with tp_btf
/// disabled; FERROSCOPE_DISABLE=block_io_start takes the path of kernels before 6.5.
#[test]
fn root_verbose_names_the_hooks() {
    if !bpf_ready("root_verbose_names_the_hooks") {
        return;
    }
    let d = LoopDevice::new("biosnoop-v", 4 * MIB);
    let t = Tool::spawn(BIN, &["-v", "-d", &d.name]).ready();
    direct_read(&d.dev, 0, 4096);
    let row = row_at(&t, &d.name, 0);
    let out = t.interrupt().success();
    let io_start = !feature_disabled("block_io_start")
        && (Path::new("/sys/kernel/tracing/events/block/block_io_start").exists()
            || Path::new("/sys/kernel/debug/tracing/events/block/block_io_start").exists());
    let tp_btf = !feature_disabled("tp_btf");
    let (stages, who): (&str, &[&str]) = match (tp_btf, io_start) {
        (true, true) => ("tp_btf", &["tp_btf block_io_start"]),
        (true, false) => (
            "tp_btf",
            &[
                "fentry blk_account_io_start",
                "fentry __blk_account_io_start",
                "kprobe blk_account_io_start",
                "kprobe __blk_account_io_start",
                "tp_btf block_bio_queue",
            ],
        ),
        (false, true) => ("tracepoint", &["tracepoint block_io_start"]),
        (false, false) => ("tracepoint", &["tracepoint block_bio_queue"]),
    };
    let want =
        format!("biosnoop: attached to {stages} block_rq_{{issue,complete}}, submitters from ");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&want))
        .unwrap_or_else(|| panic!("{want}: {out}"));
    assert!(
        who.iter().any(|w| line.starts_with(&format!("{want}{w};"))),
        "{who:?}: {line}"
    );
    // Every path names the submitter of a plain read.
    assert_eq!(row[2], me(), "{out}");
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let d = LoopDevice::new("biosnoop-head", 4 * MIB);
    let dev = d.dev.clone();
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &["-d", &d.name], || {
        direct_read(&dev, 0, 4096);
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "biosnoop",
        &[
            &["--bogus"],
            &["-d"],
            &["-d", "no-such-disk"],
            &["-m", "x"],
            &["-m", "-1"],
            &["-c", "/nonexistent"],
            &["0"],
            &["1", "2"],
        ],
    );
}

#[test]
fn root_partition_name_gets_a_clear_error() {
    if !bpf_ready("root_partition_name_gets_a_clear_error") {
        return;
    }
    let d = LoopDevice::with_partition("biosnoop-part", 8 * MIB, 2048, 8192);
    let part = d.partition.clone().expect("partition");
    let out = testkit::run(Command::new(BIN).args(["-d", &part]));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "biosnoop: '{part}' is a partition; I/O is accounted to whole disks: use -d {}",
            d.name
        ),
        "{out}"
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "biosnoop");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "biosnoop");
}
