/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_RUNQLAT_H
#define FERROSCOPE_RUNQLAT_H

#include "hist.h"
#include "limits.h"

#define RUNQLAT_MAX_SLOTS 26

/* What a histogram is kept per (rodata key_by); the Rust side uses the generated type. */
enum runqlat_key {
	KEY_ALL = 0,
	KEY_PROCESS = 1,
	KEY_THREAD = 2,
	KEY_PIDNS = 3,
	KEY_CPU = 4,
	/* The cgroup v2 id of the task that waited (--containers, --container). */
	KEY_CGROUP = 5,
};

struct runqlat_hist {
	FERRO_HIST_FIELDS(RUNQLAT_MAX_SLOTS);
	__u8 comm[FERRO_COMM_LEN];
};

#endif
