/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the block tools (biolatency, biosnoop) read from the kernel the same way: the
 * request's disk and the request and bio arguments of the block tracepoints, whose layout
 * changed in 5.11. Include once, from a tool's .bpf.c, after vmlinux.h.
 */
#ifndef FERROSCOPE_BLOCK_BPF_H
#define FERROSCOPE_BLOCK_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* block_rq_insert/issue lost their request_queue argument in 5.11; user space reads which from BTF. */
const volatile bool targ_single = true;
/* So did block_bio_queue (same series); read separately, from its own BTF prototype. */
const volatile bool targ_bio_single = true;

/* The request's disk moved from rq->rq_disk to rq->q->disk in 5.16 (commit f3fa33acca9f). */
struct request___pre516 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* The request's disk; NULL for a request without one. */
static __always_inline struct gendisk *rq_disk(struct request *rq)
{
	struct request___pre516 *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

/* The disk's device number as the kernel's dev_t (major << 20 | minor); 0 without a disk. */
static __always_inline __u32 disk_dev(struct gendisk *disk)
{
	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline __u32 rq_dev(struct request *rq)
{
	return disk_dev(rq_disk(rq));
}

/*
 * The first or the second tracepoint argument, chosen by a load-time constant.
 * Each is loaded at its own constant offset: `first ? ctx[0] : ctx[1]` compiles
 * to the context pointer moved by a computed offset, which 5.10's verifier
 * refuses for tp_btf ("dereference of modified ctx ptr"); later ones allow it.
 * The branch not taken is dead code to the verifier (the constant is known), so
 * a one-argument tracepoint never sees the load of a second.
 */
static __always_inline __u64 arg_0_or_1(__u64 *ctx, bool first)
{
	__u64 v;

	if (first)
		asm volatile("%0 = *(u64 *)(%1 + 0)" : "=r"(v) : "r"(ctx));
	else
		asm volatile("%0 = *(u64 *)(%1 + 8)" : "=r"(v) : "r"(ctx));
	return v;
}

/* block_rq_insert/issue: (q, rq) before 5.11, (rq) since (Debian's 5.10.223 has the latter). */
static __always_inline struct request *rq_arg(__u64 *ctx)
{
	return (struct request *)arg_0_or_1(ctx, targ_single);
}

#endif
