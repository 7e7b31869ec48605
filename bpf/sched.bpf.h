/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the scheduler tools share: one time stamp per task, kept from one scheduler event until
 * a later one takes it (runqlat, runqslower: when the task became runnable, at sched_wakeup,
 * sched_wakeup_new, or preempted at sched_switch while still runnable, until sched_switch runs
 * it; cpudist: when it went on or off a CPU), and the task state read across its 5.14 rename.
 * Include once, from a tool's .bpf.c, after vmlinux.h.
 */
#ifndef FERROSCOPE_SCHED_BPF_H
#define FERROSCOPE_SCHED_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define FERRO_TASK_RUNNING 0
/* A task switching out for the last time (do_task_dead(); 0x80 since 4.14, include/linux/sched.h). */
#define FERRO_TASK_DEAD 0x80

/* tp_btf programs may load through a task pointer directly (a BTF pointer); raw_tp ones must copy. */
#define TASK_READ(direct, t, field) ((direct) ? (t)->field : BPF_CORE_READ(t, field))

/* task_struct's state became __state in 5.14 (commit 2f064a59a11f). */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long ferro_task_state(struct task_struct *t, bool direct)
{
	if (bpf_core_field_exists(t->__state))
		return direct ? t->__state : BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/*
 * Wakeup times in task-local storage rather than the `start` hash: no hashing
 * and no bucket lock per event. User space sets it only on tp_btf (the storage
 * helpers need a trusted task pointer) and only where the kernel allocates
 * that storage without taking locks (bpf_mem_alloc, 6.4+): the first wakeup of
 * a task allocates while the runqueue lock is held, and an allocation that
 * can wake kswapd there can deadlock on that lock.
 */
const volatile bool use_task_storage = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} start_task SEC(".maps");

/*
 * Stamp `p` with the time now (runqlat: it became runnable); `pid` is its key in the `start`
 * hash map (its thread ID; cpudist keys idle tasks by CPU). False if there was no room for it.
 */
static __always_inline bool ferro_sched_mark(struct task_struct *p, __u32 pid, bool direct)
{
	__u64 ts = bpf_ktime_get_ns();

	if (direct && use_task_storage) {
		__u64 *tsp = bpf_task_storage_get(&start_task, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (!tsp)
			return false;
		*tsp = ts;
		return true;
	}
	return bpf_map_update_elem(&start, &pid, &ts, BPF_ANY) == 0;
}

/* `next`'s time stamp (key `pid`), forgotten once read; 0 if it has none. */
static __always_inline __u64 ferro_sched_take(struct task_struct *next, __u32 pid, bool direct)
{
	__u64 *tsp, ts;

	if (direct && use_task_storage) {
		tsp = bpf_task_storage_get(&start_task, next, 0, 0);
		if (!tsp)
			return 0;
		ts = *tsp;
		*tsp = 0;
		return ts;
	}
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	ts = *tsp;
	bpf_map_delete_elem(&start, &pid);
	return ts;
}

#endif
