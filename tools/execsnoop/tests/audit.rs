// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop's audit fields against real execs: the executable the kernel ran (through a
//! symlink, by fd, from a memfd, after its file was deleted), the working directory, the
//! controlling terminal, and the credentials of a setuid exec run by an unprivileged user.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use testkit::{TempDir, Tool, bpf_ready, columns, me, unique};

const BIN: &str = env!("CARGO_BIN_EXE_execsnoop");

fn true_bin() -> PathBuf {
    let p = Path::new(if Path::new("/usr/bin/true").exists() {
        "/usr/bin/true"
    } else {
        "/bin/true"
    });
    // /bin may be a symlink to /usr/bin (merged /usr): the kernel reports the real file.
    p.canonicalize().expect("true")
}

/// The JSON object of the exec whose argv holds `marker`.
fn json_exec(t: Tool, marker: &str) -> Value {
    let marker = format!("\"{marker}\"]");
    let line = t.wait_line(&marker);
    t.interrupt().success();
    serde_json::from_str(&line).expect("JSON line")
}

const HELPER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
extern char **environ;
/* Copy the file at src into fd. */
static int copy(const char *src, int fd) {
    char buf[65536];
    int in = open(src, O_RDONLY);
    ssize_t n;
    if (in < 0) return -1;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(fd, buf, n) != n) return -1;
    close(in);
    return n < 0 ? -1 : 0;
}
/* helper MODE MARKER [PATH [LINK]]: exec TRUE_BIN's program, with MARKER as its argument, by
 * fd (fexecve), from a memfd (memfd), from PATH after deleting it (deleted), or from PATH after
 * removing that name while the hard link LINK remains (linked). */
int main(int argc, char **argv) {
    char *args[] = { "true", argv[2], NULL };
    int fd;
    if (argc < 3) return 2;
    if (!strcmp(argv[1], "fexecve")) {
        fd = open(TRUE_BIN, O_RDONLY | O_CLOEXEC);
    } else if (!strcmp(argv[1], "memfd")) {
        fd = memfd_create("ferro-payload", MFD_CLOEXEC);
        if (fd < 0 || copy(TRUE_BIN, fd)) return 3;
    } else if (!strcmp(argv[1], "deleted") && argc > 3) {
        int w = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0755);
        if (w < 0 || copy(TRUE_BIN, w)) return 3;
        close(w); /* a writer left open would make the exec fail with ETXTBSY */
        fd = open(argv[3], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || unlink(argv[3])) return 3;
    } else if (!strcmp(argv[1], "linked") && argc > 4) {
        /* PATH with a second hard link argv[4]: opened by PATH, that name then removed. */
        int w = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0755);
        if (w < 0 || copy(TRUE_BIN, w)) return 3;
        close(w);
        if (link(argv[3], argv[4])) return 3;
        fd = open(argv[3], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || unlink(argv[3])) return 3;
    } else {
        return 2;
    }
    fexecve(fd, args, environ);
    perror("fexecve");
    return 1;
}
"#;

fn helper(dir: &TempDir) -> PathBuf {
    let src = HELPER.replace(
        "TRUE_BIN",
        &format!("{:?}", true_bin().display().to_string()),
    );
    testkit::compile_c(dir.path(), "audithelper", &src)
}

fn run_helper(bin: &Path, args: &[&str]) {
    let st = Command::new(bin).args(args).status().expect("helper");
    assert!(st.success(), "helper {args:?}");
}

#[test]
fn root_symlink_and_fexecve_show_the_real_executable() {
    if !bpf_ready("root_symlink_and_fexecve_show_the_real_executable") {
        return;
    }
    let dir = TempDir::new("execsnoop-exe");
    let link = dir.path().join("alias-of-true");
    std::os::unix::fs::symlink(true_bin(), &link).expect("symlink");
    let bin = helper(&dir);
    let by_link = unique("by-link");
    let by_fd = unique("by-fd");
    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    Command::new(&link).arg(&by_link).status().expect("link");
    run_helper(&bin, &["fexecve", &by_fd]);
    let l1 = t.wait_line(&by_link);
    // The helper's own exec names the marker too: wait for the argv of the program it ran.
    let l2 = t.wait_line(&format!("\"argv\":[\"true\",\"{by_fd}\"]"));
    t.interrupt().success();
    let (v1, v2): (Value, Value) = (
        serde_json::from_str(&l1).expect("JSON"),
        serde_json::from_str(&l2).expect("JSON"),
    );
    assert_eq!(v1["filename"], link.display().to_string(), "{v1}");
    assert_eq!(v1["exe"], true_bin().display().to_string(), "{v1}");
    assert_eq!(v1["exe_truncated"], false, "{v1}");
    assert_eq!(v1["fileless"], false, "{v1}");
    // fexecve: execveat(fd, "", AT_EMPTY_PATH), which the kernel names /dev/fd/N.
    assert!(
        v2["filename"]
            .as_str()
            .is_some_and(|f| f.starts_with("/dev/fd/")),
        "{v2}"
    );
    assert_eq!(v2["exe"], true_bin().display().to_string(), "{v2}");
    assert_eq!(v2["fileless"], false, "{v2}");
}

