// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Checks of what a tool ships besides its binary: the committed manual page is what the
//! binary generates and renders without warnings, the completion scripts load and complete in
//! bash, zsh and fish, and `--help`/`--version` say what users expect.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{TempDir, prerequisite};

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Run a command and return its stdout, failing on a non-zero status or any stderr.
fn clean_output(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{what}: {}\n--- stderr ---\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{what}: output not UTF-8: {e}"))
}

fn generate(bin: &str, what: &[&str]) -> String {
    clean_output(
        Command::new(bin).arg("--generate").args(what),
        &format!("{bin} --generate {}", what.join(" ")),
    )
}

/// The long options a `--help` text lists (the hidden ones are not there).
fn visible_long_options(help: &str) -> Vec<String> {
    help.lines()
        .take_while(|l| !l.starts_with("EXAMPLES"))
        .filter_map(|l| {
            let l = l.trim_start();
            let l = if l.starts_with('-') && !l.starts_with("--") {
                l.split_once(", ")?.1
            } else {
                l
            };
            let name = l.strip_prefix("--")?;
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(name.len());
            Some(format!("--{}", &name[..end]))
        })
        .collect()
}

/// Options that exist for tests and benchmarks and must stay out of help, man page and
/// completions.
const HIDDEN: [&str; 3] = ["--generate", "--floor", "--buffer"];

