/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_OOMKILL_H
#define FERROSCOPE_OOMKILL_H

#include "limits.h"

/* Which hook made the record: it decides which fields are known (see struct oomkill_event). */
enum oomkill_hook {
	/* kprobe:oom_kill_process (libbpf-tools' hook): every field. */
	OOMKILL_KPROBE = 0,
	/* tp_btf/mark_victim with the victim's task (kernels whose tracepoint passes it): no pages. */
	OOMKILL_TP_BTF = 1,
	/* the classic oom:mark_victim tracepoint: no pages; tpid is the victim thread's id. */
	OOMKILL_TRACEPOINT = 2,
} __attribute__((packed));

/*
 * One OOM kill. The "trigger" is the task that ran the OOM killer (the one whose allocation
 * failed: `current` at either hook), the "victim" the task chosen to be killed.
 */
struct oomkill_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() at the hook (CLOCK_MONOTONIC) */
	/*
	 * oc->totalpages: the pages of the OOM domain the victim was chosen in (RAM + swap for a
	 * system-wide OOM, the memory cgroup's limit for a memcg OOM). kprobe path only; 0 else.
	 */
	__u64 pages;
	/*
	 * cgroup v2 id: the victim's (task->cgroups->dfl_cgrp) on the kprobe and tp_btf paths,
	 * the trigger's (bpf_get_current_cgroup_id) on the classic tracepoint, which has no task.
	 */
	__u64 cgroup_id;
	__u32 fpid; /* trigger tgid */
	/*
	 * victim tgid (kprobe, tp_btf); the classic tracepoint's pid field, the victim thread's id,
	 * which is the process id unless its main thread had already exited
	 */
	__u32 tpid;
	enum oomkill_hook hook;
	__u8 tcomm_known; /* tcomm holds the victim's comm (old kernels' tracepoint, 5.10's, has only pid) */
	__u8 _pad[6];
	__u8 fcomm[FERRO_COMM_LEN]; /* trigger's comm */
	__u8 tcomm[FERRO_COMM_LEN]; /* victim's comm */
};

#endif
