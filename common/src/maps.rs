// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Reading the histogram maps that the BPF side fills.

use libbpf_rs::{MapCore, MapFlags};
use plain::Plain;

use crate::decode::copy_prefix;
use crate::error::{Error, Result};

/// Every (key, value) of a hash map, values decoded as `T`; with `clear`, each key read is
/// deleted, so the next interval starts from zero (libbpf-tools' behaviour).
pub fn read_hash<T: Plain + Default>(map: &dyn MapCore, clear: bool) -> Result<Vec<(Vec<u8>, T)>> {
    let keys: Vec<Vec<u8>> = map.keys().collect();
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let v = map
            .lookup(&k, MapFlags::ANY)
            .map_err(|e| Error::from(e).context("reading a histogram"))?;
        if let Some(bytes) = v
            && let Some(val) = copy_prefix::<T>(&bytes, std::mem::size_of::<T>())
        {
            out.push((k.clone(), val));
        }
        if clear {
            // Gone already if the kernel raced us; either way it is clear.
            let _ = map.delete(&k);
        }
    }
    Ok(out)
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

/// Entry 0 of a per-CPU array, one value per possible CPU (index = CPU number); with `clear`,
/// zeroed after reading, so the next interval starts from zero.
pub fn read_percpu<T: Plain + Default>(map: &dyn MapCore, clear: bool) -> Result<Vec<T>> {
    let key = 0u32.to_ne_bytes();
    let per_cpu = map
        .lookup_percpu(&key, MapFlags::ANY)
        .map_err(|e| Error::from(e).context("reading a histogram"))?
        .unwrap_or_default();
    if clear {
        let zeros: Vec<Vec<u8>> = per_cpu.iter().map(|v| vec![0; v.len()]).collect();
        map.update_percpu(&key, &zeros, MapFlags::ANY)
            .map_err(|e| Error::from(e).context("clearing a histogram"))?;
    }
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