#[test]
fn root_memfd_and_deleted_executables_are_fileless() {
    if !bpf_ready("root_memfd_and_deleted_executables_are_fileless") {
        return;
    }
    let dir = TempDir::new("execsnoop-fileless");
    let bin = helper(&dir);
    let m1 = unique("memfd");
    let m2 = unique("deleted");
    let gone = dir.path().canonicalize().expect("dir").join("soon-gone");
    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    run_helper(&bin, &["memfd", &m1]);
    run_helper(&bin, &["deleted", &m2, gone.to_str().expect("utf8")]);
    // The helper's own exec names the marker too: wait for the argv of the program it ran.
    let l1 = t.wait_line(&format!("\"argv\":[\"true\",\"{m1}\"]"));
    let l2 = t.wait_line(&format!("\"argv\":[\"true\",\"{m2}\"]"));
    t.interrupt().success();
    let (v1, v2): (Value, Value) = (
        serde_json::from_str(&l1).expect("JSON"),
        serde_json::from_str(&l2).expect("JSON"),
    );
    assert_eq!(v1["exe"], "/memfd:ferro-payload (deleted)", "{v1}");
    assert_eq!(
        (&v1["fileless"], &v1["memfd"], &v1["deleted"]),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(false)),
        "{v1}"
    );
    assert_eq!(v2["exe"], format!("{} (deleted)", gone.display()), "{v2}");
    assert_eq!(
        (&v2["fileless"], &v2["memfd"], &v2["deleted"]),
        (&Value::Bool(true), &Value::Bool(false), &Value::Bool(true)),
        "{v2}"
    );
}

/// A file whose name was removed while another hard link remains still has a name on disk: not
/// deleted, not fileless, though its path reads ` (deleted)` as /proc shows it; a removed working
/// directory reads ` (deleted)` too (fresh-user trial).
#[test]
fn root_removed_names_read_deleted_as_proc_shows_them() {
    if !bpf_ready("root_removed_names_read_deleted_as_proc_shows_them") {
        return;
    }
    let dir = TempDir::new("execsnoop-linked");
    let bin = helper(&dir);
    let base = dir.path().canonicalize().expect("dir");
    let (first, second) = (base.join("first"), base.join("second"));
    let gone_dir = base.join("gone-dir");
    std::fs::create_dir(&gone_dir).expect("mkdir");
    let (m1, m2) = (unique("linked"), unique("gone-cwd"));
    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    run_helper(
        &bin,
        &[
            "linked",
            &m1,
            first.to_str().expect("utf8"),
            second.to_str().expect("utf8"),
        ],
    );
    // The shell removes its own working directory, then runs true in it.
    let st = Command::new("sh")
        .args([
            "-c",
            "cd \"$1\" && rmdir \"$1\" && exec \"$2\" \"$3\"",
            "sh",
        ])
        .args([gone_dir.as_os_str(), true_bin().as_os_str(), m2.as_ref()])
        .status()
        .expect("sh");
    assert!(st.success());
    let l1 = t.wait_line(&format!("\"argv\":[\"true\",\"{m1}\"]"));
    // sh's own argv names the marker too: wait for the argv of the program it ran.
    let l2 = t.wait_line(&format!("\"argv\":[\"{}\",\"{m2}\"]", true_bin().display()));
    t.interrupt().success();
    let (v1, v2): (Value, Value) = (
        serde_json::from_str(&l1).expect("JSON"),
        serde_json::from_str(&l2).expect("JSON"),
    );
    assert_eq!(v1["exe"], format!("{} (deleted)", first.display()), "{v1}");
    assert_eq!(
        (&v1["fileless"], &v1["deleted"]),
        (&Value::Bool(false), &Value::Bool(false)),
        "{v1}"
    );
    assert_eq!(
        v2["cwd"],
        format!("{} (deleted)", gone_dir.display()),
        "{v2}"
    );
    assert_eq!(v2["deleted"], false, "{v2}");
}

