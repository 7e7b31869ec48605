// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! The sleeper helper both test files run, and the readers of the tool's output.
// Each test file uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use testkit::TempDir;

/// The function whose two 300 ms sleeps the tests look for, and the one that sleeps 20 x 1 ms.
pub const LONG: &str = "ferro_offcpu_sleeper_marker";
pub const SHORT: &str = "ferro_offcpu_short_marker";
/// What the long function sleeps in all, in microseconds.
pub const LONG_US: u64 = 600_000;

/// The helper. nanosleep(2) is made in the helper's own code, not through libc: the kernel
/// walks the user stack by frame pointers, and libc's wrapper keeps none, which would hide
/// the function that called it. With `loop` it sleeps in the long function forever (the
/// container test); otherwise it waits for a byte on stdin, sleeps, prints `done` and stays
/// until stdin closes (a process that exited could not be symbolized).
const SLEEPER_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) static long ferro_nanosleep(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };
	long ret;
#if defined(__x86_64__)
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_nanosleep), "D"(&ts), "S"(0L)
			 : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = SYS_nanosleep;
	register long x0 __asm__("x0") = (long)&ts;
	register long x1 __asm__("x1") = 0;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
	ret = x0;
#else
	ret = nanosleep(&ts, NULL);
#endif
	return ret;
}

__attribute__((noinline)) void ferro_offcpu_sleeper_marker(int n)
{
	for (int i = 0; i < n; i++)
		ferro_nanosleep(300000000L);
}

__attribute__((noinline)) void ferro_offcpu_short_marker(int n)
{
	for (int i = 0; i < n; i++)
		ferro_nanosleep(1000000L);
}

int main(int argc, char **argv)
{
	char c;

	if (argc > 1 && !strcmp(argv[1], "loop"))
		for (;;)
			ferro_offcpu_sleeper_marker(1);
	if (read(0, &c, 1) != 1)
		return 1;
	ferro_offcpu_sleeper_marker(2);
	ferro_offcpu_short_marker(20);
	printf("done\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
"#;

/// The helper built in a fresh directory (`static`: linked statically, for a container that
/// has no C library of its own).
pub fn build_sleeper(dir: &TempDir, static_link: bool) -> PathBuf {
    let extra: &[&str] = if static_link { &["-static"] } else { &[] };
    testkit::compile_c_with(dir.path(), "offcpu_sleeper", SLEEPER_C, extra)
}

/// The text entries (blank-line separated blocks) of a run: frame lines, the `- COMM (TID)`
/// line, and the microseconds.
pub fn entries(out: &str) -> Vec<Vec<String>> {
    out.split("\n\n")
        .map(|b| {
            b.lines()
                .filter(|l| l.starts_with("    "))
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|b| b.len() >= 2)
        .collect()
}

/// Whether the text frame `frame` is the function `func`: the name alone, or with `-v`
/// `#N 0xADDR func+0xOFF (FILE+0xOFF)`.
pub fn is_frame(frame: &str, func: &str) -> bool {
    frame == func
        || frame
            .split_whitespace()
            .any(|w| w.strip_prefix(func).is_some_and(|r| r.starts_with("+0x")))
}

/// The microseconds of the entries whose frames include `func`, added up.
pub fn text_us(out: &str, func: &str) -> u64 {
    entries(out)
        .iter()
        .filter(|e| e.iter().any(|f| is_frame(f, func)))
        .filter_map(|e| e.last()?.parse::<u64>().ok())
        .sum()
}

/// The microseconds of the folded lines with frame `func`, added up.
pub fn folded_us(out: &str, func: &str) -> u64 {
    out.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(stack, _)| stack.split(';').any(|f| f == func))
        .filter_map(|(_, n)| n.parse::<u64>().ok())
        .sum()
}
