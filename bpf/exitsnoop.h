/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_EXITSNOOP_H
#define FERROSCOPE_EXITSNOOP_H

#include "limits.h"

/* One thread or process exit, from sched:sched_process_exit (in the exiting task's context). */
struct exitsnoop_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() at the exit (CLOCK_MONOTONIC) */
	__u64 start_ns; /* task->start_time: when the task was created (CLOCK_MONOTONIC) */
	__u64 cgroup_id; /* bpf_get_current_cgroup_id(): the cgroup v2 id (0 where unavailable) */
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid; /* real_parent->tgid */
	/*
	 * task->exit_code as wait(2) sees it: bits 8-15 the exit status, bits 0-6 the signal that
	 * killed the task, bit 7 a core dump.
	 */
	__u32 exit_code;
	__u8 comm[FERRO_COMM_LEN]; /* the exiting thread's comm */
};

#endif