#[test]
fn root_cwd_and_tty_are_the_execs() {
    if !bpf_ready("root_cwd_and_tty_are_the_execs") {
        return;
    }
    let dir = TempDir::new("execsnoop-cwd");
    let cwd = dir.path().canonicalize().expect("dir");
    let in_pty = unique("in-pty");
    let no_tty = unique("no-tty");
    let missing = format!("/nonexistent/{}", unique("no-exec"));
    // script's shell and what it runs are not our children: no -P; the markers are unique.
    let t = Tool::spawn(BIN, &["--json", "-x", "-v"]).ready();
    // script(1) runs the command on a new pseudo-terminal, its controlling tty; `tty` prints
    // which one, to compare with what the kernel said.
    let out = Command::new("script")
        .args(["-q", "-c"])
        .arg(format!("tty; {} {in_pty}", true_bin().display()))
        .arg("/dev/null")
        .current_dir(&cwd)
        .output()
        .expect("script");
    assert!(out.status.success(), "script: {out:?}");
    // setsid: a new session, so no controlling terminal whatever the test runner has.
    let st = Command::new("setsid")
        .arg(true_bin())
        .arg(&no_tty)
        .current_dir("/")
        .status()
        .expect("setsid");
    assert!(st.success());
    // A failed exec: nothing ran, so nothing of the new process was read.
    let _ = Command::new(&missing).status();
    let tb = true_bin().display().to_string();
    let l1 = t.wait_line(&format!("\"argv\":[\"{tb}\",\"{in_pty}\"]"));
    let l2 = t.wait_line(&format!("\"argv\":[\"{tb}\",\"{no_tty}\"]"));
    let l3 = t.wait_line(&format!("\"filename\":\"{missing}\""));
    t.interrupt().success();
    let (v1, v2, v3): (Value, Value, Value) = (
        serde_json::from_str(&l1).expect("JSON"),
        serde_json::from_str(&l2).expect("JSON"),
        serde_json::from_str(&l3).expect("JSON"),
    );
    let tty = String::from_utf8_lossy(&out.stdout);
    let tty = tty.lines().next().unwrap_or_default().trim();
    let tty = tty.strip_prefix("/dev/").expect("a /dev/pts path from tty");
    assert!(tty.starts_with("pts/"), "{tty}");
    assert_eq!(v1["tty"], tty, "{v1}");
    assert_eq!(v1["cwd"], cwd.display().to_string(), "{v1}");
    assert_eq!(v1["cwd_truncated"], false, "{v1}");
    // No terminal is false, not null: null is kept for "not read".
    assert_eq!(v2["tty"], false, "{v2}");
    assert_eq!(v2["cwd"], "/", "{v2}");
    assert_eq!(v3["ret"], -2, "{v3}");
    assert_eq!(v3["tty"], Value::Null, "{v3}");
    assert_eq!(v3["cwd"], Value::Null, "{v3}");
}

#[test]
fn root_setuid_exec_by_an_unprivileged_user_shows_the_gain() {
    if !bpf_ready("root_setuid_exec_by_an_unprivileged_user_shows_the_gain") {
        return;
    }
    // nobody's ids: no account is needed to run as them.
    const NOBODY: u32 = 65534;
    let dir = TempDir::new("execsnoop-setuid");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let suid = dir.path().join("suid-true");
    std::fs::copy(true_bin(), &suid).expect("copy");
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    let marker = unique("setuid");
    let t = Tool::spawn(BIN, &["--ids", "--json", "-v", "-n", "suid-true"]).ready();
    let st = Command::new(&suid)
        .arg(&marker)
        .uid(NOBODY)
        .gid(NOBODY)
        .status()
        .expect("setuid exec");
    assert!(st.success());
    let v = json_exec(t, &marker);
    assert_eq!(v["uid"], NOBODY, "{v}");
    assert_eq!(v["gid"], NOBODY, "{v}");
    assert_eq!(v["egid"], NOBODY, "{v}");
    // The temp dir is not on a nosuid mount on the machines we test on; if it were, the
    // kernel would not raise euid and this would say so.
    assert_eq!(v["euid"], 0, "{v}");
    assert!(v["loginuid"].is_u64() && v["sessionid"].is_u64(), "{v}");
}

