// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! offcputime and a real podman container: the sleeper helper, linked statically and mounted
//! into the container, sleeps in its named function; the tool must name that function from
//! the container's own file (its path exists only inside the container) and say which
//! container the stack is from. Tests named `root_*` need root, BPF and podman.

use std::time::{Duration, Instant};

use testkit::container::{PodmanContainer, podman_ready};
use testkit::{TempDir, Tool, bpf_ready};

mod sleeper;
use sleeper::{LONG, build_sleeper, text_us};

const BIN: &str = env!("CARGO_BIN_EXE_offcputime");

/// The voluntary context switches of `pid` so far (`/proc/PID/status`): each sleep is one.
fn sleeps(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn root_container_process_symbolized_from_its_own_root() {
    let test = "root_container_process_symbolized_from_its_own_root";
    if !bpf_ready(test) || !podman_ready(test) {
        return;
    }
    let dir = TempDir::new("offcputime-container");
    build_sleeper(&dir, true);
    let mount = format!("{}:/ferro:ro", dir.path().display());
    let c = PodmanContainer::create_with(
        &["-v".to_owned(), mount],
        &["/ferro/offcpu_sleeper", "loop"],
    );
    c.start();
    c.wait_for_comm("offcpu_sleeper");
    let pid = c.pid();
    let text = Tool::spawn(BIN, &["--containers", "-p", &pid.to_string()]).ready();
    // -p too: traced whole, the system's stacks could fill the stack map before the sleeper's.
    let json = Tool::spawn(
        BIN,
        &[
            "-v",
            "--json",
            "--container",
            c.short_id(),
            "-p",
            &pid.to_string(),
        ],
    )
    .ready();
    // Three 300 ms sleeps while both trace: the first may have begun before they attached.
    let start = sleeps(pid);
    let end = Instant::now() + Duration::from_secs(20);
    while sleeps(pid) < start + 3 {
        assert!(
            Instant::now() < end,
            "the container's sleeper stopped sleeping"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let [text, json] = [text, json].map(Tool::interrupt);

    assert!(text.status.success(), "{text}");
    assert!(text_us(&text.stdout, LONG) >= 300_000, "{text}");
    assert!(
        text.stdout.contains(&format!(
            "-                offcpu_sleeper [{}] ({pid})",
            c.short_id()
        )),
        "no container after the comm\n{text}"
    );

    assert!(json.status.success(), "{json}");
    let objects: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!objects.is_empty(), "{json}");
    for o in &objects {
        assert_eq!(
            o["container_id"],
            c.id.as_str(),
            "--container kept another: {o}"
        );
    }
    let marker = objects
        .iter()
        .flat_map(|o| o["user_stack"].as_array().into_iter().flatten())
        .find(|f| f["symbol"] == LONG)
        .unwrap_or_else(|| panic!("no {LONG} frame\n{json}"));
    // The file as the container sees it: /ferro exists only inside the container.
    assert_eq!(marker["module"], "/ferro/offcpu_sleeper", "{marker}");
}