/// `--help` ends with BCC-style examples of this tool and `--version` prints its version.
fn assert_help_and_version(bin: &str, tool: &str, help: &str, opts: &[String]) {
    let examples = help
        .split_once("\nEXAMPLES:\n")
        .unwrap_or_else(|| panic!("--help has no EXAMPLES block:\n{help}"))
        .1;
    let lines: Vec<&str> = examples.lines().collect();
    assert!(
        lines.len() >= 3 && lines.iter().all(|l| l.trim_start().starts_with(tool)),
        "every line after EXAMPLES: should be a {tool} command:\n{examples}"
    );
    for h in HIDDEN {
        assert!(!opts.iter().any(|o| o == h), "{h} shows in --help");
    }
    assert!(opts.len() >= 5, "few options parsed from --help: {opts:?}");
    let version = clean_output(Command::new(bin).arg("--version"), "--version");
    assert_eq!(
        version.trim_end(),
        format!("{tool} {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The committed `man/man8/<tool>.8` is exactly what the binary generates now.
fn assert_manual_current(bin: &str, tool: &str) {
    let path = repo_root().join(format!("man/man8/{tool}.8"));
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `make man`", path.display()));
    let generated = generate(bin, &["man"]);
    if committed != generated {
        let at = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is stale (first difference at line {}): run `make man` and commit it",
            path.display(),
            at + 1
        );
    }
}

/// The committed manual renders with no groff warning, has every section the BCC tradition
/// asks for, and documents every option `--help` shows.
fn assert_manual_renders(tool: &str, opts: &[String]) {
    let path = repo_root().join(format!("man/man8/{tool}.8"));
    clean_output(
        Command::new("groff")
            .args(["-ww", "-man", "-Tutf8", "-z"])
            .arg(&path),
        "groff -ww",
    );
    let page = clean_output(
        Command::new("man")
            .args(["--warnings=w", "-P", "cat", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80"),
        "man -l",
    );
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "REQUIREMENTS",
        "OPTIONS",
        "EXAMPLES",
        "FIELDS",
        "OVERHEAD",
        "ENVIRONMENT",
        "EXIT STATUS",
        "SEE ALSO",
    ] {
        assert!(
            page.lines().any(|l| l == section),
            "{tool}.8 has no {section} section"
        );
    }
    let roff = std::fs::read_to_string(&path).expect("read the manual");
    for opt in opts {
        let escaped = opt.replace('-', "\\-");
        assert!(roff.contains(&escaped), "{tool}.8 does not document {opt}");
    }
    for h in HIDDEN {
        assert!(
            !roff.contains(&format!("{}\\fR", h.replace('-', "\\-"))),
            "{tool}.8 documents hidden {h}"
        );
    }
}

/// The completion scripts load in bash, zsh and fish, complete this tool's options, and leave
/// the hidden ones out.
fn assert_completions(bin: &str, tool: &str, opts: &[String]) {
    let dir = TempDir::new("completions");

    let bash = dir.path().join(tool);
    std::fs::write(&bash, generate(bin, &["bash"])).expect("write");
    // Complete a partial word the way bash's programmable completion calls the function.
    let script = format!(
        r#"source "$1" || exit 1
complete -p {tool}
complete_word() {{
    COMP_WORDS=({tool} "$1"); COMP_CWORD=1; COMP_LINE="{tool} $1"; COMP_POINT=${{#COMP_LINE}}
    COMPREPLY=()
    _{tool} {tool} "$1" {tool}
    printf '%s\n' "${{COMPREPLY[@]}}"
}}
echo "js: $(complete_word --js)"
complete_word --
"#
    );
    let out = clean_output(
        Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &script, "bash"])
            .arg(&bash),
        "bash completion",
    );
    assert!(
        out.lines()
            .next()
            .is_some_and(|l| l.contains(&format!("-F _{tool} {tool}"))),
        "bash did not register the completion:\n{out}"
    );
    assert!(
        out.contains("\njs: --json\n"),
        "bash: --js did not complete:\n{out}"
    );
    let all: Vec<&str> = out.lines().skip(2).collect();
    assert_offers("bash", &all, opts);

    if prerequisite("zsh completion", shell_missing("zsh")) {
        let zsh = dir.path().join(format!("_{tool}"));
        std::fs::write(&zsh, generate(bin, &["zsh"])).expect("write");
        let out = clean_output(
            Command::new("zsh").args([
                "-f",
                "-c",
                // compinit replaces its dump file even with -D: never point it at /dev/null
                // (that turned /dev/null into a regular file for every later process).
                &format!(
                    "autoload -Uz compinit && compinit -u -D -d {} && source {} && \
                     print -r -- ${{_comps[{tool}]}}",
                    dir.path().join("zcompdump").display(),
                    zsh.display()
                ),
            ]),
            "zsh completion",
        );
        assert_eq!(out.trim(), format!("_{tool}"), "zsh did not register it");
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::metadata("/dev/null").is_ok_and(|m| m.file_type().is_char_device()),
            "/dev/null is no longer a device"
        );
    }

    if prerequisite("fish completion", shell_missing("fish")) {
        let fish = dir.path().join(format!("{tool}.fish"));
        std::fs::write(&fish, generate(bin, &["fish"])).expect("write");
        let out = clean_output(
            Command::new("fish").args([
                "--no-config",
                "-c",
                &format!(
                    "source {} && complete -C '{tool} --js' && echo --- && complete -C '{tool} --'",
                    fish.display()
                ),
            ]),
            "fish completion",
        );
        let (js, all) = out.split_once("---\n").expect("separator");
        assert!(
            js.starts_with("--json\t"),
            "fish: --js did not complete:\n{out}"
        );
        let offered: Vec<&str> = all
            .lines()
            .map(|l| l.split('\t').next().unwrap_or(""))
            .collect();
        assert_offers("fish", &offered, opts);
    }
}

/// A shell completing `--` offers every visible option and none of the hidden ones.
fn assert_offers(shell: &str, offered: &[&str], opts: &[String]) {
    for opt in opts {
        assert!(
            offered.contains(&opt.as_str()),
            "{shell} does not offer {opt}"
        );
    }
    for h in HIDDEN {
        assert!(!offered.contains(&h), "{shell} offers hidden {h}");
    }
}

fn shell_missing(shell: &str) -> Option<String> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(shell).is_file()));
    (!found).then(|| format!("{shell} is not installed (scripts/deps installs it)"))
}

/// Everything above, for one tool. `bin` is the test build (debug assertions on), in which clap
/// checks the whole option set for consistency (`Command::debug_assert`: duplicate flags, bad
/// defaults, conflicts naming unknown arguments) each time it parses: the first `--help` here
/// panics, failing the test, on a malformed command line, so no tool needs its own test of it.
pub fn assert_docs(bin: &str, tool: &str) {
    let help = clean_output(Command::new(bin).arg("--help"), "--help");
    let opts = visible_long_options(&help);
    assert_help_and_version(bin, tool, &help, &opts);
    assert_manual_current(bin, tool);
    assert_manual_renders(tool, &opts);
    assert_completions(bin, tool, &opts);
}
