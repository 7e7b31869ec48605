// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Which container an event came from, from the cgroup v2 id the BPF program took
//! (`bpf_get_current_cgroup_id()`, or a task's `cgroups->dfl_cgrp->kn->id`) and nothing but
//! the kernel's own files: [`Resolver`] maps the id to its cgroup path, [`container_of`] the
//! path to a runtime and container id, [`ContainerFilter`] keeps one container's events,
//! and [`SkipList`] has the kernel drop the events of the cgroups it does not keep ([`Sweep`]
//! fills it while tools that read their map only at the end trace).
//!
//! Shown as: the CONTAINER column ([`Resolver::column`]: 12 hex digits as `docker ps` shows
//! them, the name for nspawn and LXC, `-` for host tasks, `?` when unknown) and the JSON
//! fields `cgroup_id`, `cgroup`, `container_id`, `container_runtime`, `pod_uid`
//! ([`Resolver::json_fields`]).

pub mod layout;
pub mod resolve;
pub mod skip;
pub mod sweep;

pub use layout::{Container, Runtime, SHORT_ID_LEN, container_of};
pub use resolve::{Cgroup2Mount, CgroupInfo, Resolver, find_cgroup2};
pub use skip::SkipList;
pub use sweep::Sweep;

use libbpf_rs::MapMut;

use crate::error::{Error, Result};
use crate::hist::{Hist, SectionValue};
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
        self.classify(resolver, id) == Verdict::Match
    }

    /// What cgroup `id` is to this filter: the container asked for, definitely something
    /// else (a host cgroup, another container), or not known (yet).
    pub fn classify(&self, resolver: &mut Resolver, id: u64) -> Verdict {
        match resolver.resolve(id) {
            None => Verdict::Unknown,
            Some(CgroupInfo {
                container: Some(c), ..
            }) if self.matches(c) => Verdict::Match,
            Some(_) => Verdict::Other,
        }
    }
}

/// A cgroup as `--container` sees it ([`ContainerFilter::classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The container asked for: its events are shown.
    Match,
    /// Resolved to a host cgroup or another container: its events are dropped, and since a
    /// cgroup's path never changes, the kernel may drop them from now on ([`SkipList`]).
    Other,
    /// Not resolved: removed before its first event was read, or (walk fallback) created
    /// since the last walk. Dropped, but never skip-listed: it may be the container's.
    Unknown,
}

/// The options every tool takes: `--containers` and `--container ID` (no libbpf-tools or BCC
/// tool uses either name; `-c` is taken by several, so there is no short form).
/// `--containers` help of the histogram tools.
pub const HIST_HELP: &str = "One histogram per container (a 'container = ID (RUNTIME)' line \
     above each; host tasks in their own)";

/// `--containers` help of the stack tools (profile, offcputime).
pub const STACKS_HELP: &str = "Show the container of each stack ('[ID]' after the command name; \
     folded output: a first '[ID]' frame)";

#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerArgs {
    // Histogram and stack tools say what it does for them instead (clap's `mut_arg`, with
    // HIST_HELP or STACKS_HELP); one paragraph only, or clap would show it as the long help.
    /// Show the container of each event (CONTAINER column: short id, nspawn/LXC name, - for
    /// host tasks)
    #[arg(long)]
    pub containers: bool,

    /// Only events from the container whose id starts with ID, or whose name (nspawn, LXC) is
    /// ID; containers started later included
    #[arg(long, value_name = "ID", value_parser = parse_container)]
    pub container: Option<String>,
}

impl ContainerArgs {
    /// Whether `--containers` or `--container` is given: the histogram tools then key their
    /// histograms by cgroup, to print them per container.
    pub fn any(&self) -> bool {
        self.containers || self.container.is_some()
    }

    /// Whether the kernel is to consult the skip list: the value of the rodata switch
    /// `filter_container` (bpf/container.bpf.h), true with `--container`.
    pub fn filter_in_kernel(&self) -> bool {
        self.container.is_some()
    }
}

