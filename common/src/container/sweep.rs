// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! `--container ID` in the kernel for tools that read their map only once, at the end (profile,
//! offcputime): while they trace, [`Sweep`] reads the cgroup ids of the entries counted so far
//! and classifies them ([`Containers::keep`]), so that the cgroups that are not the container's
//! go into the skip list ([`super::SkipList`]) and the kernel drops their samples or switches
//! before it walks their stacks. That is the point: on a host whose other containers are busy,
//! their stacks would otherwise fill the stack map (a stack id is never freed) before the
//! wanted container's come up.
//!
//! Cost: one pass over the whole map per sweep, in batches (`BPF_MAP_LOOKUP_BATCH`, 5.6+; one
//! `get_next_key` and one lookup per entry where batches are refused). Measured on the 2-CPU
//! 6.18 VM of CI while other builds ran (release build, sweep.rs's `root_every_entry_is_read`
//! maps): a full map of 10240 entries (profile's `counts`, offcputime's `info`) takes 7 to 11 ms
//! in batches and 45 to 70 ms entry by entry; an empty one a few microseconds. Sweeps start
//! 50 ms after attaching, so the cgroups busy from the start are listed before they fill much,
//! and the gap doubles up to a second; it is also never less than 100 times what the last
//! read of the map took, so sweeping costs at most about 1% of one CPU however big the map
//! (resolving a cgroup seen for the first time is paid once: the resolver caches it).

use std::collections::HashSet;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use libbpf_rs::{MapCore, MapFlags};

use super::Containers;

/// The first sweep, this long after [`Sweep::new`].
const FIRST: Duration = Duration::from_millis(50);
/// The longest gap between two sweeps (unless a sweep is slow: see [`COST_SHARE`]).
const LONGEST: Duration = Duration::from_secs(1);
/// Sweeps are at least this many times their own duration apart (at most 1% of a CPU).
const COST_SHARE: u32 = 100;
/// Entries per batch read (64 KiB of buffer for 64-byte entries).
const BATCH: u32 = 1024;

/// When to read the cgroups seen so far; see the module's documentation.
#[derive(Debug)]
pub struct Sweep {
    next: Instant,
    gap: Duration,
    /// Sweeps done, and the longest read of the map (reported with `-v`).
    done: u32,
    longest: Duration,
}

impl Default for Sweep {
    fn default() -> Self {
        Self::new()
    }
}

impl Sweep {
    /// Sweeps from now on: the first one [`FIRST`] from now.
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            next: now.checked_add(FIRST).unwrap_or(now),
            gap: FIRST,
            done: 0,
            longest: Duration::ZERO,
        }
    }

    /// If a sweep is due and `containers` has a kernel skip list (`--container`, after
    /// [`Containers::skip_in_kernel`]), read every entry of hash map `map`, take the cgroup
    /// id of each with `cgroup_of(key, value)` (`None`: no id in that entry) and classify the
    /// ids ([`Containers::keep`] lists the other cgroups). Call it often (every few tens of
    /// milliseconds); it does nothing between sweeps. An unreadable map skips the sweep: the
    /// end's filter in user space is correct all the same.
    pub fn tick(
        &mut self,
        containers: &mut Containers,
        map: &dyn MapCore,
        cgroup_of: impl Fn(&[u8], &[u8]) -> Option<u64>,
    ) {
        if containers.skip_list().is_none() || Instant::now() < self.next {
            return;
        }
        let started = Instant::now();
        let mut ids = HashSet::new();
        entries(map, |k, v| {
            if let Some(id) = cgroup_of(k, v) {
                ids.insert(id);
            }
        });
        // The read alone: it is paid again at every sweep, while resolving a cgroup is paid
        // once (the resolver caches it), and under emulation a first resolution can take tens
        // of milliseconds, which would put the next sweep seconds away.
        let took = started.elapsed();
        for id in ids {
            containers.keep(id);
        }
        self.done = self.done.saturating_add(1);
        self.longest = self.longest.max(took);
        self.gap = (self.gap * 2)
            .min(LONGEST)
            .max(took.saturating_mul(COST_SHARE));
        let now = Instant::now();
        self.next = now.checked_add(self.gap).unwrap_or(now);
    }

    /// Make the next [`Self::tick`] sweep (tests).
    #[cfg(test)]
    pub(super) fn due_now(&mut self) {
        self.next = Instant::now();
    }

    /// The `-v` line at the end: `--container: N sweeps of MAP while tracing, the longest
    /// X ms` (to read the map); `None` when there was none (no `--container`, or a run shorter than the first).
    pub fn summary(&self, map: &str) -> Option<String> {
        (self.done > 0).then(|| {
            format!(
                "--container: {} {} of {map} while tracing, the longest {:.1} ms",
                self.done,
                crate::output::plural(self.done.into(), "sweep", "sweeps"),
                self.longest.as_secs_f64() * 1e3
            )
        })
    }
}

