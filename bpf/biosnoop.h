/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_BIOSNOOP_H
#define FERROSCOPE_BIOSNOOP_H

#include "limits.h"

/* The kernel's rwbs text with its NUL (RWBS_LEN is 8 before 6.8 and 10 since); room to spare. */
#define BIOSNOOP_RWBS_LEN 16

/* How the QUE(ms) column reads (-Q only). */
enum biosnoop_queue {
	BIOSNOOP_QUEUE_NONE = 0, /* no I/O scheduler queued the request: 0.000 */
	BIOSNOOP_QUEUE_TIMED = 1, /* qdelta_ns is insert -> issue */
	BIOSNOOP_QUEUE_MISSED = 2, /* a scheduler queued it before the tool saw its insert: -1.000 */
	BIOSNOOP_QUEUE_UNKNOWN = 3, /* no insert seen, and the tracepoints cannot tell why: user space reads the disk's scheduler */
};

/*
 * A request's stages, and its map key: the request's address on the tp_btf path; (dev,
 * sector) on the classic tracepoint path, whose records carry no address. Submitters are
 * recorded under the same kind of key, or under the bio's address (block_bio_queue).
 */
struct biosnoop_key {
	__u64 id; /* struct request * or struct bio *; the kernel dev_t on the classic path */
	__u64 sector; /* 0 on the tp_btf path */
};

/* Who submitted an I/O: the task current at block_io_start, blk_account_io_start or block_bio_queue. */
struct biosnoop_who {
	__u64 cgroup_id; /* bpf_get_current_cgroup_id() */
	__u32 pid; /* tgid */
	__u32 pad;
	__u8 comm[FERRO_COMM_LEN];
};

/* One completed block I/O request, sent from block_rq_complete. */
struct biosnoop_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() at completion (CLOCK_MONOTONIC) */
	__u64 sector; /* the request's first 512-byte sector on the whole disk (rq->__sector) */
	__u64 delta_ns; /* issue -> completion */
	__u64 qdelta_ns; /* insert -> issue when queue is BIOSNOOP_QUEUE_TIMED */
	__u64 cgroup_id; /* the submitter's cgroup v2 id; 0 when unknown */
	__u32 pid; /* the submitter's tgid; 0 when unknown */
	__u32 dev; /* kernel dev_t of the disk (major << 20 | minor) */
	__u32 cmd_flags; /* rq->cmd_flags (tp_btf path; 0 on the classic path, which sends rwbs) */
	__u32 bytes; /* rq->__data_len at issue */
	enum biosnoop_queue queue; /* 4 bytes */
	__u32 pad;
	__u8 comm[FERRO_COMM_LEN]; /* the submitter's comm; "?" (and pid 0) when it was not seen */
	__u8 rwbs[BIOSNOOP_RWBS_LEN]; /* the kernel's rwbs text (classic path); empty on tp_btf */
};

#endif
