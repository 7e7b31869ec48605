/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Histogram slot arithmetic and CO-RE shims shared by the histogram tools. */
#ifndef FERROSCOPE_BITS_BPF_H
#define FERROSCOPE_BITS_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Measurements dropped because a map was full: `start_full` when the start times' map was,
 * `hists_full` when a new histogram key found no room. User space reads both every interval
 * and warns once (common::hist_tool::Reading::dropped).
 */
__u64 start_full = 0;
__u64 hists_full = 0;

/*
 * The histograms' counters (slots, count, sum) are never reset: user space reads them every
 * interval and prints the difference from its last reading (common::maps::Intervals), so no
 * measurement falls between a read and a reset. A maximum has no difference, so each histogram
 * keeps one per interval parity, tagged with the interval it belongs to: user space advances
 * ferro_hist_epoch when an interval ends, then reads the ended interval's maximum from the slot
 * of its parity, while new measurements go to the other slot.
 */
__u64 ferro_hist_epoch = 0;

/* floor(log2(v)) for v > 0, and 0 for v == 0, without loops the verifier has to walk. */
static __always_inline __u64 ferro_log2_32(__u32 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 ferro_log2(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return ferro_log2_32(hi) + 32;
	return ferro_log2_32(v);
}

/* Raise the current interval's maximum of histogram `h` to `v` (see ferro_hist_epoch). */
#define FERRO_HIST_MAX(h, v)                                          \
	({                                                            \
		__u64 __e = *(volatile __u64 *)&ferro_hist_epoch;     \
		__u32 __i = __e & 1;                                  \
		if ((h)->max_epoch[__i] != __e) {                     \
			(h)->max_epoch[__i] = __e;                    \
			(h)->max[__i] = (v);                          \
		} else if ((v) > (h)->max[__i]) {                     \
			(h)->max[__i] = (v);                          \
		}                                                     \
	})

/*
 * Count `v` in a histogram struct with slots[], count, sum, max[] and max_epoch[].
 *
 * FERRO_HIST_ADD is for a histogram several CPUs update at once (a hash map
 * keyed by process, disk, ...): the counters are atomic; max may lose a race
 * and be one update stale, which a maximum tolerates.
 *
 * FERRO_HIST_ADD_CPU is for this CPU's copy in a per-CPU map: plain adds, no
 * locked instructions and no cache line shared between CPUs. A program does
 * not run nested in itself on one CPU (the kernel skips such a run and counts
 * a recursion miss), so nothing else writes that copy meanwhile.
 */
#define FERRO_HIST_SLOT(v, nslots)                                    \
	({                                                            \
		__u64 __s = ferro_log2(v);                            \
		__s < (nslots) ? __s : (nslots) - 1;                  \
	})

#define FERRO_HIST_ADD(h, v, nslots)                                  \
	({                                                            \
		__u64 __slot = FERRO_HIST_SLOT(v, nslots);            \
		__sync_fetch_and_add(&(h)->slots[__slot], 1);         \
		__sync_fetch_and_add(&(h)->count, 1);                 \
		__sync_fetch_and_add(&(h)->sum, (v));                 \
		FERRO_HIST_MAX(h, v);                                 \
	})

#define FERRO_HIST_ADD_CPU(h, v, nslots)                              \
	({                                                            \
		__u64 __slot = FERRO_HIST_SLOT(v, nslots);            \
		(h)->slots[__slot]++;                                 \
		(h)->count++;                                         \
		(h)->sum += (v);                                      \
		FERRO_HIST_MAX(h, v);                                 \
	})

/*
 * The histogram of `key` in the hash map `map`, created from `zero` on first use; NULL when the
 * map is full (counted in hists_full). `*fresh` is true when it was not there at the first
 * lookup, for the caller to fill its own fields (runqlat's comm); a racing CPU may have created
 * it meanwhile, and filling them twice is harmless.
 */
static __always_inline void *ferro_hist_get(void *map, const void *key, const void *zero,
					    bool *fresh)
{
	void *h = bpf_map_lookup_elem(map, key);

	*fresh = !h;
	if (h)
		return h;
	/* EEXIST from a racing CPU is fine; the lookup below decides. */
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	h = bpf_map_lookup_elem(map, key);
	if (!h)
		__sync_fetch_and_add(&hists_full, 1);
	return h;
}

/*
 * cgroup v2 membership of any task (not just current): is `t` in the cgroup
 * with id `cgid` at depth `level`, or below it? cgroup->ancestors[] replaced
 * ancestor_ids[] in 6.0 (commit 7f203bc89eb6).
 */
struct cgroup___pre60 {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

static __always_inline bool ferro_task_in_cgroup(struct task_struct *t, __u64 cgid, int level)
{
	struct cgroup *cg = BPF_CORE_READ(t, cgroups, dfl_cgrp);
	struct cgroup *anc = NULL;
	__u64 id = 0;

	if (!cg || level < 0 || level > 255 || BPF_CORE_READ(cg, level) < level)
		return false;
	if (bpf_core_field_exists(cg->ancestors)) {
		bpf_probe_read_kernel(&anc, sizeof(anc), &cg->ancestors[level]);
		if (!anc)
			return false;
		id = BPF_CORE_READ(anc, kn, id);
	} else {
		struct cgroup___pre60 *old = (void *)cg;

		bpf_probe_read_kernel(&id, sizeof(id), &old->ancestor_ids[level]);
	}
	return id == cgid;
}

#endif