/// Call `each(key, value)` for every entry of hash map `map`: in batches of [`BATCH`], or entry
/// by entry where the kernel has no batch reads (before 5.6) or refuses them. Not libbpf-rs's
/// `lookup_batch`: its iterator takes a short batch for the last one, and the kernel ends a
/// hash map's batch early at a bucket that does not fit whole, so it stops partway.
fn entries(map: &dyn MapCore, mut each: impl FnMut(&[u8], &[u8])) {
    if batches(map, &mut each) {
        return;
    }
    for k in map.keys() {
        if let Ok(Some(v)) = map.lookup(&k, MapFlags::ANY) {
            each(&k, &v);
        }
    }
}

/// [`entries`] by `BPF_MAP_LOOKUP_BATCH`; false if the kernel refused the first batch (nothing
/// was read). A later error ends the walk with what was read (the sweep is best effort).
fn batches(map: &dyn MapCore, each: &mut impl FnMut(&[u8], &[u8])) -> bool {
    let (key_size, value_size) = (map.key_size() as usize, map.value_size() as usize);
    let mut keys = vec![0u8; key_size * BATCH as usize];
    let mut values = vec![0u8; value_size * BATCH as usize];
    // The position token: a bucket index (u32) for hash maps, a key for others.
    let mut token = vec![0u8; key_size.max(8)];
    let mut next = token.clone();
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    let mut first = true;
    loop {
        let mut count = BATCH;
        // SAFETY: the buffers hold `count` keys and values of the map's sizes and a token at
        // least as large as the kernel writes; the map's fd is open for the call.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                map.as_fd().as_raw_fd(),
                if first {
                    std::ptr::null_mut()
                } else {
                    token.as_mut_ptr().cast()
                },
                next.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        // libbpf returns -errno; ENOENT: the last batch, whose `count` entries are valid.
        if ret < 0 && ret != -libc::ENOENT {
            if ret == -libc::EINTR {
                continue;
            }
            return !first;
        }
        let n = (count as usize).min(BATCH as usize);
        for (k, v) in keys
            .chunks_exact(key_size)
            .zip(values.chunks_exact(value_size))
            .take(n)
        {
            each(k, v);
        }
        // ENOENT: that was the last batch. None read without an error never happens; it
        // would otherwise loop for good.
        if ret == -libc::ENOENT || n == 0 {
            return true;
        }
        std::mem::swap(&mut token, &mut next);
        first = false;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A hash map of `n` entries of `key_size`-byte keys (a distinct u64 first) and
    /// `value_size`-byte values (the key's u64 first).
    pub(crate) fn filled_map(key_size: u32, value_size: u32, n: u64) -> libbpf_rs::MapHandle {
        let opts = libbpf_sys::bpf_map_create_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as _,
            ..Default::default()
        };
        let max = u32::try_from(n.max(1)).expect("entries");
        let map = libbpf_rs::MapHandle::create(
            libbpf_rs::MapType::Hash,
            Some("ferro_sweep_test"),
            key_size,
            value_size,
            max,
            &opts,
        )
        .expect("create a hash map");
        for i in 0..n {
            let mut k = vec![0u8; key_size as usize];
            let mut v = vec![0u8; value_size as usize];
            k[..8].copy_from_slice(&i.to_ne_bytes());
            v[..8].copy_from_slice(&i.to_ne_bytes());
            map.update(&k, &v, MapFlags::ANY).expect("fill the map");
        }
        map
    }

    /// Every entry, in batches and entry by entry, of full maps shaped as profile's counts
    /// (48-byte keys) and offcputime's info (16-byte keys, 32-byte values), and of an empty
    /// one. With 16-byte keys the kernel ends batches early at buckets that do not fit, which
    /// libbpf-rs's batch iterator takes for the end (it read 2045 of 10240 entries).
    #[test]
    fn root_every_entry_is_read() {
        if !testkit::bpf_ready("root_every_entry_is_read") {
            return;
        }
        for (key_size, value_size, n) in [(48, 8, 10240), (16, 32, 10240), (16, 32, 0)] {
            let map = filled_map(key_size, value_size, n);
            let mut seen = HashSet::new();
            assert!(batches(&map, &mut |k: &[u8], v: &[u8]| {
                assert_eq!((k.len(), v.len()), (key_size as usize, value_size as usize));
                assert_eq!(k[..8], v[..8]);
                seen.insert(u64::from_ne_bytes(k[..8].try_into().expect("8 bytes")));
            }));
            assert_eq!(seen.len() as u64, n, "batches of {key_size}-byte keys");
            let mut count = 0u64;
            entries(&map, |_, _| count += 1);
            assert_eq!(count, n);
        }
    }

    #[test]
    fn summary_only_after_a_sweep() {
        let mut s = Sweep::new();
        assert_eq!(s.summary("counts"), None);
        s.done = 3;
        s.longest = Duration::from_micros(1500);
        assert_eq!(
            s.summary("counts").as_deref(),
            Some("--container: 3 sweeps of counts while tracing, the longest 1.5 ms")
        );
    }
}
