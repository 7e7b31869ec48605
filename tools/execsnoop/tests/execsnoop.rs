// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop against real execs: markers with several arguments, fork-then-exec bursts,
//! fexecve, exec from a non-leader thread, failed execs, and every filter.

use std::io::Write as _;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use testkit::{TempDir, Tool, bpf_ready, columns, me, settle, unique};

const BIN: &str = env!("CARGO_BIN_EXE_execsnoop");

fn true_bin() -> &'static str {
    if Path::new("/usr/bin/true").exists() {
        "/usr/bin/true"
    } else {
        "/bin/true"
    }
}

fn run_true(args: &[&str]) {
    let st = Command::new(true_bin())
        .args(args)
        .status()
        .expect("run true");
    assert!(st.success());
}

#[test]
fn root_marker_shows_all_arguments_ppid_and_ret() {
    if !bpf_ready("root_marker_shows_all_arguments_ppid_and_ret") {
        return;
    }
    let marker = unique("exec-marker");
    let t = Tool::spawn(BIN, &["-P", &me()]).ready();
    run_true(&[&marker, "two", "three four"]);
    let line = t.wait_line(&marker);
    let out = t.interrupt().success();
    assert_eq!(
        out.lines().next(),
        Some("PCOMM            PID    PPID   RET ARGS")
    );
    let c = columns(&line);
    assert_eq!(c[0], "true", "{line}");
    assert_eq!(c[2], me(), "{line}");
    assert_eq!(c[3], "0", "{line}");
    assert!(
        line.ends_with(&format!("{} {marker} two three four", true_bin())),
        "{line}"
    );
}

#[test]
fn root_fork_exec_bursts_keep_complete_arguments() {
    if !bpf_ready("root_fork_exec_bursts_keep_complete_arguments") {
        return;
    }
    const N: usize = 300;
    let tag = unique("burst");
    let t = Tool::spawn(BIN, &["-P", &me()]).ready();
    for i in 0..N {
        run_true(&[&format!("{tag}-{i}"), "alpha", "beta", "gamma", "delta"]);
    }
    t.wait_line(&format!("{tag}-{} alpha", N - 1));
    settle();
    let out = t.interrupt().success();
    for i in 0..N {
        let want = format!("{tag}-{i} alpha beta gamma delta\n");
        assert!(
            out.stdout.contains(&want),
            "exec {i} missing or incomplete\n{out}"
        );
    }
    assert!(!out.stderr.contains("lost"), "{out}");
}

const HELPERS: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
extern char **environ;
static char *marker;
static void *exec_from_thread(void *arg) {
    char *argv[] = { "true", marker, "from-thread", NULL };
    (void)arg;
    execv(TRUE_BIN, argv);
    return NULL;
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    marker = argv[2];
    if (!strcmp(argv[1], "fexecve")) {
        int fd = open(TRUE_BIN, O_RDONLY | O_CLOEXEC);
        char *args[] = { "true", marker, "by-fd", NULL };
        fexecve(fd, args, environ);
        return 1;
    }
    if (!strcmp(argv[1], "thread")) {
        pthread_t t;
        pthread_create(&t, NULL, exec_from_thread, NULL);
        pthread_join(t, NULL);
        return 1;
    }
    return 2;
}
"#;

fn helper(dir: &TempDir) -> std::path::PathBuf {
    let src = HELPERS.replace("TRUE_BIN", &format!("\"{}\"", true_bin()));
    let bin = testkit::compile_c(dir.path(), "exechelper", &src);
    // pthread lives in libc on current glibc; nothing to link.
    bin
}

