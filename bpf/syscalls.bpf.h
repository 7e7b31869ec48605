/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Records of the syscalls:sys_enter_* and sys_exit_* tracepoints. Their layout
 * is a fixed ABI (include/trace/events/syscalls.h: the 8-byte common header,
 * the syscall number, then six argument slots or the return value), so these
 * local definitions are read without CO-RE. That is deliberate: for every
 * distinct CO-RE type a program uses, libbpf scans all of vmlinux BTF (about
 * 150,000 types, roughly a millisecond each) while loading, and start-up time
 * is something users of a troubleshooting tool notice.
 */
#ifndef FERROSCOPE_SYSCALLS_BPF_H
#define FERROSCOPE_SYSCALLS_BPF_H

struct ferro_sys_enter {
	__u64 common;
	int nr;
	unsigned long args[6];
};

struct ferro_sys_exit {
	__u64 common;
	int nr;
	long ret;
};

#endif
