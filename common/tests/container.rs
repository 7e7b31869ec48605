// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The container resolver against real cgroups: every runtime's layout made under the cgroup2
//! mount with a process moved in, and a real podman container. Tests named `root_*` need root.

use std::path::Path;

use common::container::{ContainerFilter, Resolver, Runtime};
use testkit::container::{
    CgroupTree, PodmanContainer, Sleeper, cgroup_id, cgroup_of, podman_ready,
};

fn ready(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let missing = if unsafe { libc::geteuid() } != 0 {
        Some("not running as root".to_owned())
    } else if testkit::cgroup2_mount().is_none() {
        Some("no cgroup2 mount".to_owned())
    } else {
        None
    };
    testkit::prerequisite(test, missing)
}

const ID: &str = "9d3c1e0f2a4b6c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";
const UID: &str = "1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516";

/// What a layout should resolve to: runtime, container id or name, pod UID.
type Want = Option<(Runtime, &'static str, Option<&'static str>)>;

/// (cgroup below the test's root, runtime, container id or name, pod UID); `None`: host.
fn layouts() -> Vec<(String, Want)> {
    let uid_ = UID.replace('-', "_");
    vec![
        (
            format!("system.slice/docker-{ID}.scope"),
            Some((Runtime::Docker, ID, None)),
        ),
        (format!("docker/{ID}"), Some((Runtime::Docker, ID, None))),
        (
            format!(
                "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/cri-containerd-{ID}.scope"
            ),
            Some((Runtime::Containerd, ID, Some(UID))),
        ),
        (
            format!("kubepods/besteffort/pod{UID}/{ID}"),
            Some((Runtime::Cri, ID, Some(UID))),
        ),
        (
            format!("kubepods.slice/kubepods-pod{uid_}.slice/crio-{ID}.scope"),
            Some((Runtime::CriO, ID, Some(UID))),
        ),
        (
            format!("kubepods.slice/kubepods-pod{uid_}.slice/crio-conmon-{ID}.scope"),
            None,
        ),
        (
            format!("libpod_parent/libpod-{ID}"),
            Some((Runtime::Podman, ID, None)),
        ),
        (
            format!("machine.slice/libpod-{ID}.scope/container"),
            Some((Runtime::Podman, ID, None)),
        ),
        (format!("machine.slice/libpod-conmon-{ID}.scope"), None),
        (
            "machine.slice/machine-web\\x2d1.scope/payload".into(),
            Some((Runtime::Nspawn, "web-1", None)),
        ),
        ("lxc.payload.db1".into(), Some((Runtime::Lxc, "db1", None))),
        ("lxc/db2".into(), Some((Runtime::Lxc, "db2", None))),
        ("lxc.monitor.db1".into(), None),
        ("system.slice/cron.service".into(), None),
    ]
}

/// Each layout made after the resolver started, a process moved in; the resolver maps the
/// directory's id (as the kernel reports the process's cgroup) to the right path and
/// container.
fn check_layouts(resolver: &mut Resolver, prefix: &str) {
    let mut tree = CgroupTree::new(prefix);
    let mut made = Vec::new();
    for (rel, want) in layouts() {
        let dir = tree.make(&rel);
        let p = Sleeper::in_cgroup(&dir);
        made.push((rel, want, dir, p));
    }
    for (rel, want, dir, p) in &made {
        let path = tree.cgroup_path(dir);
        assert_eq!(cgroup_of(p.pid()).as_deref(), Some(path.as_str()), "{rel}");
        let info = resolver
            .resolve(cgroup_id(dir))
            .unwrap_or_else(|| panic!("{rel}: not resolved"));
        assert_eq!(String::from_utf8_lossy(&info.path), path, "{rel}");
        let got = info.container.as_ref().map(|c| {
            (
                c.runtime,
                String::from_utf8_lossy(&c.id).into_owned(),
                c.pod_uid.clone(),
            )
        });
        let want = want.map(|(r, id, uid)| (r, id.to_owned(), uid.map(str::to_owned)));
        assert_eq!(got, want, "{rel}");
    }
}

