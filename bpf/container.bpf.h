/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * --container ID in the kernel: a skip list of cgroups whose events user space has no use
 * for. User space (common::container::Containers) classifies each cgroup v2 id the first
 * time an event from it comes up; an id that resolves to a host cgroup or to another
 * container goes into ferro_skip_cgroups, and from then on the programs drop that cgroup's
 * events before they reserve buffer space or store per-request state. A cgroup that matches,
 * or that cannot be resolved yet, is never put here, so a container started after the tool
 * (a new cgroup, hence unknown) still gets its first event up to user space and is kept.
 *
 * A full map is not an error: user space still filters whatever the kernel lets through.
 * Off (filter_container false, its rodata default) the verifier drops the lookup, so tools
 * without --container pay nothing per event. Hash map and bpf_get_current_cgroup_id(): kernel 4.18+.
 * Include once, from a tool's .bpf.c (filter.bpf.h includes it).
 */
#ifndef FERROSCOPE_CONTAINER_BPF_H
#define FERROSCOPE_CONTAINER_BPF_H

#include <bpf/bpf_helpers.h>

/* How many cgroups the skip list holds (common::container::SkipList::capacity reads it back). */
#define FERRO_SKIP_CGROUPS_MAX 8192

/* --container was given: consult the skip list. */
const volatile bool filter_container = false;

/*
 * cgroup v2 id -> 1; entries are only ever added from user space. Preallocated, as hash maps
 * used by tracing programs must be before 6.1 (perf-event programs are refused otherwise);
 * without --container user space shrinks it to one entry (common::container::size_skip_list).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FERRO_SKIP_CGROUPS_MAX);
	__type(key, __u64);
	__type(value, __u8);
} ferro_skip_cgroups SEC(".maps");

/* Events the skip list dropped, per CPU (shown by -v). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ferro_skipped SEC(".maps");

/*
 * Should the event of cgroup `cgroup_id` be dropped here? Only with --container, and only
 * for a cgroup user space put in the skip list; counts what it drops. Where taking the id
 * costs a call, test filter_container before taking it.
 */
static __always_inline bool ferro_cgroup_skipped(__u64 cgroup_id)
{
	__u32 zero = 0;
	__u64 *n;

	if (!filter_container || !bpf_map_lookup_elem(&ferro_skip_cgroups, &cgroup_id))
		return false;
	n = bpf_map_lookup_elem(&ferro_skipped, &zero);
	if (n)
		*n += 1;
	return true;
}

#endif
