// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! From a cgroup v2 path to the container it belongs to, by the names container runtimes give
//! their cgroups. Nothing here asks a runtime: the path is all there is, so only layouts that
//! name the container are recognised, and a path that names none is a host task.
//!
//! Layouts (`<id>` is 64 lowercase hex digits, as `docker ps --no-trunc` shows it):
//!
//! | runtime | systemd cgroup driver | cgroupfs driver |
//! |---|---|---|
//! | docker | `/system.slice/docker-<id>.scope` | `/docker/<id>` |
//! | containerd (CRI) | `.../cri-containerd-<id>.scope` | `/kubepods/<qos>/pod<uid>/<id>` (runtime `cri`: the path does not say which) |
//! | CRI-O | `.../crio-<id>.scope` | `.../crio-<id>` |
//! | podman | `/machine.slice/libpod-<id>.scope` | `/libpod_parent/libpod-<id>` |
//! | systemd-nspawn | `/machine.slice/machine-<name>.scope` | |
//! | LXC | `/lxc.payload.<name>` (LXC 4 and later) | `/lxc/<name>` (older) |
//!
//! Monitors are not containers: `libpod-conmon-<id>`, `crio-conmon-<id>`, `lxc.monitor.<name>`
//! and nspawn's `supervisor` sub-cgroup are host processes that watch one. Kubernetes pod UIDs
//! come from `kubepods-<qos>-pod<uid with _ for ->.slice` (systemd; guaranteed pods have no
//! `<qos>`) or `/kubepods/<qos>/pod<uid>` (cgroupfs). A container may make cgroups below its
//! own (systemd inside it): the nearest ancestor that names a container wins.
//! systemd-machined registers virtual machines (libvirt) as `machine-<name>.scope` too; they
//! show as `systemd-nspawn` machines, the path cannot tell them apart.

/// Which software made a container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    Docker,
    Containerd,
    CriO,
    Podman,
    /// A Kubernetes container under the cgroupfs driver: a bare id below a pod's cgroup, made
    /// by whichever CRI runtime the node runs (containerd, or dockershim before Kubernetes 1.24).
    Cri,
    /// A systemd-machined machine (`machine-<name>.scope`), named.
    Nspawn,
    /// An LXC or LXD container, named.
    Lxc,
}

impl Runtime {
    /// The name in `container_runtime` (JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Containerd => "containerd",
            Self::CriO => "cri-o",
            Self::Podman => "podman",
            Self::Cri => "cri",
            Self::Nspawn => "systemd-nspawn",
            Self::Lxc => "lxc",
        }
    }

    /// Whether the runtime identifies containers by a 64-hex-digit id (otherwise by name).
    pub fn has_hex_id(self) -> bool {
        !matches!(self, Self::Nspawn | Self::Lxc)
    }
}

/// A container, as its cgroup path names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub runtime: Runtime,
    /// The full 64-hex-digit id, or for nspawn and LXC the name (bytes from the cgroup
    /// file system: escape before printing).
    pub id: Vec<u8>,
    /// The Kubernetes pod UID (`8-4-4-4-12` hex with dashes, or 32 hex for static pods), when
    /// the path is below a `kubepods` pod cgroup.
    pub pod_uid: Option<String>,
}

/// How many characters of an id `docker ps` shows.
pub const SHORT_ID_LEN: usize = 12;

impl Container {
    /// What the CONTAINER column shows: the first 12 digits of an id, or the whole name.
    pub fn short(&self) -> &[u8] {
        if self.runtime.has_hex_id() {
            &self.id[..SHORT_ID_LEN.min(self.id.len())]
        } else {
            &self.id
        }
    }
}

fn is_id(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn strip_scope(c: &[u8]) -> &[u8] {
    c.strip_suffix(b".scope").unwrap_or(c)
}

/// `<prefix><id>` or `<prefix><id>.scope`.
fn prefixed_id<'a>(c: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    strip_scope(c).strip_prefix(prefix).filter(|id| is_id(id))
}

