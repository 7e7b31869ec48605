// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! execsnoop: trace exec() with complete arguments. Based on execsnoop(8) from BCC by Brendan
//! Gregg and its libbpf-tools port; options and columns follow libbpf-tools.

mod args;
mod audit;
mod format;
mod rules;

use std::mem::MaybeUninit;

use common::cli;
use common::decode::c_bytes;
use common::error::{Error, Result};
use common::event_tool::{self, EventTool, Run};
use common::lifecycle;
use common::metrics::{self, Labels};
use common::probe;
use common::time::EventTimes;
use libbpf_rs::skel::Skel;

use crate::args::Args;
use crate::bpf::{ExecsnoopSkelBuilder, types};
use crate::format::Columns;
use crate::rules::Rules;
use common::container::Resolver;

common::tool_main!();

// SAFETY: plain integers (the flags a C enum's transparent u16 newtype) and byte arrays.
unsafe impl plain::Plain for types::execsnoop_event {}
common::event_record!(types::execsnoop_event);

fn run() -> Result<()> {
    let args: Args = cli::parse(&INFO)?;
    if args.alerts && args.rules.is_empty() {
        return Err(Error::usage("--alerts needs --rules (a file, or builtin)"));
    }
    // Rules are read whole before anything is loaded: a bad file stops here, exit 2.
    let rules = if args.rules.is_empty() {
        None
    } else {
        Some(Rules::load(&args.rules).map_err(Error::usage)?)
    };
    if args.list_rules {
        let builtin;
        let r = match &rules {
            Some(r) => r,
            None => {
                builtin = Rules::load(&["builtin"]).map_err(Error::fatal)?;
                &builtin
            }
        };
        let listed = if args.event.common.json {
            r.listing_json()
        } else {
            r.listing()
        };
        // As the event rows: a closed pipe ends quietly, a failed write is one line, exit 1.
        common::output::Printer::new().emit_or_closed(listed.as_bytes())?;
        return Ok(());
    }
    if args.line.as_deref() == Some("") {
        return Err(Error::usage("-l needs a non-empty value"));
    }
    // comm holds 15 bytes of the name: a longer -n matches on those, as opensnoop's does.
    let name = match &args.name {
        Some(n) => Some(cli::comm_filter(TOOL, "-n", n)?),
        None => None,
    };
    let cgroup = common::cgroup::open_opt(args.cgroup.as_deref())?;
    let cols = columns(&args, rules.as_ref());
    let audit_want =
        audit_parts(&cols, args.event.common.json) | rules.as_ref().map_or(0, Rules::parts);
    lifecycle::start(args.event.common.verbose)?;
    if !probe::tracepoint_exists("sched", "sched_process_exec")? {
        return Err(Error::fatal(
            "the sched:sched_process_exec tracepoint is missing (needs CONFIG_TRACEPOINTS)",
        ));
    }
    // The syscall hooks give failed execs (-x) and, for scripts and binfmt_misc programs, the
    // argv the caller passed; without them a script shows its interpreter's argv.
    let syscall_hooks = probe::traceable_syscalls(&["execve", "execveat"])?;
    if args.fails && syscall_hooks.is_empty() {
        return Err(Error::fatal(
            "-x needs the execve syscall tracepoints (CONFIG_FTRACE_SYSCALLS)",
        ));
    }

    let mut storage = MaybeUninit::uninit();
    let builder = ExecsnoopSkelBuilder::default();
    let (mut open, kind) = common::open_events!(builder, &mut storage, args, pid, uid, cgroup)?;
    {
        let ro = lifecycle::rodata(open.maps.rodata_data.as_deref_mut())?;
        ro.targ_ppid = args.ppid.unwrap_or(0);
        ro.targ_failed = args.fails;
        // Failed execs read argv string by string: one more than shown detects "more".
        ro.max_failed_args = i32::from(args.max_args).min(63) + 1;
        ro.audit_want = u32::from(audit_want);
    }
    // tp_btf where it loads (no tracepoint record is built); the classic tracepoint otherwise
    // (FERROSCOPE_DISABLE=tp_btf forces it). Both read the same fields.
    let btf_hook = common::log::quietly(|| probe::tp_btf("sched_process_exec"));
    let p = &mut open.progs;
    p.sched_exec_btf.set_autoload(btf_hook);
    p.sched_exec.set_autoload(!btf_hook);
    for (sc, enter, exit) in [
        ("execve", &mut p.enter_execve, &mut p.exit_execve),
        ("execveat", &mut p.enter_execveat, &mut p.exit_execveat),
    ] {
        let on = syscall_hooks.contains(&sc);
        enter.set_autoload(on);
        exit.set_autoload(on);
    }
    let skel = lifecycle::load(open)?;
    common::cgroup::install(cgroup.as_ref(), &skel.maps.cgroup_map)?;

    let resolver = rules
        .as_ref()
        .is_some_and(Rules::need_container)
        .then(Resolver::new);
    let tool = Execsnoop {
        cols,
        rules,
        alerts: args.alerts,
        resolver,
        matched: Vec::new(),
        name,
        line: args.line.clone().map(String::into_bytes),
    };
    let run = Run::new(kind, &args.event, None);
    event_tool::run(TOOL, tool, common::event_maps!(skel), run, || {
        let links = lifecycle::attach_loaded(skel.object(), "the exec hooks")?;
        let hooks = if syscall_hooks.is_empty() {
            " (no syscall tracepoints: scripts show their interpreter's argv)".to_owned()
        } else {
            format!(
                " and syscalls:sys_{{enter,exit}}_{{{}}}",
                syscall_hooks.join(",")
            )
        };
        let exec_hook = if btf_hook {
            "tp_btf/sched_process_exec"
        } else {
            "sched:sched_process_exec"
        };
        Ok((links, format!("to {exec_hook}{hooks}")))
    })
}

