// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * execsnoop: every exec with its complete arguments.
 *
 * Successful execs are reported from sched_process_exec, reading argv from
 * the new process's memory (mm->arg_start..arg_end): the kernel has just
 * written it there, so it is present, unlike the caller's argv pages at
 * syscall entry. The tracepoint carries old_pid, so an exec from a thread that
 * is not the group leader is kept. Failed execs (-x) come from syscall exit.
 *
 * For a script or binfmt_misc program that argv is the interpreter's. Syscall
 * entry therefore records the caller's argc and argv[0] (the one string the
 * kernel drops), so user space can show what the caller ran, as libbpf-tools
 * does, with arguments still complete.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.bpf.h"
#include "execsnoop.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "syscalls.bpf.h"

const volatile __u32 targ_ppid = 0;
const volatile int max_failed_args = EXECSNOOP_FAILED_ARGS;
/* -x: report failed execs (syscall entry is traced either way, for the caller's argv). */
const volatile bool targ_failed = false;

struct start_t {
	const char *filename;
	const char *const *argv;
	__u32 argc; /* valid with EXECSNOOP_ARGC_KNOWN in flags */
	__u16 flags;
	__u16 argv0_len; /* bytes at argv0 with the NUL; 0: unread */
	char argv0[EXECSNOOP_ARG_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct start_t);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct execsnoop_event);
} heap SEC(".maps");

/* Scratch for a start_t, too large for the stack next to the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct start_t);
} start_heap SEC(".maps");

static __always_inline bool wanted(struct task_struct *task)
{
	if (!ferro_task_wanted(bpf_get_current_pid_tgid()))
		return false;
	return !targ_ppid || BPF_CORE_READ(task, real_parent, tgid) == targ_ppid;
}

static __always_inline struct execsnoop_event *fill_common(struct task_struct *task)
{
	__u32 zero = 0;
	struct execsnoop_event *e = bpf_map_lookup_elem(&heap, &zero);

	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->retval = 0;
	e->flags = 0;
	e->fname_len = 0;
	e->args_len = 0;
	e->caller_argc = 0;
	e->argv0_len = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	BPF_CORE_READ_STR_INTO(&e->pcomm, task, real_parent, comm);
	return e;
}

static __always_inline void submit(void *ctx, struct execsnoop_event *e)
{
	__u64 size = offsetof(struct execsnoop_event, area) + e->fname_len + e->args_len;

	if (size > sizeof(*e))
		size = sizeof(*e);
	ferro_emit(ctx, e, size);
}

static __always_inline void submit_with_argv0(void *ctx, struct execsnoop_event *e)
{
	__u64 size = offsetof(struct execsnoop_event, area) + e->fname_len + e->args_len +
		     e->argv0_len;

	if (size > sizeof(*e))
		size = sizeof(*e);
	ferro_emit(ctx, e, size);
}

SEC("tracepoint/sched/sched_process_exec")
int sched_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 old_tid = ctx->old_pid;
	unsigned long start, end, len;
	struct execsnoop_event *e;
	struct start_t *s;
	unsigned int off, pos;
	long n;

	FERRO_FLOOR_GUARD();
	if (!wanted(task))
		goto out;
	e = fill_common(task);
	if (!e)
		goto out;
	e->tid = old_tid;

	off = ctx->__data_loc_filename & 0xFFFF;
	n = bpf_probe_read_kernel_str(e->area, EXECSNOOP_FNAME_MAX - 1, (void *)ctx + off);
	if (n <= 0) {
		e->area[0] = '\0';
		n = 1;
	}
	e->fname_len = n;

	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end > start ? end - start : 0;
	/* One byte short of the maximum, so that argv[0] can follow at an in-bounds offset. */
	if (len > EXECSNOOP_ARGS_MAX - 1) {
		len = EXECSNOOP_ARGS_MAX - 1;
		e->flags |= EXECSNOOP_ARGS_TRUNCATED;
	}
	if (len && bpf_probe_read_user(&e->area[e->fname_len & (EXECSNOOP_FNAME_MAX - 1)],
				       len & (EXECSNOOP_ARGS_MAX - 1), (void *)start) == 0)
		e->args_len = len;

	s = bpf_map_lookup_elem(&execs, &old_tid);
	if (s) {
		e->flags |= s->flags & EXECSNOOP_ARGC_KNOWN;
		e->caller_argc = s->argc;
		pos = (e->fname_len & (EXECSNOOP_FNAME_MAX - 1)) +
		      (e->args_len & (EXECSNOOP_ARGS_MAX - 1));
		n = s->argv0_len;
		if (n > 0 && n <= EXECSNOOP_ARG_MAX &&
		    bpf_probe_read_kernel(&e->area[pos], n & (EXECSNOOP_ARG_MAX - 1) ?: EXECSNOOP_ARG_MAX,
					  s->argv0) == 0)
			e->argv0_len = n;
	}
	submit_with_argv0(ctx, e);
