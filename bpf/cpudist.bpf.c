// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* cpudist: how long tasks run on a CPU each time (on-CPU), or stay off one (off-CPU, -O). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bits.bpf.h"
#include "cpudist.h"
#include "floor.bpf.h"
#include "container.bpf.h"
#include "sched.bpf.h"

const volatile enum cpudist_key key_by = KEY_ALL;
/* -O: time from switching out to switching back in, instead of the time in between. */
const volatile bool targ_offcpu = false;
/*
 * On-CPU time ends at every switch (BCC's cpudist), not only at preemption. libbpf-tools
 * counts a run only when the task is still TASK_RUNNING as it switches out, so every run
 * that ends in a sleep, I/O wait or lock is left out; that stays the default.
 */
const volatile bool targ_all_switches = false;
/* Leave the idle tasks (PID 0) out, as BCC's cpudist does unless given -I. */
const volatile bool targ_no_idle = false;
const volatile bool targ_ms = false;
const volatile __u32 targ_tgid = 0;
const volatile __u64 targ_cgid = 0;
const volatile int targ_cg_level = 0;

/*
 * The start map's key for an idle task: every CPU has its own, all with PID 0. Keyed by PID
 * alone (as libbpf-tools does) one CPU's idle task would take the time stamp another's left.
 * PIDs stay below PID_MAX_LIMIT (2^22), so the top bit is free.
 */
#define IDLE_KEY 0x80000000U

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* a PID, TID or cgroup id */
	__type(value, struct cpudist_hist);
} hists SEC(".maps");

/* The histogram of the default mode: one per-CPU entry, summed in user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpudist_hist);
} hist_cpu SEC(".maps");

static struct cpudist_hist zero_hist;

static __always_inline __u32 start_key(__u32 pid)
{
	return pid ? pid : IDLE_KEY | bpf_get_smp_processor_id();
}

/*
 * Stamp `t` (switching in for on-CPU time, out for off-CPU time) if its time is wanted. The
 * filters are tested here only: a task never stamped is never counted. They test `t`, the
 * task measured, never `current` (libbpf-tools tests current's cgroup, which at sched_switch
 * is the task switching out whichever is measured). `cg` is a constant in each program, so
 * the cgroup test's CO-RE relocations are only in the programs that use it.
 */
static __always_inline void stamp(struct task_struct *t, bool cg, bool direct)
{
	__u32 pid = TASK_READ(direct, t, pid);

	if (!pid && targ_no_idle)
		return;
	if (targ_tgid && TASK_READ(direct, t, tgid) != targ_tgid)
		return;
	if (cg && !ferro_task_in_cgroup(t, targ_cgid, targ_cg_level))
		return;
	if (!ferro_sched_mark(t, start_key(pid), direct))
		__sync_fetch_and_add(&start_full, 1);
}

/* Count the time since `t`'s stamp `start_ns` in its histogram. */
static __always_inline void count(struct task_struct *t, __u32 pid, __u64 start_ns, bool direct)
{
	struct cpudist_hist *h;
	bool fresh;
	__u64 delta, key = 0;
	__u32 zero = 0;

	delta = bpf_ktime_get_ns() - start_ns;
	if ((__s64)delta < 0)
		return;
	delta /= targ_ms ? 1000000U : 1000U;

	if (key_by == KEY_ALL) {
		h = bpf_map_lookup_elem(&hist_cpu, &zero);
		if (h)
			FERRO_HIST_ADD_CPU(h, delta, CPUDIST_MAX_SLOTS);
		return;
	}

	switch (key_by) {
	case KEY_PROCESS:
		key = TASK_READ(direct, t, tgid);
		break;
	case KEY_THREAD:
		key = pid;
		break;
	case KEY_CGROUP:
		key = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
		if (ferro_cgroup_skipped(key))
			return;
		break;
	default: /* KEY_ALL returned above */
		break;
	}
	h = ferro_hist_get(&hists, &key, &zero_hist, &fresh);
	if (!h)
		return;
	if (fresh) {
		/* A process is named by its leader, not whichever thread ran first. */
		if (key_by == KEY_PROCESS)
			BPF_CORE_READ_STR_INTO(&h->comm, t, group_leader, comm);
		else
			BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
	}
	FERRO_HIST_ADD(h, delta, CPUDIST_MAX_SLOTS);
}

static __always_inline int switched(struct task_struct *prev, struct task_struct *next, bool cg,
				    bool direct)
{
	long state = ferro_task_state(prev, direct);
	__u32 prev_pid = TASK_READ(direct, prev, pid);
	__u32 next_pid = TASK_READ(direct, next, pid);
	__u64 ts;

	if (targ_offcpu) {
		/* A dying task never comes back: its stamp would stay in the hash map for good. */
		if (!(state & FERRO_TASK_DEAD))
			stamp(prev, cg, direct);
		ts = ferro_sched_take(next, start_key(next_pid), direct);
		if (ts)
			count(next, next_pid, ts, direct);
		return 0;
	}
	/* Taken whether counted or not, so the hash map holds only the tasks on a CPU now. */
	ts = ferro_sched_take(prev, start_key(prev_pid), direct);
	if (ts && (targ_all_switches || state == FERRO_TASK_RUNNING))
		count(prev, prev_pid, ts, direct);
	stamp(next, cg, direct);
	return 0;
}

/* sched_switch as tp_btf (5.5+) and as a raw tracepoint, with and without the cgroup test. */
#define SWITCH_PROGS(suffix, cg)                                              \
	SEC("tp_btf/sched_switch")                                            \
	int BPF_PROG(btf_sched_switch##suffix, bool preempt,                  \
		     struct task_struct *prev, struct task_struct *next)      \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return switched(prev, next, cg, true);                        \
	}                                                                     \
	SEC("raw_tp/sched_switch")                                            \
	int BPF_PROG(raw_sched_switch##suffix, bool preempt,                  \
		     struct task_struct *prev, struct task_struct *next)      \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return switched(prev, next, cg, false);                       \
	}

SWITCH_PROGS(, false)
SWITCH_PROGS(_cg, true)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
