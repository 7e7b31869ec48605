// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What the event tools' root tests share: a shell that makes counted events once told to, the
//! `-v` line naming the hooks, and the header compared with libbpf-tools'.

use std::fmt::Display;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::Tool;

/// A shell script's text: `read go; ` (it waits for [`Gated::go`]), then each command run
/// the given number of times in a `while` loop, in order, then `end`
/// (`i=0; while [ $i -lt 3 ]; do (exit 3); i=$((i+1)); done; exit 0`).
pub fn gated_loops<N: Display>(runs: &[(&str, N)], end: &str) -> String {
    let loops: String = runs
        .iter()
        .map(|(cmd, n)| format!("i=0; while [ $i -lt {n} ]; do {cmd}; i=$((i+1)); done; "))
        .collect();
    format!("read go; {loops}{end}")
}

/// A shell (or any command) that reads one line from its stdin before it makes its events
/// ([`gated_loops`]): the test starts the tool on its PID or cgroup first, then lets it go.
pub struct Gated(Child);

impl Gated {
    /// Spawn `cmd` with its stdin piped to us.
    pub fn spawn(cmd: &mut Command) -> Self {
        Self(
            cmd.stdin(Stdio::piped())
                .spawn()
                .expect("spawn the gated shell"),
        )
    }

    /// `/bin/sh -c script`.
    pub fn sh(script: &str) -> Self {
        Self::spawn(Command::new("/bin/sh").args(["-c", script]))
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Send the line it waits for (`go`), and wait for it to exit.
    pub fn go(mut self) -> ExitStatus {
        self.0
            .stdin
            .take()
            .expect("piped")
            .write_all(b"go\n")
            .expect("write");
        self.0.wait().expect("wait")
    }
}

/// Run `bin -v` until it is ready, stop it with Ctrl-C, and assert that it ended with status 0
/// and that its stderr contains `want` (the `TOOL: attached ...` line naming its hooks).
pub fn assert_verbose_says(bin: &str, want: &str) {
    let out = Tool::spawn(bin, &["-v"]).ready().interrupt().success();
    assert!(out.stderr.contains(want), "{want}: {out}");
}

/// Stop libbpf-tools' `reference` and our `ours` with Ctrl-C; ours must end with status 0, and
/// both must have printed the same first line (the header).
pub fn assert_same_header(reference: Tool, ours: Tool) {
    let ref_out = reference.interrupt();
    let our_out = ours.interrupt().success();
    assert_eq!(ref_out.lines().next(), our_out.lines().next(), "headers");
}

/// Start `bin` with `args`, then `--prometheus ADDR` and, where given, `--textfile PATH`; wait
/// until it is ready (give `-v` in `args`: exporting, it prints no header).
pub fn spawn_exporting(
    bin: &str,
    args: &[&str],
    addr: SocketAddr,
    textfile: Option<&Path>,
) -> Tool {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend(["--prometheus".to_owned(), addr.to_string()]);
    if let Some(path) = textfile {
        all.extend([
            "--textfile".to_owned(),
            path.to_str().expect("utf8").to_owned(),
        ]);
    }
    Tool::spawn(bin, &all).ready()
}
