/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_CPUDIST_H
#define FERROSCOPE_CPUDIST_H

#include "hist.h"
#include "limits.h"

/* libbpf-tools' cpudist.h MAX_SLOTS: slot 35 holds everything from 2^35 units up. */
#define CPUDIST_MAX_SLOTS 36

/* What a histogram is kept per (rodata key_by); the Rust side uses the generated type. */
enum cpudist_key {
	KEY_ALL = 0,
	KEY_PROCESS = 1,
	KEY_THREAD = 2,
	/* The cgroup v2 id of the task measured (--containers, --container). */
	KEY_CGROUP = 3,
};

struct cpudist_hist {
	FERRO_HIST_FIELDS(CPUDIST_MAX_SLOTS);
	__u8 comm[FERRO_COMM_LEN];
};

#endif
