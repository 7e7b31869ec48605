/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_EXECSNOOP_H
#define FERROSCOPE_EXECSNOOP_H

#include "limits.h"

/* The exec'd file name as the kernel resolved it (bprm->filename). */
#define EXECSNOOP_FNAME_MAX 4096
/* argv strings, NUL-separated, as they sit in the new process's memory. */
#define EXECSNOOP_ARGS_MAX 16384
/* Failed execs read argv one string at a time from the caller: at most this many. */
#define EXECSNOOP_FAILED_ARGS 64
#define EXECSNOOP_ARG_MAX 256
/*
 * The caller's argc is counted at syscall entry up to this many pointers; beyond it the count
 * is unknown (EXECSNOOP_ARGC_KNOWN unset) and user space finds where the caller's arguments
 * start in the new argv by the file name instead.
 */
#define EXECSNOOP_ARGC_COUNT_MAX 1024
/* Slack of one string past the masked offsets keeps every write in bounds for the verifier. */
#define EXECSNOOP_AREA (EXECSNOOP_FNAME_MAX + EXECSNOOP_ARGS_MAX + EXECSNOOP_ARG_MAX)

/* flags */
#define EXECSNOOP_ARGS_TRUNCATED 1
/* caller_argc holds the argc the caller passed to execve (counted at syscall entry). */
#define EXECSNOOP_ARGC_KNOWN 2

struct execsnoop_event {
	__u64 ts_ns;
	__u64 cgroup_id; /* cgroup v2 id of the exec'ing task (bpf_get_current_cgroup_id, 4.18) */
	__u32 pid; /* tgid after the exec */
	__u32 tid; /* the thread that called exec */
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u16 fname_len; /* bytes at area[0], with the NUL */
	__u16 flags;
	__u32 args_len; /* bytes of argv after the file name */
	/*
	 * A script (#!) or binfmt_misc handler rewrites argv: the new process's argv is the
	 * interpreter's, e.g. [interp, arg, file, argv[1]...]. The caller's argv[1..] are its
	 * last caller_argc - 1 strings; argv[0], which the kernel drops, was read at syscall
	 * entry and follows the argv block (argv0_len bytes with its NUL; 0: not read).
	 */
	__u32 caller_argc;
	__u16 argv0_len;
	__u16 _pad;
	__u8 comm[FERRO_COMM_LEN];
	__u8 pcomm[FERRO_COMM_LEN];
	__u8 area[EXECSNOOP_AREA];
};

#endif
