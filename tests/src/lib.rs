// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Test kit for the tools' integration tests: run the real binary as root, wait until it has
//! attached, trigger real kernel events, stop it the way a user would, and read what it printed.
//! Every wait has a timeout, and every failure message carries the tool's stdout and stderr.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod block;
pub mod bounds;
pub mod container;
pub mod container_tests;
pub mod docs;
pub mod events;
pub mod hist;
pub mod kernel_counts;
pub mod oom;
pub mod opener;
pub mod prometheus;

/// How long a tool may take to attach (a cold debug build on a loaded 2-CPU VM is slow).
pub const ATTACH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an event may take to show up once triggered.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether a root-only BPF test can run here. Outside CI a missing prerequisite skips the test
/// with the reason printed; in CI it fails the test, so a broken runner cannot pass silently.
pub fn bpf_ready(test: &str) -> bool {
    let reason = if unsafe_geteuid() != 0 {
        Some("not running as root".to_owned())
    } else if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_owned())
    } else {
        None
    };
    prerequisite(test, reason)
}

/// Whether `test` can run: `missing` names what it lacks. Outside CI that skips the test with
/// the reason printed; in CI it fails it.
pub fn prerequisite(test: &str, missing: Option<String>) -> bool {
    match missing {
        None => true,
        Some(r) if in_ci() => panic!("{test}: cannot run in CI: {r}"),
        Some(r) => {
            // Straight to stderr: the test harness hides eprintln! output of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {r} (run the suite as root, after scripts/deps, to include it)"
            );
            false
        }
    }
}

fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// This test process's PID, as the tools' `-p` and PID columns show it.
pub fn me() -> String {
    std::process::id().to_string()
}

/// The whitespace-separated columns of an output row.
pub fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The counts of the rows of log2 histograms in `text` (`  4 -> 7  : 12  |***|`).
pub fn hist_row_counts(text: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.contains(" -> ") && l.contains('|'))
        .filter_map(|l| l.split(':').nth(1)?.split('|').next()?.trim().parse().ok())
        .collect()
}

/// Is `s` an `HH:MM:SS` time, as `-T` prints it?
pub fn is_hms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
}

/// Is `feature` listed in FERROSCOPE_DISABLE (scripts/test forces fallback paths with it)?
pub fn feature_disabled(feature: &str) -> bool {
    std::env::var("FERROSCOPE_DISABLE").is_ok_and(|v| v.split(',').any(|f| f.trim() == feature))
}

/// Is the running kernel at least `major.minor`? The tests' own oracle for which hooks and maps
/// a tool should choose, independent of the tool's probes.
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = release
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (major, minor)
}

/// A name no other test or process will use: `<prefix>-<pid>-<n>-<nanos>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let p = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh cgroup v2 directory for the `-c` filter tests, removed on drop (which succeeds only
/// once the tasks started in it have been reaped).
pub struct Cgroup(PathBuf);

impl Cgroup {
    pub fn new(prefix: &str) -> Self {
        let mount = cgroup2_mount().expect("no cgroup2 mount on this machine");
        let dir = mount.join(unique(prefix));
        std::fs::create_dir(&dir).expect("create cgroup");
        Self(dir)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("cgroup path is UTF-8")
    }

    /// `shell -c script`, with the shell moving itself into this cgroup before the script runs,
    /// so everything the script does (and `exec`s) happens inside it.
    pub fn shell(&self, shell: &str, script: &str) -> Command {
        let mut cmd = Command::new(shell);
        cmd.arg("-c").arg(format!(
            "echo $$ > {}/cgroup.procs && {script}",
            self.path()
        ));
        cmd
    }

    /// Wait until `pid` is in this cgroup: a [`Self::shell`] moves itself in after it starts.
    pub fn wait_for(&self, pid: u32) {
        let procs = self.0.join("cgroup.procs");
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            let text = std::fs::read_to_string(&procs).unwrap_or_default();
            if text.lines().any(|l| l.trim() == pid.to_string()) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("{pid} did not join {}", self.path());
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[derive(Default)]
struct Captured {
    stdout: Vec<String>,
    stderr: String,
    stdout_closed: bool,
}

/// What a finished tool printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Finished {
    /// The `count` field of each line of `--json` histogram output, in order.
    pub fn json_counts(&self) -> Vec<u64> {
        self.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{self}"));
                v["count"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no count: {l}\n{self}"))
            })
            .collect()
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.lines()
    }

