/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The filters every tool has: -p (process), -t (thread), -u (user) and --cgroup,
 * set by user space in rodata before load (0/false: no filter), the cgroup map
 * user space puts the --cgroup directory in (common::cgroup::CgroupV2::install),
 * and one test of the current task, which also applies --container's skip list
 * (container.bpf.h) to the current task's cgroup. Include once, from a tool's .bpf.c.
 */
#ifndef FERROSCOPE_FILTER_BPF_H
#define FERROSCOPE_FILTER_BPF_H

#include <bpf/bpf_helpers.h>
#include "container.bpf.h"

const volatile __u32 targ_tgid = 0;
const volatile __u32 targ_tid = 0;
const volatile bool filter_uid = false;
const volatile __u32 targ_uid = 0;
const volatile bool filter_cgroup = false;
/*
 * The tool's own process, set for every tool by common::lifecycle::open (found by
 * name in the BTF): its own activity is never an event. Reporting it can feed on
 * itself (opensnoop -c opens /proc/PID/maps to name each record's callers, and
 * each of those opens is a new record) and tells the user nothing about the
 * system. libbpf-tools does not exclude itself; of its tools only opensnoop
 * shows its own opens, which no recipe relies on.
 */
const volatile __u32 ferro_self_tgid = 0;

/* Slot 0: the --cgroup directory, for bpf_current_task_under_cgroup(). */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

/* The current task is in the --cgroup directory or below it. */
static __always_inline bool ferro_in_cgroup(void)
{
	return bpf_current_task_under_cgroup(&cgroup_map, 0) == 1;
}

/*
 * Is the current task (bpf_get_current_pid_tgid() == pid_tgid) wanted by -p, -t, -u,
 * --cgroup, --container's skip list, and not the tool itself? For tools whose record is
 * about the current task (its cgroup is the record's cgroup_id).
 */
static __always_inline bool ferro_task_wanted(__u64 pid_tgid)
{
	if (ferro_self_tgid && (__u32)(pid_tgid >> 32) == ferro_self_tgid)
		return false;
	if (targ_tgid && (__u32)(pid_tgid >> 32) != targ_tgid)
		return false;
	if (targ_tid && (__u32)pid_tgid != targ_tid)
		return false;
	if (filter_uid && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	if (filter_cgroup && !ferro_in_cgroup())
		return false;
	/* filter_container first: without it, not even the helper is called. */
	if (filter_container && ferro_cgroup_skipped(bpf_get_current_cgroup_id()))
		return false;
	return true;
}

#endif
