// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! profile against real CPU samples: a helper spinning in a named C function (user stacks) or
//! reading /dev/zero (kernel stacks), sampled for two seconds. Tests named `root_*` need root
//! and BPF.

mod helper;

use std::time::Duration;

use helper::{COMM, JIT_FN, READ_FN, SPIN_FN, Spinner, entries, profile_until, share};
use testkit::{Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_profile");

/// CPU time of the helper to sample (clock ticks, 10 ms each at USER_HZ 100): about 25
/// samples at 49 Hz.
const TICKS: u64 = 50;

/// Sample `spin` (its pid is added with -p) until it ran [`TICKS`] of CPU time.
fn sample(args: &[&str], spin: &Spinner) -> testkit::Finished {
    let pid = spin.pid();
    let mut all = args.to_vec();
    all.extend(["-p", &pid]);
    profile_until(BIN, &all, pid.parse().unwrap(), TICKS)
}

#[test]
fn root_user_function_carries_most_samples() {
    if !bpf_ready("root_user_function_carries_most_samples") {
        return;
    }
    let spin = Spinner::start("spin");
    let out = sample(&[], &spin);
    let pid: u32 = spin.pid().parse().unwrap();
    assert!(
        out.stdout.starts_with(&format!(
            "Sampling at 49 Hertz of PID [{pid}] by user + kernel... Hit Ctrl-C to end.\n\n"
        )),
        "{out}"
    );
    let e = entries(&out.stdout);
    assert!(
        e.iter().all(|e| e.pid == pid && e.comm == COMM),
        "only the helper: {out}"
    );
    let (with, all) = share(&e, pid, SPIN_FN);
    assert!(all >= 5, "too few samples of the helper: {out}");
    assert!(
        with * 2 > all,
        "{SPIN_FN} in {with} of {all} samples: {out}"
    );
    // Below the spinning function, its caller: user frames run innermost first.
    let spin_entry = e
        .iter()
        .find(|e| e.frames.first().is_some_and(|f| f == SPIN_FN))
        .unwrap_or_else(|| panic!("no stack with {SPIN_FN} innermost: {out}"));
    assert_eq!(
        spin_entry.frames.get(1).map(String::as_str),
        Some("main"),
        "{out}"
    );
}

/// Code a JIT generated (anonymous executable memory, no file behind it) is named from the
/// process's /tmp/perf-PID.map, as perf names it.
#[test]
fn root_jit_code_named_from_the_perf_map() {
    if !bpf_ready("root_jit_code_named_from_the_perf_map") {
        return;
    }
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped root_jit_code_named_from_the_perf_map: the helper's JIT code is x86-64");
        return;
    }
    let spin = Spinner::start("jit");
    let pid: u32 = spin.pid().parse().unwrap();
    let map = std::path::PathBuf::from(format!("/tmp/perf-{pid}.map"));
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while !map.exists() {
        assert!(
            std::time::Instant::now() < end,
            "the helper wrote no {}",
            map.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = sample(&[], &spin);
    let e = entries(&out.stdout);
    let (with, all) = share(&e, pid, JIT_FN);
    assert!(all >= 5, "too few samples of the helper: {out}");
    assert!(with * 2 > all, "{JIT_FN} in {with} of {all} samples: {out}");
}

#[test]
fn root_folded_line_of_the_helper() {
    if !bpf_ready("root_folded_line_of_the_helper") {
        return;
    }
    let spin = Spinner::start("spin");
    let out = sample(&["-f", "-v"], &spin);
    let want = format!(";main;{SPIN_FN} ");
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{COMM};")) && l.contains(&want))
        .unwrap_or_else(|| panic!("no folded line of {COMM} with {want:?}: {out}"));
    let (_, n) = line.rsplit_once(' ').unwrap();
    assert!(n.parse::<u64>().unwrap() > 0, "{line}");
    // Folded lines only: no header.
    assert!(
        out.lines().all(|l| l.starts_with(&format!("{COMM};"))),
        "{out}"
    );
}

#[test]
fn root_svg_flame_graph_names_the_function() {
    if !bpf_ready("root_svg_flame_graph_names_the_function") {
        return;
    }
    let dir = testkit::TempDir::new("ferroscope-profile-svg");
    let svg = dir.path().join("cpu.svg");
    let spin = Spinner::start("spin");
    let out = sample(&["--svg", svg.to_str().unwrap()], &spin);
    let text = std::fs::read_to_string(&svg).unwrap_or_else(|e| panic!("{e}: {out}"));
    // Well-formed XML from the first byte to the last.
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut titles = Vec::new();
    let mut in_title = false;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(t)) => in_title = t.name().as_ref() == b"title",
            Ok(quick_xml::events::Event::Text(t)) if in_title => {
                titles.push(String::from_utf8_lossy(&t).into_owned());
            }
            Ok(_) => {}
            Err(e) => panic!("not XML at {}: {e}", reader.buffer_position()),
        }
    }
    assert!(
        titles.iter().any(|t| t.starts_with(SPIN_FN)),
        "no frame titled {SPIN_FN}: {titles:?}"
    );
    assert!(
        text.contains("profile --svg"),
        "the title names the command line"
    );
    // The SVG written, the text output printed as without --svg.
    assert!(out.stdout.contains(SPIN_FN), "{out}");
}

