// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! exitsnoop against real exits: a child exiting with code 3, a child killed by SIGKILL, thread
//! exits (-T), the -x, -p and -c filters, JSON, escaping, and libbpf-tools' rows for the same
//! exits.

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use testkit::events::Gated;
use testkit::{TempDir, Tool, bpf_ready, columns, me, settle};

const BIN: &str = env!("CARGO_BIN_EXE_exitsnoop");

/// `sh -c 'exit CODE'`, waited for: its PID.
fn exit_with(code: i32) -> u32 {
    let mut c = Command::new("sh")
        .arg("-c")
        .arg(format!("exit {code}"))
        .spawn()
        .expect("sh");
    let pid = c.id();
    let st = c.wait().expect("wait");
    assert_eq!(st.code(), Some(code));
    pid
}

/// A `sleep` child that lives about `ms` milliseconds, then dies of SIGKILL: its PID.
fn killed_after(ms: u64) -> u32 {
    let mut c: Child = Command::new("sleep").arg("100").spawn().expect("sleep");
    thread::sleep(Duration::from_millis(ms));
    c.kill().expect("SIGKILL");
    c.wait().expect("wait");
    c.id()
}

/// A shell that kills itself with SIGSEGV, allowed to dump core (into `dir`, where the kernel's
/// default core_pattern puts it): its PID.
fn dumps_core(dir: &TempDir) -> u32 {
    let out = Command::new("bash")
        .arg("-c")
        .arg("ulimit -c unlimited; sh -c 'echo $$; kill -SEGV $$'; true")
        .current_dir(dir.path())
        .stderr(Stdio::null())
        .output()
        .expect("bash");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the shell's pid")
}

/// The row of process `pid` (PID column, after TIME(s) with -t), waiting for it.
fn row_of(t: &Tool, pid: u32) -> String {
    let needle = format!(" {pid} ");
    let line = t.wait_line(&needle);
    let c = columns(&line);
    let at = usize::from(testkit::is_hms(c[0]));
    assert_eq!(c[1 + at], pid.to_string(), "{line}");
    line
}

fn age(line: &str) -> f64 {
    columns(line)[4]
        .parse()
        .unwrap_or_else(|e| panic!("AGE(s) of {line}: {e}"))
}

#[test]
fn root_exit_code_and_sigkill_are_shown() {
    if !bpf_ready("root_exit_code_and_sigkill_are_shown") {
        return;
    }
    let t = Tool::spawn(BIN, &[] as &[&str]).ready();
    let three = exit_with(3);
    let killed = killed_after(300);
    let l3 = row_of(&t, three);
    let lk = row_of(&t, killed);
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE")
    );
    let c = columns(&l3);
    assert_eq!(c[0], "sh", "{l3}");
    assert_eq!((c[2], c[3]), (me().as_str(), three.to_string().as_str()));
    assert!(l3.ends_with("    code 3"), "{l3}");
    let c = columns(&lk);
    assert_eq!(c[0], "sleep", "{lk}");
    assert_eq!(c[2], me(), "{lk}");
    assert!(lk.ends_with("    signal 9 (Killed)"), "{lk}");
    // It lived about 300 ms: the age is the task's, not the tool's or the machine's.
    let a = age(&lk);
    assert!((0.25..10.0).contains(&a), "age {a}: {lk}");
    assert!(age(&l3) < 10.0, "{l3}");
}

#[test]
fn root_failed_only_and_timestamp() {
    if !bpf_ready("root_failed_only_and_timestamp") {
        return;
    }
    let t = Tool::spawn(BIN, &["-x", "-t"]).ready();
    let ok = exit_with(0);
    let three = exit_with(3);
    let l3 = row_of(&t, three);
    settle();
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("TIME(s)  PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE")
    );
    assert!(testkit::is_hms(columns(&l3)[0]), "{l3}");
    assert!(
        !out.lines()
            .any(|l| columns(l).get(2) == Some(&ok.to_string().as_str())),
        "-x let a zero exit through: {out}"
    );
    assert!(out.lines().skip(1).all(|l| !l.ends_with(" 0")), "{out}");
}

#[test]
fn root_pid_filter() {
    if !bpf_ready("root_pid_filter") {
        return;
    }
    // A process that waits for a line on stdin, then exits 5: its PID is known before it exits.
    let target = Gated::spawn(Command::new("sh").arg("-c").arg("read x; exit 5"));
    let pid = target.id();
    let t = Tool::spawn(BIN, &["-p", &pid.to_string()]).ready();
    let other = exit_with(4);
    assert_eq!(target.go().code(), Some(5));
    let line = row_of(&t, pid);
    settle();
    let out = t.interrupt().success();
    assert!(line.ends_with("    code 5"), "{line}");
    assert_eq!(
        out.lines().count(),
        2,
        "only the header and PID {pid}: {out}"
    );
    assert!(!out.stdout.contains(&format!(" {other} ")), "{out}");
}

/// A thread of this test process exits: shown with -T (its own TID, this PID), not without.
#[test]
fn root_threads_with_t_only() {
    if !bpf_ready("root_threads_with_t_only") {
        return;
    }
    let spawn_thread = || {
        thread::spawn(|| {
            // SAFETY: gettid has no preconditions.
            unsafe { libc::gettid() as u32 }
        })
        .join()
        .expect("thread")
    };
    let threaded = Tool::spawn(BIN, &["-T", "-p", &me()]).ready();
    let plain = Tool::spawn(BIN, &["-p", &me()]).ready();
    let tid = spawn_thread();
    let line = threaded.wait_line(&format!(" {tid} "));
    settle();
    let out = threaded.interrupt().success();
    let quiet = plain.interrupt().success();
    let c = columns(&line);
    assert_eq!(
        (c[1], c[3]),
        (me().as_str(), tid.to_string().as_str()),
        "{out}"
    );
    assert!(line.ends_with("    0"), "{line}");
    assert_eq!(
        quiet.lines().count(),
        1,
        "a thread exit without -T: {quiet}"
    );
}

