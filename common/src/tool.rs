// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What every tool is, independent of what it traces: its name, the hand-written parts of its
//! manual page and the other ferroscope tools (the manual's SEE ALSO). [`tool_info!`] fills it
//! in from the crate, so a tool states none of it by hand.

/// A tool's identity. Built by [`tool_info!`](crate::tool_info).
#[derive(Debug, Clone, Copy)]
pub struct ToolInfo {
    /// The command's name: the crate's, as in `tools/<name>`.
    pub name: &'static str,
    /// `man/sections/<name>.roff`; clap supplies NAME, SYNOPSIS and OPTIONS around it.
    pub manual: &'static str,
    /// Every ferroscope tool, comma-separated and sorted (the directories of `tools/`, found by
    /// the shared build script).
    pub family: &'static str,
}

impl ToolInfo {
    /// The other tools, by name.
    pub fn siblings(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.family
            .split(',')
            .filter(move |t| !t.is_empty() && *t != self.name)
    }
}

/// The [`ToolInfo`] of the crate it is expanded in (a tool crate built by `build.rs`).
#[macro_export]
macro_rules! tool_info {
    () => {
        $crate::tool::ToolInfo {
            name: env!("CARGO_PKG_NAME"),
            manual: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../man/sections/",
                env!("CARGO_PKG_NAME"),
                ".roff"
            )),
            family: env!("FERROSCOPE_TOOLS"),
        }
    };
}

/// What every tool's `main.rs` starts with, expanded at its crate root: `mod bpf`, the
/// skeleton build.rs generates from `bpf/<tool>.bpf.c` (`bpf::<Tool>SkelBuilder`,
/// `bpf::types`); `INFO` ([`tool_info!`](crate::tool_info)) and `TOOL`, its name; and `main`,
/// which runs the tool's own `fn run() -> common::error::Result<()>` and reports its error as one
/// line on stderr (exit 1, or 2 for bad input; see [`crate::error::report`]).
#[macro_export]
macro_rules! tool_main {
    () => {
        mod bpf {
            include!(concat!(
                env!("OUT_DIR"),
                "/",
                env!("CARGO_PKG_NAME"),
                ".skel.rs"
            ));
        }

        const INFO: $crate::tool::ToolInfo = $crate::tool_info!();
        const TOOL: &str = INFO.name;

        fn main() -> std::process::ExitCode {
            $crate::error::report(TOOL, run())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_leave_out_the_tool_itself() {
        let t = ToolInfo {
            name: "b",
            manual: "",
            family: "a,b,c",
        };
        assert_eq!(t.siblings().collect::<Vec<_>>(), ["a", "c"]);
    }
}
