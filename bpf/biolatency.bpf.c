// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* biolatency: block I/O latency, from insert (-Q) or issue to completion. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bits.bpf.h"
#include "biolatency.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "block.bpf.h"

const volatile bool targ_per_disk = false;
const volatile bool targ_per_flag = false;
/* --containers, --container: histograms per cgroup of the task that submitted the I/O. */
const volatile bool targ_per_cgroup = false;
const volatile bool targ_queued = false;
const volatile bool targ_ms = false;
const volatile bool filter_dev = false;
const volatile __u32 targ_dev = 0;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, __u64);
} start SEC(".maps");

/*
 * -c: the bios submitted from inside the cgroup. A request is issued (and
 * inserted) from whatever task flushes a plug, runs a requeue or a kworker,
 * so the task current then is not always the one whose I/O it is; the bio's
 * submission (block_bio_queue, traced once per bio, in submit_bio's caller)
 * is. A request is the cgroup's if its first bio is. A bio submitted outside
 * the cgroup deletes its address, so a recycled bio is never mistaken for an
 * old one; an LRU map bounds the bios merged behind a first one, never looked
 * up again. (The bio's own blkcg is no help on hybrid hierarchies: there the
 * io controller is a v1 one, and -c names a cgroup v2.)
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bio *);
	__type(value, __u8);
} cg_bios SEC(".maps");

/* --containers: each bio's submitter's cgroup v2 id, recorded at block_bio_queue as for -c. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bio *);
	__type(value, __u64);
} bio_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct biolat_key);
	__type(value, struct biolat_hist);
} hists SEC(".maps");

/*
 * -D: each disk's name as the kernel has it (gendisk.disk_name), by device
 * number, recorded when the disk's histogram entry is created (its first
 * request, and again after user space deleted an idle entry). User space
 * reads and empties it at each interval: a disk attached and detached
 * between two intervals (a loop device) is gone from /proc/partitions when
 * its histogram prints, but is named.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct biolat_disk_name);
} disk_names SEC(".maps");

/* The histogram when not split by disk or flags: one per-CPU entry, summed in user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct biolat_hist);
} hist_cpu SEC(".maps");

static struct biolat_hist zero_hist;

/*
 * Issue times of requests in flight, for kernels with BPF atomics (5.12+):
 * a direct-mapped table indexed by a hash of the request's address, claimed
 * with compare-and-swap, so an issue and a completion cost one array slot
 * each instead of a hash map update (hash, bucket lock, free-list pop) and a
 * delete. A request whose slot is taken by another in-flight request goes to
 * the `start` hash instead, so nothing is lost. Requests come from fixed
 * per-queue pools, so a slot left by a request that never completed is
 * reclaimed when that request is issued again.
 */
#define INFLIGHT_BITS 12