#[test]
fn root_cgroup_filter() {
    if !bpf_ready("root_cgroup_filter") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-exitsnoop");
    let t = Tool::spawn(BIN, &["-c", cg.path()]).ready();
    let outside = exit_with(6);
    let st = cg.shell("sh", "exit 7").status().expect("sh");
    assert_eq!(st.code(), Some(7));
    t.wait_line("code 7");
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains(&format!(" {outside} ")), "{out}");
    assert!(!out.stdout.contains("code 6"), "{out}");
}

#[test]
fn root_json_fields() {
    if !bpf_ready("root_json_fields") {
        return;
    }
    let t = Tool::spawn(BIN, &["--json"]).ready();
    let three = exit_with(3);
    let killed = killed_after(200);
    let j3 = t.wait_line(&format!("\"pid\":{three},"));
    let jk = t.wait_line(&format!("\"pid\":{killed},"));
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&j3).expect("JSON");
    assert_eq!(v["comm"], "sh");
    assert_eq!(v["ppid"].as_u64(), Some(me().parse().expect("pid")));
    assert_eq!(v["tid"].as_u64(), Some(three.into()));
    assert_eq!(v["code"], 3);
    assert_eq!(v["exit_status"], 3 << 8);
    assert_eq!(v["signal"], serde_json::Value::Null);
    assert!(v["cgroup_id"].as_u64().is_some(), "{j3}");
    assert!(v["time"].as_str().is_some_and(|s| s.contains('T')), "{j3}");
    let v: serde_json::Value = serde_json::from_str(&jk).expect("JSON");
    assert_eq!(v["signal"], 9);
    assert_eq!(v["signal_name"], "SIGKILL");
    assert_eq!(v["code"], serde_json::Value::Null);
    assert_eq!(v["core_dumped"], false);
    let age = v["age_ns"].as_u64().expect("age_ns");
    assert!((150_000_000..10_000_000_000).contains(&age), "{jk}");
}

#[test]
fn root_control_bytes_in_comm_are_escaped() {
    if !bpf_ready("root_control_bytes_in_comm_are_escaped") {
        return;
    }
    // comm is the executed file's name: a link to sh with an escape sequence in its name.
    let dir = TempDir::new("ferroscope-exitsnoop");
    let link = dir.path().join("a\x1b]0;x\x07b");
    std::os::unix::fs::symlink("/bin/sh", &link).expect("symlink");
    let t = Tool::spawn(BIN, &[] as &[&str]).ready();
    let mut c = Command::new(&link)
        .args(["-c", "exit 9"])
        .spawn()
        .expect("run link");
    let pid = c.id();
    c.wait().expect("wait");
    let line = row_of(&t, pid);
    let out = t.interrupt().success();
    assert!(line.starts_with("a\\e]0;x\\x07b "), "{line}");
    assert!(!out.stdout.contains('\x1b') && !out.stdout.contains('\x07'));
}

/// Debian's /usr/sbin/exitsnoop (libbpf-tools 0.26, the same columns as HEAD) and ours, for
/// the same exits: the rows are equal byte for byte but for AGE(s), which each tool measures
/// with its own clock read and so may round differently by one hundredth.
#[test]
fn root_rows_match_libbpf_tools() {
    let Some(reference_bin) = testkit::reference_tool("root_rows_match_libbpf_tools", "exitsnoop")
    else {
        return;
    };
    let reference = testkit::spawn_reference(&reference_bin, &["-x"]);
    let ours = Tool::spawn(BIN, &["-x"]).ready();
    let pids = [
        exit_with(3),
        killed_after(100),
        exit_with(255),
        dumps_core(&TempDir::new("ferroscope-exitsnoop-core")),
    ];
    for pid in pids {
        let theirs = row_of(&reference, pid);
        let mine = row_of(&ours, pid);
        if pid == pids[3] {
            // A core_pattern pipe helper may refuse the core; a file pattern takes it.
            let piped = std::fs::read_to_string("/proc/sys/kernel/core_pattern")
                .is_ok_and(|p| p.starts_with('|'));
            let want = if piped {
                "signal 11 (Segmentation fault)"
            } else {
                "signal 11 (Segmentation fault), core dumped"
            };
            assert!(mine.contains(want), "{mine}");
        }
        let (ta, ma) = (age(&theirs), age(&mine));
        assert!((ta - ma).abs() <= 0.011, "{theirs}\n{mine}");
        let norm = |l: &str| {
            let a = columns(l)[4].to_owned();
            l.replacen(&format!(" {a} "), " AGE ", 1)
        };
        assert_eq!(norm(&theirs), norm(&mine));
    }
    testkit::events::assert_same_header(reference, ours);
}

#[test]
fn root_verbose_names_the_hook() {
    if !bpf_ready("root_verbose_names_the_hook") {
        return;
    }
    testkit::events::assert_verbose_says(
        BIN,
        "exitsnoop: attached to sched:sched_process_exit; events through the ",
    );
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {
        exit_with(1);
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "exitsnoop",
        &[
            &["--bogus"],
            &["-p"],
            &["-p", "x"],
            &["-p", "0"],
            &["-p", "-3"],
            &["-c", "/nonexistent"],
            &["extra"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "exitsnoop");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "exitsnoop");
}
