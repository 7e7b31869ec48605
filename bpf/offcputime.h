/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_OFFCPUTIME_H
#define FERROSCOPE_OFFCPUTIME_H

#include "limits.h"

/*
 * How --state compares the state a thread switched out in (its __state, or TASK_RUNNING when
 * it was preempted: the tracepoint's own prev_state) with targ_state.
 */
enum offcputime_state_match {
	/* No --state: every switch. */
	STATE_ANY = 0,
	/* --state N: libbpf-tools' equality, so 2 misses TASK_IDLE (0x402) and TASK_KILLABLE (0x102). */
	STATE_EQUAL = 1,
	/* --state-mask N: BCC's offcputime.py bitmask (state & N; 0 means TASK_RUNNING alone). */
	STATE_MASK = 2,
};

/*
 * One counted stack: the info map's key, as libbpf-tools' offcputime.h keys it. pid is the
 * thread ID (the CPU number for a CPU's idle task, whose thread ID is 0 on every CPU); stack
 * ids are bpf_get_stackid()'s (negative: an errno; -EFAULT for a kernel thread's user stack or a
 * stack not collected).
 */
struct offcputime_key {
	__u32 pid;
	__u32 tgid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
};

/* The info map's value: off-CPU time in microseconds, and who the thread was when counted. */
struct offcputime_val {
	__u64 delta;
	/* The thread's cgroup v2 id (--containers, --container, --json). */
	__u64 cgroup_id;
	__u8 comm[FERRO_COMM_LEN];
};

#endif
