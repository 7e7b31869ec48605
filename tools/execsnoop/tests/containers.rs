// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop --containers / --container / --json cgroup fields, with execs made inside a real
//! podman container and on the host (testkit's shared containers tests), and the built-in
//! rules that look at containers. Tests named `root_*` need root, BPF and podman.

use std::process::Command;

use testkit::container::{PodmanContainer, podman_ready};
use testkit::container_tests::ContainerEvents;
use testkit::{Tool, bpf_ready, settle, unique};

const BIN: &str = env!("CARGO_BIN_EXE_execsnoop");

/// An exec of `/bin/true TAG` (busybox's in the container).
struct Execs;

impl ContainerEvents for Execs {
    const BIN: &'static str = BIN;
    const HEADER: Option<&'static str> = Some("PCOMM            PID    PPID   RET ARGS");
    // podman's own command lines run on the host: --container keeps them out too.
    const FILTERED_TOO: &'static [&'static str] = &["podman"];

    fn tag() -> String {
        unique("execsnoop-tag")
    }
    fn event(tag: &str) -> String {
        format!("/bin/true {tag}")
    }
    fn is_row(line: &str, tag: &str) -> bool {
        // RET, then the args: not podman's own command line, which holds the same text.
        line.ends_with(&format!(" 0 /bin/true {tag}"))
    }
    fn is_json(v: &serde_json::Value, tag: &str) -> bool {
        v["argv"] == serde_json::json!(["/bin/true", tag])
    }
}

testkit::event_container_tests!(Execs);

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
    let (m_tty, m_alias, m_drift, m_lower) = (
        unique("tty"),
        unique("alias"),
        unique("drift"),
        unique("lower"),
    );
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
    // A shell under another name: busybox through a link named x, run as `sh` by its argv[0];
    // its command name is x (fresh-user trial: the rule keyed on the command name alone).
    let st = Command::new("script")
        .args(["-q", "-c"])
        .arg(format!(
            "podman exec -it {} sh -c 'ln -s /bin/busybox /tmp/x && exec -a sh /tmp/x -c \"true {m_alias}\"'",
            c.id
        ))
        .arg("/dev/null")
        .status()
        .expect("script");
    assert!(st.success(), "podman exec -it (alias)");
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

    let alias = exec_with_argv(&out, &["sh", "-c", &format!("true {m_alias}")]);
    assert_eq!(alias["comm"], "x", "{alias}");
    assert_eq!(alias["exe"], "/bin/busybox", "{alias}");
    assert_eq!(
        alias["rules"],
        serde_json::json!(["terminal-shell-in-container"]),
        "{alias}"
    );

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
    assert_eq!(lower["tty"], false, "no terminal: {lower}");
    assert_eq!(lower["rules"], serde_json::json!([]), "{lower}");
}
