// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! `--container ID` in the kernel: the skip list of `bpf/container.bpf.h`. Each cgroup that
//! [`super::Containers::keep`] finds to be definitely not the container asked for (a host
//! cgroup or another container's) is put in the BPF hash map `ferro_skip_cgroups`, and the
//! programs drop that cgroup's later events before they reach the ring buffer. Matching and
//! unresolved cgroups are never listed, so a container started after the tool (a new cgroup,
//! unknown until its first event) still comes up. A cgroup's path, hence its verdict, never
//! changes (kernfs ids are not reused on 64-bit kernels), so an id once listed stays listed.
//!
//! A full map (more than [`SkipList::capacity`] other cgroups seen, the ids of removed
//! cgroups included) is no error: the kernel drops what is listed, and user space filters the
//! rest as it does every event, so the output is the same, only costlier.

use std::collections::HashSet;

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapMut};

use crate::error::{Error, Result};
use crate::log;

/// The kernel's side of the list: the map and the per-CPU count of events it dropped.
struct Kernel {
    cgroups: MapHandle,
    skipped: MapHandle,
}

/// The cgroups `--container` drops in the kernel, and what it cost user space to list them.
pub struct SkipList {
    kernel: Option<Kernel>,
    listed: HashSet<u64>,
    capacity: usize,
    full: bool,
}

impl std::fmt::Debug for SkipList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipList")
            .field("in_kernel", &self.kernel.is_some())
            .field("listed", &self.listed.len())
            .field("capacity", &self.capacity)
            .field("full", &self.full)
            .finish()
    }
}

impl SkipList {
    /// The skip list of a loaded object: its maps `ferro_skip_cgroups` (`cgroups`) and
    /// `ferro_skipped` (`skipped`), whose file descriptors are duplicated (the list outlives
    /// the borrow of the skeleton). Errors: a descriptor that cannot be duplicated.
    pub fn new(cgroups: &MapMut<'_>, skipped: &MapMut<'_>) -> Result<Self> {
        let dup = |m: &MapMut<'_>| {
            MapHandle::try_from(m).map_err(|e| Error::from(e).context("opening the skip list"))
        };
        let kernel = Kernel {
            cgroups: dup(cgroups)?,
            skipped: dup(skipped)?,
        };
        let capacity = usize::try_from(kernel.cgroups.max_entries()).unwrap_or(usize::MAX);
        Ok(Self {
            kernel: Some(kernel),
            listed: HashSet::new(),
            capacity,
            full: false,
        })
    }

    /// A list with no kernel side, holding at most `capacity` ids: the bookkeeping alone (for
    /// tests of what gets listed).
    #[doc(hidden)]
    pub fn detached(capacity: usize) -> Self {
        Self {
            kernel: None,
            listed: HashSet::new(),
            capacity,
            full: false,
        }
    }

    /// List cgroup `id`: its later events are dropped in the kernel. Once the map is full (or
    /// refuses an entry) nothing more is listed, and user space filters the rest.
    pub fn add(&mut self, id: u64) {
        if self.full || self.listed.contains(&id) {
            return;
        }
        if self.listed.len() >= self.capacity {
            self.full = true;
            log::verbose(format_args!(
                "--container: the skip list is full ({} cgroups); the events of other cgroups \
                 are filtered in user space",
                self.capacity
            ));
            return;
        }
        if let Some(k) = &self.kernel
            && let Err(e) = k.cgroups.update(&id.to_ne_bytes(), &[1], MapFlags::ANY)
        {
            // E2BIG (full) or ENOMEM: correct all the same, user space filters the rest.
            self.full = true;
            log::verbose(format_args!(
                "--container: cannot add to the skip list ({e}); the events of other cgroups \
                 are filtered in user space"
            ));
            return;
        }
        self.listed.insert(id);
    }

    /// Whether cgroup `id` is listed.
    pub fn contains(&self, id: u64) -> bool {
        self.listed.contains(&id)
    }

    /// How many cgroups are listed.
    pub fn listed(&self) -> usize {
        self.listed.len()
    }

    /// How many cgroups the list can hold (the map's `max_entries`, `FERRO_SKIP_CGROUPS_MAX`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the list stopped growing (full, or the kernel refused an entry).
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Events the kernel dropped because their cgroup was listed, summed over CPUs; 0 without
    /// a kernel side or when the counter cannot be read.
    pub fn skipped(&self) -> u64 {
        let Some(k) = &self.kernel else {
            return 0;
        };
        let per_cpu = k
            .skipped
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .ok()
            .flatten()
            .unwrap_or_default();
        per_cpu
            .iter()
            .filter_map(|b| b.get(..8)?.try_into().ok().map(u64::from_ne_bytes))
            .fold(0u64, u64::saturating_add)
    }

    /// The `-v` line at the end of a run: `--container: the kernel dropped N events of M other
    /// cgroups (skip list)`, and whether the list filled up.
    pub fn summary(&self) -> String {
        let (n, m) = (
            self.skipped(),
            u64::try_from(self.listed()).unwrap_or(u64::MAX),
        );
        let mut s = format!(
            "--container: the kernel dropped {n} {} of {m} other {} (skip list)",
            crate::output::plural(n, "event", "events"),
            crate::output::plural(m, "cgroup", "cgroups"),
        );
        if self.full {
            s.push_str(&format!(
                "; the list filled up ({} cgroups), user space filtered the rest",
                self.listed()
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_id_once_up_to_capacity() {
        let mut s = SkipList::detached(2);
        s.add(10);
        s.add(10);
        s.add(11);
        assert_eq!(s.listed(), 2);
        assert!(!s.is_full());
        s.add(12);
        assert!(s.is_full());
        assert!(!s.contains(12));
        assert!(s.contains(10) && s.contains(11));
        assert_eq!(s.skipped(), 0);
        assert_eq!(
            s.summary(),
            "--container: the kernel dropped 0 events of 2 other cgroups (skip list); \
             the list filled up (2 cgroups), user space filtered the rest"
        );
    }
}