/// Size the skip list `ferro_skip_cgroups` of an open object: as compiled
/// (`FERRO_SKIP_CGROUPS_MAX`) when the kernel filters (`on`), else one entry. The map is
/// preallocated (kernels before 6.1 refuse, or warn about, hash maps allocated at run time in
/// tracing and perf-event programs), so a tool without `--container` keeps it small.
/// See [`configure_containers!`](crate::configure_containers).
pub fn size_skip_list(map: &mut libbpf_rs::OpenMapMut<'_>, on: bool) -> Result<()> {
    if !on {
        map.set_max_entries(1)
            .map_err(|e| Error::from(e).context("configuring the skip list"))?;
    }
    Ok(())
}

/// `--container` in an open skeleton whose object includes `bpf/container.bpf.h` (directly or
/// through `bpf/filter.bpf.h`): sets the rodata switch `filter_container` and sizes the skip
/// list ([`size_skip_list`]). `configure_containers!(open, args.containers)`; a `Result<()>`.
#[macro_export]
macro_rules! configure_containers {
    ($open:expr, $args:expr) => {{
        let on = $crate::container::ContainerArgs::filter_in_kernel(&$args);
        match $crate::lifecycle::rodata($open.maps.rodata_data.as_deref_mut()) {
            Ok(ro) => {
                ro.filter_container = on;
                $crate::container::size_skip_list(&mut $open.maps.ferro_skip_cgroups, on)
            }
            Err(e) => Err(e),
        }
    }};
}

/// Where an event belongs when histograms are split by container.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// Host tasks (no container; a runtime's monitor included).
    Host,
    /// A container, by runtime name and full id (or name).
    Container { runtime: Runtime, id: Vec<u8> },
    /// A cgroup that could not be resolved.
    Unknown,
}

impl Group {
    /// The section line above its histogram, as `-P` prints `pid = N`: `container = <short id>
    /// (<runtime>)`, `host tasks`, or `container = ? (cgroup not resolved)`.
    pub fn label(&self) -> String {
        match self {
            Self::Host => "host tasks".into(),
            Self::Unknown => "container = ? (cgroup not resolved)".into(),
            Self::Container { runtime, id } => {
                let shown = if runtime.has_hex_id() {
                    &id[..SHORT_ID_LEN.min(id.len())]
                } else {
                    &id[..]
                };
                format!("container = {} ({})", escaped(shown), runtime.as_str())
            }
        }
    }
}

impl Group {
    /// The value of a Prometheus `container` label: the full id (or nspawn/LXC name, escaped
    /// as in text output), `-` for host tasks, `?` when not resolved; the same as
    /// [`Self::json_fields`]' `container_id`, which the histogram tools export.
    pub fn label_value(&self) -> String {
        match self {
            Self::Host => "-".into(),
            Self::Unknown => "?".into(),
            Self::Container { id, .. } => escaped(id),
        }
    }

    /// The section's JSON fields: `container_id` (the full id or name; `-` for host tasks,
    /// `?` when not resolved) and, for a container, `container_runtime`.
    pub fn json_fields<'a>(&'a self, out: &mut Vec<(&'static str, SectionValue<'a>)>) {
        match self {
            Self::Host => out.push(("container_id", SectionValue::Str(b"-"))),
            Self::Unknown => out.push(("container_id", SectionValue::Str(b"?"))),
            Self::Container { runtime, id } => {
                out.push(("container_id", SectionValue::Str(id)));
                out.push((
                    "container_runtime",
                    SectionValue::Str(runtime.as_str().as_bytes()),
                ));
            }
        }
    }
}

/// What a tool needs at run time for its container options: the resolver, the filter, and
/// whether to show the column.
#[derive(Debug)]
pub struct Containers {
    resolver: Resolver,
    filter: Option<ContainerFilter>,
    /// With `--container`, once [`Self::skip_in_kernel`] gave it the maps.
    skip: Option<SkipList>,
    /// `--containers`: show the CONTAINER column (or split histograms).
    pub show: bool,
}