#[test]
fn root_fexecve_and_non_leader_thread_execs_are_reported() {
    if !bpf_ready("root_fexecve_and_non_leader_thread_execs_are_reported") {
        return;
    }
    let dir = TempDir::new("execsnoop-helper");
    let bin = helper(&dir);
    let by_fd = unique("fexecve");
    let by_thread = unique("thread");
    let t = Tool::spawn(BIN, &["-P", &me()]).ready();
    let st = Command::new(&bin)
        .args(["fexecve", &by_fd])
        .status()
        .expect("helper");
    assert!(st.success(), "fexecve helper");
    let child = Command::new(&bin)
        .args(["thread", &by_thread])
        .spawn()
        .expect("helper");
    let pid = child.id().to_string();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "thread helper");
    // The helper's own exec line names the marker too; the re-exec adds the suffix.
    let fd_line = t.wait_line(&format!("{by_fd} by-fd"));
    let th_line = t.wait_line(&format!("{by_thread} from-thread"));
    t.interrupt().success();
    assert!(fd_line.ends_with(&format!("{by_fd} by-fd")), "{fd_line}");
    assert!(
        th_line.ends_with(&format!("{by_thread} from-thread")),
        "{th_line}"
    );
    assert_eq!(columns(&th_line)[1], pid, "pid of the process: {th_line}");
}

#[test]
fn root_failed_exec_shows_negative_errno_with_x_only() {
    if !bpf_ready("root_failed_exec_shows_negative_errno_with_x_only") {
        return;
    }
    let missing = format!("/nonexistent/{}", unique("noexec"));
    let ok_marker = unique("exec-ok");
    let t = Tool::spawn(BIN, &["-P", &me()]).ready();
    let _ = Command::new(&missing).args(["a1", "a2"]).status();
    run_true(&[&ok_marker]);
    t.wait_line(&ok_marker);
    settle();
    let out = t.interrupt().success();
    assert!(
        !out.stdout.contains(&missing),
        "failed exec shown without -x: {out}"
    );

    let t = Tool::spawn(BIN, &["-x", "-P", &me()]).ready();
    let _ = Command::new(&missing).args(["a1", "a2"]).status();
    let line = t.wait_line(&missing);
    t.interrupt().success();
    let c = columns(&line);
    assert_eq!(c[3], "-2", "{line}");
    assert!(line.ends_with(&format!("{missing} a1 a2")), "{line}");
}

#[test]
fn root_quote_line_and_max_args() {
    if !bpf_ready("root_quote_line_and_max_args") {
        return;
    }
    let marker = unique("quote");
    let other = unique("other");
    let t = Tool::spawn(BIN, &["-q", "-l", &marker, "--max-args", "3"]).ready();
    run_true(&[&other]);
    run_true(&[&marker, "say \"hi\"", "dropped", "also dropped"]);
    let line = t.wait_line(&marker);
    settle();
    let out = t.interrupt().success();
    assert!(
        line.ends_with(&format!(
            "\"{}\" \"{marker}\" \"say \\\"hi\\\"\" ...",
            true_bin()
        )),
        "{line}"
    );
    assert!(
        !out.stdout.contains(&other),
        "-l let another line through: {out}"
    );
}

/// A comm holds 15 bytes of the executable's name: `-n` with the whole longer name matches on
/// those (as opensnoop's does), and says once on stderr that it shortened the name.
#[test]
fn root_name_longer_than_comm_matches_its_first_15_bytes() {
    if !bpf_ready("root_name_longer_than_comm_matches_its_first_15_bytes") {
        return;
    }
    let dir = TempDir::new("execsnoop-longname");
    let long = dir.path().join("averyveryverylongname");
    std::fs::copy(true_bin(), &long).expect("copy true");
    let marker = unique("longname");
    let t = Tool::spawn(BIN, &["-n", "averyveryverylongname"]).ready();
    run_true(&["short-name"]);
    Command::new(&long).arg(&marker).status().expect("run copy");
    let line = t.wait_line(&marker);
    settle();
    let out = t.interrupt().success();
    assert!(line.starts_with("averyveryverylo "), "{line}");
    assert!(!out.stdout.contains("short-name"), "{out}");
    assert_eq!(
        out.stderr,
        "execsnoop: -n 'averyveryverylongname' is longer than a kernel command name \
         (15 bytes): comparing its first 15, 'averyveryverylo'\n",
        "{out}"
    );
}

