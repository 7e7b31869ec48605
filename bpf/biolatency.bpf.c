// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* biolatency: block I/O latency, from insert (-Q) or issue to completion. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bits.bpf.h"
#include "biolatency.h"
#include "floor.bpf.h"

const volatile bool targ_per_disk = false;
const volatile bool targ_per_flag = false;
const volatile bool targ_queued = false;
const volatile bool targ_ms = false;
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
const volatile bool filter_cgroup = false;
/* block_rq_insert/issue lost their request_queue argument in 5.11; user space reads which from BTF. */
const volatile bool targ_single = true;

__u64 start_full = 0;
__u64 hists_full = 0;

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct biolat_key);
	__type(value, struct biolat_hist);
} hists SEC(".maps");

static struct biolat_hist zero_hist;

/* The request's disk moved from rq->rq_disk to rq->q->disk in 5.16 (commit f3fa33acca9f). */
struct request___pre516 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u32 rq_dev(struct request *rq)
{
	struct request___pre516 *old = (void *)rq;
	struct gendisk *disk;

	if (bpf_core_field_exists(old->rq_disk))
		disk = BPF_CORE_READ(old, rq_disk);
	else
		disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	return ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
}

static __always_inline int rq_start(struct request *rq, bool issue)
{
	__u64 ts;

	/* With -Q the insert already started the clock, unless no scheduler queued it. */
	if (issue && targ_queued && BPF_CORE_READ(rq, q, elevator))
		return 0;
	/* Submission runs in the submitter's context; completion usually does not. */
	if (filter_cgroup && bpf_current_task_under_cgroup(&cgroup_map, 0) != 1)
		return 0;
	if (filter_dev && rq_dev(rq) != targ_dev)
		return 0;
	ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&start, &rq, &ts, BPF_ANY))
		__sync_fetch_and_add(&start_full, 1);
	return 0;
}

static __always_inline int rq_done(struct request *rq)
{
	struct biolat_key key = {};
	struct biolat_hist *h;
	__u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&start, &rq);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &rq);
	if ((__s64)delta < 0)
		return 0;
	if (targ_per_disk)
		key.dev = rq_dev(rq);
	if (targ_per_flag)
		key.cmd_flags = BPF_CORE_READ(rq, cmd_flags);
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h) {
			__sync_fetch_and_add(&hists_full, 1);
			return 0;
		}
	}
	delta /= targ_ms ? 1000000U : 1000U;
	FERRO_HIST_ADD(h, delta, BIOLAT_MAX_SLOTS);
	return 0;
}

static __always_inline struct request *rq_arg(__u64 *ctx)
{
	return targ_single ? (struct request *)ctx[0] : (struct request *)ctx[1];
}

SEC("tp_btf/block_rq_insert")
int btf_insert(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return rq_start(rq_arg(ctx), false);
}

SEC("tp_btf/block_rq_issue")
int btf_issue(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return rq_start(rq_arg(ctx), true);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(btf_complete, struct request *rq)
{
	FERRO_FLOOR_GUARD();
	return rq_done(rq);
}

SEC("raw_tp/block_rq_insert")
int raw_insert(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return rq_start(rq_arg(ctx), false);
}

SEC("raw_tp/block_rq_issue")
int raw_issue(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return rq_start(rq_arg(ctx), true);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(raw_complete, struct request *rq)
{
	FERRO_FLOOR_GUARD();
	return rq_done(rq);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
