// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! offcputime against the real scheduler: a C helper (frame pointers) sleeps a known time in
//! named functions, and the tool must show those functions' stacks with about that much
//! off-CPU time, in text, folded, JSON and SVG. Tests named `root_*` need root and BPF.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testkit::{Finished, TempDir, Tool, bpf_ready};

mod sleeper;
use sleeper::{LONG, LONG_US, SHORT, build_sleeper, entries, folded_us, text_us};

const BIN: &str = env!("CARGO_BIN_EXE_offcputime");

/// A running helper, waiting for [`Sleeper::go`].
struct Sleeper {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Sleeper {
    fn start(bin: &PathBuf) -> Self {
        let mut child = Command::new(bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the sleeper");
        let out = BufReader::new(child.stdout.take().expect("stdout piped"));
        Self { child, out }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sleep 2 x 300 ms in [`LONG`], then 20 x 1 ms in [`SHORT`]; return once done (the
    /// helper stays, for its stacks to be symbolized).
    fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("stdin piped");
        stdin.write_all(b"g").expect("write to the sleeper");
        stdin.flush().expect("flush");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read the sleeper");
        assert_eq!(line, "done\n", "the sleeper did not finish");
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_about_long(us: u64, what: &str, out: &Finished) {
    // Generous: at least 0.8 x the sleep, at most what a loaded 2-CPU VM could stretch it to.
    assert!(
        (LONG_US * 8 / 10..LONG_US * 10).contains(&us),
        "{what}: {us} us in {LONG}, expected about {LONG_US}\n{out}"
    );
}

#[test]
fn root_sleeping_function_in_text_folded_json_and_svg() {
    if !bpf_ready("root_sleeping_function_in_text_folded_json_and_svg") {
        return;
    }
    let dir = TempDir::new("offcputime");
    let bin = build_sleeper(&dir, false);
    let mut sleeper = Sleeper::start(&bin);
    let pid = sleeper.pid();
    let svg = dir.path().join("offcpu.svg");
    let svg_arg = svg.to_str().expect("utf-8 path");
    let text = Tool::spawn(BIN, &["-p", &pid]).ready();
    let folded = Tool::spawn(BIN, &["-v", "-f", "-p", &pid]).ready();
    let json = Tool::spawn(BIN, &["-v", "--json", "-p", &pid]).ready();
    let drawn = Tool::spawn(BIN, &["--svg", svg_arg, "-p", &pid]).ready();
    sleeper.go();
    let [text, folded, json, drawn] = [text, folded, json, drawn].map(Tool::interrupt);

    assert!(text.status.success(), "{text}");
    assert!(
        text.stdout.starts_with(&format!(
            "Tracing off-CPU time (us) of PID [{pid}]... Hit Ctrl-C to end.\n"
        )),
        "{text}"
    );
    assert_about_long(text_us(&text.stdout, LONG), "text", &text);
    // The largest entry with the marker: the sleeps. A preemption while the helper ran in the
    // marker (a loaded 1-CPU guest) makes a smaller one, whose kernel stack has no nanosleep.
    let entry = entries(&text.stdout)
        .into_iter()
        .filter(|e| e.iter().any(|f| f == LONG))
        .max_by_key(|e| e.last().and_then(|us| us.parse::<u64>().ok()))
        .expect("an entry of the long sleep");
    // The kernel side: the scheduler's frames above the nanosleep path (a kernel frame: the
    // helper's own ferro_nanosleep is a user frame).
    let kernel_frames = entry.iter().take_while(|f| *f != "ferro_nanosleep");
    assert!(
        kernel_frames
            .clone()
            .any(|f| f == "schedule" || f == "__schedule"),
        "no scheduler frame: {entry:?}\n{text}"
    );
    assert!(
        kernel_frames.clone().any(|f| f.contains("nanosleep")),
        "no kernel nanosleep frame: {entry:?}\n{text}"
    );
    assert!(
        entry
            .iter()
            .any(|f| f == &format!("-                offcpu_sleeper ({pid})")),
        "no comm and TID line: {entry:?}"
    );
    // The user frames in order: the syscall's own function, then the marker, then main.
    let at = |name: &str| {
        entry
            .iter()
            .position(|f| f == name)
            .unwrap_or_else(|| panic!("no {name} frame: {entry:?}\n{text}"))
    };
    assert!(
        at("ferro_nanosleep") < at(LONG) && at(LONG) < at("main"),
        "user frames out of order: {entry:?}"
    );

    assert!(folded.status.success(), "{folded}");
    assert!(
        !folded.stdout.contains("Tracing"),
        "folded has no header: {folded}"
    );
    assert_about_long(folded_us(&folded.stdout, LONG), "folded", &folded);
    assert!(
        folded
            .stdout
            .lines()
            .any(|l| l.starts_with("offcpu_sleeper;") && l.contains(&format!(";main;{LONG};"))),
        "{folded}"
    );

    assert!(json.status.success(), "{json}");
    let objects: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let ours: u64 = objects
        .iter()
        .filter(|o| {
            o["user_stack"]
                .as_array()
                .is_some_and(|s| s.iter().any(|f| f["symbol"] == LONG))
        })
        .inspect(|o| {
            assert_eq!(o["pid"].to_string(), pid, "{o}");
            assert_eq!(o["tid"].to_string(), pid, "{o}");
            assert_eq!(o["comm"], "offcpu_sleeper", "{o}");
            assert!(o["cgroup_id"].is_u64(), "{o}");
        })
        .filter_map(|o| o["off_cpu_us"].as_u64())
        .sum();
    assert_about_long(ours, "json", &json);

    assert!(drawn.status.success(), "{drawn}");
    assert!(
        drawn.stdout.contains(&format!("Wrote {svg_arg}: ")),
        "{drawn}"
    );
    let svg_text = std::fs::read_to_string(&svg).expect("the SVG was written");
    let mut reader = quick_xml::Reader::from_str(&svg_text);
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(_)) => elements += 1,
            Ok(_) => {}
            Err(e) => panic!("the SVG does not parse: {e}"),
        }
    }
    assert!(elements > 5, "an SVG with {elements} elements");
    assert!(svg_text.contains(LONG), "the flame graph has no {LONG}");
}

#[test]
fn root_min_and_max_block_time_and_both_id_filters() {
    if !bpf_ready("root_min_and_max_block_time_and_both_id_filters") {
        return;
    }
    let dir = TempDir::new("offcputime");
    let bin = build_sleeper(&dir, false);
    let mut sleeper = Sleeper::start(&bin);
    let pid = sleeper.pid();
    // Interruptible sleeps only (nanosleep's; BCC's bitmask, as 6.1+ adds TASK_FREEZABLE to
    // them): a preemption while the helper runs in one of its functions, likely in a loaded
    // 1-CPU guest, is a block of that function too, of any length.
    let min = Tool::spawn(
        BIN,
        &["-f", "-v", "-m", "100000", "--state-mask", "1", "-p", &pid],
    )
    .ready();
    let max = Tool::spawn(
        BIN,
        &["-f", "-v", "-M", "100000", "--state-mask", "1", "-p", &pid],
    )
    .ready();
    // -p and -t both given: both must match.
    let both = Tool::spawn(BIN, &["-f", "-v", "-p", &pid, "-t", &pid]).ready();
    let other = Tool::spawn(BIN, &["-f", "-v", "-p", &pid, "-t", "1"]).ready();
    sleeper.go();
    let [min, max, both, other] = [min, max, both, other].map(Tool::interrupt);
    for out in [&min, &max, &both, &other] {
        assert!(out.status.success(), "{out}");
    }
    // Each 300 ms sleep is a block above 100 ms; each 1 ms one below.
    assert_about_long(folded_us(&min.stdout, LONG), "-m 100000", &min);
    assert_eq!(
        folded_us(&min.stdout, SHORT),
        0,
        "-m 100000 kept short blocks\n{min}"
    );
    assert_eq!(
        folded_us(&max.stdout, LONG),
        0,
        "-M 100000 kept long blocks\n{max}"
    );
    let short = folded_us(&max.stdout, SHORT);
    assert!(
        (16_000..1_000_000).contains(&short),
        "-M 100000: {short} us in {SHORT}, expected about 20000\n{max}"
    );
    assert_about_long(folded_us(&both.stdout, LONG), "-p and -t", &both);
    assert!(
        !other.stdout.contains("offcpu_sleeper"),
        "-t of another process matched\n{other}"
    );
}

#[test]
fn root_raw_tracepoint_fallback() {
    if !bpf_ready("root_raw_tracepoint_fallback") {
        return;
    }
    let dir = TempDir::new("offcputime");
    let bin = build_sleeper(&dir, false);
    let mut sleeper = Sleeper::start(&bin);
    let pid = sleeper.pid();
    let t = Tool::spawn_cmd(
        Command::new(BIN)
            .args(["-v", "-p", &pid])
            .env("FERROSCOPE_DISABLE", "tp_btf"),
    )
    .ready();
    sleeper.go();
    let out = t.interrupt();
    assert!(out.status.success(), "{out}");
    assert!(
        out.stderr
            .contains("attached to sched_switch as a raw tracepoint; switch times in a hash map"),
        "{out}"
    );
    assert_about_long(text_us(&out.stdout, LONG), "raw tracepoint", &out);
}

#[test]
fn root_path_is_named() {
    if !bpf_ready("root_path_is_named") {
        return;
    }
    // tp_btf wherever the kernel takes it (5.5+, BTF): the host and every guest of the matrix.
    let t = Tool::spawn(BIN, &["-v", "1"]).ready();
    let out = t.finish(Duration::from_secs(30));
    assert!(out.status.success(), "{out}");
    let want = if testkit::feature_disabled("tp_btf") {
        "as a raw tracepoint"
    } else {
        "as tp_btf"
    };
    assert!(out.stderr.contains(want), "{out}");
    assert!(
        out.stdout
            .starts_with("Tracing off-CPU time (us) of all threads for 1 secs.\n"),
        "{out}"
    );
    // Some thread of the system slept within the second: entries end with their time.
    assert!(!entries(&out.stdout).is_empty(), "{out}");
}

/// `--container` of a container that does not exist: every cgroup is another one. The sweeps
/// of the info map while tracing put the cgroups that slept (this test's sleeping thread's,
/// the kernel threads') in the kernel's skip list, so the kernel drops their later switches
/// before it walks their stacks, and counts them (`-v`); no stack is printed. On both paths:
/// tp_btf, and the raw tracepoint.
#[test]
fn root_container_filter_drops_other_cgroups_in_the_kernel() {
    if !bpf_ready("root_container_filter_drops_other_cgroups_in_the_kernel") {
        return;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sleeping = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    for disable in ["", "tp_btf"] {
        let mut cmd = Command::new(BIN);
        cmd.args(["--container", "0123456789ab", "-v", "-f", "1"]);
        if !disable.is_empty() {
            cmd.env("FERROSCOPE_DISABLE", disable);
        }
        let out = Tool::spawn_cmd(&mut cmd).finish(Duration::from_secs(30));
        assert!(out.status.success(), "{out}");
        testkit::container_tests::assert_kernel_dropped(&out, 1);
        assert!(
            out.stderr.contains(" of the info map while tracing"),
            "{out}"
        );
        assert_eq!(out.stdout, "", "no stack of another cgroup: {out}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sleeping.join().expect("the sleeping thread");
}

#[test]
fn bad_input_is_refused_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "offcputime",
        &[
            &["-u", "-k"],
            &["-U", "-K"],
            &["-m", "10", "-M", "10"],
            &["-m", "11", "-M", "10"],
            &["--state", "3"],
            &["--state", "1", "--state-mask", "2"],
            &["--perf-max-stack-depth", "100000"],
            &["-f", "--svg", "x.svg"],
            &["-f", "--json"],
            &["--svg", "/nonexistent-dir/x.svg"],
            &["--svg", "/dev/null"],
            &["--svg", "/proc/version"],
            &["-p", "1,x"],
            &["-t", ""],
        ],
    );
    let out = testkit::run(Command::new(BIN).args(["-m", "5", "-M", "5"]));
    assert_eq!(
        out.stderr,
        "offcputime: min_block_time should be smaller than max_block_time\n"
    );
}

#[test]
fn numeric_options_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "offcputime");
}

#[test]
fn docs() {
    testkit::docs::assert_docs(BIN, "offcputime");
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    // One shell's waits: traced whole, the system's stacks take seconds to symbolize at the
    // end on a loaded machine, which the signal checks would wait for each time.
    let mut sh = Command::new("sh")
        .args(["-c", "while :; do sleep 0.05; done"])
        .spawn()
        .expect("spawn sh");
    let pid = sh.id().to_string();
    let ends = testkit::assert_signals_pipes_and_privileges(
        BIN,
        &["-v", "-p", &pid],
        &["-p", &pid],
        || {
            std::thread::sleep(Duration::from_millis(10));
        },
    );
    let _ = sh.kill();
    let _ = sh.wait();
    // Both ends print what was counted: the shell waited for its children.
    for out in &ends {
        assert!(!entries(&out.stdout).is_empty(), "{out}");
    }
}