struct inflight {
	__u64 rq;
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << INFLIGHT_BITS);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Only raw_tp programs see the request as a number (tp_btf's is a pointer the verifier guards). */
static __always_inline struct inflight *slot_of(__u64 rq)
{
	__u32 idx = (rq * 0x9E3779B97F4A7C15ULL) >> (64 - INFLIGHT_BITS);

	return bpf_map_lookup_elem(&inflight, &idx);
}

static __always_inline bool slot_claim(__u64 rq, __u64 ts)
{
	struct inflight *s = slot_of(rq);
	__u64 cur;

	if (!s)
		return false;
	cur = s->rq;
	if (cur != rq && (cur || __sync_val_compare_and_swap(&s->rq, 0, rq) != 0))
		return false;
	s->ts = ts;
	return true;
}

/* Issue time of `rq` from its slot, freeing it; 0 if it is not there. */
static __always_inline __u64 slot_take(__u64 rq)
{
	struct inflight *s = slot_of(rq);
	__u64 ts;

	if (!s || s->rq != rq)
		return 0;
	ts = s->ts;
	/* Only this request's completion frees its slot; the atomic orders the read of ts first. */
	__sync_val_compare_and_swap(&s->rq, rq, 0);
	return ts;
}

/*
 * What the BPF side saw but could not count, read by user space every interval
 * besides start_full and hists_full (bits.bpf.h):
 * bios_unrecorded, bios whose submitter could not be recorded (cg_bios or
 * bio_cgroups refused the update: full, or its bucket lock busy), so the
 * request they start is not known as the cgroup's; cg_unchecked, requests
 * merged from more bios than rq_in_cgroup looks at, none of those the -c
 * cgroup's.
 */
__u64 bios_unrecorded = 0;
__u64 cg_unchecked = 0;

/*
 * The bios of one request rq_in_cgroup looks at. Merges make requests of many
 * bios (up to the queue's max_segments), but a cgroup's bio merged into
 * another task's request is usually its second.
 */
#define CG_BIO_WALK 32

/*
 * Was `rq` submitted from the -c cgroup? If any of its bios was: a bio merged
 * into a request another task started (adjacent sectors, both waiting in the
 * scheduler or a plug) waits for that request, and the request's latency is
 * its own; counting the first bio only lost it. By the current task if the
 * request has no bio (a flush).
 */
static __always_inline bool rq_in_cgroup(struct request *rq, bool fields)
{
	struct bio *bio = NULL;

	/* User space loads the programs that read fields whenever -c is given. */
	if (fields)
		bio = BPF_CORE_READ(rq, bio);
	if (!bio)
		return ferro_in_cgroup();
	for (int i = 0; i < CG_BIO_WALK; i++) {
		if (bpf_map_lookup_elem(&cg_bios, &bio))
			return true;
		bio = BPF_CORE_READ(bio, bi_next);
		if (!bio)
			return false;
	}
	__sync_fetch_and_add(&cg_unchecked, 1);
	return false;
}

static __always_inline int bio_queued(struct bio *bio)
{
	__u8 one = 1;

	if (targ_per_cgroup) {
		__u64 id = bpf_get_current_cgroup_id();

		if (bpf_map_update_elem(&bio_cgroups, &bio, &id, BPF_ANY))
			__sync_fetch_and_add(&bios_unrecorded, 1);
	}
	if (!filter_cgroup)
		return 0;
	if (ferro_in_cgroup()) {
		if (bpf_map_update_elem(&cg_bios, &bio, &one, BPF_ANY))
			__sync_fetch_and_add(&bios_unrecorded, 1);
	} else {
		bpf_map_delete_elem(&cg_bios, &bio);
	}
	return 0;
}

/* The submitter's cgroup of `rq`, by its first bio; 0 (unknown) without one. */
static __always_inline __u64 rq_cgroup(struct request *rq)
{
	struct bio *bio = BPF_CORE_READ(rq, bio);
	__u64 *id;

	if (!bio)
		return 0;
	id = bpf_map_lookup_elem(&bio_cgroups, &bio);
	return id ? *id : 0;
}

/*
 * `fields` is a compile-time constant: false in the programs loaded when no
 * option reads the request (-Q, -d, -D, -F), which then carry no CO-RE
 * relocation, sparing libbpf a scan of all kernel types per struct at start-up.
 */
static __always_inline int rq_start(struct request *rq, bool issue, bool slots, bool fields)
{
	__u64 ts;

	/* With -Q the insert already started the clock, unless no scheduler queued it. */
	if (fields && issue && targ_queued && BPF_CORE_READ(rq, q, elevator))
		return 0;
	if (filter_cgroup && !rq_in_cgroup(rq, fields))
		return 0;
	if (fields && filter_dev && rq_dev(rq) != targ_dev)
		return 0;
	ts = bpf_ktime_get_ns();
	if (slots && slot_claim((__u64)rq, ts))
		return 0;
	if (bpf_map_update_elem(&start, &rq, &ts, BPF_ANY))
		__sync_fetch_and_add(&start_full, 1);
	return 0;
}

/* -D: what the kernel calls the disk `dev`, for user space (see disk_names). */
static __always_inline void record_disk_name(__u32 dev, struct gendisk *disk)
{
	struct biolat_disk_name n = {};

	BPF_CORE_READ_STR_INTO(&n.name, disk, disk_name);
	bpf_map_update_elem(&disk_names, &dev, &n, BPF_ANY);
}

static __always_inline int rq_done(struct request *rq, bool slots, bool fields)
{
	struct biolat_key key = {};
	struct gendisk *disk = NULL;
	struct biolat_hist *h;
	__u64 *tsp, delta, ts = 0;

	if (slots)
		ts = slot_take((__u64)rq);
	if (!ts) {
		tsp = bpf_map_lookup_elem(&start, &rq);
		if (!tsp)
			return 0;
		ts = *tsp;
		bpf_map_delete_elem(&start, &rq);
	}
	delta = bpf_ktime_get_ns() - ts;
	if ((__s64)delta < 0)
		return 0;
	delta /= targ_ms ? 1000000U : 1000U;
	if (!fields || (!targ_per_disk && !targ_per_flag && !targ_per_cgroup)) {
		__u32 zero = 0;

		h = bpf_map_lookup_elem(&hist_cpu, &zero);
		if (h)
			FERRO_HIST_ADD_CPU(h, delta, BIOLAT_MAX_SLOTS);
		return 0;
	}
	if (targ_per_disk) {
		disk = rq_disk(rq);
		key.dev = disk_dev(disk);
	}
	if (targ_per_flag)
		key.cmd_flags = BPF_CORE_READ(rq, cmd_flags);
	if (targ_per_cgroup) {
		key.cgroup = rq_cgroup(rq);
		/* --container: a skipped cgroup, or no submitter (no container's). */
		if (ferro_cgroup_skipped(key.cgroup) || (filter_container && !key.cgroup))
			return 0;
	}
	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		if (targ_per_disk && disk)
			record_disk_name(key.dev, disk);
		bpf_map_update_elem(&hists, &key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h) {
			__sync_fetch_and_add(&hists_full, 1);
			return 0;
		}
	}
	FERRO_HIST_ADD(h, delta, BIOLAT_MAX_SLOTS);
	return 0;
}