    /// Assert a clean exit (status 0) and return self for further checks.
    pub fn success(self) -> Self {
        assert!(self.status.success(), "tool failed: {self}");
        self
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A running tool.
pub struct Tool {
    child: Child,
    cap: Arc<(Mutex<Captured>, Condvar)>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Tool {
    /// Start `bin` with `args`, stdout and stderr captured.
    pub fn spawn<S: AsRef<OsStr>>(bin: &str, args: &[S]) -> Self {
        Self::spawn_cmd(Command::new(bin).args(args))
    }

    pub fn spawn_cmd(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tool");
        let cap = Arc::new((Mutex::new(Captured::default()), Condvar::new()));
        let mut readers = Vec::new();
        let out = child.stdout.take().expect("stdout piped");
        let c = Arc::clone(&cap);
        readers.push(thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches('\n')
                            .to_owned();
                        let (m, cv) = &*c;
                        m.lock().expect("lock").stdout.push(line);
                        cv.notify_all();
                    }
                }
            }
            let (m, cv) = &*c;
            m.lock().expect("lock").stdout_closed = true;
            cv.notify_all();
        }));
        let err = child.stderr.take().expect("stderr piped");
        let c = Arc::clone(&cap);
        readers.push(thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut buf = [0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (m, cv) = &*c;
                        m.lock()
                            .expect("lock")
                            .stderr
                            .push_str(&String::from_utf8_lossy(&buf[..n]));
                        cv.notify_all();
                    }
                }
            }
        }));
        Self {
            child,
            cap,
            readers,
        }
    }

    /// Before a timeout panic: interrupt the tool and give it a moment to end, so the panic
    /// shows what it says on the way out (with -v, how many events were lost) and whether the
    /// awaited line was only late.
    fn stop_for_diagnosis(&self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child, which is not reaped before `self` drops.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let (m, cv) = &*self.cap;
        let end = Instant::now() + Duration::from_secs(3);
        let mut g = m.lock().expect("lock");
        while !g.stdout_closed {
            let now = Instant::now();
            if now >= end {
                break;
            }
            g = cv.wait_timeout(g, end - now).expect("lock").0;
        }
        drop(g);
        // stderr's reader may still hold the last lines.
        thread::sleep(Duration::from_millis(100));
    }

    fn snapshot(&self) -> String {
        let g = self.cap.0.lock().expect("lock");
        format!(
            "--- {} ---\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            self.peek_status(),
            g.stdout.join("\n"),
            g.stderr
        )
    }

    /// Whether the tool has ended and how, without reaping it (a tool that vanished without a
    /// word was most likely killed: SIGKILL from an OOM killer shows here).
    fn peek_status(&self) -> String {
        match peek_exit(self.child.id()) {
            Err(e) => format!("tool status unknown: {e}"),
            Ok(None) => "tool still running".into(),
            Ok(Some(Ended::Exited(status))) => format!("tool exited with status {status}"),
            Ok(Some(Ended::Killed(signal))) => format!("tool killed by signal {signal}"),
        }
    }

    /// Wait until `pred` holds for what has been captured; panic with the output on timeout.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Captured) -> bool) {
        let (m, cv) = &*self.cap;
        let end = Instant::now() + timeout;
        let mut g = m.lock().expect("lock");
        while !pred(&g) {
            let now = Instant::now();
            if now >= end || g.stdout_closed {
                drop(g);
                if pred(&m.lock().expect("lock")) {
                    return;
                }
                self.stop_for_diagnosis();
                panic!("timed out waiting for {what}\n{}", self.snapshot());
            }
            g = cv.wait_timeout(g, end - now).expect("lock").0;
        }
    }

    /// Wait until the tool has attached: its header is on stdout, or with `-v` it said
    /// "attached" on stderr.
    pub fn ready(self) -> Self {
        self.wait_for("the tool to attach", ATTACH_TIMEOUT, |c| {
            !c.stdout.is_empty() || c.stderr.contains("attached")
        });
        self
    }

    /// Wait until the tool has attached (as [`Tool::ready`]) or has exited: Ok(self) while it
    /// runs, Err(what it printed and its status) once it ended.
    pub fn ready_or_exit(self) -> Result<Self, Finished> {
        self.wait_for("the tool to attach or exit", ATTACH_TIMEOUT, |c| {
            !c.stdout.is_empty() || c.stderr.contains("attached") || c.stdout_closed
        });
        let closed = self.cap.0.lock().expect("lock").stdout_closed;
        if closed {
            Err(self.finish(Duration::from_secs(20)))
        } else {
            Ok(self)
        }
    }

    /// Wait for a stdout line containing `needle`; return it.
    pub fn wait_line(&self, needle: &str) -> String {
        self.wait_line_where(&format!("a line containing {needle:?}"), |l| {
            l.contains(needle)
        })
    }

    /// Wait for a stdout line for which `pred` holds (`what` names it in the timeout's
    /// message); return it.
    pub fn wait_line_where(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for(what, EVENT_TIMEOUT, |c| c.stdout.iter().any(|l| pred(l)));
        let g = self.cap.0.lock().expect("lock");
        g.stdout
            .iter()
            .find(|l| pred(l))
            .cloned()
            .unwrap_or_default()
    }

    /// Wait until `pred` holds for the stdout lines so far (`what` names it in the timeout's
    /// message); return those lines.
    pub fn wait_lines(&self, what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        self.wait_for(what, EVENT_TIMEOUT, |c| pred(&c.stdout));
        self.lines()
    }

    /// Stdout lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.cap.0.lock().expect("lock").stdout.clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `signal` and collect everything once the tool has exited.
    pub fn signal(self, signal: i32) -> Finished {
        self.send(signal);
        self.finish(Duration::from_secs(20))
    }

    /// Send `signal` and go on (SIGSTOP, then SIGCONT, to hold the tool up while events
    /// happen); panics if kill(2) fails.
    pub fn send(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid.
        let r = unsafe { libc::kill(pid, signal) };
        assert_eq!(r, 0, "kill({pid}, {signal})");
    }

    /// Ctrl-C, as a user would end it.
    pub fn interrupt(self) -> Finished {
        self.signal(libc::SIGINT)
    }

    /// Wait for the tool to exit on its own (e.g. `-d`); kill it after `timeout`.
    pub fn finish(mut self, timeout: Duration) -> Finished {
        let end = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() >= end {
                let _ = self.child.kill();
                let s = self.child.wait().expect("wait");
                panic!(
                    "tool did not exit within {timeout:?} (killed: {s:?})\n{}",
                    self.snapshot()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let g = self.cap.0.lock().expect("lock");
        Finished {
            stdout: g.stdout.iter().map(|l| format!("{l}\n")).collect(),
            stderr: g.stderr.clone(),
            status,
        }
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        // A test that panicked mid-way must not leave a tracer running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run a command to completion and return its output; panic if it cannot start.
pub fn run(cmd: &mut Command) -> Finished {
    let out = cmd.stdin(Stdio::null()).output().expect("run command");
    Finished {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status,
    }
}

/// Give events already in flight (other CPUs' perf buffers, the next poll) time to arrive
/// before concluding that something was *not* printed.
pub fn settle() {
    thread::sleep(Duration::from_millis(400));
}

/// The cgroup v2 mount point, if any (`/sys/fs/cgroup` or the hybrid `/sys/fs/cgroup/unified`).
pub fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, dir, fs) = (f.next()?, f.next()?, f.next()?);
        (fs == "cgroup2").then(|| PathBuf::from(dir))
    })
}

