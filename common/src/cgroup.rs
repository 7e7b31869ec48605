// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! cgroup v2 filters: a path given by the user, checked and turned into what BPF needs.

use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// An open cgroup v2 directory.
#[derive(Debug)]
pub struct CgroupV2 {
    /// For `BPF_MAP_TYPE_CGROUP_ARRAY` (tests `current`).
    pub file: File,
    /// The cgroup id (kernfs node id, the directory's inode number).
    pub id: u64,
    /// Depth below the cgroup2 root (the root is 0), for ancestor tests of any task.
    pub level: u32,
}

impl CgroupV2 {
    /// Put this cgroup into slot 0 of a `BPF_MAP_TYPE_CGROUP_ARRAY` (for
    /// `bpf_current_task_under_cgroup`).
    pub fn install(&self, map: &dyn libbpf_rs::MapCore) -> Result<()> {
        let fd = u32::try_from(self.file.as_raw_fd()).map_err(|_| Error::fatal("bad cgroup fd"))?;
        map.update(
            &0u32.to_ne_bytes(),
            &fd.to_ne_bytes(),
            libbpf_rs::MapFlags::ANY,
        )
        .map_err(|e| Error::from(e).context("setting the cgroup filter"))
    }
}

/// [`CgroupV2::install`] for an optional `--cgroup` (from [`open_opt`]): nothing to do without
/// one.
pub fn install(cgroup: Option<&CgroupV2>, map: &dyn libbpf_rs::MapCore) -> Result<()> {
    cgroup.map_or(Ok(()), |cg| cg.install(map))
}

/// [`open`] for an optional `--cgroup PATH`.
pub fn open_opt(path: Option<&Path>) -> Result<Option<CgroupV2>> {
    path.map(open).transpose()
}

/// Open `path`, which must be a cgroup v2 directory; bad paths are usage errors (exit 2).
pub fn open(path: &Path) -> Result<CgroupV2> {
    let file = File::open(path).map_err(|e| {
        Error::usage(format!(
            "cgroup {}: {e}",
            crate::error::shown(path.as_os_str().as_bytes())
        ))
    })?;
    if fs_type(&file) != Some(CGROUP2_SUPER_MAGIC) {
        return Err(Error::usage(format!(
            "cgroup {}: not a cgroup v2 directory (cgroup2 is mounted at {})",
            crate::error::shown(path.as_os_str().as_bytes()),
            mount_point().map_or("no mount point".into(), |p| p.display().to_string())
        )));
    }
    let meta = file.metadata().map_err(|e| {
        Error::usage(format!(
            "cgroup {}: {e}",
            crate::error::shown(path.as_os_str().as_bytes())
        ))
    })?;
    // A cgroup is a directory; its files (cgroup.procs) are on cgroup2 too, and their inode
    // is no cgroup id (the kernel refuses the fd in cgroup_map: EBADF, exit 1).
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "cgroup {}: not a cgroup v2 directory (a file in one)",
            crate::error::shown(path.as_os_str().as_bytes()),
        )));
    }
    let level = level_of(path)?;
    Ok(CgroupV2 {
        file,
        id: meta.ino(),
        level,
    })
}

fn fs_type(f: &File) -> Option<i64> {
    let mut st = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: valid fd and a writable statfs buffer.
    if unsafe { libc::fstatfs(f.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstatfs returned 0, so it filled the buffer.
    let st = unsafe { st.assume_init() };
    // f_type is i64 on x86_64 but narrower on some architectures.
    #[allow(clippy::unnecessary_cast)]
    Some(st.f_type as i64)
}

fn mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, dir, fs) = (f.next()?, f.next()?, f.next()?);
            (fs == "cgroup2").then(|| PathBuf::from(dir))
        })
        .collect()
}

/// Where cgroup2 is mounted (the hybrid layout puts it at /sys/fs/cgroup/unified).
pub fn mount_point() -> Option<PathBuf> {
    mounts().into_iter().next()
}

fn level_of(path: &Path) -> Result<u32> {
    let canon = path.canonicalize().map_err(|e| {
        Error::usage(format!(
            "cgroup {}: {e}",
            crate::error::shown(path.as_os_str().as_bytes())
        ))
    })?;
    let root = mounts()
        .into_iter()
        .filter(|m| canon.starts_with(m))
        .max_by_key(|m| m.components().count())
        .ok_or_else(|| {
            Error::usage(format!(
                "cgroup {}: not below a cgroup2 mount",
                crate::error::shown(path.as_os_str().as_bytes())
            ))
        })?;
    let depth = canon.components().count() - root.components().count();
    u32::try_from(depth).map_err(|_| Error::usage("cgroup path too deep"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_are_not_cgroup2_are_usage_errors() {
        let e = open(Path::new("/nonexistent-ferroscope")).expect_err("missing");
        assert_eq!(e.code(), crate::error::EXIT_USAGE);
        assert!(
            e.message().starts_with("cgroup /nonexistent-ferroscope: "),
            "{e}"
        );
        let e = open(Path::new("/proc")).expect_err("procfs");
        assert_eq!(e.code(), crate::error::EXIT_USAGE);
        assert!(e.message().contains("not a cgroup v2 directory"), "{e}");
    }

    #[test]
    fn the_cgroup2_root_is_level_zero() {
        let Some(root) = mount_point() else {
            eprintln!("skipped: no cgroup2 mount");
            return;
        };
        let cg = open(&root).expect("the cgroup2 root opens");
        assert_eq!(cg.level, 0);
        assert_ne!(cg.id, 0);
        // A file of a cgroup is on cgroup2 too, and no cgroup (fresh-user trial: it reached
        // the kernel and failed with EBADF, exit 1; runqlat took its inode as a cgroup id).
        let procs = root.join("cgroup.procs");
        let e = open(&procs).expect_err("a cgroup's file");
        assert_eq!(e.code(), crate::error::EXIT_USAGE);
        assert_eq!(
            e.message(),
            format!(
                "cgroup {}: not a cgroup v2 directory (a file in one)",
                procs.display()
            )
        );
    }
}
