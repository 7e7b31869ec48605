// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Block devices the block tools' tests make for themselves: a loop device over an image in a
//! temp directory (optionally with one partition), detached on drop, and O_DIRECT reads that
//! reach it as requests of a known size at a known sector.

use std::fs::OpenOptions;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::{TempDir, run};

/// A loop device over a zero-filled image; detached (and the image removed) on drop.
pub struct LoopDevice {
    /// `/dev/loopN`
    pub dev: String,
    /// `loopN`, as /proc/partitions names it
    pub name: String,
    /// `loopNp1` when made with [`LoopDevice::with_partition`]
    pub partition: Option<String>,
    _dir: TempDir,
}

impl LoopDevice {
    /// A loop device of `bytes` bytes.
    pub fn new(prefix: &str, bytes: u64) -> Self {
        Self::make(prefix, bytes, None)
    }

    /// A loop device of `bytes` bytes with one partition (an MBR entry) of `sectors` 512-byte
    /// sectors from sector `start`, as `loopNp1`.
    pub fn with_partition(prefix: &str, bytes: u64, start: u32, sectors: u32) -> Self {
        Self::make(prefix, bytes, Some((start, sectors)))
    }

    fn make(prefix: &str, bytes: u64, part: Option<(u32, u32)>) -> Self {
        let dir = TempDir::new(prefix);
        let img = dir.path().join("disk.img");
        let mut mbr = [0u8; 512];
        if let Some((start, sectors)) = part {
            mbr[446 + 4] = 0x83; // one Linux partition
            mbr[446 + 8..446 + 12].copy_from_slice(&start.to_le_bytes());
            mbr[446 + 12..446 + 16].copy_from_slice(&sectors.to_le_bytes());
            mbr[510] = 0x55;
            mbr[511] = 0xaa;
        }
        std::fs::write(&img, mbr).expect("write image");
        OpenOptions::new()
            .write(true)
            .open(&img)
            .and_then(|f| f.set_len(bytes))
            .expect("size image");
        let mut losetup = Command::new("losetup");
        if part.is_some() {
            losetup.arg("-P");
        }
        let attach = run(losetup.args(["-f", "--show"]).arg(&img));
        assert!(attach.status.success(), "losetup: {attach}");
        let dev = attach.stdout.trim().to_string();
        let name = dev.trim_start_matches("/dev/").to_string();
        let mut d = Self {
            dev,
            name,
            partition: None,
            _dir: dir,
        };
        if let Some((start, sectors)) = part {
            d.partition = Some(d.add_partition(start, sectors));
        }
        d
    }

    fn add_partition(&self, start: u32, sectors: u32) -> String {
        let part = format!("{}p1", self.name);
        let appeared = |secs: u64| {
            let deadline = Instant::now() + Duration::from_secs(secs);
            loop {
                if Path::new("/sys/class/block").join(&part).exists() {
                    return true;
                }
                if Instant::now() >= deadline {
                    return false;
                }
                thread::sleep(Duration::from_millis(50));
            }
        };
        // Kernels built without partition-table parsers (this host's) need the partition added
        // by hand; the BLKPG ioctl behind addpart works everywhere.
        if !appeared(1) {
            let add = run(Command::new("addpart").args([
                &self.dev,
                "1",
                &start.to_string(),
                &sectors.to_string(),
            ]));
            assert!(add.status.success(), "addpart: {add}");
            assert!(appeared(5), "{part} never appeared");
        }
        part
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

/// Read `len` bytes (a multiple of 4096) at byte `offset` of the block device `path` with
/// O_DIRECT, so that one request of that size at sector offset / 512 reaches the device.
pub fn direct_read(path: &str, offset: u64, len: usize) {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .unwrap_or_else(|e| panic!("O_DIRECT open {path}: {e}"));
    // O_DIRECT needs an aligned buffer: 4096 bytes of slack to align within.
    let mut raw = vec![0u8; len + 4096];
    let at = raw.as_ptr().align_offset(4096);
    let buf = &mut raw[at..at + len];
    f.read_exact_at(buf, offset)
        .unwrap_or_else(|e| panic!("O_DIRECT read of {len} bytes at {offset} on {path}: {e}"));
}