#[test]
fn root_name_uid_and_pid_filters() {
    if !bpf_ready("root_name_uid_and_pid_filters") {
        return;
    }
    let dir = TempDir::new("execsnoop-name");
    let tag = format!("xs{}", std::process::id() % 100_000);
    let link = dir.path().join(format!("z{tag}"));
    std::os::unix::fs::symlink(true_bin(), &link).expect("symlink");
    let marker = unique("named");
    let t = Tool::spawn(BIN, &["-n", &tag]).ready();
    run_true(&["not-named"]);
    Command::new(&link).arg(&marker).status().expect("link");
    t.wait_line(&marker);
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains("not-named"), "{out}");

    let marker = unique("nobody");
    let t = Tool::spawn(BIN, &["-u", "65534", "-U"]).ready();
    run_true(&["as-root"]);
    Command::new(true_bin())
        .arg(&marker)
        .uid(65534)
        .gid(65534)
        .status()
        .expect("as nobody");
    let line = t.wait_line(&marker);
    settle();
    let out = t.interrupt().success();
    assert!(line.starts_with("65534  "), "{line}");
    assert!(!out.stdout.contains("as-root"), "{out}");

    // -p names the process that execs: start it first, let it exec once we are attached.
    let marker = unique("bypid");
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg(format!("read x; exec {} {marker}", true_bin()))
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh");
    let t = Tool::spawn(BIN, &["-p", &sh.id().to_string()]).ready();
    run_true(&["other-pid"]);
    sh.stdin
        .take()
        .expect("stdin")
        .write_all(b"\n")
        .expect("write");
    let line = t.wait_line(&marker);
    let _ = sh.wait();
    settle();
    let out = t.interrupt().success();
    assert_eq!(columns(&line)[1], sh.id().to_string(), "{line}");
    assert!(!out.stdout.contains("other-pid"), "{out}");
}

#[test]
fn root_cgroup_filter() {
    if !bpf_ready("root_cgroup_filter") {
        return;
    }
    let cg = testkit::Cgroup::new("ferroscope-execsnoop");
    let inside = unique("in-cg");
    let t = Tool::spawn(BIN, &["-c", cg.path()]).ready();
    run_true(&["outside-cg"]);
    cg.shell("sh", &format!("{} {inside}", true_bin()))
        .status()
        .expect("sh");
    t.wait_line(&inside);
    settle();
    let out = t.interrupt().success();
    assert!(!out.stdout.contains("outside-cg"), "{out}");
}

/// A script's exec shows what its caller ran (`./s1.sh a1 "b 2"`), as libbpf-tools does, not
/// the argv the kernel builds for its interpreter; `-l` matches the same; `--json` adds the
/// interpreter and its argv. More arguments than the BPF side counts take the other path.
#[test]
fn root_scripts_show_the_callers_argv() {
    if !bpf_ready("root_scripts_show_the_callers_argv") {
        return;
    }
    let dir = TempDir::new("execsnoop-script");
    let script = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write script");
        let mut perm = std::fs::metadata(&p).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&p, perm).expect("chmod");
        p
    };
    let s1 = script("s1.sh", "#!/bin/sh -e\nexit 0\n");
    let s2 = script("s2.sh", "#!/usr/bin/env bash\nexit 0\n");
    let s1_path = s1.to_str().expect("utf8");
    let s2_path = s2.to_str().expect("utf8");
    let run = |p: &std::path::Path, args: &[&str]| {
        assert!(Command::new(p).args(args).status().expect("run").success());
    };

    let m1 = unique("script-a1");
    let t = Tool::spawn(BIN, &["-q", "-P", &me()]).ready();
    run(&s1, &[&m1, "b 2"]);
    let line = t.wait_line(&m1);
    t.interrupt().success();
    assert!(
        line.ends_with(&format!(" \"{s1_path}\" \"{m1}\" \"b 2\"")),
        "{line}"
    );
    assert!(line.starts_with("s1.sh "), "{line}");

    // -l bash must not match the script's exec (the kernel's argv has `bash`; the caller's
    // has not); env's own exec of bash, a real exec with bash in it, still shows.
    let m2 = unique("script-env");
    let t = Tool::spawn(BIN, &["-l", "bash", "-P", &me()]).ready();
    run(&s2, &[&m2]);
    let t2 = Tool::spawn(BIN, &["-l", &m2]).ready();
    run(&s2, &[&m2]);
    let line = t2.wait_line(&format!("{s2_path} {m2}"));
    settle();
    let out2 = t2.interrupt().success();
    let out = t.interrupt().success();
    assert!(line.starts_with("s2.sh "), "{line}");
    assert!(!line.contains("bash"), "{line}");
    assert!(
        !out.lines().any(|l| l.starts_with("s2.sh ")),
        "-l bash matched the script:\n{out}"
    );
    assert!(
        out2.stdout
            .contains(&format!("/usr/bin/bash {s2_path} {m2}"))
            || out2.stdout.contains(&format!("/bin/bash {s2_path} {m2}")),
        "env's exec of bash missing:\n{out2}"
    );

    let m3 = unique("script-json");
    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    run(&s1, &[&m3, "b 2"]);
    t.wait_line(&m3);
    let out = t.interrupt().success();
    let v: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|v| v["argv"][1] == m3.as_str())
        .expect("event");
    assert_eq!(v["argv"], serde_json::json!([s1_path, m3, "b 2"]), "{v}");
    assert_eq!(v["filename"], s1_path, "{v}");
    assert_eq!(v["interpreter"], "/bin/sh", "{v}");
    assert_eq!(
        v["interpreter_argv"],
        serde_json::json!(["/bin/sh", "-e", s1_path, m3, "b 2"]),
        "{v}"
    );

    // 1100 arguments: more than the BPF side counts, found after the file name instead.
    let m4 = unique("script-many");
    let many: Vec<String> = (0..1100).map(|i| format!("{i}")).collect();
    let mut args = vec![m4.as_str()];
    args.extend(many.iter().map(String::as_str));
    let t = Tool::spawn(BIN, &["--max-args", "255", "-P", &me()]).ready();
    run(&s1, &args);
    let line = t.wait_line(&m4);
    t.interrupt().success();
    assert!(
        line.contains(&format!(" {s1_path} {m4} 0 1 2 3 ")),
        "{line}"
    );
}