#[test]
fn root_resolver_maps_every_runtime_layout() {
    if !ready("root_resolver_maps_every_runtime_layout") {
        return;
    }
    let mut r = Resolver::new();
    assert_eq!(r.unavailable(), None);
    check_layouts(&mut r, "ferroscope-layouts");
    assert!(!r.walking(), "open_by_handle_at was refused: {r:?}");
    let root = cgroup_id(&testkit::cgroup2_mount().expect("mount"));
    assert_eq!(r.resolve(root).map(|i| i.path.clone()), Some(b"/".to_vec()));
    assert_eq!(r.column(root), "-");
}

#[test]
fn root_resolver_walk_fallback_maps_every_layout() {
    if !ready("root_resolver_walk_fallback_maps_every_layout") {
        return;
    }
    let mut r = Resolver::new();
    r.force_walk();
    check_layouts(&mut r, "ferroscope-walk");
    assert!(r.walking());
    // Made right after a walk: unknown until the next walk, at most a second later; never
    // a wrong answer meanwhile.
    let mut tree = CgroupTree::new("ferroscope-walk-late");
    let late = tree.make("lxc.payload.late");
    let id = cgroup_id(&late);
    assert!(r.resolve(id).is_none());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let info = r.resolve(id).expect("found by the next walk");
    assert_eq!(
        info.container.as_ref().map(|c| c.id.clone()),
        Some(b"late".to_vec())
    );
}

#[test]
fn root_removed_cgroup_keeps_its_cached_answer() {
    if !ready("root_removed_cgroup_keeps_its_cached_answer") {
        return;
    }
    let mut r = Resolver::new();
    let mut tree = CgroupTree::new("ferroscope-removed");
    let seen = tree.make(&format!("libpod_parent/libpod-{ID}"));
    let unseen = tree.make("lxc.payload.gone");
    let (seen_id, unseen_id) = (cgroup_id(&seen), cgroup_id(&unseen));
    assert_eq!(r.column(seen_id), &ID[..12]);
    tree.remove(&seen);
    tree.remove(&unseen);
    assert!(!Path::new(&seen).exists());
    // Cached before removal: the same answer (events already in flight still name it).
    assert_eq!(r.column(seen_id), &ID[..12]);
    let f = ContainerFilter::new(&ID[..6]).expect("filter");
    assert!(f.matches_cgroup(&mut r, seen_id));
    // Removed before its first lookup: unknown, not a guess.
    assert_eq!(r.column(unseen_id), "?");
    assert!(r.resolve(unseen_id).is_none());
    assert!(
        !ContainerFilter::new("gone")
            .expect("filter")
            .matches_cgroup(&mut r, unseen_id)
    );
}

#[test]
fn root_podman_container_resolves_to_podman_and_its_id() {
    if !podman_ready("root_podman_container_resolves_to_podman_and_its_id") {
        return;
    }
    let mut r = Resolver::new();
    let c = PodmanContainer::run(&["sleep", "600"]);
    let pid = c.pid();
    let path = cgroup_of(pid).expect("container's cgroup");
    let mount = testkit::cgroup2_mount().expect("mount");
    let dir = mount.join(path.trim_start_matches('/'));
    let info = r.resolve(cgroup_id(&dir)).expect("resolved").clone();
    assert_eq!(String::from_utf8_lossy(&info.path), path);
    let got = info.container.expect("a container");
    assert_eq!(got.runtime, Runtime::Podman, "{path}");
    assert_eq!(String::from_utf8_lossy(&got.id), c.id, "{path}");
    assert_eq!(r.column(cgroup_id(&dir)), c.id[..12]);
    assert!(
        ContainerFilter::new(&c.id[..12])
            .expect("filter")
            .matches_cgroup(&mut r, cgroup_id(&dir))
    );
    // The container's own process is not in conmon's cgroup, which podman makes alongside.
    assert!(!path.contains("conmon"), "{path}");
}
