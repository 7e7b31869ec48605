/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_KILLSNOOP_H
#define FERROSCOPE_KILLSNOOP_H

#include "limits.h"

/* The syscall that sent the signal. Packed: one byte of the record. */
enum killsnoop_syscall {
	KILLSNOOP_KILL = 0,
	KILLSNOOP_TKILL = 1,
	KILLSNOOP_TGKILL = 2,
} __attribute__((packed));

/* One kill(2), tkill(2) or tgkill(2) call, from its syscall entry and exit tracepoints. */
struct killsnoop_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() at syscall exit (CLOCK_MONOTONIC) */
	__u64 cgroup_id; /* cgroup v2 id of the sender (bpf_get_current_cgroup_id, 4.18) */
	__u32 pid; /* sender tgid */
	__u32 tid; /* sender thread */
	__s32 tpid; /* the target argument as passed: kill's pid (<= 0: a group), tkill's and tgkill's tid */
	__s32 sig;
	__s32 ret; /* 0, or the negative errno (-3 ESRCH, -1 EPERM) */
	enum killsnoop_syscall syscall;
	__u8 tcomm_known; /* tcomm holds the target's comm (bpf_task_from_pid, 6.2) */
	__u8 _pad[2];
	__u8 comm[FERRO_COMM_LEN];
	__u8 tcomm[FERRO_COMM_LEN];
};

#endif