/// A script executed with argc 0 (execve(path, {NULL}, {NULL}), the CVE-2021-4034 pattern)
/// shows the empty argv its caller passed, as libbpf-tools does: the ARGS column is the file
/// alone, `-l` does not match the interpreter's argv, `--json` has `"argv":[]` and the
/// interpreter's argv apart.
#[test]
fn root_script_run_with_argc_zero_shows_no_argv() {
    if !bpf_ready("root_script_run_with_argc_zero_shows_no_argv") {
        return;
    }
    let dir = TempDir::new("execsnoop-argc0");
    let helper = testkit::compile_c(
        dir.path(),
        "argc0",
        r#"
#include <unistd.h>
int main(int argc, char **argv) {
    char *none[] = { NULL };
    if (argc < 2) return 2;
    execve(argv[1], none, none);
    return 1;
}
"#,
    );
    let script = dir.path().join("z0.sh");
    std::fs::write(&script, "#!/usr/bin/env bash\nexit 0\n").expect("write script");
    let mut perm = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).expect("chmod");
    let path = script.to_str().expect("utf8");

    let text = Tool::spawn(BIN, &["-q", "-P", &me()]).ready();
    let line_bash = Tool::spawn(BIN, &["-q", "-l", "bash", "-P", &me()]).ready();
    let json = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    let st = Command::new(&helper)
        .arg(&script)
        .status()
        .expect("run helper");
    assert!(st.success(), "{st:?}");
    let line = text.wait_line_where("the script's exec", |l| l.starts_with("z0.sh "));
    let v = json.wait_line(&format!("\"filename\":\"{path}\""));
    settle();
    let text = text.interrupt().success();
    let line_bash = line_bash.interrupt().success();
    json.interrupt().success();
    assert!(line.starts_with("z0.sh "), "{line}\n{text}");
    assert!(line.ends_with(&format!(" 0 \"{path}\"")), "{line}\n{text}");
    assert!(
        !line_bash.lines().any(|l| l.starts_with("z0.sh ")),
        "-l bash matched the script run with argc 0:\n{line_bash}"
    );
    let v: serde_json::Value = serde_json::from_str(&v).expect("JSON line");
    assert_eq!(v["argv"], serde_json::json!([]), "{v}");
    assert_eq!(v["interpreter"], "/usr/bin/env", "{v}");
    assert_eq!(
        v["interpreter_argv"],
        serde_json::json!(["/usr/bin/env", "bash", path]),
        "{v}"
    );
}

