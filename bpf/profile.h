/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_PROFILE_H
#define FERROSCOPE_PROFILE_H

#include "limits.h"

/* libbpf-tools' profile.h MAX_ENTRIES: distinct (process, stacks, comm) keys counted. */
#define PROFILE_MAX_ENTRIES 10240

/* One counted stack: who ran it and its two stack ids (common::stacks::StackMap::read). */
struct profile_key {
	/* The task's cgroup v2 id with --containers/--container, else 0. */
	__u64 cgroup_id;
	__u32 pid;
	/* bpf_get_stackid() results: an id, or a negative errno (-EFAULT: no such stack). */
	__s32 user_stack_id;
	__s32 kern_stack_id;
	__u8 comm[FERRO_COMM_LEN];
	__u32 pad;
};

#endif
