// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * killsnoop: signals sent with kill(2), tkill(2) and tgkill(2), with the result.
 *
 * Syscall entry records the call per thread (the sender's comm and the target's, looked up
 * while it still exists); syscall exit adds the return value and sends the record. These are
 * tracepoints (CONFIG_FTRACE_SYSCALLS): no kprobe or fentry is needed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.bpf.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "killsnoop.h"
#include "syscalls.bpf.h"

/* -s: bit (sig - 1) set for each wanted signal; 0: every signal. */
const volatile __u64 sig_mask = 0;
/* -x: only calls that failed. */
const volatile bool failed_only = false;
/*
 * Look up TCOMM. Cleared by user space for a second load where the kernel has the kfunc but
 * refuses it in tracepoint programs; the verifier then skips the call as dead code.
 */
const volatile bool lookup_tcomm = true;

/* The target's comm where the kernel offers a task lookup by pid (6.2); weak: absent before. */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct killsnoop_event);
} calls SEC(".maps");

static __always_inline int enter(long tpid, long sig, enum killsnoop_syscall sc)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct killsnoop_event e = {};
	struct task_struct *t;

	FERRO_FLOOR_GUARD();
	if (sig_mask && (sig < 1 || sig > 64 || !(sig_mask & (1ULL << (sig - 1)))))
		return 0;
	if (!ferro_task_wanted(pid_tgid))
		return 0;
	e.pid = pid_tgid >> 32;
	e.tid = tid;
	e.tpid = tpid;
	e.sig = sig;
	e.syscall = sc;
	e.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (lookup_tcomm && bpf_ksym_exists(bpf_task_from_pid) && e.tpid > 0) {
		t = bpf_task_from_pid(e.tpid);
		if (t) {
			bpf_probe_read_kernel_str(e.tcomm, sizeof(e.tcomm), t->comm);
			e.tcomm_known = 1;
			bpf_task_release(t);
		}
	}
	bpf_map_update_elem(&calls, &tid, &e, BPF_ANY);
	return 0;
}

static __always_inline int leave(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct killsnoop_event *e;

	FERRO_FLOOR_GUARD();
	e = bpf_map_lookup_elem(&calls, &tid);
	if (!e)
		return 0;
	if (!failed_only || ret < 0) {
		e->ret = ret;
		e->ts_ns = bpf_ktime_get_ns();
		ferro_emit(ctx, e, sizeof(*e));
	}
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int enter_kill(struct ferro_sys_enter *ctx)
{
	return enter((int)ctx->args[0], (int)ctx->args[1], KILLSNOOP_KILL);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int exit_kill(struct ferro_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int enter_tkill(struct ferro_sys_enter *ctx)
{
	return enter((int)ctx->args[0], (int)ctx->args[1], KILLSNOOP_TKILL);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int exit_tkill(struct ferro_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

/* tgkill(tgid, tid, sig): the target shown is the thread, as libbpf-tools shows it. */
SEC("tracepoint/syscalls/sys_enter_tgkill")
int enter_tgkill(struct ferro_sys_enter *ctx)
{
	return enter((int)ctx->args[1], (int)ctx->args[2], KILLSNOOP_TGKILL);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int exit_tgkill(struct ferro_sys_exit *ctx)
{
	return leave(ctx, ctx->ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