#[test]
fn root_audit_columns_line_up_with_the_header() {
    if !bpf_ready("root_audit_columns_line_up_with_the_header") {
        return;
    }
    let marker = unique("audit-cols");
    let t = Tool::spawn(BIN, &["--audit", "-P", &me()]).ready();
    let st = Command::new(true_bin())
        .arg(&marker)
        .current_dir("/")
        .status()
        .expect("true");
    assert!(st.success());
    let line = t.wait_line(&marker);
    let out = t.interrupt().success();
    let header = out.lines().next().expect("header");
    assert_eq!(
        columns(header),
        [
            "UID", "PCOMM", "PID", "PPID", "PARENT", "GPARENT", "TTY", "EUID", "GID", "EGID",
            "LOGINUID", "SESSION", "RET", "FLAGS", "EXE", "CWD", "ARGS"
        ]
    );
    let c = columns(&line);
    // SAFETY: getuid has no preconditions.
    assert_eq!(c[0], unsafe { libc::getuid() }.to_string(), "{line}");
    assert_eq!(c[1], "true", "{line}");
    assert_eq!(c[13], "-", "{line}");
    assert_eq!(c[14], true_bin().display().to_string(), "{line}");
    assert_eq!(c[15], "/", "{line}");
    assert_eq!(
        header.find("EXE"),
        line.find(c[14]),
        "EXE misaligned\n{out}"
    );
}

/// The JSON objects of the execs whose line holds `needle` (`"ARG"]`: argv ends with ARG).
fn alerts_for(out: &testkit::Finished, needle: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| l.contains(needle))
        .map(|l| serde_json::from_str(l).expect("--alerts --json line parses"))
        .collect()
}

/// The JSON object of the one exec whose line holds `needle`; panics, with the output, where
/// there is none or more than one.
fn exec_with(out: &testkit::Finished, needle: &str) -> Value {
    let mut v = alerts_for(out, needle);
    assert_eq!(v.len(), 1, "{needle}: {out}");
    v.remove(0)
}

#[test]
fn root_builtin_rules_flag_dev_shm_memfd_and_deleted_execs() {
    if !bpf_ready("root_builtin_rules_flag_dev_shm_memfd_and_deleted_execs") {
        return;
    }
    let dir = TempDir::new("execsnoop-rules");
    let bin = helper(&dir);
    let shm = Path::new("/dev/shm").join(unique("ferro-shm"));
    std::fs::copy(true_bin(), &shm).expect("copy to /dev/shm");
    let (m_shm, m_memfd, m_del, m_plain) = (
        unique("r-shm"),
        unique("r-memfd"),
        unique("r-del"),
        unique("r-plain"),
    );
    let gone = dir.path().join("gone");
    let t = Tool::spawn(BIN, &["--rules", "builtin", "--alerts", "--json", "-v"]).ready();
    let st = Command::new(&shm).arg(&m_shm).status();
    let _ = std::fs::remove_file(&shm);
    assert!(st.expect("run from /dev/shm").success());
    run_helper(&bin, &["memfd", &m_memfd]);
    run_helper(&bin, &["deleted", &m_del, gone.to_str().expect("utf8")]);
    Command::new(true_bin())
        .arg(&m_plain)
        .status()
        .expect("true");
    t.wait_line(&format!("\"true\",\"{m_del}\"]"));
    t.wait_line(&format!("\"true\",\"{m_memfd}\"]"));
    t.wait_line(&format!("\"{m_shm}\"]"));
    testkit::settle();
    let out = t.interrupt().success();
    let v = exec_with(&out, &format!("\"{m_shm}\"]"));
    assert_eq!(v["rules"], serde_json::json!(["exec-from-temp-dir"]), "{v}");
    assert_eq!(v["severity"], "medium", "{v}");
    // The helper itself runs from the temp dir (exec-from-temp-dir): its program is what counts;
    // the deleted file was in the temp dir too.
    for (m, want) in [
        (&m_memfd, serde_json::json!(["fileless-exec"])),
        (
            &m_del,
            serde_json::json!(["exec-from-temp-dir", "fileless-exec"]),
        ),
    ] {
        let v = exec_with(&out, &format!("[\"true\",\"{m}\"]"));
        assert_eq!(v["rules"], want, "{v}");
        assert_eq!(v["severity"], "high", "{v}");
    }
    // --alerts: an exec that matches nothing is not shown (nor the helper's own execs).
    assert!(
        alerts_for(&out, &format!("\"{m_plain}\"]")).is_empty(),
        "{out}"
    );
}

