// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! syscount --containers / --container with a real podman container whose only process makes
//! a known number of getppid() calls, and the test process making its own on the host. Tests
//! named `root_*` need root, BPF and podman.

use std::time::{Duration, Instant};

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{TempDir, Tool, bpf_ready};

const BIN: &str = env!("CARGO_BIN_EXE_syscount");

/// A static helper for a container without a C library: waits until DIR/go exists, makes N
/// getppid() calls, creates DIR/done, and waits to be killed. argv: N DIR.
const CONTAINER_HELPER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char go[512], done[512];
	if (argc < 3)
		return 2;
	long n = atol(argv[1]);
	snprintf(go, sizeof(go), "%s/go", argv[2]);
	snprintf(done, sizeof(done), "%s/done", argv[2]);
	while (access(go, F_OK) != 0) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	close(open(done, O_CREAT | O_WRONLY, 0644));
	for (;;)
		pause();
}
"#;

/// The COUNT of the row whose first column (libbpf-tools' `%-22s`, trimmed) is `key`.
fn count(out: &str, key: &str) -> Option<u64> {
    out.lines().find_map(|l| {
        let (k, rest) = l.split_at_checked(22)?;
        (k.trim_end() == key).then_some(())?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The text of the section under `label` (its header and rows), up to the empty line that
/// ends it; `None` when there is no such section.
fn section<'a>(out: &'a str, label: &str) -> Option<&'a str> {
    let start = out.find(&format!("\n{label}\n"))? + label.len() + 2;
    let rest = &out[start..];
    Some(&rest[..rest.find("\n\n").map_or(rest.len(), |e| e + 1)])
}

/// A metric's value in an exposition: the line `series value`.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `--containers` with a podman container making N getppid() calls (a static helper, the
/// container's only process) and this test process making M on the host: the container's
/// section counts exactly N, the host's at least M; `--container ID` alone prints only the
/// container's rows, without a section line; `--json` rows carry the container's fields; -P
/// shows the container's process in its section and this one under host tasks; `--textfile`
/// counts N under the container's `container` label.
#[test]
fn root_containers_one_table_per_container() {
    let test = "root_containers_one_table_per_container";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    const N: u64 = 3000;
    const M: u64 = 500;
    let dir = TempDir::new("ferroscope-syscount-pod");
    testkit::compile_c_with(dir.path(), "getppids", CONTAINER_HELPER, &["-static"]);
    let volume = format!("{}:/h", dir.path().display());
    let c = PodmanContainer::create_with(
        &["-v".to_owned(), volume],
        &["/h/getppids", &N.to_string(), "/h"],
    );
    c.start();
    let textfile = dir.path().join("syscount.prom");
    let short = c.short_id().to_owned();
    let sections = Tool::spawn(BIN, &["--containers", "-T", "100"]).ready();
    let only = Tool::spawn(BIN, &["--container", &short]).ready();
    let json = Tool::spawn(BIN, &["-v", "--containers", "--json", "-T", "1000"]).ready();
    let procs = Tool::spawn(BIN, &["--containers", "-P", "-T", "1000"]).ready();
    let exported = Tool::spawn(
        BIN,
        &[
            "-v",
            "--containers",
            "--textfile",
            textfile.to_str().expect("utf8"),
        ],
    )
    .ready();
    for _ in 0..M {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    std::fs::write(dir.path().join("go"), b"").expect("create go");
    let end = Instant::now() + Duration::from_secs(30);
    while !dir.path().join("done").exists() {
        assert!(
            Instant::now() < end,
            "the container's helper never finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let pod = format!("container = {short} (podman)");
    let out = sections.interrupt().success();
    let mine = section(&out.stdout, &pod).unwrap_or_else(|| panic!("no {pod}: {out}"));
    assert!(
        mine.starts_with("SYSCALL                   COUNT\n"),
        "{out}"
    );
    assert_eq!(count(mine, "getppid"), Some(N), "{out}");
    let host = section(&out.stdout, "host tasks").unwrap_or_else(|| panic!("no host: {out}"));
    assert!(count(host, "getppid").is_some_and(|n| n >= M), "{out}");
    assert!(
        out.stdout.find("\nhost tasks\n") < out.stdout.find(&pod),
        "host tasks first: {out}"
    );

    let out = only.interrupt().success();
    assert!(
        !out.lines()
            .any(|l| l.starts_with("container =") || l == "host tasks"),
        "{out}"
    );
    assert_eq!(count(&out.stdout, "getppid"), Some(N), "{out}");

    let out = json.interrupt().success();
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out}")))
        .collect();
    let pod_getppid: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["syscall"] == "getppid" && r["container_id"] == c.id.as_str())
        .collect();
    assert_eq!(pod_getppid.len(), 1, "{out}");
    let r = pod_getppid[0];
    assert_eq!(r["count"], N, "{out}");
    assert_eq!(r["container_runtime"], "podman", "{out}");
    assert!(r["cgroup_id"].is_u64(), "{out}");
    assert!(
        r["cgroup"].as_str().is_some_and(|p| p.contains(&c.id)),
        "{out}"
    );
    let host: u64 = rows
        .iter()
        .filter(|r| r["syscall"] == "getppid" && r.get("container_id").is_none())
        .filter_map(|r| r["count"].as_u64())
        .sum();
    assert!(host >= M, "{out}");

    let out = procs.interrupt().success();
    let mine = section(&out.stdout, &pod).unwrap_or_else(|| panic!("no {pod}: {out}"));
    let key = format!("{:<6} getppids", c.pid());
    assert!(count(mine, &key).is_some_and(|n| n >= N), "{key}: {out}");
    let host = section(&out.stdout, "host tasks").unwrap_or_else(|| panic!("no host: {out}"));
    let me = format!("{:<6} ", std::process::id());
    assert!(
        host.lines().any(|l| l.starts_with(&me)),
        "this process ({me}): {out}"
    );

    let out = exported.interrupt().success();
    assert!(out.stdout.is_empty(), "nothing printed: {out}");
    // The last rendering is written when the tool stops.
    let text = std::fs::read_to_string(&textfile).expect("text file");
    let series = format!(
        "ferroscope_syscount_syscalls_total{{syscall=\"getppid\",container=\"{}\"}}",
        c.id
    );
    assert_eq!(metric(&text, &series), Some(N as f64), "{text}");
    let host = "ferroscope_syscount_syscalls_total{syscall=\"getppid\",container=\"-\"}";
    assert!(metric(&text, host).is_some_and(|v| v >= M as f64), "{text}");
}
