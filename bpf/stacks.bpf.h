/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The stack map of the stack-sampling tools (profile, offcputime): bpf_get_stackid()
 * stores each distinct stack once and returns its id, which the tool's counts map
 * keys on. User space reads it by id (common::stacks::StackMap) and sizes it before
 * load (common::stacks::size_map: --stack-storage-size entries of
 * 8 x --perf-max-stack-depth bytes), so the sizes here are only defaults.
 * Include once, from a tool's .bpf.c.
 */
#ifndef FERROSCOPE_STACKS_BPF_H
#define FERROSCOPE_STACKS_BPF_H

#include <bpf/bpf_helpers.h>

/* libbpf-tools' defaults (profile.c, offcputime.c). */
#define FERRO_STACK_STORAGE_SIZE 1024
#define FERRO_PERF_MAX_STACK_DEPTH 127
/* -EFAULT, bpf_get_stackid()'s "no such stack": also the id of a stack not collected. */
#define FERRO_NO_STACK (-14)

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, FERRO_PERF_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, FERRO_STACK_STORAGE_SIZE);
} stackmap SEC(".maps");

/*
 * The id of the current kernel stack, or of the user stack with BPF_F_USER_STACK in
 * flags; negative on failure: -EFAULT for no such stack (a kernel thread's user stack,
 * the kernel stack of a sample taken in user mode), -EEXIST for another stack already
 * in the id's bucket (flags without BPF_F_REUSE_STACKID, as libbpf-tools), -ENOMEM
 * for a full map. Stored as __s32 in keys: ids are below max_entries.
 */
static __always_inline __s32 ferro_stack_id(void *ctx, __u64 flags)
{
	return (__s32)bpf_get_stackid(ctx, &stackmap, flags);
}

#endif