/// systemd's unit-name escaping (`\x2d` for a `-` inside a name) undone.
fn unescape_unit(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && s.get(i + 1) == Some(&b'x')
            && let Some(h) = s.get(i + 2..i + 4)
            && let Some(b) = std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn valid_uid(s: &str) -> bool {
    (32..=36).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The pod UID a component names: `kubepods[-<qos>]-pod<uid_with_underscores>.slice`
/// (systemd driver) or `pod<uid>` below a `kubepods` component (cgroupfs driver).
fn pod_uid(c: &[u8], below_kubepods: bool) -> Option<String> {
    let c = std::str::from_utf8(c).ok()?;
    let uid = if let Some(slice) = c.strip_suffix(".slice") {
        if !slice.starts_with("kubepods-") {
            return None;
        }
        slice
            .rsplit('-')
            .next()?
            .strip_prefix("pod")?
            .replace('_', "-")
    } else if below_kubepods {
        c.strip_prefix("pod")?.to_owned()
    } else {
        return None;
    };
    valid_uid(&uid).then_some(uid)
}

/// The container that the cgroup v2 `path` (`/a/b/c`, relative to the cgroup2 root) belongs
/// to, or `None` for a host task (a runtime's monitor included).
pub fn container_of(path: &[u8]) -> Option<Container> {
    let comps: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    for i in (0..comps.len()).rev() {
        let (runtime, id) = match name_at(&comps, i)? {
            Some(found) => found,
            None => continue,
        };
        let mut kube = false;
        let pod = comps[..i].iter().find_map(|c| {
            let uid = pod_uid(c, kube);
            kube |= *c == b"kubepods" || c.starts_with(b"kubepods.") || c.starts_with(b"kubepods-");
            uid
        });
        return Some(Container {
            runtime,
            id: id.to_vec(),
            pod_uid: pod,
        });
    }
    None
}

/// What component `i` of `comps` says: `Some(Some(..))` a container, `Some(None)` nothing
/// (look further up), `None` a monitor (stop: a host process).
#[allow(clippy::option_option)]
fn name_at<'a>(comps: &[&'a [u8]], i: usize) -> Option<Option<(Runtime, Vec<u8>)>> {
    let c = comps[i];
    let parent: &[u8] = if i > 0 { comps[i - 1] } else { b"" };
    if c.starts_with(b"libpod-conmon-")
        || c.starts_with(b"crio-conmon-")
        || c.starts_with(b"lxc.monitor.")
        || parent == b"lxc.monitor"
    {
        return None;
    }
    let hex = |r: Runtime, id: &'a [u8]| Some(Some((r, id.to_vec())));
    if let Some(id) = prefixed_id(c, b"docker-") {
        return hex(Runtime::Docker, id);
    }
    if let Some(id) = prefixed_id(c, b"cri-containerd-") {
        return hex(Runtime::Containerd, id);
    }
    if let Some(id) = prefixed_id(c, b"crio-") {
        return hex(Runtime::CriO, id);
    }
    if let Some(id) = prefixed_id(c, b"libpod-") {
        return hex(Runtime::Podman, id);
    }
    if is_id(c) {
        if parent == b"docker" {
            return hex(Runtime::Docker, c);
        }
        let below_kube = comps[..i.saturating_sub(1)]
            .iter()
            .any(|a| *a == b"kubepods" || a.starts_with(b"kubepods"));
        if pod_uid(parent, below_kube).is_some() {
            return hex(Runtime::Cri, c);
        }
    }
    if parent == b"machine.slice"
        && let Some(name) = c
            .strip_prefix(b"machine-")
            .and_then(|n| n.strip_suffix(b".scope"))
        && !name.is_empty()
    {
        // systemd-nspawn (v250 and later) runs itself in `supervisor` and the machine in
        // `payload` below the scope.
        if comps.get(i + 1) == Some(&&b"supervisor"[..]) {
            return None;
        }
        return Some(Some((Runtime::Nspawn, unescape_unit(name))));
    }
    if let Some(name) = c.strip_prefix(b"lxc.payload.").filter(|n| !n.is_empty()) {
        return Some(Some((Runtime::Lxc, name.to_vec())));
    }
    if parent == b"lxc" || parent == b"lxc.payload" {
        return Some(Some((Runtime::Lxc, c.to_vec())));
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f1d2c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff001";
    const ID2: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UID: &str = "5c2e6bde-7a3b-4c1d-9e8f-0a1b2c3d4e5f";
    const UID_: &str = "5c2e6bde_7a3b_4c1d_9e8f_0a1b2c3d4e5f";

    /// One golden row per path: runtime, id or name, pod UID ("-" for none), or "host".
    fn row(path: &str) -> String {
        match container_of(path.as_bytes()) {
            None => "host".into(),
            Some(c) => format!(
                "{} {} {} {}",
                c.runtime.as_str(),
                String::from_utf8_lossy(&c.id),
                String::from_utf8_lossy(c.short()),
                c.pod_uid.as_deref().unwrap_or("-")
            ),
        }
    }

    #[test]
    fn golden_layouts() {
        let s = &ID[..12];
        let cases: Vec<(String, String)> = vec![
            // Host tasks.
            ("/".into(), "host".into()),
            (
                "/user.slice/user-0.slice/session-1.scope".into(),
                "host".into(),
            ),
            ("/system.slice/docker.service".into(), "host".into()),
            ("/system.slice/containerd.service".into(), "host".into()),
            (
                "/kubepods.slice/kubepods-burstable.slice".into(),
                "host".into(),
            ),
            // docker, both drivers; a container's own sub-cgroup.
            (
                format!("/system.slice/docker-{ID}.scope"),
                format!("docker {ID} {s} -"),
            ),
            (format!("/docker/{ID}"), format!("docker {ID} {s} -")),
            (
                format!("/docker/{ID}/init.scope"),
                format!("docker {ID} {s} -"),
            ),
            (
                format!("/system.slice/docker-{ID}.scope/system.slice/cron.service"),
                format!("docker {ID} {s} -"),
            ),
            // A bare id anywhere else names nothing.
            (format!("/other/{ID}"), "host".into()),
            // containerd under Kubernetes, systemd driver (burstable, besteffort, guaranteed).
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope"
                ),
                format!("containerd {ID} {s} {UID}"),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"
                ),
                format!("containerd {ID} {s} {UID}"),
            ),
            (
                format!("/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{ID}.scope"),
                format!("containerd {ID} {s} {UID}"),
            ),
            // Kubernetes, cgroupfs driver: the runtime is not in the path.
            (
                format!("/kubepods/burstable/pod{UID}/{ID}"),
                format!("cri {ID} {s} {UID}"),
            ),
            (
                format!("/kubepods/pod{UID}/{ID}"),
                format!("cri {ID} {s} {UID}"),
            ),
            (
                format!("/kubepods/besteffort/pod{UID}/crio-{ID}"),
                format!("cri-o {ID} {s} {UID}"),
            ),
            (format!("/kubepods/burstable/pod{UID}"), "host".into()),
            // CRI-O, systemd driver, and its monitor.
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/crio-{ID}.scope"
                ),
                format!("cri-o {ID} {s} {UID}"),
            ),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/crio-conmon-{ID}.scope"
                ),
                "host".into(),
            ),
            // Docker as the Kubernetes runtime (dockershim, systemd driver).
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/docker-{ID}.scope"
                ),
                format!("docker {ID} {s} {UID}"),
            ),
            // podman, both drivers, and conmon.
            (
                format!("/machine.slice/libpod-{ID}.scope"),
                format!("podman {ID} {s} -"),
            ),
            (
                format!("/libpod_parent/libpod-{ID}"),
                format!("podman {ID} {s} -"),
            ),
            (
                format!("/libpod_parent/libpod-{ID}/container"),
                format!("podman {ID} {s} -"),
            ),
            (
                format!("/machine.slice/libpod-conmon-{ID}.scope"),
                "host".into(),
            ),
            ("/libpod_parent/conmon".into(), "host".into()),
            // A pod's containers nest: the nearest one wins.
            (
                format!("/machine.slice/libpod-{ID2}.scope/docker/{ID}"),
                format!("docker {ID} {s} -"),
            ),
            // systemd-nspawn and machined names (unit escaping undone), nspawn's supervisor.
            (
                "/machine.slice/machine-web1.scope".into(),
                "systemd-nspawn web1 web1 -".into(),
            ),
            (
                "/machine.slice/machine-my\\x2dbox.scope/payload/system.slice/x.service".into(),
                "systemd-nspawn my-box my-box -".into(),
            ),
            (
                "/machine.slice/machine-my\\x2dbox.scope/supervisor".into(),
                "host".into(),
            ),
            ("/machine.slice/machine-.scope".into(), "host".into()),
            ("/system.slice/machine-web1.scope".into(), "host".into()),
            // LXC 4+ and older, and the monitors.
            ("/lxc.payload.db".into(), "lxc db db -".into()),
            ("/lxc.payload.db/init.scope".into(), "lxc db db -".into()),
            ("/lxc.monitor.db".into(), "host".into()),
            ("/lxc/db".into(), "lxc db db -".into()),
            ("/lxc/db/system.slice".into(), "lxc db db -".into()),
            ("/lxc.monitor/db".into(), "host".into()),
            ("/lxc.payload".into(), "host".into()),
            // Not ids: wrong length, upper case.
            (
                format!("/system.slice/docker-{}.scope", &ID[1..]),
                "host".into(),
            ),
            (
                format!("/system.slice/docker-{}.scope", ID.to_uppercase()),
                "host".into(),
            ),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|(p, _)| format!("{p} => {}", row(p)))
            .collect();
        let want: Vec<String> = cases.iter().map(|(p, w)| format!("{p} => {w}")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn pod_uid_shapes() {
        assert_eq!(
            pod_uid(format!("kubepods-pod{UID_}.slice").as_bytes(), false).as_deref(),
            Some(UID)
        );
        let static_pod = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
        assert_eq!(
            pod_uid(format!("pod{static_pod}").as_bytes(), true).as_deref(),
            Some(static_pod)
        );
        assert_eq!(pod_uid(format!("pod{UID}").as_bytes(), false), None);
        assert_eq!(pod_uid(b"podman.slice", true), None);
        assert_eq!(pod_uid(b"kubepods-burstable.slice", false), None);
    }

    #[test]
    fn short_id_and_names() {
        let c = container_of(format!("/docker/{ID}").as_bytes()).expect("docker");
        assert_eq!(c.short(), &ID.as_bytes()[..12]);
        let c = container_of(b"/lxc.payload.a-very-long-container-name").expect("lxc");
        assert_eq!(c.short(), b"a-very-long-container-name");
    }
}