/// The built-in rules against the evasions a fresh-user trial found: nc's exec option with its
/// value attached or as --exec=, a set-user-ID program run through a link named sudo (the
/// exception keys on the file, not the name it was run by), and a /tmp path too deep for its
/// start to be read (flagged as such).
#[test]
fn root_builtin_rules_see_attached_nc_options_and_a_fake_sudo() {
    if !bpf_ready("root_builtin_rules_see_attached_nc_options_and_a_fake_sudo") {
        return;
    }
    const NOBODY: u32 = 65534;
    let dir = TempDir::new("execsnoop-evasions");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Links named as the network tools: the command name is the link's, the file true.
    for name in ["nc", "ncat"] {
        std::os::unix::fs::symlink(true_bin(), dir.path().join(name)).expect("symlink");
    }
    let sudo = dir.path().join("sudo");
    std::fs::copy(true_bin(), &sudo).expect("copy");
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    // A copy of true 50 directories down the temp dir: deeper than the 48 names execsnoop reads.
    let deep_dir = (0..50).fold(dir.path().to_path_buf(), |p, _| p.join("d"));
    std::fs::create_dir_all(&deep_dir).expect("mkdir -p");
    std::fs::copy(true_bin(), deep_dir.join("deep")).expect("copy");
    let deep = deep_dir
        .join("deep")
        .strip_prefix(dir.path())
        .expect("under")
        .to_str()
        .expect("utf8")
        .to_owned();
    let m = unique("evade");
    let t = Tool::spawn(BIN, &["--rules", "builtin", "--json", "-v", "-P", &me()]).ready();
    let runs: [(&str, &[&str]); 6] = [
        ("nc", &["-e/bin/sh", "127.0.0.1", "1"]),
        ("ncat", &["-cbash -i", "127.0.0.1", "1"]),
        ("ncat", &["--exec=/bin/sh", "127.0.0.1", "1"]),
        ("nc", &["-zv", "127.0.0.1", "1"]),
        ("sudo", &[]),
        (&deep, &[]),
    ];
    for (i, (name, args)) in runs.iter().enumerate() {
        let mut c = Command::new(dir.path().join(name));
        c.args(*args).arg(format!("{m}-{i}"));
        if *name == "sudo" {
            c.uid(NOBODY).gid(NOBODY);
        }
        assert!(c.status().expect(name).success(), "{name}");
    }
    let last = format!("\"{m}-{}\"]", runs.len() - 1);
    t.wait_line(&last);
    let out = t.interrupt().success();
    let rules = |i: usize| {
        let end = format!("\"{m}-{i}\"]");
        let line = out
            .lines()
            .find(|l| l.contains(&end))
            .unwrap_or_else(|| panic!("no exec {i}\n{out}"));
        let v: Value = serde_json::from_str(line).expect("JSON");
        (v["rules"].clone(), v)
    };
    for i in 0..3 {
        let (r, v) = rules(i);
        assert_eq!(r, serde_json::json!(["netcat-exec"]), "{v}");
    }
    assert_eq!(rules(3).0, serde_json::json!([]), "{}", rules(3).1);
    let (r, v) = rules(5);
    assert_eq!(r, serde_json::json!(["exe-path-truncated"]), "{v}");
    assert_eq!(v["exe_truncated"], true, "{v}");
    assert!(
        v["exe"].as_str().is_some_and(|e| e.starts_with(".../d/d/")),
        "{v}"
    );
    let (r, v) = rules(4);
    assert_eq!(v["comm"], "sudo", "{v}");
    assert_eq!(v["euid"], 0, "{v}");
    assert!(
        r.as_array()
            .is_some_and(|a| a.contains(&Value::from("setuid-gain"))),
        "{v}"
    );
}

