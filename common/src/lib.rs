// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Runtime shared by the ferroscope tools.

pub mod cgroup;
pub mod cli;
pub mod decode;
pub mod error;
pub mod events;
pub mod hist;
pub mod manual;
pub mod maps;
pub mod output;
pub mod probe;
pub mod signal;
pub mod time;

pub use error::{Error, Result};

/// The skeleton's read-only data, which only a mis-built object lacks.
pub fn rodata<T>(data: Option<&mut T>) -> Result<&mut T> {
    data.ok_or_else(|| Error::fatal("BPF object has no read-only data section"))
}
