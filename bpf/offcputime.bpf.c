// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * offcputime: how long threads stay off a CPU, added up per stack they left it with. At
 * sched_switch the thread switching out (prev, the current task: its stacks are the ones
 * bpf_get_stackid() takes) is stamped with the time and its stack ids; when it switches back
 * in (next) the time since is added to the info entry of those stacks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "floor.bpf.h"
#include "offcputime.h"
#include "sched.bpf.h"
#include "stacks.bpf.h"
#include "container.bpf.h"

/* include/linux/sched.h; the same value since 2.6. */
#define PF_KTHREAD 0x00200000
#define FERRO_EFAULT 14

/* -p and -t: the tgids and tids maps hold the IDs wanted (both must match when both given). */
const volatile bool filter_tgids = false;
const volatile bool filter_tids = false;
/* -u, -k: by PF_KTHREAD, as libbpf-tools. */
const volatile bool user_threads_only = false;
const volatile bool kernel_threads_only = false;
/* -U, -K: take only one of the two stacks (each walk costs time at every switch). */
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
/* -m, -M in microseconds, both included, as libbpf-tools. */
const volatile __u64 min_block_us = 1;
const volatile __u64 max_block_us = ~0ULL;
const volatile enum offcputime_state_match state_match = STATE_ANY;
const volatile long targ_state = 0;
/* The tool's own process (set by common::lifecycle::open): its waits are not the user's. */
const volatile __u32 ferro_self_tgid = 0;

/* Off-CPU periods lost: no room to stamp the thread, or no room for a new stack's entry. */
__u64 starts_full = 0;
__u64 info_full = 0;

/* Thread IDs stay below PID_MAX_LIMIT (2^22): the top bit marks a CPU's idle task. */
#define IDLE_KEY 0x80000000U

/* What a thread switching out leaves until it switches back in. */
struct offcputime_start {
	__u64 ts;
	struct offcputime_key key;
};

/*
 * The stamps, in a hash map keyed by thread ID (IDLE_KEY | CPU for an idle task) or in task
 * storage (tp_btf on 6.4+; see sched.bpf.h's use_task_storage, which user space sets). The
 * u64 stamps of sched.bpf.h cannot hold the stack ids, so its two maps are left uncreated.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct offcputime_start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcputime_start);
} starts_task SEC(".maps");

/* Off-CPU time per thread and stacks (libbpf-tools' info map, 10240 entries). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct offcputime_key);
	__type(value, struct offcputime_val);
} info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} tids SEC(".maps");

static __always_inline __u32 start_key(__u32 pid)
{
	return pid ? pid : IDLE_KEY | bpf_get_smp_processor_id();
}

/* Is `prev`, switching out in `state`, a thread whose off-CPU time the options want? */
static __always_inline bool wanted(struct task_struct *prev, __u32 pid, __u32 tgid, long state,
				   bool direct)
{
	if (ferro_self_tgid && tgid == ferro_self_tgid)
		return false;
	if (filter_tgids && !bpf_map_lookup_elem(&tgids, &tgid))
		return false;
	if (filter_tids && !bpf_map_lookup_elem(&tids, &pid))
		return false;
	/*
	 * --container: a cgroup user space found to be another's (common::container::Sweep) is
	 * dropped before its stacks are walked and stored (the stack map never frees one). At
	 * sched_switch the current task is still prev, so its cgroup is the current one.
	 */
	if (filter_container && ferro_cgroup_skipped(bpf_get_current_cgroup_id()))
		return false;
	if (user_threads_only || kernel_threads_only) {
		bool kthread = TASK_READ(direct, prev, flags) & PF_KTHREAD;

		if (kthread ? user_threads_only : kernel_threads_only)
			return false;
	}
	switch (state_match) {
	case STATE_EQUAL:
		return state == targ_state;
	case STATE_MASK:
		return targ_state ? (state & targ_state) != 0 : state == 0;
	default:
		return true;
	}
}