#[test]
fn root_custom_rule_with_argv_regex_and_except_matches_exactly() {
    if !bpf_ready("root_custom_rule_with_argv_regex_and_except_matches_exactly") {
        return;
    }
    let dir = TempDir::new("execsnoop-custom-rules");
    let tag = unique("cust").replace('-', "");
    let file = dir.path().join("rules.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[rule]]
name = "tagged-true"
severity = "low"
description = "true run with a tagged first argument"
match = {{ comm = ["tru?"], argv = '^\S+ {tag}-(hit|skip)\b' }}
except = [{{ argv = '-skip\b' }}, {{ uid = [4242] }}]
"#
        ),
    )
    .expect("write rules");
    let t = Tool::spawn(BIN, &["--rules", file.to_str().expect("utf8"), "-P", &me()]).ready();
    for a in ["hit", "skip", "other"] {
        Command::new(true_bin())
            .arg(format!("{tag}-{a}"))
            .status()
            .expect("true");
    }
    // Not the first argument: the regex is anchored to argv[1].
    Command::new(true_bin())
        .args(["x", &format!("{tag}-hit")])
        .status()
        .expect("true");
    let last = unique("last");
    Command::new(true_bin()).arg(&last).status().expect("true");
    t.wait_line(&last);
    let out = t.interrupt().success();
    let header = out.lines().next().expect("header");
    assert!(header.contains(" RET RULE "), "{out}");
    let rule_of = |needle: &str| {
        let line = out
            .lines()
            .find(|l| l.ends_with(needle))
            .unwrap_or_else(|| panic!("no line ending {needle:?}\n{out}"));
        columns(line)[4].to_owned()
    };
    assert_eq!(rule_of(&format!(" x {tag}-hit")), "-", "argv[2]: {out}");
    assert_eq!(rule_of(&format!("true {tag}-hit")), "tagged-true", "{out}");
    assert_eq!(rule_of(&format!("{tag}-skip")), "-", "{out}");
    assert_eq!(rule_of(&format!("{tag}-other")), "-", "{out}");
    assert_eq!(rule_of(&last), "-", "{out}");
}

#[test]
fn malformed_rules_file_is_refused_with_its_line() {
    let dir = TempDir::new("execsnoop-bad-rules");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[rule]]\nname = \"x\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { argv = '(' }\n",
    )
    .expect("write");
    let out = testkit::run(Command::new(BIN).arg("--rules").arg(&file));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert_eq!(
        out.stderr,
        format!(
            "execsnoop: {}:5: bad argv regex: unclosed group\n",
            file.display()
        ),
        "{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
    let out = testkit::run(Command::new(BIN).arg("--alerts"));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert_eq!(
        out.stderr, "execsnoop: --alerts needs --rules (a file, or builtin)\n",
        "{out}"
    );
    let out = testkit::run(Command::new(BIN).args(["--rules", "/nonexistent/rules.toml"]));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(
        out.stderr
            .starts_with("execsnoop: /nonexistent/rules.toml: "),
        "{out}"
    );
}

#[test]
fn list_rules_prints_the_builtin_set() {
    let out = testkit::run(Command::new(BIN).arg("--list-rules"));
    assert!(out.status.success(), "{out}");
    let names: Vec<&str> = out.lines().skip(1).map(|l| columns(l)[0]).collect();
    assert_eq!(
        names,
        [
            "terminal-shell-in-container",
            "exec-from-temp-dir",
            "exe-path-truncated",
            "args-truncated",
            "fileless-exec",
            "container-drift",
            "netcat-exec",
            "shell-from-server",
            "setuid-gain"
        ]
    );
    // --json: one object a line, the same rules (fresh-user trial: it printed the text).
    let json = testkit::run(Command::new(BIN).args(["--list-rules", "--json"]));
    assert!(json.status.success(), "{json}");
    let objs: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(
        objs.iter().map(|o| o["name"].as_str()).collect::<Vec<_>>(),
        names.iter().map(|n| Some(*n)).collect::<Vec<_>>(),
        "{json}"
    );
    assert_eq!(objs[0]["severity"], "high", "{json}");
    assert!(objs.iter().all(|o| o["description"].is_string()), "{json}");
    // A listing that cannot be written is one line and status 1; a reader gone is quiet (a
    // fresh-user trial saw print! panic with status 101 for both).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let out = Command::new(BIN)
        .arg("--list-rules")
        .stdout(full)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "execsnoop: writing output: No space left on device (os error 28)\n"
    );
    let out = testkit::run(Command::new("bash").args([
        "-c",
        &format!("set -o pipefail; {{ sleep 0.3; {BIN} --list-rules; }} | true"),
    ]))
    .success();
    assert!(out.stderr.is_empty(), "{out}");
}

