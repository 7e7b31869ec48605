// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Block devices the block tools' tests make for themselves: a loop device over an image in a
//! temp directory (optionally with one partition), detached on drop, and O_DIRECT reads that
//! reach it as requests of a known size at a known sector.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
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

/// A loop device that lasts exactly as long as this test process, for fixtures that outlive
/// any one test (a `static`, which is never dropped): its image is unlinked once attached (the
/// device keeps the file), and the device is set to detach itself (`LO_FLAGS_AUTOCLEAR`) when
/// its last open file closes: the one this value holds, which the process's exit closes
/// however the process ends.
pub struct ProcessLoopDevice {
    /// `/dev/loopN`
    pub dev: String,
    /// `loopN`, as /proc/partitions names it
    pub name: String,
    _held: std::fs::File,
}

impl ProcessLoopDevice {
    /// A loop device of `bytes` zero bytes.
    pub fn new(prefix: &str, bytes: u64) -> Self {
        // linux/loop.h: struct loop_info64 is 232 bytes, its __u32 lo_flags at offset 52.
        const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
        const LOOP_GET_STATUS64: libc::c_ulong = 0x4C05;
        const LO_FLAGS_AUTOCLEAR: u32 = 4;
        const FLAGS_AT: usize = 52;

        let dir = TempDir::new(prefix);
        let img = dir.path().join("disk.img");
        std::fs::File::create(&img)
            .and_then(|f| f.set_len(bytes))
            .expect("make image");
        let attach = run(Command::new("losetup").args(["-f", "--show"]).arg(&img));
        assert!(attach.status.success(), "losetup: {attach}");
        let dev = attach.stdout.trim().to_string();
        let held = OpenOptions::new()
            .read(true)
            .open(&dev)
            .unwrap_or_else(|e| panic!("open {dev}: {e}"));
        // The kernel copies the struct in and out: a byte buffer of its size serves.
        let mut info = [0u8; 232];
        // SAFETY: an open loop device and a buffer of struct loop_info64's size.
        let rc = unsafe { libc::ioctl(held.as_raw_fd(), LOOP_GET_STATUS64, info.as_mut_ptr()) };
        assert_eq!(
            rc,
            0,
            "LOOP_GET_STATUS64 {dev}: {}",
            std::io::Error::last_os_error()
        );
        let at = FLAGS_AT..FLAGS_AT + 4;
        let mut flags = [0u8; 4];
        flags.copy_from_slice(&info[at.clone()]);
        let flags = u32::from_ne_bytes(flags) | LO_FLAGS_AUTOCLEAR;
        info[at].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: as above; the kernel reads the struct back.
        let rc = unsafe { libc::ioctl(held.as_raw_fd(), LOOP_SET_STATUS64, info.as_ptr()) };
        assert_eq!(
            rc,
            0,
            "LOOP_SET_STATUS64 {dev}: {}",
            std::io::Error::last_os_error()
        );
        drop(dir);
        Self {
            name: dev.trim_start_matches("/dev/").to_string(),
            dev,
            _held: held,
        }
    }
}
