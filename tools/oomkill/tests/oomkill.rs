// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! oomkill against real OOM kills: a shell that allocates until the OOM killer of a memory
//! cgroup limited to a few MiB kills it (testkit::oom; the machine itself never runs short).
//! The row and JSON name it as trigger and victim, with the fields the chosen hook gives.

use std::io::Write as _;
use std::path::Path;

use testkit::oom::{LIMIT_BYTES, MemoryCgroup};
use testkit::{Tool, bpf_ready, feature_disabled, me, prerequisite};

const BIN: &str = env!("CARGO_BIN_EXE_oomkill");
/// The victim's comm in these tests (the shell runs through a link of this name).
const HOG: &str = "ferro-oomhog";

/// A memory cgroup for the test, or `None` (skipped, or failed in CI) without one.
fn memory_cgroup(test: &str) -> Option<MemoryCgroup> {
    match MemoryCgroup::new("ferroscope-oomkill") {
        Ok(cg) => Some(cg),
        Err(reason) => {
            prerequisite(test, Some(reason));
            None
        }
    }
}

/// The hook the tool should choose here, by the tests' own oracle: libbpf-tools' kprobe where
/// the kernel has kprobes (not disabled); else tp_btf where the tracepoint passes the task and
/// the uid (6.8, backported to Debian's 6.1), which came with the uid field of its record
/// (Debian's 5.10.223 has the comm field but passes the pid alone); else the classic tracepoint.
fn expected_hook() -> &'static str {
    let kprobes = Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || Path::new("/sys/kernel/tracing/kprobe_events").exists();
    let format = std::fs::read_to_string("/sys/kernel/tracing/events/oom/mark_victim/format")
        .or_else(|_| {
            std::fs::read_to_string("/sys/kernel/debug/tracing/events/oom/mark_victim/format")
        })
        .unwrap_or_default();
    if kprobes && !feature_disabled("kprobes") {
        "kprobe"
    } else if format.contains("uid_t uid;") && !feature_disabled("tp_btf") {
        "tp_btf"
    } else {
        "tracepoint"
    }
}

/// oc->totalpages of a memory cgroup OOM: its limit in pages, plus its swap where the
/// machine has swap (none on this host or in the guests).
fn expected_pages() -> Option<u64> {
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    (swaps.lines().count() <= 1).then_some(LIMIT_BYTES / 4096)
}

#[test]
fn root_oom_kill_is_shown() {
    let test = "root_oom_kill_is_shown";
    if !bpf_ready(test) {
        return;
    }
    let Some(cg) = memory_cgroup(test) else {
        return;
    };
    let t = Tool::spawn(BIN, &[] as &[&str]).ready();
    let victim = cg.oom_kill(HOG);
    let pid = victim.pid();
    let line = t.wait_line(&format!("OOM kill of PID {pid} ("));
    drop(victim);
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("Tracing OOM kills... Ctrl-C to stop."),
        "{out}"
    );
    // The hog's own allocation ran the memory cgroup's OOM killer: it is trigger and victim.
    let (time, rest) = line.split_once(' ').expect("a time first");
    assert!(testkit::is_hms(time), "{line}");
    let want = format!("Triggered by PID {pid} (\"{HOG}\"), OOM kill of PID {pid} (\"{HOG}\"), ");
    assert!(rest.starts_with(&want), "{line}");
    let pages = rest[want.len()..].split(' ').next().unwrap_or("");
    if expected_hook() == "kprobe" {
        let n: u64 = pages.parse().unwrap_or_else(|_| panic!("pages: {line}"));
        if let Some(p) = expected_pages() {
            assert_eq!(n, p, "{line}");
        }
    } else {
        assert_eq!(pages, "?", "{line}");
    }
    let loadavg = rest.split_once(" pages, loadavg: ").expect("loadavg").1;
    assert_eq!(loadavg.split_whitespace().count(), 5, "{line}");
    // This test process is still here, outside the cgroup that ran out of memory.
    assert_ne!(pid.to_string(), me());
}

/// `--containers` puts its column before each row, and only there: libbpf-tools' start line is
/// a banner, not a column header, so it does not gain the column's name.
#[test]
fn root_containers_keep_the_start_line_as_it_is() {
    if !bpf_ready("root_containers_keep_the_start_line_as_it_is") {
        return;
    }
    let out = Tool::spawn(BIN, &["--containers"])
        .ready()
        .interrupt()
        .success();
    // Only the start line is this test's: another test's OOM kill may follow it as a row (the
    // tests of this file run at once), but no column header may come with the container column.
    assert_eq!(
        out.stdout.lines().next(),
        Some("Tracing OOM kills... Ctrl-C to stop."),
        "{out}"
    );
    assert!(!out.stdout.contains("CONTAINER"), "{out}");
}

