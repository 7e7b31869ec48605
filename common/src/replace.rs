// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! Files the tools replace whole (`--textfile`, `--svg`): written beside the target and renamed
//! over it, so a reader never sees half a file. A rename replaces whatever has the name: a
//! device node (`--textfile /dev/null` made /dev/null a regular file for every process on the
//! machine), a FIFO, a socket or a symbolic link. Only a regular file, or no file, is replaced.

use std::path::Path;

/// What `path` is when it exists and is not a regular file (`"a character device"`, `"a
/// symbolic link"`, ...): then it must not be replaced. `None` for a regular file, a missing
/// name, or a name that cannot be examined (the write that follows says why).
pub fn not_regular(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    let t = std::fs::symlink_metadata(path).ok()?.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// The error for a target that [`not_regular`] refuses: `is a character device, not a regular
/// file (it would be replaced)`.
fn refusal(kind: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "is {kind}, not a regular file (it would be replaced)"
    ))
}

/// What to say when `tmp`, the file written before the rename, cannot be created: its own
/// error alone ("No such file or directory" for a target in /proc) would deny a target that
/// exists.
pub fn temp_refused(tmp: &Path, e: &std::io::Error) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    format!(
        "cannot create {} to rename over it: {e}",
        crate::error::shown(tmp.as_os_str().as_bytes())
    )
}

/// Refuse (as [`refusal`]) a `path` that exists and is not a regular file.
pub fn check(path: &Path) -> std::io::Result<()> {
    match not_regular(path) {
        Some(kind) => Err(refusal(kind)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_and_missing_names_are_replaced_golden() {
        let dir = std::env::temp_dir().join(format!("ferro-replace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("m.prom");
        std::fs::write(&file, b"x").expect("write");
        let link = dir.join("link.prom");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert_eq!(not_regular(&file), None);
        assert_eq!(not_regular(&dir.join("missing")), None);
        assert_eq!(not_regular(&link), Some("a symbolic link"));
        assert_eq!(not_regular(&dir), Some("a directory"));
        assert_eq!(
            not_regular(Path::new("/dev/null")),
            Some("a character device")
        );
        assert_eq!(
            check(Path::new("/dev/null"))
                .expect_err("refused")
                .to_string(),
            "is a character device, not a regular file (it would be replaced)"
        );
        std::fs::remove_dir_all(&dir).expect("rm");
    }
}