impl Containers {
    /// Set up for `args`. `--container` on a host where no cgroup can be resolved is an error
    /// (every event would be dropped); `--containers` there only warns ([`Self::warning`]).
    pub fn new(args: &ContainerArgs) -> Result<Self> {
        Self::with_resolver(args, Resolver::new())
    }

    /// [`Self::new`] for tool `tool`, saying its [`Self::warning`] on stderr once, as every
    /// tool does at start-up.
    pub fn start(tool: &str, args: &ContainerArgs) -> Result<Self> {
        let me = Self::new(args)?;
        if let Some(w) = me.warning() {
            crate::error::warn(tool, w);
        }
        Ok(me)
    }

    /// [`Self::new`] with a given resolver.
    pub fn with_resolver(args: &ContainerArgs, resolver: Resolver) -> Result<Self> {
        let filter = args
            .container
            .as_deref()
            .map(ContainerFilter::new)
            .transpose()?;
        if filter.is_some()
            && let Some(why) = resolver.unavailable()
        {
            return Err(Error::fatal(format!(
                "--container: cannot tell which container a task is in: {why}"
            )));
        }
        Ok(Self {
            resolver,
            filter,
            skip: None,
            show: args.containers,
        })
    }

    /// One line to print once at start when containers were asked for but cannot be told
    /// (the column then shows `?`).
    pub fn warning(&self) -> Option<String> {
        let why = self.resolver.unavailable()?;
        self.show
            .then(|| format!("{why}: the CONTAINER column shows ?"))
    }

    /// With `--container`, have the kernel drop the events of cgroups [`Self::keep`] finds
    /// to be other cgroups ([`SkipList`]): `cgroups` and `skipped` are the loaded object's
    /// `ferro_skip_cgroups` and `ferro_skipped` (bpf/container.bpf.h), whose programs were
    /// loaded with `filter_container` set ([`ContainerArgs::filter_in_kernel`]). Without
    /// `--container` nothing is done. Errors: see [`SkipList::new`].
    pub fn skip_in_kernel(&mut self, cgroups: &MapMut<'_>, skipped: &MapMut<'_>) -> Result<()> {
        if self.filter.is_some() {
            self.skip = Some(SkipList::new(cgroups, skipped)?);
        }
        Ok(())
    }

    /// [`Self::skip_in_kernel`] with a given list (tests).
    #[doc(hidden)]
    pub fn skip_with(&mut self, list: SkipList) {
        self.skip = Some(list);
    }

    /// The skip list, with `--container` after [`Self::skip_in_kernel`].
    pub fn skip_list(&self) -> Option<&SkipList> {
        self.skip.as_ref()
    }

    /// Say on stderr with `-v`, at the end of a run, what the skip list did.
    pub fn report_skips(&self, tool: &str) {
        if let Some(s) = &self.skip {
            crate::log::verbose(format_args!("{tool}: {}", s.summary()));
        }
    }

    /// Whether an event from cgroup `id` passes `--container` (always, without it). A cgroup
    /// that is definitely not the container's goes into the skip list, if there is one.
    pub fn keep(&mut self, id: u64) -> bool {
        let Some(f) = &self.filter else {
            return true;
        };
        match f.classify(&mut self.resolver, id) {
            Verdict::Match => true,
            Verdict::Other => {
                if let Some(s) = &mut self.skip {
                    s.add(id);
                }
                false
            }
            Verdict::Unknown => false,
        }
    }

    /// Whether any option asks for cgroup ids (the BPF side can skip taking them otherwise;
    /// `--json` wants them too).
    pub fn wanted(&self) -> bool {
        self.show || self.filter.is_some()
    }

    /// See [`Resolver::column`].
    pub fn column(&mut self, id: u64) -> String {
        self.resolver.column(id)
    }

    /// See [`Resolver::json_fields`].
    pub fn json_fields(&mut self, j: &mut JsonLine<'_>, id: u64) {
        self.resolver.json_fields(j, id);
    }

    /// The histogram section cgroup `id` belongs to.
    pub fn group(&mut self, id: u64) -> Group {
        match self.resolver.resolve(id) {
            None => Group::Unknown,
            Some(CgroupInfo {
                container: None, ..
            }) => Group::Host,
            Some(CgroupInfo {
                container: Some(c), ..
            }) => Group::Container {
                runtime: c.runtime,
                id: c.id.clone(),
            },
        }
    }

