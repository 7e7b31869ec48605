// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * biosnoop: one record per block I/O request, with its submitter, disk, op, sector, size and
 * latency (issue -> completion; with -Q also insert -> issue).
 *
 * Two sets of stage programs, one loaded:
 * - tp_btf block_rq_{insert,issue,complete}, keyed by the request's address;
 * - classic tracepoints, keyed by (dev, sector), where tp_btf is refused: their records carry
 *   no request pointer, but a request keeps its first sector from issue to completion.
 * The submitter (pid, comm, cgroup) is recorded in its own context by one of: block_io_start
 * (6.5+; tp_btf or classic), fentry or kprobe on (__)blk_account_io_start (older kernels,
 * where allowed), or block_bio_queue (every kernel): then a request is its first bio's. A
 * bio merged into a request submitted by another task is that task's I/O, as with
 * libbpf-tools without its merge kprobe.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "biosnoop.h"
#include "events.bpf.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "block.bpf.h"

const volatile bool targ_queued = false;
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
/* -m: completions faster than this are not sent. */
const volatile __u64 min_ns = 0;

/* Submitters by request, bio or (dev, sector), until the request's first stage takes them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct biosnoop_key);
	__type(value, struct biosnoop_who);
} whos SEC(".maps");

struct stage {
	__u64 insert;
	__u64 issue;
	__u64 sector;
	__u32 dev;
	__u32 bytes;
	__u32 cmd_flags;
	__u32 pad;
	struct biosnoop_who who;
	__u8 rwbs[BIOSNOOP_RWBS_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct biosnoop_key);
	__type(value, struct stage);
} start SEC(".maps");

/* The record is built on the stack; this constant puts its type in the object's BTF. */
const volatile struct biosnoop_event biosnoop_event_btf = {};

static __always_inline int record_who(struct biosnoop_key *key)
{
	struct biosnoop_who who = {};

	/* -c: only the cgroup's I/O gets a submitter, and only I/O with one is traced. */
	if (filter_cgroup && !ferro_in_cgroup())
		return 0;
	who.cgroup_id = bpf_get_current_cgroup_id();
	/* --container: an I/O of a skipped cgroup gets no submitter, so is not traced. */
	if (ferro_cgroup_skipped(who.cgroup_id))
		return 0;
	who.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(who.comm, sizeof(who.comm));
	bpf_map_update_elem(&whos, key, &who, BPF_ANY);
	return 0;
}

/*
 * Insert or issue of the request `key`. The first of them creates its stage, taking the
 * submitter recorded under `who_key`; `rq` (tp_btf) or `tp` (classic) give the request's facts.
 */
static __always_inline int stage_start(struct biosnoop_key *key, struct biosnoop_key *who_key,
				       struct request *rq, struct trace_event_raw_block_rq *tp,
				       bool insert)
{
	struct stage *s, fresh = {};
	struct biosnoop_who *who;
	__u64 ts = bpf_ktime_get_ns();

	s = bpf_map_lookup_elem(&start, key);
	if (!s) {
		if (rq) {
			fresh.dev = rq_dev(rq);
			fresh.sector = BPF_CORE_READ(rq, __sector);
			fresh.bytes = BPF_CORE_READ(rq, __data_len);
			fresh.cmd_flags = BPF_CORE_READ(rq, cmd_flags);
		} else {
			fresh.dev = BPF_CORE_READ(tp, dev);
			fresh.sector = BPF_CORE_READ(tp, sector);
			fresh.bytes = BPF_CORE_READ(tp, bytes);
			bpf_probe_read_kernel_str(fresh.rwbs, sizeof(fresh.rwbs), tp->rwbs);
		}
		if (filter_dev && fresh.dev != targ_dev)
			return 0;
		who = bpf_map_lookup_elem(&whos, who_key);
		if (who) {
			fresh.who = *who;
			bpf_map_delete_elem(&whos, who_key);
		} else if (filter_cgroup || filter_container) {
			/* No submitter: no cgroup id, which no container's could match. */
			return 0;
		} else {
			fresh.who.comm[0] = '?';
		}
		s = &fresh;
	}
	if (insert)
		s->insert = ts;
	else
		s->issue = ts;
	if (s == &fresh)
		bpf_map_update_elem(&start, key, &fresh, BPF_ANY);
	return 0;
}

/* The completion of `key`: one record, unless -m drops it. `rq` is NULL on the classic path. */
static __always_inline int stage_done(void *ctx, struct biosnoop_key *key, struct request *rq)
{
	struct biosnoop_event e = {};
	struct stage *s;
	__u64 ts = bpf_ktime_get_ns();

	s = bpf_map_lookup_elem(&start, key);
	if (!s)
		return 0;
	/* Only inserted so far (a requeue, or the tool started in between): no latency to tell. */
	if (!s->issue || (__s64)(ts - s->issue) < 0 || ts - s->issue < min_ns)
		goto out;
	e.ts_ns = ts;
	e.delta_ns = ts - s->issue;
	e.sector = s->sector;
	e.dev = s->dev;
	e.bytes = s->bytes;
	e.cmd_flags = s->cmd_flags;
	e.pid = s->who.pid;
	e.cgroup_id = s->who.cgroup_id;
	__builtin_memcpy(e.comm, s->who.comm, sizeof(e.comm));
	__builtin_memcpy(e.rwbs, s->rwbs, sizeof(e.rwbs));
	if (targ_queued) {
		if (s->insert && (__s64)(s->issue - s->insert) >= 0) {
			e.queue = BIOSNOOP_QUEUE_TIMED;
			e.qdelta_ns = s->issue - s->insert;
		} else if (!rq) {
			e.queue = BIOSNOOP_QUEUE_UNKNOWN;
		} else if (BPF_CORE_READ(rq, q, elevator)) {
			e.queue = BIOSNOOP_QUEUE_MISSED;
		} else {
			e.queue = BIOSNOOP_QUEUE_NONE;
		}
	}
	ferro_emit(ctx, &e, sizeof(e));
out:
	bpf_map_delete_elem(&start, key);
	return 0;
}

