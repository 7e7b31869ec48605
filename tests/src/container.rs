// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Containers for the tests: synthetic cgroup trees laid out the way each runtime lays them
//! out, processes moved into them, and a real podman container from a local busybox image.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{cgroup2_mount, prerequisite, run, unique};

/// Cgroups made for one test under a fresh directory of the cgroup2 mount, removed on drop
/// (deepest first; only once the processes moved into them have exited).
pub struct CgroupTree {
    mount: PathBuf,
    root: PathBuf,
    made: Vec<PathBuf>,
}

impl CgroupTree {
    pub fn new(prefix: &str) -> Self {
        let mount = cgroup2_mount().expect("no cgroup2 mount on this machine");
        let root = mount.join(unique(prefix));
        std::fs::create_dir(&root).expect("create cgroup");
        Self {
            mount,
            made: vec![root.clone()],
            root,
        }
    }

    /// Create `rel` (`a/b/c`) and its missing parents below the tree's root; return its
    /// directory.
    pub fn make(&mut self, rel: &str) -> PathBuf {
        let mut dir = self.root.clone();
        for c in rel.split('/').filter(|c| !c.is_empty()) {
            dir.push(c);
            if !dir.is_dir() {
                std::fs::create_dir(&dir)
                    .unwrap_or_else(|e| panic!("create cgroup {}: {e}", dir.display()));
                self.made.push(dir.clone());
            }
        }
        dir
    }

    /// `dir` as the `0::` line of /proc/PID/cgroup names it (from the cgroup2 root).
    pub fn cgroup_path(&self, dir: &Path) -> String {
        let rel = dir
            .strip_prefix(&self.mount)
            .expect("below the cgroup2 mount");
        format!("/{}", rel.display())
    }

    /// Remove `dir` now (it must be empty of processes and sub-cgroups).
    pub fn remove(&mut self, dir: &Path) {
        std::fs::remove_dir(dir).unwrap_or_else(|e| panic!("rmdir {}: {e}", dir.display()));
        self.made.retain(|d| d != dir);
    }
}

