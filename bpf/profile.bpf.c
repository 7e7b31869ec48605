// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * profile: count the stacks found running at each tick of a perf event (cpu-clock, or CPU
 * cycles where the machine has a PMU) opened by user space on every CPU.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "profile.h"
#include "stacks.bpf.h"
#include "container.bpf.h"

/* -p and -L: only the processes / threads in `pids` / `tids`. */
const volatile bool filter_pids = false;
const volatile bool filter_tids = false;
/* -K leaves user stacks out, -U kernel stacks. */
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
/* -I: the idle tasks (thread id 0) too. */
const volatile bool include_idle = false;
/* --containers/--container: key by cgroup too. */
const volatile bool by_cgroup = false;
/* A key type in BTF for the skeleton's Rust types. */
const volatile struct profile_key profile_key_btf;

/* Samples dropped because `counts` was full (read by user space at the end). */
__u64 counts_full = 0;

/* Sized by user space to the -p / -L lists. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} tids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILE_MAX_ENTRIES);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct profile_key key = {};
	__u64 one = 1, *count;

	if (!tid && !include_idle)
		return 0;
	if (filter_pids && !bpf_map_lookup_elem(&pids, &tgid))
		return 0;
	if (filter_tids && !bpf_map_lookup_elem(&tids, &tid))
		return 0;

	key.pid = tgid;
	if (by_cgroup) {
		key.cgroup_id = bpf_get_current_cgroup_id();
		/*
		 * --container: a cgroup user space found to be another's (common::container::Sweep)
		 * is dropped before its stacks are walked and stored: the stack map never frees one.
		 */
		if (ferro_cgroup_skipped(key.cgroup_id))
			return 0;
	}
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.user_stack_id = user_stacks ? ferro_stack_id(ctx, BPF_F_USER_STACK) : FERRO_NO_STACK;
	key.kern_stack_id = kernel_stacks ? ferro_stack_id(ctx, 0) : FERRO_NO_STACK;

	count = bpf_map_lookup_elem(&counts, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	/* Another CPU may have created it since the lookup: then add to its entry. */
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&counts, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
		else
			__sync_fetch_and_add(&counts_full, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
