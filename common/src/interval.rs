// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The interval loop of the histogram tools: libbpf-tools' `[interval] [count]` and `-T`.

use std::time::Duration;

use chrono::{DateTime, Local};

use crate::error::Result;
use crate::output::Printer;
use crate::signal;
use crate::time::hms;

/// The `[interval] [count]` schedule of a histogram tool and how its output is framed.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub interval: Option<u64>,
    pub count: Option<u64>,
    pub timestamp: bool,
    pub json: bool,
}

/// libbpf-tools' default interval and count: in effect, once, at Ctrl-C.
const FOREVER: u64 = 99_999_999;

/// Print `banner`, then every interval a blank line, the `-T` time line and whatever `render`
/// appends, until `count` intervals passed or a signal arrived (the final histogram is still
/// printed). JSON output gets neither banner nor framing. A closed pipe ends quietly.
pub fn run_intervals(
    banner: &str,
    s: &Schedule,
    mut render: impl FnMut(&DateTime<Local>, &mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let printer = Printer::new();
    let out = |bytes: &[u8]| printer.emit_or_closed(bytes);
    if !s.json && !out(format!("{banner}\n").as_bytes())? {
        return Ok(());
    }
    let interval = Duration::from_secs(s.interval.unwrap_or(FOREVER));
    let mut remaining = s.count.unwrap_or(FOREVER);
    loop {
        let stopped = signal::sleep_unless_stopped(interval);
        let now = Local::now();
        let mut text = Vec::new();
        if !s.json {
            text.push(b'\n');
            if s.timestamp {
                text.extend_from_slice(format!("{:<8}\n", hms(&now)).as_bytes());
            }
        }
        render(&now, &mut text)?;
        if !out(&text)? {
            return Ok(());
        }
        remaining = remaining.saturating_sub(1);
        if stopped || remaining == 0 {
            return Ok(());
        }
    }
}