/// The audit parts the BPF side reads at each exec: those the columns show; all for --json
/// (a record of everything, for machines). Each part left out costs nothing per exec.
/// The text columns the options ask for. `--ids` (and `--audit`) show the real uid too, in
/// `-U`'s UID column: EUID 0 next to no real uid hid who ran a set-user-ID program.
fn columns(args: &Args, rules: Option<&Rules>) -> Columns {
    Columns {
        time: args.time,
        timestamp: args.timestamp,
        uid: args.print_uid || args.ids || args.audit,
        pcomm: args.print_pcomm,
        quote: args.quote,
        max_args: usize::from(args.max_args),
        gparent: args.parents || args.audit,
        tty: args.tty || args.audit,
        ids: args.ids || args.audit,
        exe: args.exe_path || args.audit,
        cwd: args.cwd || args.audit,
        rule: rules.map(Rules::name_width),
    }
}

fn audit_parts(c: &Columns, json: bool) -> u16 {
    let on = |b: bool, part: u16| if b || json { part } else { 0 };
    on(c.exe, audit::AUDIT_EXE)
        | on(c.cwd, audit::AUDIT_CWD)
        | on(c.tty, audit::AUDIT_TTY)
        | on(c.ids, audit::AUDIT_IDS)
        | on(c.gparent, audit::AUDIT_GPARENT)
}

struct Execsnoop {
    cols: Columns,
    /// `--rules`: checked on every record shown.
    rules: Option<Rules>,
    /// `--alerts`: only records that match a rule.
    alerts: bool,
    /// Whether a record is in a container, for rules that ask.
    resolver: Option<Resolver>,
    /// The rules the record being shown matched (set by `wanted`).
    matched: Vec<usize>,
    /// `-n`: part of the command name (its first 15 bytes, as the kernel keeps them).
    name: Option<Vec<u8>>,
    /// `-l`: part of the argument line.
    line: Option<Vec<u8>>,
}

impl EventTool for Execsnoop {
    type Event = types::execsnoop_event;