/// Compile a small C program with frame pointers (for stack-walking tests); returns its path.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    compile_c_with(dir, name, source, &[])
}

/// [`compile_c`] with more compiler options (`-static` for a container without a C library).
pub fn compile_c_with(dir: &Path, name: &str, source: &str, extra: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).expect("write C source");
    let out = run(Command::new("cc")
        .args(["-O0", "-g", "-fno-omit-frame-pointer"])
        .args(extra)
        .arg("-o")
        .arg(&bin)
        .arg(&src));
    assert!(out.status.success(), "cc failed: {out}");
    bin
}

/// Each argument list must be refused as bad input: exit status 2, nothing on stdout, and one
/// line on stderr starting with `tool: `.
pub fn assert_usage_errors(bin: &str, tool: &str, cases: &[&[&str]]) {
    for args in cases {
        let out = run(Command::new(bin).args(*args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out}");
        assert!(
            out.stderr.starts_with(&format!("{tool}: ")),
            "{args:?}: {out}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {out}");
    }
}

/// Each argument list (raw bytes: not UTF-8, control characters) must be refused as bad input
/// with exactly the stderr given (exit status 2, nothing on stdout): the golden messages of
/// hostile input, whose escaping a summary check cannot see.
pub fn assert_usage_messages(bin: &str, cases: &[(&[&[u8]], &str)]) {
    use std::os::unix::ffi::OsStrExt;
    for (args, want) in cases {
        let args: Vec<&std::ffi::OsStr> = args
            .iter()
            .map(|a| std::ffi::OsStr::from_bytes(a))
            .collect();
        let out = run(Command::new(bin).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out}");
        assert_eq!(out.stderr, *want, "{args:?}: {out}");
        assert!(out.stdout.is_empty(), "{args:?}: {out}");
    }
}

/// A copy of `bin` that any user can run, in a fresh world-readable directory (removed with the
/// returned [`TempDir`]): the build's own binary may sit in a checkout another user cannot enter
/// (a home directory of mode 0700, Debian's default), which would make exec fail with a bare
/// "Permission denied".
fn runnable_by_anyone(bin: &str) -> (TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("ferroscope-unprivileged");
    let name = Path::new(bin).file_name().expect("binary has a file name");
    let copy = dir.path().join(name);
    std::fs::copy(bin, &copy).unwrap_or_else(|e| panic!("copy {bin} to {}: {e}", copy.display()));
    for (p, mode) in [(dir.path(), 0o755), (copy.as_path(), 0o755)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
    }
    (dir, copy)
}

/// Run as an unprivileged user: the tool must refuse with exit status 1 and one line that says
/// how to fix it. The user runs a copy anyone can run (see [`runnable_by_anyone`]) and starts
/// in `/`.
pub fn assert_needs_privileges(bin: &str, args: &[&str]) {
    use std::os::unix::process::CommandExt;
    let (_dir, copy) = runnable_by_anyone(bin);
    let run = || {
        Command::new(&copy)
            .args(args)
            .current_dir("/")
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::null())
            .output()
    };
    // ETXTBSY: a process another test thread forked while the copy was being written holds
    // the copy's write descriptor until its exec closes it (close-on-exec), and exec refuses a
    // file open for writing. Seen in the 5.10 guest, where a spawn takes long; it passes soon.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut result = run();
    while matches!(&result, Err(e) if e.raw_os_error() == Some(libc::ETXTBSY))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        result = run();
    }
    let out = result.unwrap_or_else(|e| {
        panic!(
            "user 65534 cannot run {} ({e}): the temp dir ({}) must be searchable by all",
            copy.display(),
            std::env::temp_dir().display()
        )
    });
    let out = Finished {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status,
    };
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("run as root"), "{out}");
}

