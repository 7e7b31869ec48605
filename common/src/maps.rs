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
