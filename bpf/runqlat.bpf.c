// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* runqlat: time tasks spend runnable, waiting for a CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bits.bpf.h"
#include "runqlat.h"
#include "floor.bpf.h"
#include "container.bpf.h"
#include "sched.bpf.h"

/* How histograms are keyed. */

const volatile enum runqlat_key key_by = KEY_ALL;
const volatile bool targ_ms = false;
const volatile __u32 targ_tgid = 0;
const volatile __u64 targ_cgid = 0;
const volatile int targ_cg_level = 0;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* a PID, TID, PID namespace or cgroup id */
	__type(value, struct runqlat_hist);
} hists SEC(".maps");

/* Histograms keyed by nothing (the default) or by CPU: one per-CPU entry, summed in user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct runqlat_hist);
} hist_cpu SEC(".maps");

static struct runqlat_hist zero_hist;

/*
 * Filters test `p`, the task whose wait is measured, never `current` (the waker).
 * `cg` (the cgroup filter) and `ns` (keys by PID namespace) are constants in
 * each program: the features' CO-RE relocations are then only in the programs
 * that use them, and libbpf relocates only the programs it loads. Every
 * distinct CO-RE type costs a scan of all vmlinux BTF at start-up.
 */
static __always_inline int enqueue(struct task_struct *p, bool cg, bool direct)
{
	__u32 pid = TASK_READ(direct, p, pid);

	if (!pid)
		return 0;
	if (targ_tgid && TASK_READ(direct, p, tgid) != targ_tgid)
		return 0;
	if (cg && !ferro_task_in_cgroup(p, targ_cgid, targ_cg_level))
		return 0;
	if (!ferro_sched_mark(p, pid, direct))
		__sync_fetch_and_add(&start_full, 1);
	return 0;
}

static __always_inline __u32 pidns_of(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & 31]);
	return BPF_CORE_READ(up.ns, ns.inum);
}

static __always_inline int switched(struct task_struct *prev, struct task_struct *next, bool cg,
				    bool ns, bool direct)
{
	struct runqlat_hist *h;
	bool fresh;
	__u64 start_ns, delta, key = 0;
	__u32 pid, zero = 0;

	if (ferro_task_state(prev, direct) == FERRO_TASK_RUNNING)
		enqueue(prev, cg, direct);

	pid = TASK_READ(direct, next, pid);
	start_ns = ferro_sched_take(next, pid, direct);
	if (!start_ns)
		return 0;
	delta = bpf_ktime_get_ns() - start_ns;
	if ((__s64)delta < 0)
		return 0;
	delta /= targ_ms ? 1000000U : 1000U;

	if (key_by == KEY_ALL || key_by == KEY_CPU) {
		h = bpf_map_lookup_elem(&hist_cpu, &zero);
		if (h)
			FERRO_HIST_ADD_CPU(h, delta, RUNQLAT_MAX_SLOTS);
		return 0;
	}

	switch (key_by) {
	case KEY_PROCESS:
		key = TASK_READ(direct, next, tgid);
		break;
	case KEY_THREAD:
		key = pid;
		break;
	case KEY_PIDNS:
		key = ns ? pidns_of(next) : 0;
		break;
	case KEY_CGROUP:
		/* The waiting task's, not current's (the waker or the CPU's previous task). */
		key = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
		if (ferro_cgroup_skipped(key))
			return 0;
		break;
	default: /* KEY_ALL and KEY_CPU returned above */
		break;
	}
	h = ferro_hist_get(&hists, &key, &zero_hist, &fresh);
	if (!h)
		return 0;
	if (fresh) {
		/* A process is named by its leader, not whichever thread waited first. */
		if (key_by == KEY_PROCESS)
			BPF_CORE_READ_STR_INTO(&h->comm, next, group_leader, comm);
		else
			BPF_CORE_READ_STR_INTO(&h->comm, next, comm);
	}
	FERRO_HIST_ADD(h, delta, RUNQLAT_MAX_SLOTS);
	return 0;
}

/* Each hook as tp_btf (5.5+) and as a raw tracepoint, for every feature set. */
#define WAKEUP_PROGS(tp, suffix, cg)                                          \
	SEC("tp_btf/" #tp)                                                    \
	int BPF_PROG(btf_##tp##suffix, struct task_struct *p)                 \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return enqueue(p, cg, true);                                  \
	}                                                                     \
	SEC("raw_tp/" #tp)                                                    \
	int BPF_PROG(raw_##tp##suffix, struct task_struct *p)                 \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return enqueue(p, cg, false);                                 \
	}

#define SWITCH_PROGS(suffix, cg, ns)                                          \
	SEC("tp_btf/sched_switch")                                            \
	int BPF_PROG(btf_sched_switch##suffix, bool preempt,                  \
		     struct task_struct *prev, struct task_struct *next)      \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return switched(prev, next, cg, ns, true);                    \
	}                                                                     \
	SEC("raw_tp/sched_switch")                                            \
	int BPF_PROG(raw_sched_switch##suffix, bool preempt,                  \
		     struct task_struct *prev, struct task_struct *next)      \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return switched(prev, next, cg, ns, false);                   \
	}

WAKEUP_PROGS(sched_wakeup, , false)
WAKEUP_PROGS(sched_wakeup, _cg, true)
WAKEUP_PROGS(sched_wakeup_new, , false)
WAKEUP_PROGS(sched_wakeup_new, _cg, true)
SWITCH_PROGS(, false, false)
SWITCH_PROGS(_cg, true, false)
SWITCH_PROGS(_ns, false, true)
SWITCH_PROGS(_cg_ns, true, true)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