/// The user the capability checks run tools as; created (a system user without a home) when
/// missing.
pub const CAPS_USER: &str = "ferrotest";

fn ensure_caps_user() {
    static MADE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let exists = || {
        run(Command::new("id").arg("-u").arg(CAPS_USER))
            .status
            .success()
    };
    if *made || exists() {
        *made = true;
        return;
    }
    let out = run(Command::new("useradd").args([
        "--system",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        CAPS_USER,
    ]));
    // Another test binary may have made it meanwhile (useradd then fails: exists, or locked).
    assert!(exists(), "useradd {CAPS_USER}: {out}");
    *made = true;
}

/// Whether `kernel.perf_event_paranoid` is above 2, where Debian's kernels (3 by default) open
/// perf events only for CAP_SYS_ADMIN (see common::probe::perf_events_restricted_error).
pub fn perf_events_restricted() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .is_some_and(|level| level > 2)
}

/// Whether this kernel charges BPF maps to RLIMIT_MEMLOCK (before 5.11), so a user without
/// CAP_SYS_RESOURCE cannot load a tool whose maps outgrow that limit
/// (common::probe::memlock_refusal_error says so).
pub fn memlock_charged() -> bool {
    !kernel_at_least(5, 11)
}

/// What the README promises of capabilities: run by user [`CAPS_USER`] with only CAP_BPF and
/// CAP_PERFMON (through `setpriv`, ambient capabilities), the tool either traces (it says
/// "attached" with `-v` in `args`, and Ctrl-C ends it with status 0) or, where it needs the
/// tracepoint ids under a tracefs this user cannot read (mode 0700 root, the default), refuses
/// with status 1 and one line saying so and naming CAP_DAC_READ_SEARCH; with
/// CAP_DAC_READ_SEARCH added it traces. On kernels that charge BPF maps to RLIMIT_MEMLOCK
/// ([`memlock_charged`]) it may first refuse naming RLIMIT_MEMLOCK and CAP_SYS_RESOURCE, and
/// trace with CAP_SYS_RESOURCE added. Where perf events need CAP_SYS_ADMIN
/// ([`perf_events_restricted`]: the Debian kernels of the VM matrix) a tool that attaches
/// through one (a classic tracepoint, a kprobe) refuses instead, with one line naming
/// perf_event_paranoid and CAP_SYS_ADMIN. Returns whether it needed more than CAP_BPF and
/// CAP_PERFMON.
pub fn assert_runs_with_bpf_and_perfmon(bin: &str, args: &[&str]) -> bool {
    if !bpf_ready("assert_runs_with_bpf_and_perfmon") {
        return false;
    }
    ensure_caps_user();
    let (_dir, copy) = runnable_by_anyone(bin);
    let spawn = |caps: &str| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", CAPS_USER, "--regid", CAPS_USER, "--init-groups"])
            .args(["--inh-caps", caps, "--ambient-caps", caps])
            .arg(&copy)
            .args(args)
            .current_dir("/");
        Tool::spawn_cmd(&mut cmd)
    };
    let runs = |t: Tool, what: &str| {
        let out = t.interrupt();
        assert_eq!(out.status.code(), Some(0), "{what}: {out}");
    };
    // Status 1 and one line of our own (with -v, libbpf's warnings may precede it) holding
    // every one of `says`.
    let refused = |out: &Finished, says: &[&str]| {
        assert_eq!(out.status.code(), Some(1), "{out}");
        let ours = out.stderr.lines().filter(|l| !l.starts_with("libbpf: "));
        assert_eq!(ours.count(), 1, "{out}");
        assert!(says.iter().all(|s| out.stderr.contains(s)), "{out}");
    };
    let restricted = perf_events_restricted();
    let perf_refusal = ["perf_event_paranoid", "CAP_SYS_ADMIN"];
    // Each refusal names what is missing; the next try adds it: CAP_SYS_RESOURCE where the
    // kernel charges BPF maps to RLIMIT_MEMLOCK (before 5.11, see memlock_charged), then
    // CAP_DAC_READ_SEARCH for tracefs. A perf-event refusal ends it: only CAP_SYS_ADMIN helps.
    let mut caps = String::from("+bpf,+perfmon");
    loop {
        match spawn(&caps).ready_or_exit() {
            Ok(t) => {
                runs(t, &caps);
                return caps != "+bpf,+perfmon";
            }
            Err(out) if restricted && out.stderr.contains("perf_event_paranoid") => {
                refused(&out, &perf_refusal);
                return true;
            }
            Err(out) if !caps.contains("sys_resource") && out.stderr.contains("RLIMIT_MEMLOCK") => {
                assert!(
                    memlock_charged(),
                    "no kernel since 5.11 charges BPF maps: {out}"
                );
                refused(&out, &["RLIMIT_MEMLOCK", "CAP_SYS_RESOURCE", "ulimit -l"]);
                caps.push_str(",+sys_resource");
            }
            Err(out) if !caps.contains("dac_read_search") => {
                refused(
                    &out,
                    &["cannot read its tracepoint ids", "CAP_DAC_READ_SEARCH"],
                );
                caps.push_str(",+dac_read_search");
            }
            Err(out) => panic!("with {caps}: {out}"),
        }
    }
}

