/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The one definition of opensnoop's event; Rust uses the generated type. */
#ifndef FERROSCOPE_OPENSNOOP_H
#define FERROSCOPE_OPENSNOOP_H

#include "limits.h"

/* The kernel's PATH_MAX includes the NUL, so a read of this size never cuts a valid path. */
#define OPENSNOOP_PATH_MAX 4096
#define OPENSNOOP_NAME_MAX 256
/* Directory components are appended after the file name; the mask bounds offsets for the verifier. */
#define OPENSNOOP_DIR_MAX 4096
#define OPENSNOOP_AREA_MASK (OPENSNOOP_PATH_MAX + OPENSNOOP_DIR_MAX - 1)
#define OPENSNOOP_AREA (OPENSNOOP_PATH_MAX + OPENSNOOP_DIR_MAX + OPENSNOOP_NAME_MAX)
#define OPENSNOOP_MAX_DEPTH 64

/*
 * The bits of dir_flags. An enum, so that Rust uses the generated type; packed, so that it is
 * the record's one byte.
 */
enum opensnoop_dir_flag {
	OPENSNOOP_DIR_NONE = 0, /* no walk (an absolute path, or no -F) */
	OPENSNOOP_DIR_RESOLVED = 1, /* the walk ran; dir_len/dir_depth are meaningful */
	OPENSNOOP_DIR_TRUNCATED = 2, /* stopped before reaching the root */
	OPENSNOOP_DIR_FROM_FD = 4, /* started at openat()'s dirfd, not the cwd */
} __attribute__((packed));

struct opensnoop_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC at syscall exit */
	__u64 callers[2];
	__u64 cgroup_id; /* cgroup v2 id of the opening task (bpf_get_current_cgroup_id, 4.18) */
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret;
	__u32 flags;
	__u32 mode;
	__u16 fname_len; /* bytes of the user's path at path[0], with its NUL */
	__u16 dir_len; /* bytes of NUL-terminated directory names after it, leaf first (-F) */
	__u8 dir_depth;
	enum opensnoop_dir_flag dir_flags; /* OPENSNOOP_DIR_* bits */
	__u8 comm[FERRO_COMM_LEN];
	__u8 __reserved[2];
	__u8 path[OPENSNOOP_AREA];
};

#endif
