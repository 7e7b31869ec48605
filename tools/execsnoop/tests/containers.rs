// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop --containers / --container / --json cgroup fields, with execs made inside a real
//! podman container and on the host. Tests named `root_*` need root, BPF and podman.

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{Tool, bpf_ready, columns, settle, unique};

const BIN: &str = env!("CARGO_BIN_EXE_execsnoop");

/// Inside the container: exec `/bin/true NAME` (busybox), then sleep there.
fn execs(name: &str) -> [String; 3] {
    [
        "sh".into(),
        "-c".into(),
        format!("/bin/true {name}; exec sleep 600"),
    ]
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Wait until the container's first process has become `sleep`: its exec has been made.
fn wait_done(c: &PodmanContainer) {
    let pid = c.pid();
    let end = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |s| s.trim() != "sleep")
    {
        assert!(
            Instant::now() < end,
            "container {} never reached sleep",
            c.id
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host_exec(name: &str) {
    let st = Command::new("/bin/true").arg(name).status().expect("true");
    assert!(st.success());
}

#[test]
fn root_containers_column_and_json_name_the_podman_container() {
    let test = "root_containers_column_and_json_name_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("execsnoop-in-podman");
    let t = Tool::spawn(BIN, &["--containers"]).ready();
    let c = PodmanContainer::run(&argv(&execs(&name)));
    // RET, then the args: not podman's own command line, which holds the same text.
    let inside = t.wait_line(&format!(" 0 /bin/true {name}"));
    host_exec(&format!("{name}-host"));
    let outside = t.wait_line(&format!(" 0 /bin/true {name}-host"));
    let out = t.interrupt().success();
    assert!(
        out.lines()
            .next()
            .is_some_and(|h| h.starts_with("CONTAINER    PCOMM ")),
        "{out}"
    );
    assert_eq!(columns(&inside)[0], c.short_id(), "{out}");
    assert_eq!(columns(&outside)[0], "-", "{out}");

    let t = Tool::spawn(BIN, &["--json", "-v"]).ready();
    let c2 = PodmanContainer::run(&argv(&execs(&format!("{name}-json"))));
    let line = t.wait_line(&format!("\"argv\":[\"/bin/true\",\"{name}-json\"]"));
    t.interrupt().success();
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["container_id"], c2.id.as_str(), "{line}");
    assert_eq!(v["container_runtime"], "podman", "{line}");
    assert_eq!(
        v["cgroup"],
        format!("/libpod_parent/libpod-{}", c2.id).as_str(),
        "{line}"
    );
}

#[test]
fn root_container_filter_keeps_one_container_started_after_the_tool() {
    let test = "root_container_filter_keeps_one_container_started_after_the_tool";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let name = unique("execsnoop-filter");
    let wanted = PodmanContainer::create(&argv(&execs(&format!("{name}-wanted"))));
    let other = PodmanContainer::create(&argv(&execs(&format!("{name}-other"))));
    let t = Tool::spawn(BIN, &["--container", wanted.short_id()]).ready();
    wanted.start();
    other.start();
    wait_done(&other);
    host_exec(&format!("{name}-host"));
    t.wait_line(&format!(" 0 /bin/true {name}-wanted"));
    settle();
    let out = t.interrupt().success();
    // podman's own command lines (host processes) are filtered out too.
    assert!(!out.stdout.contains(&format!("{name}-other")), "{out}");
    assert!(!out.stdout.contains(&format!("{name}-host")), "{out}");
    assert!(!out.stdout.contains("podman"), "{out}");
}

/// The JSON object of the exec whose argv is exactly `argv`, from a container.
fn exec_with_argv(out: &testkit::Finished, argv: &[&str]) -> serde_json::Value {
    let needle = format!("\"argv\":{}", serde_json::json!(argv));
    let line = out
        .lines()
        .find(|l| l.contains(&needle) && l.contains("\"container_id\""))
        .unwrap_or_else(|| panic!("no exec with {needle} in a container\n{out}"));
    serde_json::from_str(line).expect("JSON line")
}

/// Issue 20's container rules with the built-in set: an interactive shell on a terminal in the
/// container, and a binary copied into it (its upper layer) then run, against one that came
/// with the image (lower layer).
#[test]
fn root_builtin_rules_see_a_terminal_shell_and_drift_in_the_podman_container() {
    let test = "root_builtin_rules_see_a_terminal_shell_and_drift_in_the_podman_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let (m_tty, m_drift, m_lower) = (unique("tty"), unique("drift"), unique("lower"));
    let c = PodmanContainer::run(&["sleep", "600"]);
    let t = Tool::spawn(BIN, &["--rules", "builtin", "--json", "-v"]).ready();
    // `podman exec -it` needs a terminal of its own: script(1) gives it one; inside, the shell
    // gets the container's pseudo-terminal as its controlling tty.
    let st = Command::new("script")
        .args(["-q", "-c"])
        .arg(format!("podman exec -it {} sh -c 'true {m_tty}'", c.id))
        .arg("/dev/null")
        .status()
        .expect("script");
    assert!(st.success(), "podman exec -it");
    let script = format!(
        "cp /bin/busybox /busybox-drift && /busybox-drift true {m_drift}; /bin/true {m_lower}"
    );
    let out = c.exec(&["sh", "-c", &script]);
    assert!(out.status.success(), "podman exec: {out}");
    t.wait_line(&format!("\"{m_lower}\"]"));
    settle();
    let out = t.interrupt().success();

    let shell = exec_with_argv(&out, &["sh", "-c", &format!("true {m_tty}")]);
    assert_eq!(shell["container_id"], c.id.as_str(), "{shell}");
    assert!(
        shell["tty"].as_str().is_some_and(|t| t.starts_with("pts/")),
        "{shell}"
    );
    assert_eq!(
        shell["rules"],
        serde_json::json!(["terminal-shell-in-container"]),
        "{shell}"
    );
    assert_eq!(shell["severity"], "high", "{shell}");

    let drift = exec_with_argv(&out, &["/busybox-drift", "true", &m_drift]);
    // The container's own path, not the host's overlay directory.
    assert_eq!(drift["exe"], "/busybox-drift", "{drift}");
    assert_eq!(drift["overlay_upper"], true, "{drift}");
    assert_eq!(
        drift["rules"],
        serde_json::json!(["container-drift"]),
        "{drift}"
    );

    let lower = exec_with_argv(&out, &["/bin/true", &m_lower]);
    assert_eq!(lower["exe"], "/bin/busybox", "{lower}");
    assert_eq!(lower["overlay_upper"], false, "{lower}");
    assert_eq!(lower["tty"], serde_json::Value::Null, "{lower}");
    assert_eq!(lower["rules"], serde_json::json!([]), "{lower}");
}
