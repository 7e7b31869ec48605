// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What packagers and SREs get from the Makefile: `make static` binaries with no dynamic
//! dependencies that trace in an empty root directory, and `make install`/`uninstall` with
//! DESTDIR, PREFIX and APP_PREFIX.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use testkit::docs::repo_root;
use testkit::{TempDir, Tool, bpf_ready, me, run, settle, unique};

/// Every tool: the directories of `tools/`, as the Makefile finds them.
fn tools() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("tools"))
        .expect("read tools/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "tools/ lists {names:?}");
    names
}

/// `make static` once per test process; the directory holding every tool's binary.
fn static_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = repo_root();
        let out = run(Command::new("make")
            .args(["-s", "static"])
            .current_dir(&root))
        .success();
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("static binaries: "))
            .unwrap_or_else(|| panic!("make static did not say where:\n{}", out.stdout));
        let dir = root.join(line.split("/{").next().expect("a directory"));
        for t in tools() {
            assert!(dir.join(&t).is_file(), "{} missing", dir.join(&t).display());
        }
        dir
    })
}

#[test]
fn static_binaries_have_no_dynamic_dependencies() {
    let dir = static_dir();
    for t in tools() {
        let bin = dir.join(&t);
        let ldd = Command::new("ldd").arg(&bin).output().expect("run ldd");
        let said = String::from_utf8_lossy(&ldd.stdout).into_owned()
            + &String::from_utf8_lossy(&ldd.stderr);
        assert!(
            said.contains("statically linked") || said.contains("not a dynamic executable"),
            "ldd {t}: {said}"
        );
        let headers = run(Command::new("readelf").args(["-ldW"]).arg(&bin)).success();
        assert!(
            !headers.stdout.contains("INTERP") && !headers.stdout.contains("(NEEDED)"),
            "{t} asks for a dynamic loader or libraries:\n{}",
            headers.stdout
        );
    }
}

/// Run `tool args` from a directory that holds nothing but the binary, with /proc and /sys
/// mounted in a private mount namespace (gone when the tool exits): no libc, no libelf, no
/// libbpf, no /etc.
fn spawn_in_empty_root(root: &Path, tool: &str, args: &[&str]) -> Tool {
    std::fs::copy(static_dir().join(tool), root.join(tool)).expect("copy the binary");
    let script = r#"root=$1 tool=$2; shift 2
mkdir -p "$root/proc" "$root/sys"
mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" || exit 1
exec chroot "$root" "/$tool" "$@""#;
    Tool::spawn_cmd(
        Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(root)
            .arg(tool)
            .args(args),
    )
}

#[test]
fn static_binaries_trace_in_an_empty_root() {
    if !bpf_ready("static_binaries_trace_in_an_empty_root") {
        return;
    }
    let root = TempDir::new("emptyroot");
    let marker = unique("ferro-static");
    let tool = spawn_in_empty_root(root.path(), "opensnoop", &["-p", &me()]).ready();
    let path = std::env::temp_dir().join(&marker);
    let _ = std::fs::File::open(&path);
    let line = tool.wait_line(&marker);
    let fin = tool.interrupt();
    assert!(fin.status.success(), "{}", fin.stderr);
    assert!(line.contains(" -1 ") && line.ends_with(&path.display().to_string()));

    for t in tools().iter().filter(|t| *t != "opensnoop") {
        let tool = spawn_in_empty_root(root.path(), t, &["-v"]).ready();
        settle();
        let fin = tool.interrupt();
        assert!(
            fin.status.success() && fin.stderr.contains("attached"),
            "{t} in an empty root: {}\n{}",
            fin.status,
            fin.stderr
        );
    }
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn make(target: &str, destdir: &Path, extra: &[&str]) {
    run(Command::new("make")
        .args(["-s", target, "PREFIX=/usr"])
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("BUILD_DIR={}", static_dir().display()))
        .args(extra)
        .current_dir(repo_root()))
    .success();
}

#[test]
fn make_install_and_uninstall_honour_destdir_prefix_and_app_prefix() {
    for app_prefix in ["", "bpf-"] {
        let dest = TempDir::new("destdir");
        let ap = format!("APP_PREFIX={app_prefix}");
        make("install", dest.path(), &[&ap]);
        let mut expected = Vec::new();
        for t in tools() {
            let n = format!("{app_prefix}{t}");
            expected.extend([
                format!("usr/sbin/{n}"),
                format!("usr/share/man/man8/{n}.8"),
                format!("usr/share/bash-completion/completions/{n}"),
                format!("usr/share/zsh/site-functions/_{n}"),
                format!("usr/share/fish/vendor_completions.d/{n}.fish"),
            ]);
        }
        expected.sort();
        assert_eq!(files_under(dest.path()), expected);

        let sbin = dest.path().join(format!("usr/sbin/{app_prefix}opensnoop"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&sbin).expect("stat").permissions(),
        );
        assert_eq!(mode & 0o777, 0o755);
        let version = run(Command::new(&sbin).arg("--version")).success();
        assert!(
            version.stdout.starts_with("opensnoop "),
            "{}",
            version.stdout
        );

        // The installed completion answers for the installed name.
        let name = format!("{app_prefix}opensnoop");
        let comp = dest
            .path()
            .join(format!("usr/share/bash-completion/completions/{name}"));
        let script = format!(
            r#"source "$1" || exit 1
f=$(complete -p {name} | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
COMP_WORDS=({name} --js); COMP_CWORD=1; COMP_LINE="{name} --js"; COMP_POINT=${{#COMP_LINE}}
"$f" {name} --js {name}
echo "${{COMPREPLY[@]}}""#
        );
        let out = run(Command::new("bash")
            .args(["--norc", "-c", &script, "bash"])
            .arg(&comp))
        .success();
        assert_eq!(out.stdout.trim(), "--json", "{}", out.stderr);

        make("uninstall", dest.path(), &[&ap]);
        assert_eq!(files_under(dest.path()), Vec::<String>::new());
    }
}

/// `scripts/run` with a name that is no tool (or none) lists the tools and exits 2 before
/// installing or building anything, on one line; each tool under tools/ is listed.
#[test]
fn scripts_run_lists_the_tools_for_an_unknown_name() {
    let script = repo_root().join("scripts/run");
    for args in [&["nosuchtool"][..], &[], &["../tools"], &["opensnoop/"]] {
        let out = run(Command::new(&script).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out}");
        assert!(out.stdout.is_empty(), "{args:?}: {out}");
        for t in tools() {
            assert!(out.stderr.contains(&t), "{args:?} does not list {t}: {out}");
        }
        if let Some(name) = args.first() {
            assert!(
                out.stderr
                    .starts_with(&format!("scripts/run: no tool named {name};")),
                "{out}"
            );
        }
    }
}