impl Drop for CgroupTree {
    fn drop(&mut self) {
        for d in self.made.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// A cgroup's v2 id: its directory's inode number on the cgroup2 mount (what
/// `bpf_get_current_cgroup_id()` returns for a task in it).
pub fn cgroup_id(dir: &Path) -> u64 {
    std::fs::metadata(dir)
        .unwrap_or_else(|e| panic!("stat {}: {e}", dir.display()))
        .ino()
}

/// The cgroup v2 path of process `pid` (the `0::` line of /proc/PID/cgroup).
pub fn cgroup_of(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_owned)
}

/// A `sleep` moved into a cgroup; killed and reaped on drop.
pub struct Sleeper(Child);

impl Sleeper {
    /// Start `sleep 600` and write its PID to `dir`/cgroup.procs.
    pub fn in_cgroup(dir: &Path) -> Self {
        let child = Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let s = Self(child);
        std::fs::write(dir.join("cgroup.procs"), s.pid().to_string())
            .unwrap_or_else(|e| panic!("move into {}: {e}", dir.display()));
        s
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The local image the podman tests run: a static busybox and its applet links.
pub const IMAGE: &str = "localhost/ferroscope-test:1";
const BUSYBOX: &str = "/bin/busybox";

/// Whether a podman test can run (root, podman, runc, a static busybox, cgroup2); see
/// [`crate::prerequisite`] for what happens when not.
pub fn podman_ready(test: &str) -> bool {
    let has = |cmd: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {cmd}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    // SAFETY: geteuid has no preconditions.
    let missing = if unsafe { libc::geteuid() } != 0 {
        Some("not running as root".to_owned())
    } else if !has("podman") || !has("runc") {
        Some("podman or runc is not installed (scripts/deps installs them)".to_owned())
    } else if !Path::new(BUSYBOX).exists() {
        Some(format!("{BUSYBOX} is missing (package busybox-static)"))
    } else if cgroup2_mount().is_none() {
        Some("no cgroup2 mount".to_owned())
    } else {
        None
    };
    prerequisite(test, missing)
}

/// Build [`IMAGE`] unless it exists: once per machine, with no registry (`podman import` of
/// a directory tree). Test processes running at once take turns through a lock file.
pub fn ensure_image() {
    let lock = std::fs::File::create(std::env::temp_dir().join("ferroscope-test-image.lock"))
        .expect("create lock file");
    // SAFETY: flock on an open fd; the lock goes with the file when it is dropped.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "flock: {}", std::io::Error::last_os_error());
    if run(Command::new("podman").args(["image", "exists", IMAGE]))
        .status
        .success()
    {
        return;
    }
    let dir = crate::TempDir::new("ferroscope-image");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    std::fs::copy(BUSYBOX, bin.join("busybox")).expect("copy busybox");
    let list = run(Command::new(BUSYBOX).arg("--list"));
    assert!(list.status.success(), "busybox --list: {list}");
    for applet in list
        .stdout
        .lines()
        .filter(|a| *a != "busybox" && !a.contains('/'))
    {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
    }
    std::fs::create_dir_all(dir.path().join("tmp")).expect("mkdir tmp");
    let out = run(Command::new("sh").arg("-c").arg(format!(
        "tar -C '{}' -c . | podman import - {IMAGE}",
        dir.path().display()
    )));
    assert!(out.status.success(), "podman import: {out}");
}

/// A podman container running `cmd` in [`IMAGE`], detached; removed on drop.
pub struct PodmanContainer {
    /// The full 64-hex-digit id, as podman printed it.
    pub id: String,
}

impl PodmanContainer {
    /// `podman --runtime runc --cgroup-manager=cgroupfs run -d --rm --network none ... IMAGE
    /// cmd...`: the flags that work on hybrid-cgroup hosts (crun refuses them) and in this VM
    /// (whose limits refuse podman's default ulimits). Its cgroup v2 path is `/libpod_parent/libpod-<id>`.
    pub fn run(cmd: &[&str]) -> Self {
        let c = Self::create(cmd);
        c.start();
        c
    }

    /// The container made but not started (no process, no cgroup yet): its id is known
    /// before anything runs in it, for tests of containers started after a tool.
    pub fn create(cmd: &[&str]) -> Self {
        Self::create_with(&[], cmd)
    }

    /// [`Self::create`] with more `podman create` options (`--device`, `--cap-add`).
    pub fn create_with(podman_args: &[String], cmd: &[&str]) -> Self {
        ensure_image();
        let out = run(Command::new("podman")
            .args([
                "--runtime",
                "runc",
                "--cgroup-manager=cgroupfs",
                "create",
                "--rm",
            ])
            // No network: the tests need none, and the matrix's guest kernels have no bridge
            // or iptables modules loaded for podman's default one.
            .args(["--network", "none"])
            .args([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ])
            .args(podman_args)
            .arg(IMAGE)
            .args(cmd));
        assert!(out.status.success(), "podman create: {out}");
        let id = out.stdout.trim().to_owned();
        assert!(
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "podman create printed no container id: {out}"
        );
        Self { id }
    }

    /// Start a container made by [`Self::create`].
    pub fn start(&self) {
        let out = run(Command::new("podman").args([
            "--runtime",
            "runc",
            "--cgroup-manager=cgroupfs",
            "start",
            &self.id,
        ]));
        assert!(out.status.success(), "podman start: {out}");
    }

    /// The first 12 digits of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    /// The host PID of the container's first process.
    pub fn pid(&self) -> u32 {
        let out =
            run(Command::new("podman").args(["inspect", "--format", "{{.State.Pid}}", &self.id]));
        assert!(out.status.success(), "podman inspect: {out}");
        out.stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("podman inspect: no pid: {out}"))
    }

    /// Wait until the container's first process has `comm` as its command name (e.g. `sleep`,
    /// once a script that ends in `exec sleep` has done what came before); panic after 20 s.
    pub fn wait_for_comm(&self, comm: &str) {
        let pid = self.pid();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map_or(true, |s| s.trim() != comm)
        {
            assert!(
                std::time::Instant::now() < end,
                "container {} never reached {comm}",
                self.id
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `podman exec` a command in the container (e.g. to make events from inside it).
    pub fn exec(&self, cmd: &[&str]) -> crate::Finished {
        run(Command::new("podman").args(["exec", &self.id]).args(cmd))
    }
}

impl Drop for PodmanContainer {
    fn drop(&mut self) {
        let _ = run(Command::new("podman").args(["rm", "-f", "-t", "0", &self.id]));
    }
}