/// scripts/test reruns the root tests with FERROSCOPE_DISABLE=tp_btf: prove which exec hook
/// ran then (the classic tracepoint) and otherwise (tp_btf, 5.5+), and that both see the exec
/// with its audit fields.
#[test]
fn root_exec_hook_is_tp_btf_unless_disabled() {
    if !bpf_ready("root_exec_hook_is_tp_btf_unless_disabled") {
        return;
    }
    let want = if testkit::feature_disabled("tp_btf") || !testkit::kernel_at_least(5, 5) {
        "attached to sched:sched_process_exec"
    } else {
        "attached to tp_btf/sched_process_exec"
    };
    let marker = unique("hook");
    let t = Tool::spawn(BIN, &["--exe-path", "-v", "-P", &me()]).ready();
    Command::new(true_bin())
        .arg(&marker)
        .status()
        .expect("true");
    let line = t.wait_line(&marker);
    let out = t.interrupt().success();
    assert!(out.stderr.contains(want), "want {want:?}\n{out}");
    assert_eq!(
        columns(&line)[5],
        true_bin().display().to_string(),
        "{line}"
    );
}

/// Mount points above `p` (not `/`), each crossed once on the BPF side's walk up to the root.
fn mounts_above(p: &Path) -> usize {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| *m != "/" && p.starts_with(m))
        .collect();
    points.sort_unstable();
    points.dedup();
    points.len()
}

/// An executable exactly 48 names deep (EXECSNOOP_PATH_DEPTH, a mount point crossed counting
/// as one) is read whole; one name more is cut (fresh-user trial: the 48-deep one was marked
/// truncated though execsnoop(8) says at most 48 names).
#[test]
fn root_exe_path_of_exactly_48_names_is_whole() {
    if !bpf_ready("root_exe_path_of_exactly_48_names_is_whole") {
        return;
    }
    let dir = TempDir::new("execsnoop-depth");
    let base = dir.path().canonicalize().expect("canonical");
    // Names of base (without the root), the mounts crossed, and the file itself.
    let used = base.components().count() - 1 + mounts_above(&base) + 1;
    assert!(used < 48, "temp dir too deep: {}", base.display());
    let at = |dirs: usize| {
        let d = (0..dirs).fold(base.clone(), |p, _| p.join("d"));
        std::fs::create_dir_all(&d).expect("mkdir -p");
        let f = d.join("t");
        std::fs::copy(true_bin(), &f).expect("copy");
        f
    };
    let (whole, cut) = (at(48 - used), at(48 - used + 1));
    let (m_whole, m_cut) = (unique("depth48"), unique("depth49"));
    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    for (f, m) in [(&whole, &m_whole), (&cut, &m_cut)] {
        assert!(Command::new(f).arg(m).status().expect("run").success());
    }
    t.wait_line(&m_cut);
    let out = t.interrupt().success();
    let exec = |m: &str| exec_with(&out, &format!("\"{m}\"]"));
    let v = exec(&m_whole);
    assert_eq!(v["exe_truncated"], false, "{v}");
    assert_eq!(v["exe"], whole.to_str().expect("utf8"), "{v}");
    let v = exec(&m_cut);
    assert_eq!(v["exe_truncated"], true, "{v}");
    assert!(
        v["exe"].as_str().is_some_and(|e| e.starts_with(".../")),
        "{v}"
    );
}

