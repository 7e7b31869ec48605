// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The sampling clock: one perf event per CPU, opened with perf_event_open(2), that runs the
//! BPF program at each sample.

use std::os::fd::{FromRawFd, OwnedFd};

use common::error::{Error, Result};

/// Which perf event drives the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// PERF_TYPE_HARDWARE / PERF_COUNT_HW_CPU_CYCLES: where the machine has a PMU (BCC's
    /// profile.py tries it first). Samples follow CPU cycles, so a halted (idle) CPU takes
    /// none.
    Cycles,
    /// PERF_TYPE_SOFTWARE / PERF_COUNT_SW_CPU_CLOCK: a timer, everywhere (libbpf-tools'
    /// only choice; virtual machines usually have no PMU).
    CpuClock,
}

impl Clock {
    pub fn describe(self) -> &'static str {
        match self {
            Clock::Cycles => "hardware cpu-cycles",
            Clock::CpuClock => "software cpu-clock",
        }
    }

    fn type_config(self) -> (u32, u64) {
        match self {
            Clock::Cycles => (
                libbpf_sys::PERF_TYPE_HARDWARE,
                libbpf_sys::PERF_COUNT_HW_CPU_CYCLES.into(),
            ),
            Clock::CpuClock => (
                libbpf_sys::PERF_TYPE_SOFTWARE,
                libbpf_sys::PERF_COUNT_SW_CPU_CLOCK.into(),
            ),
        }
    }
}

/// Open `clock` sampling at `freq` Hz on `cpu`, for every task (pid -1). The event starts
/// enabled; the BPF program attached to it runs at each sample.
pub fn open(clock: Clock, freq: u64, cpu: u32) -> std::io::Result<OwnedFd> {
    let (ty, config) = clock.type_config();
    let mut attr = libbpf_sys::perf_event_attr {
        type_: ty,
        size: u32::try_from(std::mem::size_of::<libbpf_sys::perf_event_attr>()).unwrap_or(0),
        config,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_freq = freq;
    attr.set_freq(1);
    let cpu = i32::try_from(cpu).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: perf_event_open with a valid, fully initialized attr that outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            -1 as libc::pid_t,
            cpu,
            -1 as libc::c_int,
            libc::c_ulong::from(libbpf_sys::PERF_FLAG_FD_CLOEXEC),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| std::io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The clock to sample with: CPU cycles where the PMU opens one on `cpu` (and
/// FERROSCOPE_DISABLE does not name `pmu`), else the cpu-clock. The probe event is closed.
pub fn choose(freq: u64, cpu: u32) -> Clock {
    if !common::probe::disabled("pmu") && open(Clock::Cycles, freq, cpu).is_ok() {
        Clock::Cycles
    } else {
        Clock::CpuClock
    }
}

/// The CPUs of `list` (the kernel's format, `0-3,8,10-11`, as in
/// /sys/devices/system/cpu/online); `None` when it does not parse.
pub fn parse_cpu_list(list: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b || b - a > 65535 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// The online CPUs (/sys/devices/system/cpu/online).
pub fn online_cpus() -> Result<Vec<u32>> {
    let path = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(path).map_err(|e| Error::fatal(format!("{path}: {e}")))?;
    parse_cpu_list(&text)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::fatal(format!("{path}: cannot read the CPU list {text:?}")))
}

/// `kernel.perf_event_max_sample_rate`: the highest -F the kernel accepts (it lowers it by
/// itself when sampling takes too long); `None` where unreadable.
pub fn max_sample_rate() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-4,7"), Some(vec![0, 2, 3, 4, 7]));
        assert_eq!(parse_cpu_list("3"), Some(vec![3]));
        assert_eq!(parse_cpu_list("4-2"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
