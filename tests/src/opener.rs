// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! A child process that opens one path a given number of times when told to: a burst of
//! open(2) events from one PID, so that a tool can be started with `-p` on it first.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::compile_c;

/// Opens `argv[1]` read-only `argv[2]` times once a byte arrives on stdin, then exits.
const OPENER: &str = r#"
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char c;
    if (argc != 3 || read(0, &c, 1) != 1)
        return 2;
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd >= 0)
            close(fd);
    }
    return 0;
}
"#;

/// The opener process, waiting for [`Opener::go`].
pub struct Opener(Child);

impl Opener {
    /// Compile the opener in `dir` and start it; it will open `path` `n` times.
    pub fn new(dir: &Path, path: &Path, n: u64) -> Self {
        let bin = compile_c(dir, "opener", OPENER);
        Self(
            Command::new(bin)
                .arg(path)
                .arg(n.to_string())
                .stdin(Stdio::piped())
                .spawn()
                .expect("start the opener"),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Let it open, and wait until it is done.
    pub fn go(mut self) {
        self.0
            .stdin
            .take()
            .expect("stdin piped")
            .write_all(b"x")
            .expect("tell the opener to go");
        let st = self.0.wait().expect("wait for the opener");
        assert!(st.success(), "opener: {st}");
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        // Only an opener never told to go is still running.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
