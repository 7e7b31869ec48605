// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Which container an event came from, from the cgroup v2 id the BPF program took
//! (`bpf_get_current_cgroup_id()`, or a task's `cgroups->dfl_cgrp->kn->id`) and nothing but
//! the kernel's own files: [`Resolver`] maps the id to its cgroup path, [`container_of`] the
//! path to a runtime and container id, [`ContainerFilter`] keeps one container's events.
//!
//! Shown as: the CONTAINER column ([`Resolver::column`]: 12 hex digits as `docker ps` shows
//! them, the name for nspawn and LXC, `-` for host tasks, `?` when unknown) and the JSON
//! fields `cgroup_id`, `cgroup`, `container_id`, `container_runtime`, `pod_uid`
//! ([`Resolver::json_fields`]).

pub mod layout;
pub mod resolve;

pub use layout::{Container, Runtime, SHORT_ID_LEN, container_of};
pub use resolve::{Cgroup2Mount, CgroupInfo, Resolver, find_cgroup2};

use crate::error::{Error, Result};
use crate::output::{JsonLine, escaped};

/// The column's header.
pub const HEADER: &str = "CONTAINER";
/// The column's width: a short id.
pub const WIDTH: usize = SHORT_ID_LEN;

impl Resolver {
    /// The CONTAINER column for cgroup `id`, escaped for a terminal and not padded: the short
    /// id or the name, `-` for a host task, `?` when the cgroup cannot be resolved.
    pub fn column(&mut self, id: u64) -> String {
        match self.resolve(id) {
            None => "?".into(),
            Some(CgroupInfo {
                container: None, ..
            }) => "-".into(),
            Some(CgroupInfo {
                container: Some(c), ..
            }) => escaped(c.short()),
        }
    }

    /// Add the cgroup fields of `id` to a JSON line: `cgroup_id` (number) always; `cgroup`
    /// (path from the cgroup2 root, `null` when unknown); in a container, `container_id` (the
    /// full id, or the nspawn/LXC name), `container_runtime` ([`Runtime::as_str`]) and, in a
    /// Kubernetes pod, `pod_uid`.
    pub fn json_fields(&mut self, j: &mut JsonLine<'_>, id: u64) {
        j.u64("cgroup_id", id);
        let Some(info) = self.resolve(id) else {
            j.null("cgroup");
            return;
        };
        j.str("cgroup", &info.path);
        if let Some(c) = &info.container {
            j.str("container_id", &c.id)
                .str("container_runtime", c.runtime.as_str().as_bytes());
            if let Some(uid) = &c.pod_uid {
                j.str("pod_uid", uid.as_bytes());
            }
        }
    }
}

/// `--container ID`: containers whose id starts with ID (case-insensitive hex, as `docker`
/// accepts a prefix) or whose name (nspawn, LXC) is exactly ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFilter {
    want: String,
}

/// The longest container name accepted (a cgroup directory name is at most 255 bytes).
const MAX_ARG: usize = 255;

impl ContainerFilter {
    /// Check `arg`; an empty, over-long or impossible one (`/`, whitespace, control
    /// characters) is a usage error (exit 2).
    pub fn new(arg: &str) -> Result<Self> {
        parse_container(arg)
            .map(|want| Self { want })
            .map_err(Error::usage)
    }

    /// Whether container `c` is the one asked for.
    pub fn matches(&self, c: &Container) -> bool {
        if c.runtime.has_hex_id() {
            let w = self.want.to_ascii_lowercase();
            c.id.starts_with(w.as_bytes())
        } else {
            c.id == self.want.as_bytes()
        }
    }

    /// Whether cgroup `id` belongs to the container asked for. A cgroup that cannot be
    /// resolved (removed before its first event was read) does not match.
    pub fn matches_cgroup(&self, resolver: &mut Resolver, id: u64) -> bool {
        resolver
            .resolve(id)
            .and_then(|i| i.container.as_ref())
            .is_some_and(|c| self.matches(c))
    }
}

/// A clap value parser for `--container ID` (see [`ContainerFilter::new`]).
pub fn parse_container(arg: &str) -> std::result::Result<String, String> {
    if arg.is_empty() {
        return Err("--container: empty container id or name".into());
    }
    if arg.len() > MAX_ARG {
        return Err(format!("--container: longer than {MAX_ARG} bytes"));
    }
    if arg
        .chars()
        .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "--container {arg:?}: a container id or name has no '/', spaces or control characters"
        ));
    }
    Ok(arg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "46441cff64eba715c78e8eb6aea8e000243fa8fe6e278145e4e37bf63bed8493";

    fn c(path: &str) -> Container {
        container_of(path.as_bytes()).expect("a container")
    }

    #[test]
    fn filter_by_prefix_or_name() {
        let pod = c(&format!("/libpod_parent/libpod-{ID}"));
        let lxc = c("/lxc.payload.web");
        let f = |a: &str| ContainerFilter::new(a).expect("valid");
        assert!(f("46441cff64eb").matches(&pod));
        assert!(f("46441CFF").matches(&pod));
        assert!(f(ID).matches(&pod));
        assert!(!f("46441cff64ec").matches(&pod));
        assert!(!f(&format!("{ID}0")).matches(&pod));
        assert!(f("web").matches(&lxc));
        assert!(!f("we").matches(&lxc));
        assert!(!f("web").matches(&pod));
    }

    #[test]
    fn bad_filter_arguments_are_usage_errors() {
        for bad in ["", "a/b", "a b", "a\nb", &"x".repeat(256)] {
            let e = ContainerFilter::new(bad).expect_err(bad);
            assert_eq!(e.code(), crate::error::EXIT_USAGE, "{bad:?}");
            assert!(!e.message().contains('\n'), "{bad:?}");
        }
    }

    #[test]
    fn column_and_json_without_cgroup2() {
        let mut r = Resolver::on(None);
        assert_eq!(r.column(7), "?");
        let mut out = Vec::new();
        let mut j = JsonLine::new(&mut out);
        r.json_fields(&mut j, 7);
        j.finish();
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"cgroup_id\":7,\"cgroup\":null}\n"
        );
    }
}