#[test]
fn root_json_carries_argv() {
    if !bpf_ready("root_json_carries_argv") {
        return;
    }
    let marker = unique("json");
    let t = Tool::spawn(BIN, &["--json", "-v", "-P", &me()]).ready();
    run_true(&[&marker, "a b", "\x1b[31m"]);
    t.wait_line(&marker);
    let out = t.interrupt().success();
    let v: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|v| v["argv"][1] == marker.as_str())
        .expect("event");
    // std's Command passes the program path as argv[0].
    assert_eq!(
        v["argv"],
        serde_json::json!([true_bin(), marker, "a b", "\x1b[31m"])
    );
    assert_eq!(v["filename"], true_bin());
    assert_eq!(v["ppid"], std::process::id());
    assert_eq!(v["ret"], 0);
    assert_eq!(v["comm"], "true");
    assert_eq!(v["interpreter"], serde_json::Value::Null);
    assert_eq!(v["interpreter_argv"], serde_json::Value::Null);
}

#[test]
fn root_rows_match_libbpf_tools() {
    let Some(reference_bin) = testkit::reference_tool("root_rows_match_libbpf_tools", "execsnoop")
    else {
        return;
    };
    let marker = unique("ref");
    let reference = testkit::spawn_reference(&reference_bin, &[] as &[&str]);
    let ours = Tool::spawn(BIN, &[] as &[&str]).ready();
    run_true(&[&marker, "x"]);
    let theirs = reference.wait_line(&marker);
    let mine = ours.wait_line(&marker);
    let ref_out = reference.interrupt();
    let our_out = ours.interrupt().success();
    assert_eq!(ref_out.lines().next(), our_out.lines().next(), "headers");
    // libbpf-tools ends each argument with a space, the last one too.
    assert_eq!(
        theirs.trim_end(),
        mine,
        "\nreference: {ref_out}\nours: {our_out}"
    );
}

#[test]
fn root_signals_pipes_and_privileges() {
    if !bpf_ready("root_signals_pipes_and_privileges") {
        return;
    }
    testkit::assert_signals_pipes_and_privileges(BIN, &["-v"], &[], || {
        run_true(&["head-trigger"]);
    });
}

#[test]
fn root_hostile_arguments_are_escaped() {
    if !bpf_ready("root_hostile_arguments_are_escaped") {
        return;
    }
    let marker = unique("hostile");
    let t = Tool::spawn(BIN, &["-P", &me()]).ready();
    {
        use std::os::unix::ffi::OsStrExt;
        let evil = std::ffi::OsStr::from_bytes(b"\x1b]0;pwned\x07\nfake\xff");
        Command::new(true_bin())
            .arg(&marker)
            .arg(evil)
            .status()
            .expect("run");
    }
    let line = t.wait_line(&marker);
    let out = t.interrupt().success();
    assert!(
        line.ends_with(&format!("{marker} \\e]0;pwned\\x07\\nfake\\xff")),
        "{line}"
    );
    assert!(
        !out.stdout.contains('\x1b') && !out.stdout.contains('\x07'),
        "{out}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    testkit::assert_usage_errors(
        BIN,
        "execsnoop",
        &[
            &["--bogus"],
            &["-u"],
            &["-u", "x"],
            &["--max-args", "0"],
            &["--max-args", "1000"],
            &["-P", "0"],
            &["-p", "-3"],
            &["-c", "/nonexistent"],
            &["-n", ""],
            &["extra"],
        ],
    );
}

