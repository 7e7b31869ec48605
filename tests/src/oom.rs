// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Real OOM kills, contained: a memory cgroup limited to a few MiB (the cgroup v1 memory
//! controller where the machine mounts it, as this hybrid host and the kernel matrix's guests
//! do; else cgroup2's `memory.max`) and a process in it that allocates until the kernel's OOM
//! killer kills it. Only that cgroup runs out of memory, never the machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TempDir, cgroup2_mount, unique};

/// The limit of a [`MemoryCgroup`]: room for a shell, not for its growing string.
pub const LIMIT_BYTES: u64 = 16 << 20;

/// Shell code that doubles a string until the memory cgroup's OOM killer ends it.
pub const HOG: &str = "a=x; while :; do a=$a$a; done";

/// A fresh memory cgroup limited to [`LIMIT_BYTES`] (no swap either), removed on drop.
pub struct MemoryCgroup {
    dir: PathBuf,
    scripts: TempDir,
}

/// Where a memory cgroup can be made: the v1 memory hierarchy, else a cgroup2 mount whose
/// root offers the memory controller; `Err` says why neither.
fn memory_root() -> Result<(PathBuf, bool), String> {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    if v1.join("memory.limit_in_bytes").exists() {
        return Ok((v1.to_owned(), true));
    }
    let v2 = cgroup2_mount().ok_or("no cgroup v1 memory hierarchy and no cgroup2 mount")?;
    let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "memory") {
        return Err(format!(
            "no cgroup v1 memory hierarchy, and {} does not offer the memory controller",
            v2.display()
        ));
    }
    // Children get the controller only where the root delegates it (already so under systemd).
    let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+memory");
    Ok((v2, false))
}

impl MemoryCgroup {
    /// `None` (the reason for [`crate::prerequisite`]) where the machine has no memory
    /// controller to limit a cgroup with.
    pub fn new(prefix: &str) -> Result<Self, String> {
        let (root, v1) = memory_root()?;
        let dir = root.join(unique(prefix));
        std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let cg = Self {
            dir,
            scripts: TempDir::new(prefix),
        };
        let (limit, swap) = if v1 {
            ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
        } else {
            ("memory.max", "memory.swap.max")
        };
        std::fs::write(cg.dir.join(limit), LIMIT_BYTES.to_string())
            .unwrap_or_else(|e| panic!("set {}/{limit}: {e}", cg.dir.display()));
        // Without swap (or its accounting) the file is absent: nothing to limit.
        if cg.dir.join(swap).exists() {
            let value = if v1 {
                LIMIT_BYTES.to_string()
            } else {
                "0".into()
            };
            std::fs::write(cg.dir.join(swap), value)
                .unwrap_or_else(|e| panic!("set {}/{swap}: {e}", cg.dir.display()));
        }
        // Never start a hog unless the limit really holds.
        let read: u64 = std::fs::read_to_string(cg.dir.join(limit))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(u64::MAX);
        assert!(
            read <= LIMIT_BYTES,
            "{}/{limit} reads {read}",
            cg.dir.display()
        );
        Ok(cg)
    }

    /// Run [`HOG`] inside this cgroup in a shell whose comm is `comm` (at most 15 bytes: the
    /// whole comm; the shell runs through a link of that name, and a comm is the name of the
    /// file executed) and wait until the OOM killer has killed it (SIGKILL). The victim is left
    /// unreaped, so its /proc entry stays until the [`Victim`] is dropped.
    pub fn oom_kill(&self, comm: &str) -> Victim {
        assert!(comm.len() <= 15 && !comm.contains('/'), "comm {comm:?}");
        // A link, not a script file: a file just written can still be open for writing in a
        // child another test thread is forking, and executing it then fails (ETXTBSY).
        let shell = self.scripts.path().join(comm);
        if !shell.exists() {
            std::os::unix::fs::symlink("/bin/sh", &shell).expect("link the hog's shell");
        }
        let procs = self.dir.join("cgroup.procs");
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > '{}' && exec '{}' -c '{HOG}'",
                procs.display(),
                shell.display()
            ))
            .stdin(Stdio::null())
            .spawn()
            .expect("sh");
        let mut victim = Victim { child };
        victim.wait_killed();
        victim
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A process the OOM killer killed, not yet reaped; reaped on drop.
pub struct Victim {
    child: Child,
}

impl Victim {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait (without reaping) until the process has died; panic unless of SIGKILL, or after
    /// 20 s (the process is then killed, so no hog outlives a failed test).
    fn wait_killed(&mut self) {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            match crate::peek_exit(self.child.id()).expect("waitid") {
                Some(crate::Ended::Killed(libc::SIGKILL)) => return,
                Some(how) => panic!("the hog ended without the OOM killer: {how:?}"),
                None => {}
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("the hog in a {LIMIT_BYTES}-byte memory cgroup was not OOM-killed in 20 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
