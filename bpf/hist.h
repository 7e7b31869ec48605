/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The histogram value every histogram tool keeps, filled by FERRO_HIST_ADD (bits.bpf.h) and
 * read by common::hist (log2_source!): log2 slots, then the totals. The counters only grow:
 * user space prints differences between readings (see ferro_hist_epoch in bits.bpf.h). A
 * tool's struct starts with these fields and may add its own after them (runqlat's comm).
 */
#ifndef FERROSCOPE_HIST_H
#define FERROSCOPE_HIST_H

#define FERRO_HIST_FIELDS(nslots)                                         \
	__u32 slots[nslots];                                              \
	__u64 count;                                                      \
	__u64 sum; /* in the histogram's unit */                         \
	/* largest value of the last interval of each parity (bits.bpf.h) */ \
	__u64 max[2];                                                     \
	__u64 max_epoch[2]

#endif