/// Hostile input is named as typed, escaped as the tools escape output (fresh-user trial F4,
/// F7): never deleted (clap's rendering drops ESC and DEL), never U+FFFD, never a cut line.
#[test]
fn bad_input_messages_escape_what_was_typed_golden() {
    let dir = TempDir::new("execsnoop-bad-messages");
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(
        &latin1,
        b"[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"caf\xe9\"\n",
    )
    .expect("write");
    let latin1 = latin1.to_str().expect("utf8");
    let empty_list = dir.path().join("empty.toml");
    std::fs::write(
        &empty_list,
        "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { comm = [] }\n",
    )
    .expect("write");
    let empty_list = empty_list.to_str().expect("utf8");
    let not_container = "a container id or name has no '/', spaces or control characters";
    testkit::assert_usage_messages(
        BIN,
        &[
            (
                &[&b"-c"[..], b"\xff"],
                "execsnoop: cgroup \\xff: No such file or directory (os error 2)\n",
            ),
            (
                &[&b"--container"[..], b"ab\x1b[2Jc"],
                &format!(
                    "execsnoop: invalid value 'ab\\e[2Jc' for '--container <ID>': {not_container} \
                     (see 'execsnoop --help')\n"
                ),
            ),
            (
                &[&b"--container"[..], b"\xff\x1b"],
                "execsnoop: invalid value '\\xff\\e' for '--container <ID>': it is not valid UTF-8 \
                 (see 'execsnoop --help')\n",
            ),
            (
                &[&b"--max-args"[..], b"1\x7f"],
                "execsnoop: invalid value '1\\x7f' for '--max-args <N>': must be an integer from 1 \
                 to 255 (see 'execsnoop --help')\n",
            ),
            (
                &[&b"--rules"[..], b""],
                "execsnoop: --rules '': needs a rules file or builtin\n",
            ),
            // A path is any bytes: named as typed, a newline as \n (not a space), a byte that
            // is not UTF-8 as \xff (not refused before the file is looked for).
            (
                &[&b"--rules"[..], b"a\nb"],
                "execsnoop: a\\nb: No such file or directory (os error 2)\n",
            ),
            (
                &[&b"--rules"[..], b"/nonexistent/\xff.toml"],
                "execsnoop: /nonexistent/\\xff.toml: No such file or directory (os error 2)\n",
            ),
            (
                &[&b"--rules"[..], latin1.as_bytes()],
                &format!(
                    "execsnoop: {latin1}:4: not UTF-8 text (byte \\xe9 at offset 55); a rules file \
                     is TOML, UTF-8\n"
                ),
            ),
            (
                &[&b"--rules"[..], empty_list.as_bytes()],
                &format!(
                    "execsnoop: {empty_list}:5: comm = []: an empty list, which no exec matches \
                     (leave comm out to match any)\n"
                ),
            ),
            // The warning comes before the (later) cgroup error: a cut UTF-8 character shows its
            // bytes, as PCOMM shows them.
            (
                &["-n", "ééééééééé", "-c", "/nonexistent"].map(str::as_bytes),
                "execsnoop: -n 'ééééééééé' is longer than a kernel command name (15 bytes): \
                 comparing its first 15, 'ééééééé\\xc3'\n\
                 execsnoop: cgroup /nonexistent: No such file or directory (os error 2)\n",
            ),
        ],
    );
}

#[test]
fn manual_completions_help_and_version() {
    testkit::docs::assert_docs(BIN, "execsnoop");
}

#[test]
fn numeric_options_are_bounded() {
    testkit::bounds::assert_numeric_options_bounded(BIN, "execsnoop");
}

/// 60 rules of `argv = '\w{200}'` (5 KB of text) once compiled to ~12 MiB each and aborted on
/// allocation failure (exit 134) in a 600 MB address space: the first is refused at once, with
/// its line, exit 2.
#[test]
fn huge_patterns_are_refused_within_a_small_address_space() {
    let dir = TempDir::new("execsnoop-huge-rules");
    let f = dir.path().join("huge.toml");
    let text: String = (0..60)
        .map(|i| {
            format!(
                "[[rule]]\nname = \"r{i}\"\nseverity = \"low\"\ndescription = \"d\"\n\
                 match = {{ argv = '\\w{{200}}' }}\n"
            )
        })
        .collect();
    std::fs::write(&f, text).expect("write");
    let f = f.to_str().expect("utf8");
    let start = std::time::Instant::now();
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -v 600000 && exec \"$0\" --rules \"$1\" --list-rules",
        ])
        .args([BIN, f])
        .output()
        .expect("run");
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).as_ref()
        ),
        (
            Some(2),
            format!(
                "execsnoop: {f}:5: argv regex too large: compiled, it passes the limit of 1 MiB \
                 for one condition (fewer or smaller repetitions, or ASCII classes such as \
                 (?-u:\\w) or [0-9])\n"
            )
            .as_str()
        )
    );
    assert!(out.stdout.is_empty());
}
