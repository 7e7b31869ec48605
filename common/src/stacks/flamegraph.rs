// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! `--svg FILE`: an interactive flame graph (SVG with its own JavaScript: click to zoom,
//! Ctrl-F to search) drawn by the `inferno` crate from the folded lines of
//! [`super::folded_line`], so the user needs neither flamegraph.pl nor a pipe.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use inferno::flamegraph::{self, Options};

use crate::error::{Error, Result, shown};

/// Where `--svg` writes, checked before any BPF work.
#[derive(Debug, Clone)]
pub struct SvgFile {
    path: PathBuf,
}

impl SvgFile {
    /// `path` as given to `--svg`: a usage error (exit 2) when it names a directory, a device,
    /// FIFO, socket or symbolic link ([`crate::replace`]), its directory does not exist or no
    /// file can be created there, so a typo fails before sampling, not after.
    pub fn new(path: &Path) -> Result<Self> {
        let bad = |why: &str| {
            Error::usage(format!(
                "--svg {}: {why}",
                shown(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
            ))
        };
        if path.as_os_str().is_empty() {
            return Err(bad("empty file name"));
        }
        if path.is_dir() {
            return Err(bad("is a directory"));
        }
        if path.file_name().is_none() {
            return Err(bad("names no file"));
        }
        let dir = dir_of(path);
        if !dir.is_dir() {
            return Err(bad("no such directory"));
        }
        crate::replace::check(path).map_err(|e| bad(&e.to_string()))?;
        let me = Self {
            path: path.to_path_buf(),
        };
        // The file the graph is written to first: one that cannot be created (procfs, a
        // read-only or full directory, a name too long with the temporary's prefix) fails
        // now, not after the whole trace.
        let tmp = me.temp_path();
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| bad(&crate::replace::temp_refused(&tmp, &e)))?;
        let _ = std::fs::remove_file(&tmp);
        Ok(me)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Draw `folded` (lines `FRAME;FRAME.. COUNT`) titled `title` (the tool and its options,
    /// [`super::command_line`]), widths counted in `count_name` (`samples`, `us`). Written
    /// to a new file beside FILE (created exclusively: an existing name or symlink is never
    /// followed) and renamed over it, so FILE is never seen half-written. With no lines the
    /// SVG says so (inferno's "No valid input" picture) and the call still succeeds.
    pub fn write(&self, title: &str, count_name: &str, folded: &[u8]) -> Result<()> {
        let context = |e: std::io::Error| {
            Error::fatal(format!(
                "--svg {}: {e}",
                shown(std::os::unix::ffi::OsStrExt::as_bytes(
                    self.path.as_os_str()
                ))
            ))
        };
        let text = String::from_utf8_lossy(folded);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tmp = self.temp_path();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(context)?;
        let result = draw(file, title, count_name, &lines);
        let result = result
            .and_then(|()| crate::replace::check(&self.path))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(context(e));
        }
        Ok(())
    }

    fn temp_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        dir_of(&self.path).join(format!(".{name}.{}.tmp", std::process::id()))
    }
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn draw(file: File, title: &str, count_name: &str, lines: &[&str]) -> std::io::Result<()> {
    let mut opt = Options::default();
    opt.title = title.to_string();
    opt.count_name = count_name.to_string();
    // Colour by a hash of the name: a function keeps its colour from one graph to the next.
    opt.hash = true;
    let mut w = BufWriter::new(file);
    let drawn = flamegraph::from_lines(&mut opt, lines.iter().copied(), &mut w);
    // inferno has written its "No valid input" picture when there was nothing to draw.
    if drawn.is_err() && !lines.is_empty() {
        drawn?;
    }
    w.flush()?;
    w.get_ref().sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferroscope-svg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_an_svg_with_the_frames_and_title() {
        let d = temp_dir("ok");
        let path = d.join("out.svg");
        std::fs::write(&path, "old").unwrap();
        let svg = SvgFile::new(&path).unwrap();
        svg.write(
            "profile -F 99 <x>",
            "samples",
            b"spinner;main;spin_here 97\nspinner;main;other 3\n",
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("<?xml"), "{}", &text[..40.min(text.len())]);
        assert!(text.contains("spin_here"));
        assert!(
            text.contains("profile -F 99 &lt;x&gt;"),
            "the title is escaped XML"
        );
        assert!(text.contains("samples"));
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn no_lines_still_writes_a_picture() {
        let d = temp_dir("empty");
        let path = d.join("empty.svg");
        SvgFile::new(&path)
            .unwrap()
            .write("t", "samples", b"")
            .unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_paths_are_usage_errors() {
        let d = temp_dir("bad");
        for p in [d.clone(), d.join("missing/x.svg"), PathBuf::new()] {
            let e = SvgFile::new(&p).unwrap_err();
            assert_eq!(e.code(), crate::error::EXIT_USAGE, "{p:?}: {e}");
            assert!(e.message().starts_with("--svg "), "{e}");
        }
        assert!(SvgFile::new(Path::new("rel.svg")).is_ok());
        // A rename would make /dev/null a regular file (fresh-user trial); procfs takes no new
        // file, which the trace's end was the first to find.
        let e = SvgFile::new(Path::new("/dev/null")).unwrap_err();
        assert_eq!(
            e.message(),
            "--svg /dev/null: is a character device, not a regular file (it would be replaced)"
        );
        let e = SvgFile::new(Path::new("/proc/version")).unwrap_err();
        assert_eq!(e.code(), crate::error::EXIT_USAGE, "{e}");
        assert!(
            e.message().starts_with(&format!(
                "--svg /proc/version: cannot create /proc/.version.{}.tmp to rename over it: ",
                std::process::id()
            )),
            "{e}"
        );
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert!(left.is_empty(), "no probe file left: {left:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
