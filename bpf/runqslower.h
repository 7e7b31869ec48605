/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_RUNQSLOWER_H
#define FERROSCOPE_RUNQSLOWER_H

#include "limits.h"

/* A task that waited on a run queue longer than the threshold, sent from sched_switch. */
struct runqslower_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() when it got the CPU (CLOCK_MONOTONIC) */
	__u64 delta_us; /* runnable (woken, or preempted) -> running, microseconds */
	__u64 cgroup_id; /* the waiting task's cgroup v2 id (not current's: current is the previous task) */
	__u32 pid; /* the waiting task's tgid */
	__u32 tid; /* the waiting task's pid (thread id) */
	__u32 prev_tid; /* the task switched out (-P) */
	__u32 pad;
	__u8 comm[FERRO_COMM_LEN]; /* the waiting task's comm */
	__u8 prev_comm[FERRO_COMM_LEN];
};

#endif
