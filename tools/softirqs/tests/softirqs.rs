// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! softirqs against the real kernel: loopback TCP traffic runs NET_RX softirqs, the tick runs
//! TIMER and RCU ones, and the counts the tool prints are checked against the kernel's own
//! (/proc/softirqs, which counts each handler run just before softirq_entry fires). Tests
//! named `root_*` need root and BPF.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use testkit::kernel_counts::{self, Counts, Traced, assert_within, diff};
use testkit::{Finished, bpf_ready, hist_row_counts};

const BIN: &str = env!("CARGO_BIN_EXE_softirqs");

/// /proc/softirqs: each vector's runs so far, lower case (`net_rx`), summed over the CPUs, or
/// only `cpu`'s column.
fn proc_softirqs(cpu: Option<usize>) -> Counts {
    let text = std::fs::read_to_string("/proc/softirqs").expect("read /proc/softirqs");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let (name, counts) = l.split_once(':')?;
            let counts = counts
                .split_whitespace()
                .map(|c| c.parse::<u64>().unwrap_or(0));
            let n = match cpu {
                Some(c) => counts.skip(c).take(1).sum(),
                None => counts.sum(),
            };
            Some((name.trim().to_ascii_lowercase(), n))
        })
        .collect()
}

/// `rounds` request-response exchanges over a loopback TCP connection: each segment is
/// delivered by a NET_RX softirq.
fn loopback_traffic(rounds: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 64];
        while s.read_exact(&mut buf).is_ok() {
            if s.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_nodelay(true).expect("nodelay");
    let mut buf = [7u8; 64];
    for _ in 0..rounds {
        c.write_all(&buf).expect("send");
        c.read_exact(&mut buf).expect("receive");
    }
    drop(c);
    server.join().expect("server");
}

/// The table's rows: vector name and number (`net_rx 42`).
fn table(out: &Finished) -> Counts {
    kernel_counts::table(out, "SOFTIRQ ")
}

/// Run the tool with each argument list at once; once all have attached, make `rounds`
/// loopback exchanges; see [`kernel_counts::traced`] (the counts: /proc/softirqs').
fn traced(runs: &[&[&str]], rounds: usize) -> Traced<Counts> {
    kernel_counts::traced(BIN, runs, proc_softirqs, diff, || loopback_traffic(rounds))
}

/// The counts with -C (all CPUs, and -c 0 for CPU 0 alone) lie between what the kernel counted
/// while the traffic ran and what it counted while the tools ran; the default table times the
/// same vectors, net_rx with a non-zero total.
#[test]
fn root_counts_and_times_follow_proc_softirqs() {
    if !bpf_ready("root_counts_and_times_follow_proc_softirqs") {
        return;
    }
    let w = traced(&[&["-C", "-v"], &["-C", "-c", "0"], &[]], 300);
    let want_hook = format!("as {}; vector names from ", testkit::tp_btf_or_raw());
    assert!(
        w.outs[0].stderr.contains(&want_hook),
        "{want_hook}: {}",
        w.outs[0]
    );
    assert!(
        w.outs[0].stderr.contains("events/irq/softirq_entry/format"),
        "names from the kernel's tracepoint format: {}",
        w.outs[0]
    );
    for (i, cpu) in [(0, 0), (1, 1)] {
        let out = &w.outs[i];
        assert!(
            out.stdout.starts_with(
                "Tracing soft irq events... Hit Ctrl-C to end.\n\nSOFTIRQ          TOTAL_count\n"
            ),
            "{out}"
        );
        assert_within(&table(out), &w.during[cpu], &w.whole[cpu], out);
    }
    assert!(
        w.during[0].get("net_rx").is_some_and(|&n| n > 0),
        "no NET_RX from loopback?"
    );
    let out = &w.outs[2];
    assert!(
        out.stdout.starts_with(
            "Tracing soft irq event time... Hit Ctrl-C to end.\n\nSOFTIRQ          TOTAL_usecs\n"
        ),
        "{out}"
    );
    let rows = table(out);
    assert!(rows.get("net_rx").is_some_and(|&t| t > 0), "{out}");
    for (name, &n) in &w.during[0] {
        assert!(
            n == 0 || rows.contains_key(name),
            "{name} ran {n} times\n{out}"
        );
    }
}

/// -d: a histogram per vector (`softirq = net_rx`, then a blank line after each), holding every
/// run; -N in nanoseconds.
#[test]
fn root_distributions_hold_every_run() {
    if !bpf_ready("root_distributions_hold_every_run") {
        return;
    }
    let w = traced(&[&["-d"], &["-d", "-N"]], 300);
    for (out, unit) in w.outs.iter().zip(["usecs", "nsecs"]) {
        let text = &out.stdout;
        let Some(at) = text.find("\nsoftirq = net_rx\n") else {
            panic!("no net_rx histogram\n{out}");
        };
        let section = &text[at + "\nsoftirq = net_rx\n".len()..];
        let section = &section[..section.find("\n\n").expect("a blank line after it")];
        assert!(
            section.starts_with(&format!(
                "     {unit}               : count    distribution\n"
            )),
            "{out}"
        );
        let counted: u64 = hist_row_counts(section).iter().sum();
        let net_rx = |c: &Counts| {
            c.iter()
                .filter(|(k, _)| *k == "net_rx")
                .map(|(k, n)| (k.clone(), *n))
                .collect()
        };
        let counts = Counts::from([("net_rx".to_owned(), counted)]);
        assert_within(&counts, &net_rx(&w.during[0]), &w.whole[0], out);
    }
}

