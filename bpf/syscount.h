/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_SYSCOUNT_H
#define FERROSCOPE_SYSCOUNT_H

#include "limits.h"

/*
 * The per-syscall counters are one per-CPU array: slot `nr` for the syscall numbered `nr` of the
 * native table (x86_64: arch/x86/entry/syscalls/syscall_64.tbl, arm64: the generic table), slot
 * SYSCOUNT_IDS + nr for a compat (32-bit) task's syscall `nr` of the compat table (x86: i386's
 * syscall_32.tbl). Both tables end below 470 in 6.18: numbers from SYSCOUNT_IDS up (x32's
 * 0x40000000 | nr) are counted in `ids_beyond` instead.
 */
enum syscount_limit {
	SYSCOUNT_IDS = 1024,
	SYSCOUNT_SLOTS = 2048,
	/* Processes counted at once with -P (the `procs` hash map). */
	SYSCOUNT_PROCS = 10240,
	/* Threads inside a syscall at once with -L (the `start` hash map). */
	SYSCOUNT_THREADS = 16384,
	/*
	 * --containers, --container: (cgroup, syscall) or, with -P, (cgroup, process) pairs
	 * counted at once (the `cgroups` hash map). User space deletes a pair that counted
	 * nothing for a whole reading (a second), so only those active within a second or so
	 * take room.
	 */
	SYSCOUNT_CGROUP_KEYS = 16384,
};

/* What the counts are kept per (rodata key_by). */
enum syscount_key {
	KEY_SYSCALL = 0,
	/* -P: the process (tgid), named by its leader's comm. */
	KEY_PROCESS = 1,
};

/*
 * --containers, --container: what the counters are kept per instead, in the `cgroups` hash
 * map (whose values are struct syscount_proc, comm set with -P only).
 */
struct syscount_cgroup_key {
	/* The cgroup v2 id of the task that made the syscall (bpf_get_current_cgroup_id()). */
	__u64 cgroup_id;
	/* The syscall's slot (as in the per-syscall array), or with -P the process (tgid). */
	__u32 id;
	__u32 pad;
};

/* One syscall's counters on one CPU (per-CPU array slot). They only grow. */
struct syscount_counts {
	__u64 count;
	/* -L: nanoseconds from sys_enter to sys_exit, summed. */
	__u64 total_ns;
};

/*
 * One process's counters (-P), shared by every CPU: updated atomically. They only grow. Also
 * the value of a (cgroup, syscall) or (cgroup, process) pair of --containers.
 */
struct syscount_proc {
	__u64 count;
	__u64 total_ns;
	/* The leader's comm, read when the entry is made and after every execve. */
	__u8 comm[FERRO_COMM_LEN];
};

#endif
