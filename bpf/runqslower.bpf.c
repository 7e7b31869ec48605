// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * runqslower: tasks that waited on a run queue longer than a threshold, one record each.
 * A task becomes runnable at sched_wakeup / sched_wakeup_new, or when it is switched out
 * still runnable (preempted); it stops waiting at the sched_switch that runs it. Each hook as
 * tp_btf (5.5+) or as a raw tracepoint; no kprobes or fentry.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "runqslower.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "sched.bpf.h"

/* min_us: only waits strictly longer are sent (as libbpf-tools). */
const volatile __u64 min_us = 10000;
/* The record is built on the stack; this constant puts its type in the object's BTF. */
const volatile struct runqslower_event runqslower_event_btf = {};

/* -p and -t test the task that waits, never current (its waker or the CPU's previous task). */
static __always_inline int enqueue(struct task_struct *p, bool direct)
{
	__u32 pid = TASK_READ(direct, p, pid);

	if (!pid)
		return 0;
	if (targ_tgid && TASK_READ(direct, p, tgid) != targ_tgid)
		return 0;
	if (targ_tid && pid != targ_tid)
		return 0;
	/* A full start map loses this wait, as in libbpf-tools (task storage, 6.4+, cannot fill). */
	ferro_sched_mark(p, pid, direct);
	return 0;
}

static __always_inline int switched(void *ctx, struct task_struct *prev, struct task_struct *next,
				    bool direct)
{
	struct runqslower_event e = {};
	__u64 start_ns, now;
	__u32 pid;

	if (ferro_task_state(prev, direct) == FERRO_TASK_RUNNING)
		enqueue(prev, direct);

	pid = TASK_READ(direct, next, pid);
	start_ns = ferro_sched_take(next, pid, direct);
	if (!start_ns)
		return 0;
	now = bpf_ktime_get_ns();
	if ((__s64)(now - start_ns) < 0)
		return 0;
	e.delta_us = (now - start_ns) / 1000;
	if (e.delta_us <= min_us)
		return 0;
	e.ts_ns = now;
	e.tid = pid;
	e.pid = TASK_READ(direct, next, tgid);
	e.prev_tid = TASK_READ(direct, prev, pid);
	e.cgroup_id = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
	if (ferro_cgroup_skipped(e.cgroup_id))
		return 0;
	BPF_CORE_READ_STR_INTO(&e.comm, next, comm);
	BPF_CORE_READ_STR_INTO(&e.prev_comm, prev, comm);
	ferro_emit(ctx, &e, sizeof(e));
	return 0;
}

#define WAKEUP_PROGS(tp)                                                      \
	SEC("tp_btf/" #tp)                                                    \
	int BPF_PROG(btf_##tp, struct task_struct *p)                         \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return enqueue(p, true);                                      \
	}                                                                     \
	SEC("raw_tp/" #tp)                                                    \
	int BPF_PROG(raw_##tp, struct task_struct *p)                         \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return enqueue(p, false);                                     \
	}

WAKEUP_PROGS(sched_wakeup)
WAKEUP_PROGS(sched_wakeup_new)

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	FERRO_FLOOR_GUARD();
	return switched(ctx, prev, next, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	FERRO_FLOOR_GUARD();
	return switched(ctx, prev, next, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
