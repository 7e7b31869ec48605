/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_RUNQLAT_H
#define FERROSCOPE_RUNQLAT_H

#define RUNQLAT_MAX_SLOTS 26
#define RUNQLAT_COMM_LEN 16

struct runqlat_hist {
	__u32 slots[RUNQLAT_MAX_SLOTS];
	__u64 count;
	__u64 sum; /* in the histogram's unit */
	__u64 max;
	__u8 comm[RUNQLAT_COMM_LEN];
};

#endif
