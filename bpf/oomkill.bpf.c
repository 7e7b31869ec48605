// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * oomkill: OOM kills, with the task that triggered the OOM killer and the one it killed.
 *
 * Three hooks, one loaded (user space chooses, tools/oomkill/src/main.rs):
 * - kprobe:oom_kill_process(oc, message), libbpf-tools' hook, where the kernel has kprobes:
 *   the victim is oc->chosen and the OOM domain's size oc->totalpages;
 * - tp_btf/mark_victim(task, uid) where the tracepoint passes the victim's task (6.8, and
 *   backported to Debian's 6.1): victim pid, comm and cgroup from the task; no page count;
 * - the classic oom:mark_victim tracepoint otherwise: pid (the victim thread's id) and, where
 *   the record has it, comm.
 * mark_victim fires in mark_oom_victim(), which the OOM killer runs in the context of the task
 * that ran out of memory, as oom_kill_process, so `current` is the trigger on every path. It
 * also fires where no oom_kill_process call happens: for a task already exiting that is only
 * marked, and once for each member of a memory cgroup killed as a group (memory.oom.group).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "floor.bpf.h"
#include "container.bpf.h"
#include "oomkill.h"

/* Only the ring buffer and perf array map the record type; this puts it in BTF for Rust. */
const volatile struct oomkill_event oomkill_event_btf = {};

/* The trigger's fields, from `current`. */
static __always_inline void trigger(struct oomkill_event *e, enum oomkill_hook hook)
{
	e->ts_ns = bpf_ktime_get_ns();
	e->fpid = bpf_get_current_pid_tgid() >> 32;
	e->hook = hook;
	bpf_get_current_comm(e->fcomm, sizeof(e->fcomm));
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(kprobe_oom_kill_process, struct oom_control *oc, const char *message)
{
	struct oomkill_event e = {};
	struct task_struct *victim;

	FERRO_FLOOR_GUARD();
	trigger(&e, OOMKILL_KPROBE);
	victim = BPF_CORE_READ(oc, chosen);
	e.pages = BPF_CORE_READ(oc, totalpages);
	e.tpid = BPF_CORE_READ(victim, tgid);
	e.cgroup_id = BPF_CORE_READ(victim, cgroups, dfl_cgrp, kn, id);
	e.tcomm_known = bpf_probe_read_kernel_str(e.tcomm, sizeof(e.tcomm), &victim->comm) > 0;
	if (ferro_cgroup_skipped(e.cgroup_id))
		return 0;
	ferro_emit(ctx, &e, sizeof(e));
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(tp_btf_mark_victim, struct task_struct *victim, uid_t uid)
{
	struct oomkill_event e = {};

	FERRO_FLOOR_GUARD();
	trigger(&e, OOMKILL_TP_BTF);
	e.tpid = victim->tgid;
	e.cgroup_id = BPF_CORE_READ(victim, cgroups, dfl_cgrp, kn, id);
	e.tcomm_known = bpf_probe_read_kernel_str(e.tcomm, sizeof(e.tcomm), victim->comm) > 0;
	if (ferro_cgroup_skipped(e.cgroup_id))
		return 0;
	ferro_emit(ctx, &e, sizeof(e));
	return 0;
}

SEC("tracepoint/oom/mark_victim")
int tracepoint_mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct oomkill_event e = {};
	unsigned int off;

	FERRO_FLOOR_GUARD();
	trigger(&e, OOMKILL_TRACEPOINT);
	e.tpid = ctx->pid;
	e.cgroup_id = bpf_get_current_cgroup_id();
	/* The victim's comm follows the record (__data_loc) where the kernel's format has it. */
	if (bpf_core_field_exists(ctx->__data_loc_comm)) {
		off = ctx->__data_loc_comm & 0xFFFF;
		e.tcomm_known =
			bpf_probe_read_kernel_str(e.tcomm, sizeof(e.tcomm), (void *)ctx + off) > 0;
	}
	if (ferro_cgroup_skipped(e.cgroup_id))
		return 0;
	ferro_emit(ctx, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