/* Stamp `prev` with the time now and the stacks it is leaving the CPU with. */
static __always_inline void stamp(void *ctx, struct task_struct *prev, __u32 pid, __u32 tgid,
				  bool direct)
{
	struct offcputime_start s = {};
	__u32 key = start_key(pid);

	/* libbpf-tools' key: an idle task is known by its CPU. */
	s.key.pid = pid ? pid : bpf_get_smp_processor_id();
	s.key.tgid = tgid;
	s.key.user_stack_id = -FERRO_EFAULT;
	s.key.kern_stack_id = -FERRO_EFAULT;
	if (user_stacks && !(TASK_READ(direct, prev, flags) & PF_KTHREAD))
		s.key.user_stack_id = ferro_stack_id(ctx, BPF_F_USER_STACK);
	if (kernel_stacks)
		s.key.kern_stack_id = ferro_stack_id(ctx, 0);
	s.ts = bpf_ktime_get_ns();

	if (direct && use_task_storage) {
		struct offcputime_start *sp;

		sp = bpf_task_storage_get(&starts_task, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!sp) {
			__sync_fetch_and_add(&starts_full, 1);
			return;
		}
		*sp = s;
		return;
	}
	if (bpf_map_update_elem(&starts, &key, &s, BPF_ANY))
		__sync_fetch_and_add(&starts_full, 1);
}

/* `next`'s stamp, forgotten once read; false if it has none. */
static __always_inline bool take(struct task_struct *next, __u32 pid, struct offcputime_start *s,
				 bool direct)
{
	struct offcputime_start *sp;
	__u32 key = start_key(pid);

	if (direct && use_task_storage) {
		sp = bpf_task_storage_get(&starts_task, next, 0, 0);
		if (!sp || !sp->ts)
			return false;
		*s = *sp;
		sp->ts = 0;
		return true;
	}
	sp = bpf_map_lookup_elem(&starts, &key);
	if (!sp)
		return false;
	*s = *sp;
	bpf_map_delete_elem(&starts, &key);
	return true;
}

/* Add the time since `next`'s stamp to its stacks' entry, made here on first use. */
static __always_inline void count(struct task_struct *next, struct offcputime_start *s)
{
	struct offcputime_val *v, fresh = {};
	__u64 delta = bpf_ktime_get_ns() - s->ts;

	if ((__s64)delta < 0)
		return;
	delta /= 1000U;
	if (delta < min_block_us || delta > max_block_us)
		return;
	v = bpf_map_lookup_elem(&info, &s->key);
	if (!v) {
		/*
		 * Made only when a period counts, unlike libbpf-tools (which makes it at every
		 * switch out): periods below -m never fill the map.
		 */
		BPF_CORE_READ_STR_INTO(&fresh.comm, next, comm);
		fresh.cgroup_id = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
		bpf_map_update_elem(&info, &s->key, &fresh, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&info, &s->key);
		if (!v) {
			__sync_fetch_and_add(&info_full, 1);
			return;
		}
	}
	__sync_fetch_and_add(&v->delta, delta);
}

static __always_inline int switched(void *ctx, bool preempt, struct task_struct *prev,
				    struct task_struct *next, bool direct)
{
	struct offcputime_start s;
	/* As the tracepoint reports it: a preempted thread is still runnable. */
	long state = preempt ? FERRO_TASK_RUNNING : ferro_task_state(prev, direct);
	__u32 pid = TASK_READ(direct, prev, pid);
	__u32 tgid = TASK_READ(direct, prev, tgid);

	/* A dying thread never comes back: its stamp would stay in the hash map for good. */
	if (!(state & FERRO_TASK_DEAD) && wanted(prev, pid, tgid, state, direct))
		stamp(ctx, prev, pid, tgid, direct);

	pid = TASK_READ(direct, next, pid);
	if (take(next, pid, &s, direct))
		count(next, &s);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	FERRO_FLOOR_GUARD();
	return switched(ctx, preempt, prev, next, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	FERRO_FLOOR_GUARD();
	return switched(ctx, preempt, prev, next, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