/*
 * Each hook three ways: tp_btf (5.5+) and raw tracepoints keeping issue times
 * in the `start` hash, and raw tracepoints with the in-flight table (BPF
 * atomics, 5.12+); each of those with and without reading the request's
 * fields. User space loads one set.
 */
#define BLOCK_PROGS(kind, sec, slots, fields)                                 \
	SEC(sec "/block_rq_issue")                                            \
	int kind##_issue(__u64 *ctx)                                          \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return rq_start(rq_arg(ctx), true, slots, fields);            \
	}                                                                     \
	SEC(sec "/block_rq_complete")                                         \
	int kind##_complete(__u64 *ctx)                                       \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return rq_done((struct request *)ctx[0], slots, fields);      \
	}

/* -Q times requests from their insert; only the programs that read fields know -Q. */
#define INSERT_PROG(kind, sec, slots)                                         \
	SEC(sec "/block_rq_insert")                                           \
	int kind##_insert(__u64 *ctx)                                         \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return rq_start(rq_arg(ctx), false, slots, true);             \
	}

/* -c records each bio's submitter; raw_tp serves both the slot and the raw sets. */
#define BIO_QUEUE_PROG(kind, sec)                                             \
	SEC(sec "/block_bio_queue")                                           \
	int kind##_bio_queue(__u64 *ctx)                                      \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return bio_queued((struct bio *)arg_0_or_1(ctx, targ_bio_single)); \
	}

/* block_split lost its request_queue argument in 5.11 as block_bio_queue did; read from its BTF. */
const volatile bool targ_split_single = true;

/*
 * A bio the queue's limits split (a 1 MiB direct read is 256 pages, over
 * virtio-blk's 254 segments): the part split off is a new bio, never seen at
 * block_bio_queue, and its own request's first bio. block_split is traced in
 * the submitter's task, as block_bio_queue is, so it is recorded the same way;
 * without it -c lost the first part of every split read.
 */
#define BIO_SPLIT_PROG(kind, sec)                                             \
	SEC(sec "/block_split")                                               \
	int kind##_split(__u64 *ctx)                                          \
	{                                                                     \
		FERRO_FLOOR_GUARD();                                          \
		return bio_queued((struct bio *)arg_0_or_1(ctx, targ_split_single)); \
	}

BLOCK_PROGS(btf, "tp_btf", false, true)
BLOCK_PROGS(raw, "raw_tp", false, true)
BLOCK_PROGS(slot, "raw_tp", true, true)
INSERT_PROG(btf, "tp_btf", false)
INSERT_PROG(raw, "raw_tp", false)
INSERT_PROG(slot, "raw_tp", true)
BIO_QUEUE_PROG(btf, "tp_btf")
BIO_QUEUE_PROG(raw, "raw_tp")
BIO_SPLIT_PROG(btf, "tp_btf")
BIO_SPLIT_PROG(raw, "raw_tp")
BLOCK_PROGS(btf_bare, "tp_btf", false, false)
BLOCK_PROGS(raw_bare, "raw_tp", false, false)
BLOCK_PROGS(slot_bare, "raw_tp", true, false)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
