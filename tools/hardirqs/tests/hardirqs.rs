// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! hardirqs against the real kernel: synced writes make the disk (virtio here, 9p's virtio
//! transport in the kernel matrix's guests) interrupt, and the counts the tool prints are
//! checked against the kernel's own (/proc/interrupts, which counts each interrupt once before
//! its handlers run). Tests named `root_*` need root and BPF.

use std::io::Write;
use std::path::Path;

use testkit::kernel_counts::{self, Counts, Traced, assert_within};
use testkit::{Finished, bpf_ready, hist_row_counts};

const BIN: &str = env!("CARGO_BIN_EXE_hardirqs");

/// The lines of /proc/interrupts, as [`proc_interrupts`] reads them.
type Lines = Vec<(Vec<String>, u64)>;

/// One line of /proc/interrupts: its handlers' names (more than one on a shared line) and its
/// interrupts so far, summed over the CPUs or only `cpu`'s column.
fn proc_interrupts(cpu: Option<usize>) -> Lines {
    let text = std::fs::read_to_string("/proc/interrupts").expect("read /proc/interrupts");
    let mut lines = text.lines();
    let cpus = lines.next().map_or(0, |h| h.split_whitespace().count());
    lines
        .filter_map(|l| {
            let (irq, rest) = l.split_once(':')?;
            irq.trim().parse::<u32>().ok()?;
            let counts = rest.split_whitespace().take(cpus);
            let counts = counts.map(|c| c.parse::<u64>().unwrap_or(0));
            let n = match cpu {
                Some(c) => counts.skip(c).take(1).sum(),
                None => counts.sum(),
            };
            // The kernel prints "  NAME" after the chip and trigger columns, ", NAME" for each
            // further handler of a shared line (kernel/irq/proc.c).
            let (_, names) = rest.rsplit_once("  ")?;
            let names = names.trim().split(", ").map(str::to_owned).collect();
            Some((names, n))
        })
        .collect()
}

/// What a handler name's interrupts did between two readings: the least it ran (its lines
/// without another handler: each interrupt there ran it once) and the most (every line that
/// has it).
struct Ran {
    least: Counts,
    most: Counts,
}

fn ran(before: &[(Vec<String>, u64)], after: &[(Vec<String>, u64)]) -> Ran {
    let mut r = Ran {
        least: Counts::new(),
        most: Counts::new(),
    };
    for (names, n) in after {
        let was = before
            .iter()
            .find(|(b, _)| b == names)
            .map_or(0, |(_, b)| *b);
        let d = n.saturating_sub(was);
        for name in names {
            *r.most.entry(name.clone()).or_default() += d;
            if names.len() == 1 {
                *r.least.entry(name.clone()).or_default() += d;
            }
        }
    }
    r
}

/// Synced writes to a file of the build's directory: each sync is a disk write (and the
/// journal's) completed by the disk's interrupt.
fn disk_io(rounds: usize) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(testkit::unique("hardirqs-io"));
    let mut f = std::fs::File::create(&path).expect("create a file");
    for i in 0..rounds {
        f.write_all(&[i as u8; 16384]).expect("write");
        f.sync_all().expect("fsync");
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
}

/// The table's rows: handler name and number.
fn table(out: &Finished) -> Counts {
    kernel_counts::table(out, "HARDIRQ ")
}

/// Run the tool with each argument list at once; once all have attached, make disk I/O; see
/// [`kernel_counts::traced`] (the counts: /proc/interrupts').
fn traced(runs: &[&[&str]], rounds: usize) -> Traced<Ran> {
    kernel_counts::traced(
        BIN,
        runs,
        proc_interrupts,
        |a, b| ran(a, b),
        || disk_io(rounds),
    )
}

/// The rows of `counts` (handler name, count) lie within what the kernel counted: at least the
/// interrupts while the I/O ran, at most those while the tool ran; every name is a handler
/// /proc/interrupts names.
fn within(counts: &Counts, during: &Ran, whole: &Ran, out: &Finished) {
    assert_within(counts, &during.least, &whole.most, out);
}

/// The counts with -C (all CPUs, and -s 0 for CPU 0 alone) lie between what the kernel counted
/// while the disk I/O ran and what it counted while the tools ran; the default table times
/// the same handlers.
#[test]
fn root_counts_and_times_follow_proc_interrupts() {
    if !bpf_ready("root_counts_and_times_follow_proc_interrupts") {
        return;
    }
    let w = traced(&[&["-C", "-v"], &["-C", "-s", "0"], &[]], 20);
    let hooks = "irq_handler_entry, irq_handler_exit";
    let want_hook = format!("attached to {hooks} as {}", testkit::tp_btf_or_raw());
    assert!(
        w.outs[0].stderr.contains(&want_hook),
        "{want_hook}: {}",
        w.outs[0]
    );
    assert!(
        w.during[0].least.values().sum::<u64>() > 0,
        "the disk I/O made no interrupt"
    );
    for (i, cpu) in [(0, 0), (1, 1)] {
        let out = &w.outs[i];
        assert!(
            out.stdout.starts_with(
                "Tracing hard irq events... Hit Ctrl-C to end.\n\nHARDIRQ                    TOTAL_count\n"
            ),
            "{out}"
        );
        within(&table(out), &w.during[cpu], &w.whole[cpu], out);
    }
    assert!(!table(&w.outs[0]).is_empty(), "{}", w.outs[0]);
    let out = &w.outs[2];
    assert!(
        out.stdout.starts_with(
            "Tracing hard irq event time... Hit Ctrl-C to end.\n\nHARDIRQ                    TOTAL_usecs\n"
        ),
        "{out}"
    );
    let rows = table(out);
    for (name, &n) in &w.during[0].least {
        assert!(
            n == 0 || rows.contains_key(name),
            "{name} ran {n} times\n{out}"
        );
    }
    // Sorted by total time, largest first.
    let totals: Vec<u64> = out
        .lines()
        .skip(3)
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    assert!(totals.windows(2).all(|p| p[0] >= p[1]), "{out}");
}

