// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What every tool goes through between its options and its output: checks before BPF work,
//! loading the programs it chose, attaching them.

use crate::error::{Error, Result};
use crate::{log, probe};

/// The skeleton's read-only data, which only a mis-built object lacks.
pub fn rodata<T>(data: Option<&mut T>) -> Result<&mut T> {
    data.ok_or_else(|| Error::fatal("BPF object has no read-only data section"))
}

/// Load only the programs named in `wanted`; report a name that the object lacks (a tool and
/// its BPF object out of step). Programs left out are neither verified nor CO-RE relocated.
pub fn load_only(obj: &mut libbpf_rs::OpenObject, wanted: &[String]) -> Result<()> {
    let mut found = 0;
    for mut prog in obj.progs_mut() {
        let on = wanted.iter().any(|w| prog.name() == w.as_str());
        found += usize::from(on);
        prog.set_autoload(on);
    }
    if found != wanted.len() {
        return Err(Error::fatal(format!(
            "BPF object lacks some of the programs {wanted:?}"
        )));
    }
    Ok(())
}

/// Attach the loaded programs named in `wanted` (as given to [`load_only`]), for tools that
/// attach later than the skeleton's load; the links detach when dropped.
pub fn attach_only(obj: &libbpf_rs::Object, wanted: &[String]) -> Result<Vec<libbpf_rs::Link>> {
    obj.progs_mut()
        .filter(|p| wanted.iter().any(|w| p.name() == w.as_str()))
        .map(|p| {
            let name = p.name().to_string_lossy().into_owned();
            p.attach()
                .map_err(|e| Error::from(e).context(format!("program {name}")))
        })
        .collect()
}

/// Once the options are checked, before any BPF work: route libbpf's log at the verbosity
/// asked for, and stop early, saying how to fix it, without the privileges or the BTF every
/// tool needs.
pub fn prepare(verbose: u8) -> Result<()> {
    log::init_logging(verbose);
    probe::require_privileges()?;
    probe::require_btf()
}