/* tp_btf: requests by address. */

static __always_inline int btf_start(struct request *rq, bool insert, bool by_bio)
{
	struct biosnoop_key key = { .id = (__u64)rq };
	struct biosnoop_key who_key = { .id = (__u64)rq };

	if (by_bio)
		who_key.id = (__u64)BPF_CORE_READ(rq, bio);
	return stage_start(&key, &who_key, rq, NULL, insert);
}

/* block_bio_queue records submitters by bio: the stages then look up the request's first bio. */
const volatile bool who_by_bio = false;

SEC("tp_btf/block_rq_insert")
int btf_insert(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return btf_start(rq_arg(ctx), true, who_by_bio);
}

SEC("tp_btf/block_rq_issue")
int btf_issue(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return btf_start(rq_arg(ctx), false, who_by_bio);
}

SEC("tp_btf/block_rq_complete")
int btf_complete(__u64 *ctx)
{
	struct request *rq = (struct request *)ctx[0];
	struct biosnoop_key key = { .id = (__u64)rq };

	FERRO_FLOOR_GUARD();
	return stage_done(ctx, &key, rq);
}

static __always_inline int who_of_rq(struct request *rq)
{
	struct biosnoop_key key = { .id = (__u64)rq };

	return record_who(&key);
}

SEC("tp_btf/block_io_start")
int btf_io_start(__u64 *ctx)
{
	FERRO_FLOOR_GUARD();
	return who_of_rq((struct request *)ctx[0]);
}

SEC("tp_btf/block_bio_queue")
int btf_bio_queue(__u64 *ctx)
{
	struct biosnoop_key key = { .id = arg_0_or_1(ctx, targ_bio_single) };

	FERRO_FLOOR_GUARD();
	return record_who(&key);
}

/* Before block_io_start (6.5): the function it replaced, through a trampoline or a kprobe. */

SEC("fentry/blk_account_io_start")
int BPF_PROG(fentry_io_start, struct request *rq)
{
	FERRO_FLOOR_GUARD();
	return who_of_rq(rq);
}

SEC("fentry/__blk_account_io_start")
int BPF_PROG(fentry_io_start_inner, struct request *rq)
{
	FERRO_FLOOR_GUARD();
	return who_of_rq(rq);
}

SEC("kprobe/blk_account_io_start")
int BPF_KPROBE(kprobe_io_start, struct request *rq)
{
	FERRO_FLOOR_GUARD();
	return who_of_rq(rq);
}

SEC("kprobe/__blk_account_io_start")
int BPF_KPROBE(kprobe_io_start_inner, struct request *rq)
{
	FERRO_FLOOR_GUARD();
	return who_of_rq(rq);
}

/* Classic tracepoints: requests by (dev, sector). */

static __always_inline int tp_start(struct trace_event_raw_block_rq *ctx, bool insert)
{
	struct biosnoop_key key = {
		.id = BPF_CORE_READ(ctx, dev),
		.sector = BPF_CORE_READ(ctx, sector),
	};

	return stage_start(&key, &key, NULL, ctx, insert);
}

SEC("tracepoint/block/block_rq_insert")
int tp_insert(struct trace_event_raw_block_rq *ctx)
{
	FERRO_FLOOR_GUARD();
	return tp_start(ctx, true);
}

SEC("tracepoint/block/block_rq_issue")
int tp_issue(struct trace_event_raw_block_rq *ctx)
{
	FERRO_FLOOR_GUARD();
	return tp_start(ctx, false);
}

SEC("tracepoint/block/block_rq_complete")
int tp_complete(struct trace_event_raw_block_rq_completion *ctx)
{
	struct biosnoop_key key = {
		.id = BPF_CORE_READ(ctx, dev),
		.sector = BPF_CORE_READ(ctx, sector),
	};

	FERRO_FLOOR_GUARD();
	return stage_done(ctx, &key, NULL);
}

SEC("tracepoint/block/block_io_start")
int tp_io_start(struct trace_event_raw_block_rq *ctx)
{
	struct biosnoop_key key = {
		.id = BPF_CORE_READ(ctx, dev),
		.sector = BPF_CORE_READ(ctx, sector),
	};

	FERRO_FLOOR_GUARD();
	return record_who(&key);
}

SEC("tracepoint/block/block_bio_queue")
int tp_bio_queue(struct trace_event_raw_block_bio *ctx)
{
	struct biosnoop_key key = {
		.id = BPF_CORE_READ(ctx, dev),
		.sector = BPF_CORE_READ(ctx, sector),
	};

	FERRO_FLOOR_GUARD();
	return record_who(&key);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