#[test]
fn root_json_fields() {
    let test = "root_json_fields";
    if !bpf_ready(test) {
        return;
    }
    let Some(cg) = memory_cgroup(test) else {
        return;
    };
    let t = Tool::spawn(BIN, &["--json", "-v"]).ready();
    let victim = cg.oom_kill(HOG);
    let pid = victim.pid();
    let line = t.wait_line(&format!("\"victim_pid\":{pid},"));
    drop(victim);
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["trigger_pid"].as_u64(), Some(pid.into()), "{v}");
    assert_eq!(v["trigger_comm"], HOG, "{v}");
    assert_eq!(v["victim_comm"], HOG, "{v}");
    let hook = expected_hook();
    assert_eq!(v["hook"], hook, "{v}");
    match (hook, expected_pages()) {
        ("kprobe", Some(p)) => assert_eq!(v["pages"].as_u64(), Some(p), "{v}"),
        ("kprobe", None) => assert!(v["pages"].as_u64().is_some(), "{v}"),
        _ => assert!(v["pages"].is_null(), "{v}"),
    }
    let load = v["loadavg"].as_array().expect("loadavg array");
    assert!(load.len() == 3 && load.iter().all(|l| l.as_f64().is_some_and(|x| x >= 0.0)));
    assert!(v["cgroup_id"].as_u64().is_some_and(|id| id > 0), "{v}");
    assert!(v["time"].as_str().is_some_and(|s| s.contains('T')), "{v}");
    assert!(v["ts_ns"].as_u64().is_some_and(|n| n > 0), "{v}");
}

/// Debian's /usr/sbin/oomkill (libbpf-tools 0.26) and ours, for the same OOM kill, where the
/// kernel has kprobes (its only hook: the kernel matrix's guests, not this host): the lines are
/// equal byte for byte but for the time and the load average, which each tool reads itself
/// when it prints.
#[test]
fn root_rows_match_libbpf_tools() {
    let test = "root_rows_match_libbpf_tools";
    if !bpf_ready(test) {
        return;
    }
    if expected_hook() != "kprobe" {
        // Not a missing install but this kernel's nature: the reference cannot attach.
        // Straight to stderr: the test harness hides eprintln! output of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: no kprobes here, libbpf-tools' oomkill cannot run (the kernel \
             matrix's guests run this test)"
        );
        return;
    }
    let Some(cg) = memory_cgroup(test) else {
        return;
    };
    let Some(reference_bin) = testkit::reference_tool(test, "oomkill") else {
        return;
    };
    let reference = testkit::spawn_reference(&reference_bin, &[] as &[&str]);
    let ours = Tool::spawn(BIN, &[] as &[&str]).ready();
    let victim = cg.oom_kill(HOG);
    let needle = format!("OOM kill of PID {} (", victim.pid());
    let (theirs, mine) = (reference.wait_line(&needle), ours.wait_line(&needle));
    drop(victim);
    let norm = |l: &str| {
        let l = l.split_once(' ').map_or(l, |(_, rest)| rest);
        l.split_once(", loadavg: ")
            .map_or(l, |(row, _)| row)
            .to_owned()
    };
    assert_eq!(norm(&theirs), norm(&mine), "\n{theirs}\n{mine}");
    testkit::events::assert_same_header(reference, ours);
}

#[test]
fn root_verbose_names_the_hook() {
    if !bpf_ready("root_verbose_names_the_hook") {
        return;
    }
    let what = match expected_hook() {
        "kprobe" => "kprobe (kprobe:oom_kill_process)",
        "tp_btf" => "tp_btf (tp_btf:mark_victim)",
        _ => "tracepoint (oom:mark_victim)",
    };
    testkit::events::assert_verbose_says(
        BIN,
        &format!("oomkill: attached via {what}; events through the "),
    );
}

#[test]
fn root_signals_pipes_and_privileges() {
    let test = "root_signals_pipes_and_privileges";
    if !bpf_ready(test) {
        return;
    }
    let Some(cg) = memory_cgroup(test) else {
        return;
    };
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {
        drop(cg.oom_kill(HOG));
    });
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "oomkill",
        &[
            &["--bogus"],
            &["-p", "1"],
            &["extra"],
            &["--buffer-size", "3"],
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "oomkill");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "oomkill");
}