#[test]
fn root_json_and_percentiles() {
    if !bpf_ready("root_json_and_percentiles") {
        return;
    }
    let w = traced(&[&["--json", "-v"], &["-d", "--percentiles", "-T"]], 100);
    let lines = testkit::hist::json_objects(&w.outs[0]);
    let net_rx = lines
        .iter()
        .find(|v| v["softirq"] == "net_rx")
        .unwrap_or_else(|| panic!("no net_rx object\n{}", w.outs[0]));
    assert_eq!(net_rx["unit"], "usecs", "{net_rx}");
    assert!(
        net_rx["time"].is_string() && net_rx["p50"].is_u64(),
        "{net_rx}"
    );
    testkit::hist::assert_json_buckets_hold_count(net_rx);
    testkit::hist::assert_timestamps_and_percentiles(&w.outs[1]);
}

/// The text libbpf-tools 0.26 (Debian's softirqs) prints for the same options: the banner,
/// the blank line and the table's heading byte for byte, rows of the same widths; with -d the
/// same section lines, histogram heading and blank lines.
#[test]
fn root_output_has_the_shape_of_libbpf_tools() {
    let test = "root_output_has_the_shape_of_libbpf_tools";
    let Some(path) = testkit::reference_tool(test, "softirqs") else {
        return;
    };
    for opts in [&[][..], &["-N"], &["-d"]] {
        let mut args: Vec<&str> = opts.to_vec();
        args.extend(["2", "1"]);
        let (ours, theirs) =
            testkit::run_beside_reference(BIN, &path, &args, || loopback_traffic(100));
        if opts.contains(&"-d") {
            for out in [&ours, &theirs] {
                let section = out
                    .stdout
                    .find("\nsoftirq = net_rx\n     usecs               : count    distribution\n");
                assert!(section.is_some(), "{args:?}\n{ours}\n{theirs}");
                assert!(out.stdout.ends_with("|\n\n"), "{args:?}: {out}");
            }
            testkit::assert_same_head(&ours, &theirs, 2, &args);
            continue;
        }
        testkit::assert_same_head(&ours, &theirs, 3, &args);
        for out in [&ours, &theirs] {
            for row in out.lines().skip(3) {
                assert!(
                    row.len() == 28
                        && row.as_bytes()[16] == b' '
                        && row[17..].trim().parse::<u64>().is_ok(),
                    "{args:?}: {row:?}\n{out}"
                );
            }
        }
    }
}

/// --textfile with -N: the runs and time of every vector, in seconds, the buckets' bounds in
/// nanoseconds; the file passes promtool.
#[test]
fn root_textfile_exports_runs_and_time() {
    let test = "root_textfile_exports_runs_and_time";
    if !bpf_ready(test) || !testkit::prometheus::available(test) {
        return;
    }
    let dir = testkit::TempDir::new("softirqs-textfile");
    let file = dir.path().join("softirqs.prom");
    let path = file.to_str().expect("utf-8 path");
    let w = traced(&[&["-v", "-N", "--textfile", path, "1", "2"]], 300);
    let text = std::fs::read_to_string(&file).expect("the text file");
    testkit::prometheus::check_metrics(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let metric = "ferroscope_softirqs_duration_seconds";
    let value = |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {series}\n{text}"))
    };
    let runs = value(&format!("{metric}_count{{softirq=\"net_rx\"}} "));
    let (during, whole) = (w.during[0]["net_rx"], w.whole[0]["net_rx"]);
    assert!(
        runs >= during as f64 && runs <= whole as f64,
        "{runs} runs exported, {during}..{whole} by the kernel\n{text}"
    );
    // Each run takes at least a nanosecond and less than the two seconds traced.
    let seconds = value(&format!("{metric}_sum{{softirq=\"net_rx\"}} "));
    assert!(
        seconds * 1e9 >= runs && seconds < 2.0 * 2.0,
        "{seconds}\n{text}"
    );
    assert!(
        text.contains(&format!(
            "{metric}_bucket{{softirq=\"net_rx\",le=\"1e-9\"}}"
        )) || text.contains(&format!(
            "{metric}_bucket{{softirq=\"net_rx\",le=\"1e-09\"}}"
        )),
        "the first bucket is 1 ns\n{text}"
    );
    assert!(w.outs[0].stdout.is_empty(), "{}", w.outs[0]);
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    for out in
        testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &["1"], || loopback_traffic(10))
    {
        assert!(
            out.stdout.contains("\nSOFTIRQ          TOTAL_usecs\n"),
            "final table: {out}"
        );
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::hist::assert_irq_usage_errors(BIN, "softirqs", &[&["-c", "4096"], &["-c", "x"]]);
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "softirqs");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "softirqs");
}
