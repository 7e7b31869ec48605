// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! open(2) flag names: parsing `-f` and naming flags in JSON. Values come from the libc crate,
//! so they are right for the architecture the tool is built for.

/// Names usable with `-f`, and the bits that identify each. Multi-bit flags are identified by
/// the bit only they have (O_SYNC by __O_SYNC, O_TMPFILE by __O_TMPFILE), so that `-f O_SYNC`
/// does not also match O_DSYNC opens.
const FLAGS: &[(&str, i32)] = &[
    ("O_CREAT", libc::O_CREAT),
    ("O_EXCL", libc::O_EXCL),
    ("O_NOCTTY", libc::O_NOCTTY),
    ("O_TRUNC", libc::O_TRUNC),
    ("O_APPEND", libc::O_APPEND),
    ("O_NONBLOCK", libc::O_NONBLOCK),
    // Multi-bit flags precede the flags they contain, so names() claims the bits once.
    ("O_SYNC", libc::O_SYNC & !libc::O_DSYNC),
    ("O_DSYNC", libc::O_DSYNC),
    ("O_ASYNC", libc::O_ASYNC),
    ("O_DIRECT", libc::O_DIRECT),
    ("O_LARGEFILE", libc::O_LARGEFILE),
    ("O_TMPFILE", libc::O_TMPFILE & !libc::O_DIRECTORY),
    ("O_DIRECTORY", libc::O_DIRECTORY),
    ("O_NOFOLLOW", libc::O_NOFOLLOW),
    ("O_NOATIME", libc::O_NOATIME),
    ("O_CLOEXEC", libc::O_CLOEXEC),
    ("O_PATH", libc::O_PATH),
];

const ACCMODES: [&str; 4] = ["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE3"];

/// What `-f` compiles to: flag bits (any one matches) and accepted access modes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlagFilter {
    pub bits: u32,
    /// bit n set: access mode n (flags & O_ACCMODE) matches
    pub accmodes: u8,
}

/// Parse `-f` values: names as in open(2), with or without `O_`, any case.
pub fn parse_filter(names: &[String]) -> Result<FlagFilter, String> {
    let mut f = FlagFilter::default();
    for raw in names {
        let upper = raw.trim().to_ascii_uppercase();
        let name = if upper.starts_with("O_") {
            upper
        } else {
            format!("O_{upper}")
        };
        if let Some(i) = ACCMODES[..3].iter().position(|&m| m == name) {
            f.accmodes |= 1 << i;
        } else if let Some((_, bits)) = FLAGS.iter().find(|(n, _)| *n == name) {
            f.bits |= *bits as u32;
        } else {
            return Err(format!(
                "unknown open flag '{raw}' for -f (known: O_RDONLY, O_WRONLY, O_RDWR, {})",
                FLAGS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(f)
}

/// Names of the flags set in `flags`, access mode first, as open(2) spells them.
pub fn names(flags: u32) -> Vec<&'static str> {
    let mut v = vec![ACCMODES[(flags & libc::O_ACCMODE as u32) as usize]];
    let mut rest = flags & !(libc::O_ACCMODE as u32);
    for (name, bits) in FLAGS {
        let full = match *name {
            "O_SYNC" => libc::O_SYNC as u32,
            "O_TMPFILE" => libc::O_TMPFILE as u32,
            _ => *bits as u32,
        };
        if flags & full == full && rest & (*bits as u32) != 0 {
            v.push(name);
            rest &= !full;
        }
    }
    // Bits this table does not know still show, rather than vanish.
    if rest != 0 {
        v.push("O_UNKNOWN");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_spelling() {
        let f = parse_filter(&["O_WRONLY".into(), "rdwr".into(), "o_creat".into()]).expect("ok");
        assert_eq!(f.accmodes, 0b110);
        assert_eq!(f.bits, libc::O_CREAT as u32);
    }

    #[test]
    fn sync_does_not_mean_dsync() {
        let f = parse_filter(&["O_SYNC".into()]).expect("ok");
        assert_eq!(f.bits & libc::O_DSYNC as u32, 0);
        assert_ne!(f.bits, 0);
    }

    #[test]
    fn unknown_flag_is_an_error() {
        let e = parse_filter(&["O_BOGUS".into()]).expect_err("rejected");
        assert!(e.starts_with("unknown open flag 'O_BOGUS'"), "{e}");
    }

    #[test]
    fn names_golden() {
        let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u32;
        assert_eq!(
            names(flags),
            ["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"]
        );
        assert_eq!(names(libc::O_SYNC as u32), ["O_RDONLY", "O_SYNC"]);
        assert_eq!(names(libc::O_DSYNC as u32), ["O_RDONLY", "O_DSYNC"]);
        assert_eq!(names(libc::O_TMPFILE as u32 | 2), ["O_RDWR", "O_TMPFILE"]);
    }
}
