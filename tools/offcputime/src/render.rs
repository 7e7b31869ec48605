// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! One counted stack as text (libbpf-tools' multi-line entry, `-v` numbered frames), folded
//! line (BCC's `-f`, also the flame graph's input) or JSON object, through the shared stack
//! rendering of `common::stacks`.

use common::container::Containers;
use common::output::JsonLine;
use common::stacks::{self, Entry, Part, Side, StackMap, Symbols};

use crate::bpf::types;

/// How the entries are printed.
pub struct Style {
    /// `-f` (and `--svg`, whose input it is): one folded line per entry.
    pub folded: bool,
    pub json: bool,
    /// `-d`: `--` (folded: `-`) between the kernel and user stacks.
    pub delimited: bool,
    /// `-v`: frames numbered, with addresses and offsets.
    pub verbose: bool,
    /// `--containers`: the container after the comm (folded: the root frame).
    pub containers: bool,
}

/// One entry of the info map with its stacks read and symbolized.
pub struct Counted {
    /// Thread ID (a CPU's number for its idle task, as libbpf-tools keys it).
    pub tid: u32,
    pub pid: u32,
    pub comm: Vec<u8>,
    pub cgroup_id: u64,
    /// Off-CPU time in microseconds.
    pub us: u64,
    pub kernel: Part,
    pub user: Part,
}

impl Counted {
    /// Read `key`'s stacks from `stacks` and symbolize them (user frames in the process
    /// `key.tgid`, through its own root).
    pub fn read(
        key: &types::offcputime_key,
        val: &types::offcputime_val,
        stacks: &StackMap<'_>,
        syms: &mut Symbols,
    ) -> Self {
        let kernel = stacks.kernel(syms, key.kern_stack_id.into());
        let user = stacks.user(syms, key.tgid, key.user_stack_id.into());
        Self {
            tid: key.pid,
            pid: key.tgid,
            comm: common::decode::c_bytes(&val.comm).to_vec(),
            cgroup_id: val.cgroup_id,
            us: val.delta,
            kernel,
            user,
        }
    }
}

/// Append `c` to `out` in `style`. With `--containers` the comm reads `COMM [CONTAINER]` in
/// text (the CONTAINER column's short id or name; host threads unchanged), the folded line
/// starts with a `[CONTAINER]` frame (so a flame graph groups each container's stacks), and
/// JSON objects carry the container fields every tool's JSON has.
pub fn entry(out: &mut Vec<u8>, c: &Counted, style: &Style, containers: &mut Containers) {
    let label = style
        .containers
        .then(|| containers.column(c.cgroup_id))
        .filter(|l| l != "-");
    if style.folded {
        // The label, escaped already, before the comm: folded_line would escape its `;`.
        if let Some(l) = &label {
            out.extend_from_slice(format!("[{}];", l.replace(';', "\\x3b")).as_bytes());
        }
        stacks::folded_line(out, &c.comm, &c.user, &c.kernel, style.delimited, c.us);
        return;
    }
    let e = Entry {
        kernel: &c.kernel,
        user: &c.user,
        comm: &c.comm,
        id: c.tid,
        count: c.us,
    };
    if style.json {
        stacks::json_object(out, &e, "tid", "off_cpu_us");
        if let Some(mut j) = JsonLine::reopen(out) {
            j.u64("pid", c.pid.into());
            containers.json_fields(&mut j, c.cgroup_id);
            j.finish();
        }
        return;
    }
    let mut comm = c.comm.clone();
    if let Some(l) = &label {
        comm.extend_from_slice(format!(" [{l}]").as_bytes());
    }
    let e = Entry { comm: &comm, ..e };
    // libbpf-tools' -v numbers the frames of both stacks with one running index.
    let mut n = 0;
    stacks::multi_line(out, &e, style.delimited, |f, side: Side| {
        if style.verbose {
            n += 1;
            format!("#{:<2} {}", n - 1, f.verbose(side))
        } else {
            f.name().into_owned()
        }
    });
}

