// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The program profile's tests sample: a C loop in a function of a distinctive name, built
//! with frame pointers (user stacks are walked through them), and what profile printed about
//! it. Each test file uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use testkit::{TempDir, Tool, run};

/// The function the helper spins in (user time only).
pub const SPIN_FN: &str = "ferro_profile_spin";
/// The function the helper calls read(2) of /dev/zero in (mostly kernel time), with `reads`.
pub const READ_FN: &str = "ferro_profile_reads";
/// The name the helper's JIT mode gives its generated code in /tmp/perf-PID.map.
pub const JIT_FN: &str = "ferro_jit_spin";
/// The helper's command name.
pub const COMM: &str = "profspin";

const SOURCE: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

volatile unsigned long ferro_sink;

__attribute__((noinline)) void ferro_profile_spin(void)
{
	for (;;)
		ferro_sink++;
}

__attribute__((noinline)) void ferro_profile_reads(void)
{
	static char buf[1 << 16];
	int fd = open("/dev/zero", O_RDONLY);

	for (;;)
		if (read(fd, buf, sizeof(buf)) < 0)
			return;
}

/*
 * What a JIT runtime does: generate code into anonymous executable memory, name it in
 * /tmp/perf-PID.map (perf's convention: "START SIZE NAME", hexadecimal), run it.
 */
__attribute__((noinline)) void ferro_profile_jit(void)
{
#if defined(__x86_64__)
	/* push %rbp; mov %rsp,%rbp; 1: jmp 1b (a frame, so the walk goes on to main) */
	static const unsigned char code[] = { 0x55, 0x48, 0x89, 0xe5, 0xeb, 0xfe };
	char path[64], tmp[80];
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FILE *f;

	if (p == MAP_FAILED)
		return;
	memcpy(p, code, sizeof(code));
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC))
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%lx %zx ferro_jit_spin\n", (unsigned long)p, sizeof(code));
	if (fclose(f) || rename(tmp, path))
		return;
	((void (*)(void))p)();
#endif
}

int main(int argc, char **argv)
{
	/* Never outlive a test that forgot to stop it. */
	alarm(120);
	if (argc > 1 && strcmp(argv[1], "reads") == 0)
		ferro_profile_reads();
	else if (argc > 1 && strcmp(argv[1], "jit") == 0)
		ferro_profile_jit();
	else
		ferro_profile_spin();
	return 0;
}
"#;

/// Compile the helper into `dir` with frame pointers: dynamically linked as by testkit, or
/// `static_` (for a container whose image has no C library).
pub fn build(dir: &Path, static_: bool) -> PathBuf {
    if !static_ {
        return testkit::compile_c(dir, COMM, SOURCE);
    }
    let src = dir.join(format!("{COMM}.c"));
    let bin = dir.join(COMM);
    std::fs::write(&src, SOURCE).expect("write C source");
    let out = run(Command::new("cc")
        .args(["-static", "-O0", "-fno-omit-frame-pointer", "-o"])
        .arg(&bin)
        .arg(&src));
    assert!(out.status.success(), "cc -static failed: {out}");
    bin
}

/// The helper running (spinning, or with `reads` reading); killed on drop.
pub struct Spinner {
    child: Child,
    _dir: TempDir,
}

impl Spinner {
    pub fn start(mode: &str) -> Self {
        let dir = TempDir::new("ferroscope-profile");
        let bin = build(dir.path(), false);
        let child = Command::new(bin).arg(mode).spawn().expect("start helper");
        Self { child, _dir: dir }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The JIT mode's perf map (absent otherwise).
        let _ = std::fs::remove_file(format!("/tmp/perf-{}.map", self.child.id()));
    }
}

/// One entry of profile's multi-line output: its frame lines, comm, pid and count.
#[derive(Debug)]
pub struct Entry {
    pub frames: Vec<String>,
    pub comm: String,
    pub pid: u32,
    pub count: u64,
}

/// The entries of profile's multi-line output (after the header and its empty line).
pub fn entries(stdout: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut frames = Vec::new();
    let mut who: Option<(String, u32)> = None;
    for line in stdout.lines().skip(1) {
        if line.is_empty() {
            frames.clear();
            continue;
        }
        if let Some(rest) = line.strip_prefix("    -                ") {
            let (comm, pid) = rest.rsplit_once(" (").expect("comm (pid)");
            // `PID)`, with --containers `PID) [container ID]`.
            let pid = pid
                .split(')')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("pid");
            who = Some((comm.to_owned(), pid));
        } else if let Some(n) = line.strip_prefix("        ") {
            let (comm, pid) = who.take().expect("a count after the comm line");
            out.push(Entry {
                frames: std::mem::take(&mut frames),
                comm,
                pid,
                count: n.parse().expect("count"),
            });
        } else {
            frames.push(line.trim().to_owned());
        }
    }
    out
}

/// Of the samples of `pid`, those whose stack has a frame starting with `function`, and all.
pub fn share(entries: &[Entry], pid: u32, function: &str) -> (u64, u64) {
    let mine = entries.iter().filter(|e| e.pid == pid);
    let all: u64 = mine.clone().map(|e| e.count).sum();
    let with: u64 = mine
        .filter(|e| e.frames.iter().any(|f| f.starts_with(function)))
        .map(|e| e.count)
        .sum();
    (with, all)
}

/// CPU time (user + system) process `pid` has used, in clock ticks (/proc/PID/stat fields 14
/// and 15); 0 once it is gone.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the comm, which may hold spaces, start after its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // rest starts at field 3 (state): utime is field 14, stime field 15.
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

/// Run profile with `args` (which must make it print something once attached: the header,
/// or "attached" with -v) until process `pid` has run `ticks` clock ticks of CPU time since
/// it attached, then Ctrl-C it and return what it printed. Waiting for the CPU time rather
/// than a fixed duration keeps the sample count up on a loaded machine, where the helper
/// may get a small share of a CPU.
pub fn profile_until(bin: &str, args: &[&str], pid: u32, ticks: u64) -> testkit::Finished {
    let t = Tool::spawn(bin, args).ready();
    let start = cpu_ticks(pid);
    let end = Instant::now() + Duration::from_secs(60);
    while cpu_ticks(pid) < start + ticks {
        assert!(
            Instant::now() < end,
            "process {pid} ran fewer than {ticks} ticks in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.interrupt().success()
}