    /// Histograms kept per cgroup id, as one per [`Group`] (a container's cgroups added up,
    /// host tasks in one), in order: host, containers by runtime and id, unknown. Cgroups that
    /// `--container` does not keep are left out.
    pub fn group_hists(&mut self, rows: Vec<(u64, Hist)>) -> Vec<(Group, Hist)> {
        let mut groups: std::collections::BTreeMap<Group, Hist> = Default::default();
        for (id, h) in rows {
            if self.keep(id) {
                groups.entry(self.group(id)).or_default().merge(&h);
            }
        }
        groups.into_iter().filter(|(_, h)| !h.is_empty()).collect()
    }

    /// Histograms kept per cgroup id as a histogram tool prints them: with `--containers` one
    /// section per [`Group`] (see [`Self::group_hists`]); with `--container` alone one
    /// histogram, no section (`None`), of that container's tasks, if it counted anything.
    pub fn sections(&mut self, rows: Vec<(u64, Hist)>) -> Vec<(Option<Group>, Hist)> {
        let groups = self.group_hists(rows);
        if self.show {
            return groups.into_iter().map(|(g, h)| (Some(g), h)).collect();
        }
        let mut all = Hist::default();
        groups.iter().for_each(|(_, h)| all.merge(h));
        (!all.is_empty())
            .then_some((None, all))
            .into_iter()
            .collect()
    }

    pub fn resolver(&mut self) -> &mut Resolver {
        &mut self.resolver
    }
}