/// End-of-run lines for stderr when off-CPU periods were not counted: `starts_full` threads
/// could not be stamped (more off a CPU at once than the map holds), `info_full` periods had
/// no room for their stacks' entry.
pub fn lost_warnings(starts_full: u64, info_full: u64) -> Vec<String> {
    let mut w = Vec::new();
    if starts_full > 0 {
        w.push(format!(
            "WARNING: {starts_full} off-CPU periods not counted: more threads off a CPU at \
             once than the 10240 the start map holds"
        ));
    }
    if info_full > 0 {
        w.push(format!(
            "WARNING: {info_full} off-CPU periods not counted: more than 10240 thread and \
             stack pairs (use -p, -t, -u or -m to trace fewer)"
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::stacks::Frame;

    fn frames(names: &[&str]) -> Part {
        Part::Frames(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| Frame::named(0x1000 + i as u64, n))
                .collect(),
        )
    }

    fn counted() -> Counted {
        Counted {
            tid: 4242,
            pid: 4240,
            comm: b"sleeper".to_vec(),
            cgroup_id: 1,
            us: 600123,
            kernel: frames(&["__schedule", "schedule", "do_nanosleep"]),
            user: frames(&["ferro_offcpu_sleeper_marker", "main"]),
        }
    }

    fn render(style: &Style) -> String {
        let mut containers = Containers::new(&Default::default()).unwrap();
        let mut out = Vec::new();
        entry(&mut out, &counted(), style, &mut containers);
        String::from_utf8(out).unwrap()
    }

    fn style() -> Style {
        Style {
            folded: false,
            json: false,
            delimited: false,
            verbose: false,
            containers: false,
        }
    }

    #[test]
    fn text_as_libbpf_tools() {
        assert_eq!(
            render(&style()),
            "    __schedule\n    schedule\n    do_nanosleep\n    \
             ferro_offcpu_sleeper_marker\n    main\n    \
             -                sleeper (4242)\n        600123\n\n"
        );
        let d = render(&Style {
            delimited: true,
            ..style()
        });
        assert!(d.contains("do_nanosleep\n    --\n    ferro_offcpu"), "{d}");
    }

    #[test]
    fn verbose_numbers_both_stacks_in_one_sequence() {
        let v = render(&Style {
            verbose: true,
            ..style()
        });
        let lines: Vec<&str> = v.lines().collect();
        assert_eq!(lines[0], "    #0  0x1000 __schedule+0x0");
        assert_eq!(
            lines[3],
            "    #3  0x0000000000001000 ferro_offcpu_sleeper_marker+0x0"
        );
        assert_eq!(lines[4], "    #4  0x0000000000001001 main+0x0");
    }

    #[test]
    fn folded_user_then_kernel_root_first() {
        assert_eq!(
            render(&Style {
                folded: true,
                ..style()
            }),
            "sleeper;main;ferro_offcpu_sleeper_marker;do_nanosleep;schedule;__schedule 600123\n"
        );
        assert_eq!(
            render(&Style {
                folded: true,
                delimited: true,
                ..style()
            }),
            "sleeper;main;ferro_offcpu_sleeper_marker;-;do_nanosleep;schedule;__schedule 600123\n"
        );
    }

    #[test]
    fn json_fields() {
        let j = render(&Style {
            json: true,
            ..style()
        });
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["tid"], 4242);
        assert_eq!(v["pid"], 4240);
        assert_eq!(v["comm"], "sleeper");
        assert_eq!(v["off_cpu_us"], 600123);
        assert_eq!(v["kernel_stack"][0]["symbol"], "__schedule");
        assert_eq!(v["user_stack"][0]["symbol"], "ferro_offcpu_sleeper_marker");
        assert_eq!(v["user_stack_missed"], false);
        assert!(j.ends_with("}\n") && j.lines().count() == 1, "{j}");
    }

    #[test]
    fn lost_periods_are_said() {
        assert!(lost_warnings(0, 0).is_empty());
        let w = lost_warnings(2, 3);
        assert!(w[0].starts_with("WARNING: 2 off-CPU periods not counted"));
        assert!(w[1].starts_with("WARNING: 3 off-CPU periods not counted"));
    }
}