/// An argv block of exactly 16 KiB (EXECSNOOP_ARGS_MAX, NULs included) is read whole and not
/// flagged; one byte more is cut and fires args-truncated (fresh-user trial: the 16384-byte one
/// was flagged though its last argument was printed whole).
#[test]
fn root_argv_of_exactly_16_kib_is_whole() {
    if !bpf_ready("root_argv_of_exactly_16_kib_is_whole") {
        return;
    }
    const MAX: usize = 16384;
    let (m_whole, m_cut) = (unique("argv16k"), unique("argv16k1"));
    // argv[0] "true", the marker, then a filler making the block (each string and its NUL)
    // `total` bytes long.
    let filler = |m: &str, total: usize| "f".repeat(total - "true\0".len() - (m.len() + 1) - 1);
    let (f_whole, f_cut) = (filler(&m_whole, MAX), filler(&m_cut, MAX + 1));
    let t = Tool::spawn(BIN, &["--rules", "builtin", "--json", "-v", "-P", &me()]).ready();
    for (m, f) in [(&m_whole, &f_whole), (&m_cut, &f_cut)] {
        let st = Command::new(true_bin()).arg0("true").arg(m).arg(f).status();
        assert!(st.expect("run").success());
    }
    t.wait_line(&m_cut);
    let out = t.interrupt().success();
    let exec = |m: &str| exec_with(&out, &format!("[\"true\",\"{m}\","));
    let v = exec(&m_whole);
    assert_eq!(v["args_truncated"], false, "{v}");
    assert_eq!(
        v["argv"],
        serde_json::json!(["true", m_whole, f_whole]),
        "{v}"
    );
    assert_eq!(v["rules"], serde_json::json!([]), "{v}");
    let v = exec(&m_cut);
    assert_eq!(v["args_truncated"], true, "{v}");
    assert_eq!(v["rules"], serde_json::json!(["args-truncated"]), "{v}");
    // The cut is the filler's last byte and its NUL: the rest is whole.
    assert_eq!(
        v["argv"][2].as_str().map(str::len),
        Some(f_cut.len() - 1),
        "{v}"
    );
}

/// busybox under an argv[0] the old argv patterns did not expect (fresh-user trial): named
/// `busybox-x` with the applet next, or the applet's name in a directory with a space. The
/// built-in rules pick the applet as busybox does.
#[test]
fn root_busybox_applets_under_any_argv0_are_matched() {
    let busybox = ["/usr/bin/busybox", "/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
    let missing = if busybox.is_none() {
        Some("no busybox (apt-get install busybox)".to_owned())
    } else {
        None
    };
    if !bpf_ready("root_busybox_applets_under_any_argv0_are_matched")
        || !testkit::prerequisite("root_busybox_applets_under_any_argv0_are_matched", missing)
    {
        return;
    }
    let busybox = busybox.expect("checked").canonicalize().expect("busybox");
    let dir = TempDir::new("execsnoop-busybox");
    // A parent named nginx: busybox run as sh through a link of that name.
    let nginx = dir.path().join("nginx");
    std::os::unix::fs::symlink(&busybox, &nginx).expect("symlink");
    let (m_nc, m_dir_nc, m_sh, m_echo) = (
        unique("bb-nc"),
        unique("bb-dirnc"),
        unique("bb-sh"),
        unique("bb-echo"),
    );
    let t = Tool::spawn(BIN, &["--rules", "builtin", "--alerts", "--json", "-v"]).ready();
    let quiet = |c: &mut Command| {
        // nc without -l or a host prints its usage and fails at once (with -l, the trial's
        // argv, it would listen): the exec is what counts.
        let _ = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("busybox");
    };
    // Not nc: the applet is echo, whatever its arguments say.
    quiet(
        Command::new(&busybox)
            .arg0("/x y/echo")
            .args(["/foo/nc", "-e", &m_echo]),
    );
    quiet(Command::new(&busybox).arg0("busybox-x").args([
        "nc",
        "-p",
        "45678",
        "-e",
        "/bin/echo",
        &m_nc,
    ]));
    quiet(Command::new(&busybox).arg0("/x y/nc").args([
        "-p",
        "45678",
        "-e",
        "/bin/true",
        &m_dir_nc,
    ]));
    let inner = format!(
        "(exec -a '/x y/sh' {} -c 'true {m_sh}'); true",
        busybox.display()
    );
    quiet(Command::new(&nginx).arg0("sh").args(["-c", &inner]));
    t.wait_line(&m_sh);
    testkit::settle();
    let out = t.interrupt().success();
    for m in [&m_nc, &m_dir_nc] {
        let v = exec_with(&out, &format!("\"{m}\"]"));
        assert_eq!(v["rules"], serde_json::json!(["netcat-exec"]), "{v}");
        assert_eq!(v["exe"], busybox.to_str().expect("utf8"), "{v}");
    }
    let v = exec_with(&out, &format!("\"true {m_sh}\"]"));
    assert_eq!(v["argv"][0], "/x y/sh", "{v}");
    assert_eq!(v["pcomm"], "nginx", "{v}");
    assert_eq!(v["rules"], serde_json::json!(["shell-from-server"]), "{v}");
    assert!(alerts_for(&out, &m_echo).is_empty(), "{out}");
}
