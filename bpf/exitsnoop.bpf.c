// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * exitsnoop: process (and with -T thread) exits with their age and exit code or signal.
 *
 * sched:sched_process_exit fires in do_exit() after task->exit_code is set, in the context of
 * the exiting task, on every kernel with tracepoints: no kprobe or fentry is needed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.bpf.h"
#include "exitsnoop.h"
#include "filter.bpf.h"
#include "floor.bpf.h"

/* -T: every thread's exit; otherwise only the main thread's (pid == tid), as libbpf-tools. */
const volatile bool trace_threads = false;
/* -x: only non-zero exit codes (an exit status or a signal). */
const volatile bool trace_failed = false;
/*
 * The record is built on the stack and no map holds it, so nothing else would put its type in
 * the object's BTF, where the skeleton's Rust types come from; this unused constant does.
 */
const volatile struct exitsnoop_event exitsnoop_event_btf = {};

SEC("tracepoint/sched/sched_process_exit")
int sched_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct exitsnoop_event e = {};
	__u32 code;

	FERRO_FLOOR_GUARD();
	if (!trace_threads && (__u32)pid_tgid != (__u32)(pid_tgid >> 32))
		return 0;
	if (!ferro_task_wanted(pid_tgid))
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	code = BPF_CORE_READ(task, exit_code);
	if (trace_failed && code == 0)
		return 0;
	e.ts_ns = bpf_ktime_get_ns();
	e.start_ns = BPF_CORE_READ(task, start_time);
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.pid = pid_tgid >> 32;
	e.tid = (__u32)pid_tgid;
	e.ppid = BPF_CORE_READ(task, real_parent, tgid);
	e.exit_code = code;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	ferro_emit(ctx, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