/// BPF object ids (`prog_id`, `link_id`) held open by process `pid`, from its fdinfo.
pub fn bpf_ids_of(pid: u32) -> Vec<(&'static str, u32)> {
    let mut ids = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            for (key, kind) in [("prog_id:", "prog"), ("link_id:", "link")] {
                if let Some(v) = line.strip_prefix(key)
                    && let Ok(id) = v.trim().parse()
                {
                    ids.push((kind, id));
                }
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Wait until bpftool no longer finds any of `ids`: the kernel frees programs and links a
/// little after their last holder exits.
pub fn assert_bpf_objects_gone(ids: &[(&str, u32)]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for (kind, id) in ids {
        loop {
            let out = run(Command::new("bpftool").args([kind, "show", "id", &id.to_string()]));
            if !out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{kind} {id} is still loaded after the tool exited:\n{}",
                out.stdout
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// libbpf-tools' own `name` (`/usr/sbin/<name>`, Debian's libbpf-tools package, which
/// scripts/deps installs), for the tests that compare rows byte for byte; `None` when it is
/// missing or BPF cannot run here ([`bpf_ready`]: both tools need it), which skips `test` with
/// the reason (and fails it in CI, see [`prerequisite`]).
pub fn reference_tool(test: &str, name: &str) -> Option<PathBuf> {
    if !bpf_ready(test) {
        return None;
    }
    let path = Path::new("/usr/sbin").join(name);
    let missing = (!path.exists()).then(|| {
        format!(
            "{} is not installed (apt-get install libbpf-tools)",
            path.display()
        )
    });
    prerequisite(test, missing).then_some(path)
}

/// Start the reference tool `path` ([`reference_tool`]) with `args`, its output line-buffered
/// (`stdbuf -oL`: it writes to a pipe here), and wait until it has printed its header.
pub fn spawn_reference<S: AsRef<OsStr>>(path: &Path, args: &[S]) -> Tool {
    Tool::spawn_cmd(Command::new("stdbuf").arg("-oL").arg(path).args(args)).ready()
}

/// Run the reference tool `path` ([`reference_tool`], [`spawn_reference`]) and `bin` with the
/// same `args` at once, each once it has printed its header; run `work`, then wait (30 s at
/// most) for each to end on its own. Returns what each printed: ours, then the reference's.
pub fn run_beside_reference(
    bin: &str,
    path: &Path,
    args: &[&str],
    work: impl FnOnce(),
) -> (Finished, Finished) {
    let reference = spawn_reference(path, args);
    let ours = Tool::spawn(bin, args).ready();
    work();
    let theirs = reference.finish(Duration::from_secs(30)).success();
    let ours = ours.finish(Duration::from_secs(30)).success();
    (ours, theirs)
}

/// A `-c` cgroup path that is not UTF-8 is refused with the path shown as its bytes (`\\xff`),
/// as every message shows them: `TOOL: cgroup /x\\xff\\e: No such file or directory (os error
/// 2)`, exit 2 (see [`assert_usage_messages`]).
pub fn assert_bad_cgroup_path_escaped(bin: &str, tool: &str) {
    assert_usage_messages(
        bin,
        &[(
            &[&b"-c"[..], b"/x\xff\x1b"],
            &format!("{tool}: cgroup /x\\xff\\e: No such file or directory (os error 2)\n"),
        )],
    );
}

/// What `-v` calls the programs a tool with tp_btf programs and raw tracepoint fallbacks
/// attached: `tp_btf`, or `raw tracepoints` where FERROSCOPE_DISABLE names tp_btf.
pub fn tp_btf_or_raw() -> &'static str {
    if feature_disabled("tp_btf") {
        "raw tracepoints"
    } else {
        "tp_btf"
    }
}

/// The first `lines` lines of what our tool and the reference tool printed with `args` (the
/// banner, the blank line, the heading) are the same, byte for byte.
pub fn assert_same_head(ours: &Finished, theirs: &Finished, lines: usize, args: &[&str]) {
    let head = |t: &str| t.lines().take(lines).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        head(&ours.stdout),
        head(&theirs.stdout),
        "{args:?}\n{ours}\n{theirs}"
    );
}

/// The checks every tool makes of how it ends: SIGINT and SIGTERM each end it cleanly with
/// `args` (which include `-v`; see [`assert_signal_ends_cleanly`]), `tool head_args | head -n 1`
/// ends quietly while `trigger` makes events, an unprivileged user is refused with one line, and
/// a user with only CAP_BPF and CAP_PERFMON traces or is told what else it needs (see
/// [`assert_runs_with_bpf_and_perfmon`]). Returns what the SIGINT and the SIGTERM run printed.
pub fn assert_signals_pipes_and_privileges(
    bin: &str,
    args: &[&str],
    head_args: &[&str],
    trigger: impl FnMut(),
) -> [Finished; 2] {
    let ends = [libc::SIGINT, libc::SIGTERM].map(|sig| assert_signal_ends_cleanly(bin, args, sig));
    assert_head_ends_quietly(bin, head_args, trigger);
    assert_needs_privileges(bin, &[]);
    assert_runs_with_bpf_and_perfmon(bin, args);
    ends
}

/// Start the tool with `args` (which must make it print "attached" on stderr, i.e. include
/// `-v`), end it with `signal`, and check it exits 0 and leaves no BPF program or link loaded.
/// Returns what it printed.
pub fn assert_signal_ends_cleanly(bin: &str, args: &[&str], signal: i32) -> Finished {
    let t = Tool::spawn(bin, args).ready();
    // Let some events arrive, so a histogram tool has a final histogram to print.
    thread::sleep(Duration::from_millis(500));
    let ids = bpf_ids_of(t.pid());
    assert!(
        ids.iter().any(|(k, _)| *k == "prog"),
        "no BPF programs found: {ids:?}"
    );
    let out = t.signal(signal);
    assert!(out.status.success(), "signal {signal}: {out}");
    assert_bpf_objects_gone(&ids);
    out
}

/// `tool ARGS | head -n 1` must end by itself with status 0 and print nothing on stderr.
/// `trigger` runs repeatedly until `head` has its line, to make the events that reach it.
///
/// Each wait is on an event and bounded from when that event became possible, not from the
/// start: first `head`'s line (the tool started, attached and printed: up to
/// [`ATTACH_TIMEOUT`] plus [`EVENT_TIMEOUT`]), then the tool's exit once `head` has gone. The
/// tool must notice the closed pipe by itself, with no further event (`trigger` no longer
/// runs), within [`ATTACH_TIMEOUT`] (detaching is as slow as attaching on a loaded machine).
/// A tool that noticed a closed pipe only when writing its next row passed here only while
/// other tests happened to make events for it: tcpretrans, whose trigger makes none, waited
/// for a retransmit from another test and timed out when none came.
pub fn assert_head_ends_quietly(bin: &str, args: &[&str], mut trigger: impl FnMut()) {
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc::{RecvTimeoutError, channel};
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "set -o pipefail; \"{bin}\" {} | head -n 1",
        quoted.join(" ")
    );
    // Its own process group, so that a failure can end the whole pipeline.
    let mut sh = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash");
    // head's line arrives on bash's stdout: a thread reads it and says when.
    let (tx, rx) = channel();
    let out = sh.stdout.take().expect("stdout piped");
    let reader = thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(());
        line
    });
    let err = sh.stderr.take().expect("stderr piped");
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(err).read_to_string(&mut s);
        s
    });
    let fail = |sh: &mut Child, what: &str| -> ! {
        if let Ok(pgid) = i32::try_from(sh.id()) {
            // SAFETY: kill(2) of the process group this function started.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        let _ = sh.wait();
        panic!("`{script}`: {what}");
    };
    let first_line_by = Instant::now() + ATTACH_TIMEOUT + EVENT_TIMEOUT;
    loop {
        trigger();
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= first_line_by {
            fail(
                &mut sh,
                &format!("head had no line after {ATTACH_TIMEOUT:?} + {EVENT_TIMEOUT:?}"),
            );
        }
    }
    let line = reader.join().expect("stdout reader");
    let head_done = Instant::now();
    let status = loop {
        if let Some(s) = sh.try_wait().expect("try_wait") {
            break s;
        }
        if head_done.elapsed() >= ATTACH_TIMEOUT {
            fail(
                &mut sh,
                &format!(
                    "head had its line {line:?}, and with no event since the tool did not \
                     notice the closed pipe within {ATTACH_TIMEOUT:?}"
                ),
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let err = err_reader.join().expect("stderr reader");
    assert!(
        status.success(),
        "`{script}`: status {status:?}, stderr: {err}"
    );
    assert!(
        !line.is_empty(),
        "`{script}`: head printed no line; stderr: {err}"
    );
    assert!(err.is_empty(), "`{script}` printed on stderr: {err}");
}

/// Start `bin` with `args` (which must make it print "attached" on stderr, i.e. include `-v`)
/// and check that the kernel side leaves the tool's own process out: the loaded object's
/// `ferro_self_tgid` (bpf/filter.bpf.h, set by common::lifecycle::open for every tool) holds
/// the tool's pid, as bpftool reads it from the live `.rodata` map.
pub fn assert_excludes_itself(bin: &str, args: &[&str]) {
    let t = Tool::spawn(bin, args).ready();
    let pid = t.pid();
    let maps = map_ids_of(pid);
    let want = format!("\"ferro_self_tgid\":{pid}");
    let found = maps.iter().any(|id| {
        let out = run(Command::new("bpftool").args(["-j", "map", "dump", "id", &id.to_string()]));
        out.stdout.replace(char::is_whitespace, "").contains(&want)
    });
    let out = t.interrupt();
    assert!(out.status.success(), "{out}");
    assert!(
        found,
        "no map of pid {pid} (ids {maps:?}) holds {want}\n{out}"
    );
}

/// BPF map ids held open by process `pid`, from its fdinfo.
fn map_ids_of(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for entry in dir.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        ids.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("map_id:"))
                .filter_map(|v| v.trim().parse::<u32>().ok()),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// How a child process ended (see [`peek_exit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// exit(2) with this status.
    Exited(i32),
    /// Killed (or dumped) by this signal.
    Killed(i32),
}

/// Whether our child `pid` has ended, and how, without reaping it (waitid with WNOWAIT): its
/// /proc entry stays until the owner of its `Child` waits for it.
pub fn peek_exit(pid: u32) -> std::io::Result<Option<Ended>> {
    // SAFETY: zeroed siginfo_t is a valid out-parameter for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on a pid with WNOWAIT reaps nothing; `info` is ours to fill.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: waitid filled in si_pid (0 while the child runs), si_code and si_status.
    let (ended, status) = unsafe { (info.si_pid(), info.si_status()) };
    Ok(match (ended, info.si_code) {
        (0, _) => None,
        (_, libc::CLD_EXITED) => Some(Ended::Exited(status)),
        _ => Some(Ended::Killed(status)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait that fails says how the tool ended: here killed by SIGKILL before printing.
    #[test]
    fn a_failed_wait_shows_how_the_tool_ended() {
        let t = Tool::spawn("sh", &["-c", "kill -9 $$"]);
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.wait_line("never")))
            .expect_err("no such line");
        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("--- tool killed by signal 9 ---"), "{msg}");
    }
}
