// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Runtime shared by the ferroscope tools.

pub mod blk;
pub mod btf;
pub mod buffer;
pub mod cgroup;
pub mod cli;
pub mod container;
pub mod decode;
pub mod error;
pub mod event_loop;
pub mod event_tool;
pub mod hist;
pub mod hist_tool;
pub mod http;
pub mod interval;
pub mod irq;
pub mod lifecycle;
pub mod log;
pub mod manual;
pub mod maps;
pub mod metrics;
pub mod names;
pub mod net;
pub mod output;
pub mod probe;
pub mod replace;
pub mod sched;
pub mod signal;
pub mod stacks;
pub mod time;
pub mod tool;

pub use error::{Error, Result};
