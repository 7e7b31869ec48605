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
/*
 * Audit paths (the executable, the working directory) follow argv[0] in the area, each as its
 * names from the leaf up to the root, every name with its NUL: written leaf first, they need no
 * scratch buffer, and user space joins them in reverse. A path has at most EXECSNOOP_PATH_DEPTH
 * names (mount crossings count as one step each); both share EXECSNOOP_PATHS_MAX bytes.
 */
#define EXECSNOOP_PATH_DEPTH 48
#define EXECSNOOP_NAME_MAX 256 /* NAME_MAX with the NUL */
#define EXECSNOOP_PATHS_MAX 8192
/*
 * Slack of one string past the masked offsets keeps every write in bounds for the verifier.
 * The whole record stays under 32 KiB, the largest per-CPU map value.
 */
#define EXECSNOOP_AREA                                                                      \
	(EXECSNOOP_FNAME_MAX + EXECSNOOP_ARGS_MAX + EXECSNOOP_ARG_MAX + EXECSNOOP_PATHS_MAX + \
	 EXECSNOOP_NAME_MAX)

/*
 * The bits of the record's flags. An enum, so that Rust uses the generated type; of the
 * field's 16 bits.
 */
enum execsnoop_flag : __u16 {
	EXECSNOOP_FLAGS_NONE = 0,
	EXECSNOOP_ARGS_TRUNCATED = 1,
	/* caller_argc holds the argc the caller passed to execve (counted at syscall entry). */
	EXECSNOOP_ARGC_KNOWN = 2,
};

/*
 * The bits of the record's `audit`: which audit parts were read at sched_process_exec (only
 * those user space asks for in rodata audit_want, the same bits), then what was found. An
 * enum, so that Rust uses the generated constants.
 */
enum execsnoop_audit : __u16 {
	EXECSNOOP_AUDIT_NONE = 0,
	EXECSNOOP_AUDIT_EXE = 1 << 0, /* exe components, exe flags below */
	EXECSNOOP_AUDIT_CWD = 1 << 1, /* cwd components */
	EXECSNOOP_AUDIT_TTY = 1 << 2, /* tty_name, tty_index */
	EXECSNOOP_AUDIT_IDS = 1 << 3, /* euid, gid, egid, loginuid, sessionid */
	EXECSNOOP_AUDIT_GPARENT = 1 << 4, /* gpcomm */
	EXECSNOOP_EXE_CUT = 1 << 8, /* the exe walk stopped before the root */
	EXECSNOOP_CWD_CUT = 1 << 9, /* the cwd walk stopped before the root */
	EXECSNOOP_EXE_MEMFD = 1 << 10, /* on a kernel-internal mount: memfd (shmem, hugetlbfs) */
	EXECSNOOP_EXE_DELETED = 1 << 11, /* no name on disk left: inode i_nlink 0 */
	EXECSNOOP_EXE_UPPER = 1 << 12, /* on overlayfs, its real inode in the upper layer */
	EXECSNOOP_HAS_TTY = 1 << 13, /* signal->tty set */
	/*
	 * The name the executable was opened by was removed (d_unlinked(): unhashed, not a root),
	 * so /proc/PID/exe ends in " (deleted)"; another hard link may still name the file.
	 */
	EXECSNOOP_EXE_UNLINKED = 1 << 14,
	EXECSNOOP_CWD_DELETED = 1 << 15, /* the working directory was removed (d_unlinked()) */
};

struct execsnoop_event {
	__u64 ts_ns;
	__u64 cgroup_id; /* cgroup v2 id of the exec'ing task (bpf_get_current_cgroup_id, 4.18) */
	__u32 pid; /* tgid after the exec */
	__u32 tid; /* the thread that called exec */
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u16 fname_len; /* bytes at area[0], with the NUL */
	enum execsnoop_flag flags; /* EXECSNOOP_ARGS_TRUNCATED, EXECSNOOP_ARGC_KNOWN */
	__u32 args_len; /* bytes of argv after the file name */
	/*
	 * A script (#!) or binfmt_misc handler rewrites argv: the new process's argv is the
	 * interpreter's, e.g. [interp, arg, file, argv[1]...]. The caller's argv[1..] are its
	 * last caller_argc - 1 strings; argv[0], which the kernel drops, was read at syscall
	 * entry and follows the argv block (argv0_len bytes with its NUL; 0: not read).
	 */
	__u32 caller_argc;
	__u16 argv0_len;
	enum execsnoop_audit audit; /* EXECSNOOP_AUDIT_* read, and what was found */
	/* Credentials after the exec (task->real_cred; uid above is its uid). */
	__u32 euid;
	__u32 gid;
	__u32 egid;
	/* Audit login uid and session (task->loginuid/sessionid): (u32)-1 when unset. */
	__u32 loginuid;
	__u32 sessionid;
	__u32 tty_index; /* tty->index */
	__u16 exe_len; /* bytes of exe components after argv[0] */
	__u16 cwd_len; /* bytes of cwd components after those */
	__u8 tty_name[FERRO_COMM_LEN]; /* tty->driver->name: "pts", "tty", "ttyS" */
	__u8 comm[FERRO_COMM_LEN];
	__u8 pcomm[FERRO_COMM_LEN];
	__u8 gpcomm[FERRO_COMM_LEN]; /* the grandparent's comm */
	__u8 area[EXECSNOOP_AREA];
};

#endif
