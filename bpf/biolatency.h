/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_BIOLATENCY_H
#define FERROSCOPE_BIOLATENCY_H

#include "hist.h"

#define BIOLAT_MAX_SLOTS 27

struct biolat_key {
	__u32 cmd_flags; /* 0 unless per-flag histograms were asked for */
	__u32 dev; /* kernel dev_t (major << 20 | minor); 0 unless per-disk */
	__u64 cgroup; /* cgroup v2 id of the first bio's submitter; 0 unless per-container */
};

/* gendisk.disk_name's size (DISK_NAME_LEN, include/linux/blkdev.h; 32 since Linux 2.6). */
#define BIOLAT_DISK_NAME_LEN 32

/* -D: a disk's name as the kernel has it, by its device number (see disk_names). */
struct biolat_disk_name {
	char name[BIOLAT_DISK_NAME_LEN];
};

struct biolat_hist {
	FERRO_HIST_FIELDS(BIOLAT_MAX_SLOTS);
};

#endif
