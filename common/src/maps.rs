// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Reading the histogram maps that the BPF side fills.

use libbpf_rs::{MapCore, MapFlags};
use plain::Plain;

use crate::container::{Containers, Group};
use crate::decode::{c_bytes, copy_prefix};
use crate::error::{Error, Result};
use crate::hist::{Hist, Intervals, Log2Source};

/// Every key of a hash map of histograms, with what it counted this interval (see
/// [`Intervals`]; `epoch` is the interval that just ended, from [`end_interval`]) and its value
/// as read. Unless cumulative, keys that counted nothing for a whole interval are deleted, so keys that come and
/// go (PIDs, cgroups) do not fill the map; a value counted in the instant between reading such
/// a key and deleting it is returned with it (the kernel's lookup-and-delete, 5.14+; a plain
/// delete before).
pub fn read_hash_hists<T: Plain + Default + Log2Source>(
    map: &dyn MapCore,
    intervals: &mut Intervals<Vec<u8>>,
    epoch: u64,
) -> Result<Vec<(Vec<u8>, Hist, T)>> {
    let keys: Vec<Vec<u8>> = map.keys().collect();
    let mut out = Vec::with_capacity(keys.len());
    let decode = |bytes: &[u8]| copy_prefix::<T>(bytes, std::mem::size_of::<T>());
    for k in keys {
        let Some(mut val) = map
            .lookup(&k, MapFlags::ANY)
            .map_err(|e| Error::from(e).context("reading a histogram"))?
            .and_then(|b| decode(&b))
        else {
            continue;
        };
        // With --cumulative every key stays, to be printed every time (as libbpf-tools does).
        let idle = !intervals.cumulative() && intervals.unchanged(&k, &val);
        if idle {
            // Gone already if the kernel raced us; either way it is deleted.
            if let Ok(Some(last)) = take(map, &k) {
                val = decode(&last).unwrap_or(val);
            }
        }
        let h = intervals.update(k.clone(), std::slice::from_ref(&val), epoch);
        if idle {
            intervals.forget(&k);
        }
        out.push((k, h, val));
    }
    Ok(out)
}

/// Remove `key` from a hash map and return the value it held (None if it was not there): the
/// kernel's lookup-and-delete where it takes hash maps (5.14+), else a lookup then a delete,
/// where a value the BPF side adds in between is lost (5.10 answers ENOTSUPP, errno 524).
/// Errors: the lookup's or the delete's, as libbpf reports them.
pub fn take(map: &dyn MapCore, key: &[u8]) -> libbpf_rs::Result<Option<Vec<u8>>> {
    match map.lookup_and_delete(key) {
        Ok(value) => Ok(value),
        Err(_) => {
            let value = map.lookup(key, MapFlags::ANY)?;
            if value.is_some() {
                match map.delete(key) {
                    // Deleted meanwhile (by the kernel or another reader): it is gone.
                    Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => {}
                    other => other?,
                }
            }
            Ok(value)
        }
    }
}

/// What a histogram is kept for in the tools keyed by task (runqlat, cpudist): a PID, TID,
/// PID namespace or CPU with its comm (empty where there is none), or with `--containers` /
/// `--container` the container ([`Containers::sections`]).
pub type TaskSection = (u32, Vec<u8>, Option<Group>);

/// The histograms of a hash map keyed by a u64 that counted something since the last reading
/// ([`read_hash_hists`]): with `containers`, the keys are cgroup ids, printed per container
/// ([`Containers::sections`]); otherwise the keys are u32 ids (PID, TID, ...), sorted, each
/// with the comm `comm` finds in its value.
pub fn read_task_hists<T: Plain + Default + Log2Source>(
    map: &dyn MapCore,
    intervals: &mut Intervals<Vec<u8>>,
    epoch: u64,
    containers: Option<&mut Containers>,
    comm: impl Fn(&T) -> &[u8],
) -> Result<Vec<(TaskSection, Hist)>> {
    let mut hists = read_hash_hists::<T>(map, intervals, epoch)?;
    hists.retain(|(_, h, _)| !h.is_empty());
    hists.sort_by_key(|(k, ..)| key_u64(k));
    if let Some(c) = containers {
        let rows = hists.into_iter().map(|(k, h, _)| (key_u64(&k), h));
        let sections = c.sections(rows.collect());
        return Ok(sections
            .into_iter()
            .map(|(g, h)| ((0, Vec::new(), g), h))
            .collect());
    }
    Ok(hists
        .into_iter()
        .map(|(k, h, v)| {
            // The BPF side stored a u32 in the u64.
            let id = u32::try_from(key_u64(&k)).unwrap_or(u32::MAX);
            ((id, c_bytes(comm(&v)).to_vec(), None), h)
        })
        .collect())
}

/// Ends the interval whose number `epoch` holds (the BPF side's `ferro_hist_epoch`, in the
/// object's mmapped .bss; `None` when the object has none, then always 0): from now on the
/// BPF side records maxima for the next one. Returns the interval that ended, whose maxima
/// [`Intervals::update`] reports.
pub fn end_interval(epoch: Option<&mut u64>) -> u64 {
    let Some(epoch) = epoch else {
        return 0;
    };
    let ended = *epoch;
    // A volatile write: the BPF programs read this memory, which the compiler cannot see.
    // SAFETY: `epoch` is a valid, aligned, exclusive reference.
    unsafe { std::ptr::write_volatile(epoch, ended.wrapping_add(1)) };
    ended
}

/// A u32 key as the BPF side wrote it.
pub fn key_u32(k: &[u8]) -> u32 {
    k.get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

/// A hash map key read as a u64 (a cgroup id); 0 for a shorter key.
pub fn key_u64(k: &[u8]) -> u64 {
    k.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
        .unwrap_or(0)
}

/// Entry 0 of a per-CPU array, one value per possible CPU (index = CPU number). Histograms
/// there are never reset: [`Intervals`] turns readings into intervals.
pub fn read_percpu<T: Plain + Default>(map: &dyn MapCore) -> Result<Vec<T>> {
    read_percpu_at(map, 0)
}

/// Entry `index` of a per-CPU array (softirqs' one per vector), as [`read_percpu`].
pub fn read_percpu_at<T: Plain + Default>(map: &dyn MapCore, index: u32) -> Result<Vec<T>> {
    let key = index.to_ne_bytes();
    let per_cpu = map
        .lookup_percpu(&key, MapFlags::ANY)
        .map_err(|e| Error::from(e).context("reading a histogram"))?
        .unwrap_or_default();
    Ok(per_cpu
        .iter()
        .map(|b| copy_prefix::<T>(b, std::mem::size_of::<T>()).unwrap_or_default())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_keys_in_native_order() {
        assert_eq!(key_u32(&42u32.to_ne_bytes()), 42);
        assert_eq!(
            key_u32(&[1, 0, 0, 0, 9, 9]),
            u32::from_ne_bytes([1, 0, 0, 0])
        );
        assert_eq!(key_u32(&[1, 2]), 0, "a short key is not read past its end");
    }
}