/// -d: a histogram per handler (`hardirq = NAME` right above it), holding every interrupt it
/// handled; -N in nanoseconds.
#[test]
fn root_distributions_hold_every_interrupt() {
    if !bpf_ready("root_distributions_hold_every_interrupt") {
        return;
    }
    let w = traced(&[&["-d"], &["-d", "-N"]], 20);
    for (out, unit) in w.outs.iter().zip(["usecs", "nsecs"]) {
        let text = &out.stdout;
        let mut counts = Counts::new();
        for part in text.split("hardirq = ").skip(1) {
            let (name, hist) = part.split_once('\n').expect("a section line");
            assert!(
                hist.starts_with(&format!(
                    "     {unit}               : count    distribution\n"
                )),
                "{out}"
            );
            counts.insert(name.to_owned(), hist_row_counts(hist).iter().sum::<u64>());
        }
        assert!(!counts.is_empty(), "{out}");
        within(&counts, &w.during[0], &w.whole[0], out);
    }
}

/// -c: only interrupts that interrupted a task of the cgroup. An interrupt never interrupts a
/// task that sleeps: with only a sleeping task in the cgroup nothing is counted.
#[test]
fn root_cgroup_filter_tests_the_interrupted_task() {
    if !bpf_ready("root_cgroup_filter_tests_the_interrupted_task") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-hardirqs");
    let mut child = cg.shell("sh", "sleep 60").spawn().expect("sh");
    cg.wait_for(child.id());
    let w = traced(&[&["-C", "-c", cg.path()]], 20);
    let _ = child.kill();
    let _ = child.wait();
    assert!(w.during[0].least.values().sum::<u64>() > 0, "no interrupt");
    assert!(table(&w.outs[0]).is_empty(), "{}", w.outs[0]);
}

#[test]
fn root_json_and_percentiles() {
    if !bpf_ready("root_json_and_percentiles") {
        return;
    }
    let w = traced(&[&["--json", "-v"], &["-d", "--percentiles", "-T"]], 10);
    let lines = testkit::hist::json_objects(&w.outs[0]);
    assert!(!lines.is_empty(), "{}", w.outs[0]);
    for v in &lines {
        assert!(v["hardirq"].is_string() && v["unit"] == "usecs", "{v}");
        testkit::hist::assert_json_buckets_hold_count(v);
        assert!(
            v["sum"].is_u64() && v["max"].is_u64() && v["time"].is_string(),
            "{v}"
        );
    }
    testkit::hist::assert_timestamps_and_percentiles(&w.outs[1]);
}

/// The text libbpf-tools 0.26 (Debian's hardirqs) prints for the same options: the banner, the
/// blank line and the table's heading byte for byte, rows of the same widths; with -d the same
/// section lines right above each histogram, with no blank line between histograms.
#[test]
fn root_output_has_the_shape_of_libbpf_tools() {
    let test = "root_output_has_the_shape_of_libbpf_tools";
    let Some(path) = testkit::reference_tool(test, "hardirqs") else {
        return;
    };
    for opts in [&[][..], &["-C"], &["-N"], &["-d"]] {
        let mut args: Vec<&str> = opts.to_vec();
        args.extend(["2", "1"]);
        let (ours, theirs) = testkit::run_beside_reference(BIN, &path, &args, || disk_io(10));
        if opts.contains(&"-d") {
            testkit::assert_same_head(&ours, &theirs, 2, &args);
            for out in [&ours, &theirs] {
                assert!(
                    out.lines()
                        .nth(2)
                        .is_some_and(|l| l.starts_with("hardirq = ")),
                    "{out}"
                );
                assert!(!out.stdout.contains("|\n\n"), "{args:?}: {out}");
                assert_eq!(
                    out.stdout.matches("hardirq = ").count(),
                    out.stdout
                        .matches("\n     usecs               : count    distribution\n")
                        .count(),
                    "{out}"
                );
            }
            continue;
        }
        testkit::assert_same_head(&ours, &theirs, 3, &args);
        for out in [&ours, &theirs] {
            for row in out.lines().skip(3) {
                let (name, n) = row.split_at(26.min(row.len()));
                assert!(
                    !name.starts_with(' ') && n.len() == 12 && n.trim().parse::<u64>().is_ok(),
                    "{args:?}: {row:?}\n{out}"
                );
            }
        }
    }
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    for out in testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &["1"], || disk_io(2)) {
        assert!(
            out.stdout
                .contains("\nHARDIRQ                    TOTAL_usecs\n"),
            "final table: {out}"
        );
    }
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let own: [&[&str]; 3] = [&["-s", "4096"], &["-s", "x"], &["-c", "/nonexistent"]];
    testkit::hist::assert_irq_usage_errors(BIN, "hardirqs", &own);
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "hardirqs");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "hardirqs");
}