out:
	/* The syscall succeeded: its entry record is not needed for a failure report. */
	bpf_map_delete_elem(&execs, &old_tid);
	return 0;
}

static __always_inline int enter(const char *filename, const char *const *argv)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	const char *argp;
	struct start_t *s;
	__u32 zero = 0;
	long n;
	int i;

	s = bpf_map_lookup_elem(&start_heap, &zero);
	if (!s)
		return 0;
	s->filename = filename;
	s->argv = argv;
	s->flags = 0;
	s->argv0_len = 0;
	s->argc = 0;
	/* Count the caller's argv: a NULL pointer ends it, as the kernel's count() does. */
	for (i = 0; i < EXECSNOOP_ARGC_COUNT_MAX; i++) {
		argp = NULL;
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]))
			break;
		if (!argp) {
			s->argc = i;
			s->flags |= EXECSNOOP_ARGC_KNOWN;
			break;
		}
	}
	argp = NULL;
	if (s->flags & EXECSNOOP_ARGC_KNOWN && s->argc > 0 &&
	    bpf_probe_read_user(&argp, sizeof(argp), &argv[0]) == 0 && argp) {
		n = bpf_probe_read_user_str(s->argv0, sizeof(s->argv0), argp);
		if (n > 0)
			s->argv0_len = n;
	}
	bpf_map_update_elem(&execs, &tid, s, BPF_ANY);
	return 0;
}

/* Only failures reach here with an entry: sched_exec removed the successful ones. */
static __always_inline int exit_failed(void *ctx, long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct execsnoop_event *e;
	struct start_t *s;
	const char *argp;
	__u32 pos;
	long n;
	int i;

	s = bpf_map_lookup_elem(&execs, &tid);
	if (!s)
		return 0;
	if (ret >= 0 || !targ_failed || !wanted(task))
		goto out;
	e = fill_common(task);
	if (!e)
		goto out;
	e->retval = ret;
	n = bpf_probe_read_user_str(e->area, EXECSNOOP_FNAME_MAX - 1, s->filename);
	if (n <= 0) {
		e->area[0] = '\0';
		n = 1;
	}
	e->fname_len = n;
	/* args_len lives in the map value so that every iteration looks alike to the verifier. */
	for (i = 0; i < EXECSNOOP_FAILED_ARGS && i < max_failed_args; i++) {
		argp = NULL;
		if (bpf_probe_read_user(&argp, sizeof(argp), &s->argv[i]) || !argp)
			break;
		if (e->args_len > EXECSNOOP_ARGS_MAX - EXECSNOOP_ARG_MAX) {
			e->flags |= EXECSNOOP_ARGS_TRUNCATED;
			break;
		}
		pos = (e->fname_len & (EXECSNOOP_FNAME_MAX - 1)) +
		      (e->args_len & (EXECSNOOP_ARGS_MAX - 1));
		n = bpf_probe_read_user_str(&e->area[pos], EXECSNOOP_ARG_MAX, argp);
		if (n <= 0)
			break;
		e->args_len += n;
	}
	if (i == max_failed_args || i == EXECSNOOP_FAILED_ARGS) {
		argp = NULL;
		if (bpf_probe_read_user(&argp, sizeof(argp), &s->argv[i]) == 0 && argp)
			e->flags |= EXECSNOOP_ARGS_TRUNCATED;
	}
	submit(ctx, e);
out:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct ferro_sys_enter *ctx)
{
	FERRO_FLOOR_GUARD();
	return enter((const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int enter_execveat(struct ferro_sys_enter *ctx)
{
	FERRO_FLOOR_GUARD();
	return enter((const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int exit_execve(struct ferro_sys_exit *ctx)
{
	FERRO_FLOOR_GUARD();
	return exit_failed(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int exit_execveat(struct ferro_sys_exit *ctx)
{
	FERRO_FLOOR_GUARD();
	return exit_failed(ctx, ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