/// A clap value parser for `--container ID` (see [`ContainerFilter::new`]).
pub fn parse_container(arg: &str) -> std::result::Result<String, String> {
    if arg.is_empty() {
        return Err("empty container id or name".into());
    }
    if arg.len() > MAX_ARG {
        return Err(format!("longer than {MAX_ARG} bytes"));
    }
    if arg
        .chars()
        .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err("a container id or name has no '/', spaces or control characters".into());
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

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        c: ContainerArgs,
    }

    #[test]
    fn flags_parse_and_refuse_bad_ids() {
        use clap::Parser;
        let a = Cli::try_parse_from(["t", "--containers", "--container", "46441cff"]).expect("ok");
        assert_eq!(
            a.c,
            ContainerArgs {
                containers: true,
                container: Some("46441cff".into())
            }
        );
        assert_eq!(
            Cli::try_parse_from(["t"]).expect("ok").c,
            ContainerArgs::default()
        );
        for bad in [
            &["t", "--container", ""][..],
            &["t", "--container", "a/b"],
            &["t", "--container"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn without_cgroup2_filter_is_fatal_and_column_warns() {
        let args = ContainerArgs {
            containers: true,
            container: Some("abc".into()),
        };
        let e = Containers::with_resolver(&args, Resolver::on(None)).expect_err("fatal");
        assert_eq!(e.code(), crate::error::EXIT_FAILURE);
        assert_eq!(
            e.message(),
            "--container: cannot tell which container a task is in: no cgroup2 file system is mounted"
        );
        let args = ContainerArgs {
            containers: true,
            container: None,
        };
        let mut c = Containers::with_resolver(&args, Resolver::on(None)).expect("ok");
        assert_eq!(
            c.warning().as_deref(),
            Some("no cgroup2 file system is mounted: the CONTAINER column shows ?")
        );
        assert!(c.keep(5));
        assert_eq!(c.column(5), "?");
        assert_eq!(c.group(5), Group::Unknown);
    }

    #[test]
    fn histograms_merge_per_container_host_first() {
        let mut c = Containers::with_resolver(&ContainerArgs::default(), Resolver::on(None))
            .expect("containers");
        let h = |n: u64| Hist {
            slots: vec![n, 1],
            totals: crate::hist::Totals {
                count: n + 1,
                sum: n,
                max: n,
            },
        };
        // No cgroup2: every cgroup is unknown, so all merge into one section.
        let g = c.group_hists(vec![(5, h(1)), (6, h(2))]);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].0, Group::Unknown);
        assert_eq!(g[0].1.slots, [3, 2]);
        assert_eq!(g[0].1.totals.count, 5);
        assert_eq!(g[0].1.totals.max, 2);
        let mut order = [
            Group::Unknown,
            Group::Container {
                runtime: Runtime::Podman,
                id: b"b".to_vec(),
            },
            Group::Host,
        ];
        order.sort();
        assert_eq!(order[0], Group::Host);
        assert_eq!(order[2], Group::Unknown);
    }

    #[test]
    fn sections_per_group_with_containers_else_one_histogram() {
        let h = |n: u64| Hist {
            slots: vec![n],
            totals: crate::hist::Totals {
                count: n,
                sum: n,
                max: n,
            },
        };
        let show = ContainerArgs {
            containers: true,
            container: None,
        };
        let mut c = Containers::with_resolver(&show, Resolver::on(None)).expect("containers");
        let s = c.sections(vec![(5, h(1)), (6, h(2))]);
        assert_eq!(s.len(), 1);
        assert_eq!((&s[0].0, &s[0].1.slots), (&Some(Group::Unknown), &vec![3]));
        let mut c = Containers::with_resolver(&ContainerArgs::default(), Resolver::on(None))
            .expect("no grouping");
        let s = c.sections(vec![(5, h(1)), (6, h(2))]);
        assert_eq!((&s[0].0, &s[0].1.slots), (&None, &vec![3]));
        assert!(c.sections(vec![(5, h(0))]).is_empty(), "nothing counted");
    }

    #[test]
    fn section_labels() {
        let g = |p: &str| {
            let c = container_of(p.as_bytes());
            c.map_or(Group::Host, |c| Group::Container {
                runtime: c.runtime,
                id: c.id,
            })
        };
        assert_eq!(
            g(&format!("/libpod_parent/libpod-{ID}")).label(),
            "container = 46441cff64eb (podman)"
        );
        assert_eq!(g("/lxc.payload.web").label(), "container = web (lxc)");
        assert_eq!(g("/user.slice").label(), "host tasks");
        assert_eq!(
            Group::Unknown.label(),
            "container = ? (cgroup not resolved)"
        );
    }

    /// A directory tree standing in for a cgroup2 mount: the resolver's walk fallback names
    /// each directory by its inode number, as it does a cgroup by its kernfs id.
    struct FakeCgroups(std::path::PathBuf);

    impl FakeCgroups {
        fn new(dirs: &[&str]) -> Self {
            let root = std::env::temp_dir().join(format!(
                "ferroscope-skip-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            for d in dirs {
                std::fs::create_dir_all(root.join(d)).expect("mkdir");
            }
            Self(root)
        }

        fn id(&self, dir: &str) -> u64 {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(self.0.join(dir)).expect("stat").ino()
        }

        fn resolver(&self) -> Resolver {
            let mut r = Resolver::on(Some(Cgroup2Mount {
                dir: self.0.clone(),
                root: b"/".to_vec(),
            }));
            r.force_walk();
            r
        }
    }

    impl Drop for FakeCgroups {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn only_definite_non_matches_are_skip_listed() {
        const OTHER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let wanted = format!("libpod_parent/libpod-{ID}");
        let other = format!("libpod_parent/libpod-{OTHER}");
        let fake = FakeCgroups::new(&[&wanted, &other, "user.slice/session-1.scope"]);
        let (wanted, other, host) = (
            fake.id(&wanted),
            fake.id(&other),
            fake.id("user.slice/session-1.scope"),
        );
        // No directory has this inode: within a second of the walk, not known (yet).
        let unknown = wanted.max(other).max(host) + 1_000_000;
        let args = ContainerArgs {
            containers: false,
            container: Some(ID[..12].into()),
        };
        let mut c = Containers::with_resolver(&args, fake.resolver()).expect("containers");
        c.skip_with(SkipList::detached(16));
        let f = ContainerFilter::new(&ID[..12]).expect("filter");
        let mut r = fake.resolver();
        assert_eq!(f.classify(&mut r, wanted), Verdict::Match);
        assert_eq!(f.classify(&mut r, other), Verdict::Other);
        assert_eq!(f.classify(&mut r, host), Verdict::Other);
        assert_eq!(f.classify(&mut r, unknown), Verdict::Unknown);

        assert!(c.keep(wanted));
        assert!(!c.keep(other));
        assert!(!c.keep(host));
        assert!(!c.keep(unknown));
        assert!(c.keep(wanted), "a match stays a match");
        let s = c.skip_list().expect("skip list");
        assert!(s.contains(other) && s.contains(host), "{s:?}");
        assert!(
            !s.contains(wanted),
            "the container's own cgroup is never skipped"
        );
        assert!(
            !s.contains(unknown),
            "an unresolved cgroup may be a new container's"
        );
        assert_eq!(s.listed(), 2);
    }

    /// A sweep of a map whose entries name the wanted container's cgroup, another container's
    /// and a host cgroup lists the last two; a sweep not yet due, or without `--container`,
    /// reads nothing.
    #[test]
    fn root_sweep_lists_the_other_cgroups_of_a_map() {
        if !testkit::bpf_ready("root_sweep_lists_the_other_cgroups_of_a_map") {
            return;
        }
        const OTHER: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        let wanted = format!("libpod_parent/libpod-{ID}");
        let other = format!("libpod_parent/libpod-{OTHER}");
        let fake = FakeCgroups::new(&[&wanted, &other, "system.slice/cron.service"]);
        let ids = [
            fake.id(&wanted),
            fake.id(&other),
            fake.id("system.slice/cron.service"),
        ];
        // Entries as offcputime's info map: the cgroup id first in the value.
        let map = sweep::tests::filled_map(16, 32, 3);
        for (i, id) in (0u64..).zip(ids) {
            let mut v = [0u8; 32];
            v[..8].copy_from_slice(&id.to_ne_bytes());
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&i.to_ne_bytes());
            libbpf_rs::MapCore::update(&map, &k, &v, libbpf_rs::MapFlags::ANY).expect("an entry");
        }
        let cgroup_of = |_: &[u8], v: &[u8]| Some(u64::from_ne_bytes(v[..8].try_into().ok()?));
        let args = ContainerArgs {
            containers: false,
            container: Some(ID[..12].into()),
        };
        let mut c = Containers::with_resolver(&args, fake.resolver()).expect("containers");
        let mut s = Sweep::new();
        s.due_now();
        s.tick(&mut c, &map, cgroup_of);
        assert!(s.summary("m").is_none(), "no skip list yet: no sweep");
        c.skip_with(SkipList::detached(16));
        let mut early = Sweep::new();
        early.tick(&mut c, &map, cgroup_of);
        assert_eq!(c.skip_list().map(SkipList::listed), Some(0), "not due yet");
        s.tick(&mut c, &map, cgroup_of);
        let list = c.skip_list().expect("skip list");
        assert!(list.contains(ids[1]) && list.contains(ids[2]), "{list:?}");
        assert!(
            !list.contains(ids[0]),
            "the container's own cgroup is never listed"
        );
        assert!(
            s.summary("m")
                .is_some_and(|l| l.starts_with("--container: 1 sweep of m"))
        );
    }

    #[test]
    fn without_container_filter_nothing_is_listed() {
        let fake = FakeCgroups::new(&["user.slice"]);
        let host = fake.id("user.slice");
        let args = ContainerArgs {
            containers: true,
            container: None,
        };
        assert!(!args.filter_in_kernel());
        let mut c = Containers::with_resolver(&args, fake.resolver()).expect("containers");
        assert!(c.keep(host));
        assert!(c.skip_list().is_none());
        let mut c = Containers::with_resolver(
            &ContainerArgs {
                containers: false,
                container: Some("abc".into()),
            },
            fake.resolver(),
        )
        .expect("containers");
        // No maps given (a tool that does not skip in the kernel): filtering alone.
        assert!(!c.keep(host));
        assert!(c.skip_list().is_none());
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
