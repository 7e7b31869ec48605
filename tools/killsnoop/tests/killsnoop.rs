// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! killsnoop against real signals: SIGUSR1 from one test process to another, a kill that fails
//! with ESRCH, tgkill, the -x, -p, -s and -n options, JSON, and libbpf-tools' rows for the
//! same calls.

use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Tool, bpf_ready, columns, me, settle};

const BIN: &str = env!("CARGO_BIN_EXE_killsnoop");

/// Above this machine's pid_max (at most 4194304 on Linux): kill() fails with ESRCH.
const NO_SUCH_PID: &str = "4194310";

/// TCOMM of a live `sleep` target: its name where the task lookup runs (bpf_task_from_pid,
/// 6.2; FERROSCOPE_DISABLE=kfuncs turns it off), `N/A` before.
fn sleep_tcomm() -> &'static str {
    if testkit::kernel_at_least(6, 2) && !testkit::feature_disabled("kfuncs") {
        "sleep"
    } else {
        "N/A"
    }
}

/// A `sleep` process to receive signals, once it runs sleep (so TCOMM is `sleep`).
struct Target(Child);

impl Target {
    fn new() -> Self {
        let c = Command::new("sleep").arg("100").spawn().expect("sleep");
        let pid = c.id();
        let end = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map_or(true, |s| s.trim() != "sleep")
        {
            assert!(Instant::now() < end, "sleep {pid} never started");
            thread::sleep(Duration::from_millis(10));
        }
        Self(c)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sh -c 'kill -SIG PID'` (the shell's kill builtin calls kill(2)): the sender's PID.
fn sh_kill(sig: &str, pid: &str) -> u32 {
    let mut c = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{sig} {pid} 2>/dev/null; exit 0"))
        .spawn()
        .expect("sh");
    let sender = c.id();
    assert!(c.wait().expect("wait").success());
    sender
}

/// The row whose TPID is `tpid` and SIG is `sig`, waiting for it.
fn row_for(t: &Tool, sig: &str, tpid: &str) -> String {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(l) = t.lines().into_iter().find(|l| {
            let c = columns(l);
            c.len() >= 6 && c[3] == sig && c[4] == tpid
        }) {
            return l;
        }
        assert!(Instant::now() < end, "no row with SIG {sig} TPID {tpid}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn rows_to(out: &testkit::Finished, tpid: &str) -> Vec<String> {
    out.lines()
        .filter(|l| columns(l).get(4) == Some(&tpid))
        .map(str::to_owned)
        .collect()
}

#[test]
fn root_sigusr1_between_two_processes_and_esrch() {
    if !bpf_ready("root_sigusr1_between_two_processes_and_esrch") {
        return;
    }
    let target = Target::new();
    let t = Tool::spawn(BIN, &[] as &[&str]).ready();
    let sender = sh_kill("USR1", &target.pid());
    let failer = sh_kill("0", NO_SUCH_PID);
    let ok = row_for(&t, "10", &target.pid());
    let bad = row_for(&t, "0", NO_SUCH_PID);
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("TIME     PID     COMM             SIG          TPID    TCOMM            RESULT")
    );
    let c = columns(&ok);
    assert!(testkit::is_hms(c[0]), "{ok}");
    assert_eq!(
        &c[1..],
        [
            &sender.to_string(),
            "sh",
            "10",
            &target.pid(),
            sleep_tcomm(),
            "0"
        ],
        "{ok}"
    );
    // RESULT is padded to 6, as libbpf-tools pads it.
    assert!(ok.ends_with(" 0     "), "{ok:?}");
    let c = columns(&bad);
    assert_eq!(
        &c[1..],
        [&failer.to_string(), "sh", "0", NO_SUCH_PID, "N/A", "-3"],
        "{bad}"
    );
}

#[test]
fn root_failed_only_names_and_signal_filter() {
    if !bpf_ready("root_failed_only_names_and_signal_filter") {
        return;
    }
    let target = Target::new();
    let x = Tool::spawn(BIN, &["-x", "-n"]).ready();
    let s = Tool::spawn(BIN, &["-s", "12,15", "-n"]).ready();
    sh_kill("CONT", &target.pid());
    sh_kill("USR2", &target.pid());
    sh_kill("USR2", NO_SUCH_PID);
    let bad = row_for(&x, "SIGUSR2", NO_SUCH_PID);
    row_for(&s, "SIGUSR2", &target.pid());
    settle();
    let xo = x.interrupt().success();
    let so = s.interrupt().success();
    assert!(bad.trim_end().ends_with(" -3"), "{bad}");
    assert!(
        rows_to(&xo, &target.pid()).is_empty(),
        "-x let a success through: {xo}"
    );
    let rows = rows_to(&so, &target.pid());
    assert_eq!(rows.len(), 1, "-s 12,15 let SIGCONT through: {so}");
}

#[test]
fn root_pid_filter_and_tgkill() {
    if !bpf_ready("root_pid_filter_and_tgkill") {
        return;
    }
    let target = Target::new();
    let t = Tool::spawn(BIN, &["-p", &me(), "--json"]).ready();
    sh_kill("USR1", &target.pid());
    // SAFETY: gettid has no preconditions; tgkill with signal 0 only checks the thread.
    let tid = unsafe { libc::gettid() };
    let me_pid: i32 = me().parse().expect("pid");
    // SAFETY: signal 0 to this very thread: nothing is delivered.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, me_pid, tid, 0) };
    assert_eq!(r, 0);
    let line = t.wait_line(&format!("\"tpid\":{tid},"));
    settle();
    let out = t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["syscall"], "tgkill", "{line}");
    assert_eq!(v["pid"].as_u64(), Some(me_pid as u64));
    assert_eq!(v["tid"].as_i64(), Some(i64::from(tid)));
    assert_eq!(v["sig"], 0);
    assert_eq!(v["sig_name"], "N/A");
    assert_eq!(v["ret"], 0);
    assert_eq!(v["tcomm"].is_string(), sleep_tcomm() != "N/A", "{line}");
    assert!(v["cgroup_id"].as_u64().is_some(), "{line}");
    assert!(
        !out.stdout.contains(&format!("\"tpid\":{},", target.pid())),
        "-p let another sender through: {out}"
    );
}

#[test]
fn root_json_fields_of_a_kill() {
    if !bpf_ready("root_json_fields_of_a_kill") {
        return;
    }
    let target = Target::new();
    let t = Tool::spawn(BIN, &["--json"]).ready();
    let sender = sh_kill("USR1", &target.pid());
    let line = t.wait_line(&format!("\"tpid\":{},", target.pid()));
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["pid"].as_u64(), Some(sender.into()), "{line}");
    assert_eq!(v["comm"], "sh");
    assert_eq!(v["syscall"], "kill");
    assert_eq!(v["sig"], 10);
    assert_eq!(v["sig_name"], "SIGUSR1");
    match sleep_tcomm() {
        "N/A" => assert_eq!(v["tcomm"], serde_json::Value::Null, "{line}"),
        name => assert_eq!(v["tcomm"], name, "{line}"),
    }
    assert_eq!(v["ret"], 0);
    assert!(
        v["time"].as_str().is_some_and(|s| s.contains('T')),
        "{line}"
    );
}

/// Debian's /usr/sbin/killsnoop (libbpf-tools 0.26) and ours, for the same calls. 0.26 has no
/// TCOMM column and a 9-wide SIG: our row, re-laid in 0.26's widths without TCOMM, must equal
/// theirs byte for byte (the time of day aside, which each prints when it reads the event).
#[test]
fn root_rows_match_libbpf_tools() {
    let Some(reference_bin) = testkit::reference_tool("root_rows_match_libbpf_tools", "killsnoop")
    else {
        return;
    };
    let target = Target::new();
    for opts in [&[] as &[&str], &["-n"]] {
        let reference = testkit::spawn_reference(&reference_bin, opts);
        let ours = Tool::spawn(BIN, opts).ready();
        sh_kill("CONT", &target.pid());
        sh_kill("0", NO_SUCH_PID);
        let (cont, zero) = if opts.is_empty() {
            ("18", "0")
        } else {
            ("SIGCONT", "N/A")
        };
        for (sig, tpid) in [(cont, target.pid()), (zero, NO_SUCH_PID.to_owned())] {
            let theirs = row_for(&reference, sig, &tpid);
            let mine = row_for(&ours, sig, &tpid);
            let c = columns(&mine);
            let as_026 = format!(
                "{:<8} {:<7} {:<16} {:<9} {:<7} {:<6}",
                "TIME",
                c[1],
                c[2],
                c[3],
                c[4],
                columns(&mine)[6]
            );
            assert_eq!(as_026, format!("{:<8}{}", "TIME", &theirs[8..]), "{opts:?}");
        }
        let ref_out = reference.interrupt();
        ours.interrupt().success();
        assert_eq!(
            ref_out.lines().next(),
            Some("TIME     PID     COMM             SIG       TPID    RESULT")
        );
    }
}

#[test]
fn root_verbose_names_the_hooks() {
    if !bpf_ready("root_verbose_names_the_hooks") {
        return;
    }
    testkit::events::assert_verbose_says(
        BIN,
        "killsnoop: attached to syscalls:sys_{enter,exit}_{kill,tkill,tgkill}; events through the ",
    );
}

#[test]
fn root_leaves_out_its_own_process() {
    if !bpf_ready("root_leaves_out_its_own_process") {
        return;
    }
    testkit::assert_excludes_itself(BIN, &["-v"]);
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {
        sh_kill("0", NO_SUCH_PID);
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "killsnoop",
        &[
            &["--bogus"],
            &["-p"],
            &["-p", "0"],
            &["-s", "0"],
            &["-s", "65"],
            &["-s", "9,x"],
            &["-s", ""],
            &["-c", "/nonexistent"],
            &["extra"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "killsnoop");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "killsnoop");
}