#[test]
fn root_kernel_stacks_with_k() {
    if !bpf_ready("root_kernel_stacks_with_k") {
        return;
    }
    let reads = Spinner::start("reads");
    let out = sample(&["-K"], &reads);
    let pid: u32 = reads.pid().parse().unwrap();
    let e = entries(&out.stdout);
    // x86_64's __x64_sys_read, arm64's __arm64_sys_read, and ksys_read below both.
    let (with, all) = share(&e, pid, "ksys_read");
    let (direct, _) = share(&e, pid, "__x64_sys_read");
    assert!(all >= 5, "too few samples: {out}");
    assert!(with + direct > 0, "no read(2) in the kernel stacks: {out}");
    // -K: no user frames, so nothing of the helper's own code.
    assert!(!out.stdout.contains(READ_FN), "{out}");
}

#[test]
fn root_json_stacks() {
    if !bpf_ready("root_json_stacks") {
        return;
    }
    let spin = Spinner::start("spin");
    let pid: u64 = spin.pid().parse().unwrap();
    let out = sample(&["--json", "-v", "-U"], &spin);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let spin_obj = objs
        .iter()
        .find(|o| o["user_stack"][0]["symbol"] == SPIN_FN)
        .unwrap_or_else(|| panic!("no stack with {SPIN_FN} innermost: {out}"));
    assert_eq!(spin_obj["pid"], pid);
    assert_eq!(spin_obj["comm"], COMM);
    assert!(spin_obj["count"].as_u64().unwrap() > 0);
    assert_eq!(spin_obj["kernel_stack"], serde_json::json!([]), "-U");
    assert_eq!(spin_obj["user_stack_missed"], false);
    let frame = &spin_obj["user_stack"][0];
    assert!(frame["address"].as_u64().unwrap() > 0, "{frame}");
    assert!(
        frame["module"].as_str().is_some_and(|m| m.ends_with(COMM)),
        "the helper's own file: {frame}"
    );
    assert_eq!(spin_obj["user_stack"][1]["symbol"], "main");
}

#[test]
fn root_verbose_names_the_clock_and_addresses() {
    if !bpf_ready("root_verbose_names_the_clock_and_addresses") {
        return;
    }
    let spin = Spinner::start("spin");
    let out = sample(&["-v", "-U"], &spin);
    assert!(
        out.stderr
            .contains("profile: attached to software cpu-clock perf events at 49 Hz")
            || out
                .stderr
                .contains("profile: attached to hardware cpu-cycles perf events at 49 Hz"),
        "{out}"
    );
    // User frames with -v: 0xADDR (16 digits) NAME+0xOFF (FILE+0xOFF).
    let line = out
        .lines()
        .find(|l| l.contains(&format!(" {SPIN_FN}+0x")))
        .unwrap_or_else(|| panic!("no -v frame of {SPIN_FN}: {out}"));
    let addr = line.trim().split(' ').next().unwrap();
    assert!(addr.starts_with("0x") && addr.len() == 18, "{line}");
    assert!(line.contains(&format!("({COMM}+0x")), "{line}");
}

#[test]
fn root_duration_ends_the_run() {
    if !bpf_ready("root_duration_ends_the_run") {
        return;
    }
    let spin = Spinner::start("spin");
    let out = Tool::spawn(BIN, &["-p", &spin.pid(), "1"])
        .finish(Duration::from_secs(60))
        .success();
    assert!(
        out.stdout.starts_with(&format!(
            "Sampling at 49 Hertz of PID [{}] by user + kernel for 1 secs.\n\n",
            spin.pid()
        )),
        "{out}"
    );
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    let spin = Spinner::start("spin");
    let pid = spin.pid();
    for out in testkit::assert_signals_pipes_and_privileges(BIN, &["-v", "-p", &pid], &[], || {}) {
        assert!(out.stdout.contains(SPIN_FN), "final stacks: {out}");
    }
}

/// `--container` of a container that does not exist: every cgroup is another one. The sweeps
/// of the counts map while sampling put this test's cgroup (a thread of it spins) in the
/// kernel's skip list, so the kernel drops its later samples before it walks their stacks,
/// and counts them (`-v`); no stack is printed. A thread, not the C helper: compiling that
/// takes half a minute in the emulated guests.
#[test]
fn root_container_filter_drops_other_cgroups_in_the_kernel() {
    if !bpf_ready("root_container_filter_drops_other_cgroups_in_the_kernel") {
        return;
    }
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let spinning = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    let out = Tool::spawn(BIN, &["--container", "0123456789ab", "-v", "-f", "1"])
        .finish(Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    spinning.join().expect("the spinning thread");
    assert!(out.status.success(), "{out}");
    testkit::container_tests::assert_kernel_dropped(&out, 1);
    assert!(
        out.stderr.contains(" of the counts map while tracing"),
        "{out}"
    );
    assert_eq!(out.stdout, "", "no stack of another cgroup: {out}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "profile",
        &[
            &["-U", "-K"],
            &["-p", "0"],
            &["-p", "1,x"],
            &["-L", "1", "-p", "2"],
            &["-F", "0"],
            &["-f", "--json"],
            &["--svg", "/nonexistent-dir/x.svg"],
            &["--svg", "/"],
            &["--stack-storage-size", "0"],
            &["0"],
        ],
    );
}

#[test]
fn docs() {
    testkit::docs::assert_docs(BIN, "profile");
}

#[test]
fn numeric_options_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "profile");
}