    const METRIC_HELP: &'static str = "Execs traced, by errno (0: success; failed ones with -x)";
    const LABEL_NAMES: &'static [&'static str] = &["errno"];

    fn min_len(&self) -> usize {
        std::mem::offset_of!(types::execsnoop_event, area)
    }

    fn header(&self) -> Option<String> {
        Some(self.cols.header())
    }

    fn labels(&mut self, e: &Self::Event, out: &mut Labels) {
        out.push(("errno", metrics::errno_label(e.retval)));
    }

    fn wanted(&mut self, e: &Self::Event) -> bool {
        let name_ok = self
            .name
            .as_deref()
            .is_none_or(|n| contains(c_bytes(&e.comm), n));
        let shown = name_ok
            && self
                .line
                .as_deref()
                .is_none_or(|l| contains(&format::arg_line(e, self.cols.max_args), l));
        if !shown {
            return false;
        }
        self.matched.clear();
        if let Some(rules) = &self.rules {
            let container = self
                .resolver
                .as_mut()
                .and_then(|r| r.resolve(e.cgroup_id))
                .map(|c| c.container.is_some());
            self.matched = rules.matches(&format::rule_view(e, container));
        }
        !self.alerts || !self.matched.is_empty()
    }

    fn text_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let secs = times.since_start(e.ts_ns);
        let rule = self.rules.as_ref().map(|r| r.names(&self.matched));
        format::text_row(
            &self.cols,
            e,
            rule.as_deref(),
            &times.hms(e.ts_ns),
            secs,
            out,
        );
    }

    fn json_row(&mut self, e: &Self::Event, times: &EventTimes, out: &mut Vec<u8>) {
        let rules = self.rules.as_ref().map(|r| r.tagged(&self.matched));
        format::json_row(e, rules.as_ref(), &times.rfc3339(e.ts_ns), out);
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn libbpf_tools_recipes_parse() {
        let a = Args::try_parse_from(["execsnoop", "-xTtUq", "-u", "1000", "--max-args", "60"])
            .expect("parses");
        assert!(a.fails && a.time && a.timestamp && a.print_uid && a.quote);
        assert_eq!((a.uid, a.max_args), (Some(1000), 60));
        assert!(Args::try_parse_from(["execsnoop", "--max-args", "0"]).is_err());
    }

    /// `--ids` and `--audit` show the real uid (UID) beside EUID, once with -U too; plain
    /// execsnoop's columns stay libbpf-tools'.
    #[test]
    fn ids_columns_include_the_real_uid_golden() {
        let header = |argv: &[&str]| {
            let a = Args::try_parse_from(argv).expect("parses");
            columns(&a, None).header()
        };
        assert_eq!(
            header(&["execsnoop"]),
            "PCOMM            PID    PPID   RET ARGS\n"
        );
        let ids = "UID    PCOMM            PID    PPID   EUID   GID    EGID   LOGINUID SESSION \
                   RET ARGS\n";
        assert_eq!(header(&["execsnoop", "--ids"]), ids);
        assert_eq!(header(&["execsnoop", "--ids", "-U"]), ids);
        assert!(
            header(&["execsnoop", "--audit"])
                .starts_with("UID    PCOMM            PID    PPID   PARENT")
        );
        // A setuid run: the real uid in UID, the gained one in EUID.
        let a = Args::try_parse_from(["execsnoop", "--ids"]).expect("parses");
        let mut e = crate::bpf::types::execsnoop_event {
            pid: 7,
            ppid: 1,
            uid: 65534,
            euid: 0,
            gid: 65534,
            egid: 65534,
            loginuid: 1000,
            sessionid: 3,
            fname_len: 7,
            args_len: 4,
            audit: types::execsnoop_audit(audit::AUDIT_IDS),
            ..Default::default()
        };
        e.comm[..3].copy_from_slice(b"sid");
        e.area[..11].copy_from_slice(b"/x/sid\0sid\0");
        let mut out = Vec::new();
        format::text_row(&columns(&a, None), &e, None, "", 0.0, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "65534  sid              7      1      0      65534  65534  1000     3         0 /x/sid\n"
        );
    }

    #[test]
    fn substring_match() {
        assert!(contains(b"/bin/true marker", b"marker"));
        assert!(!contains(b"abc", b"abcd"));
    }
}
