// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * syscount: syscalls counted per syscall or per process (-P), with their total latency (-L),
 * at the raw_syscalls tracepoints (sys_exit always, sys_enter with -L): as tp_btf (5.5+),
 * else as raw tracepoints (4.17+). Neither needs tracefs or a perf event, and both skip the
 * record a classic tracepoint program gets built for every syscall. Filters (-p, -c, -x, -e)
 * apply here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "syscount.h"

const volatile enum syscount_key key_by = KEY_SYSCALL;
const volatile enum syscount_limit syscount_limit_btf = SYSCOUNT_IDS;
/*
 * --containers, --container: count per cgroup v2 id as well, in `cgroups` (rodata, so that
 * plain syscount keeps its per-CPU array and pays nothing for it).
 */
const volatile bool by_cgroup = false;
/* -L: time each syscall from sys_enter. */
const volatile bool measure_latency = false;
/* -x: failed syscalls only (a return value below 0). */
const volatile bool filter_failed = false;
/* -e: syscalls that failed with this errno only (0: any). */
const volatile int filter_errno = 0;
/*
 * Syscall numbers user space looks up in the native table: exit and exit_group never return,
 * so sys_enter stamps no start time for them (it would stay in `start` for good); execve and
 * execveat change the comm -P shows. -1: none. The compat table's exits likewise.
 */
const volatile int nr_exit = -1;
const volatile int nr_exit_group = -1;
const volatile int nr_compat_exit = -1;
const volatile int nr_compat_exit_group = -1;
const volatile int nr_execve = -1;
const volatile int nr_execveat = -1;

/*
 * Counted but dropped: no room in `procs` (-P), in `start` (-L), in `cgroups` (--containers),
 * or a number past the array.
 */
__u64 procs_full = 0;
__u64 cgroups_full = 0;
__u64 start_full = 0;
__u64 ids_beyond = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct syscount_counts);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_PROCS);
	__type(key, __u32);
	__type(value, struct syscount_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_CGROUP_KEYS);
	__type(key, struct syscount_cgroup_key);
	__type(value, struct syscount_proc);
} cgroups SEC(".maps");

/* -L: when each thread now inside a syscall entered it, by thread ID; taken at sys_exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCOUNT_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

/*
 * -L on tp_btf: entry times in task-local storage instead of `start`: a pointer to the current
 * task's slot, no hashing, no element taken and given back per syscall, and freed with the
 * task, so it never fills. User space sets it on tp_btf only (the helpers need the trusted
 * task pointer of bpf_get_current_task_btf(), 5.11+; a kernel that refuses them loads the raw
 * tracepoint programs with the hash map instead).
 */
const volatile bool use_task_storage = false;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} start_task SEC(".maps");

static const struct syscount_proc zero_proc;

/*
 * Is the current syscall a compat (32-bit) one? Its number is then the compat table's. x86:
 * TS_COMPAT in thread_info.status (arch/x86/include/asm/thread_info.h), set on entry through
 * int 0x80, sysenter or a 32-bit process's syscall and cleared only on the way back to user
 * space, after sys_exit. Other architectures: never (their compat tasks' numbers would be
 * named from the native table).
 */
static __always_inline bool compat_syscall(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *t = (void *)bpf_get_current_task();

	return BPF_CORE_READ(t, thread_info.status) & 0x0002 /* TS_COMPAT */;
#else
	return false;
#endif
}

/* sys_enter: stamp the thread's entry into syscall `nr` (-L). */
static __always_inline int on_enter(int nr, bool direct)
{
	__u64 pid_tgid, ts;
	__u32 tid;

	FERRO_FLOOR_GUARD();
	/* Which table the number is of is asked only when it matters: i386's exit is 1, write's
	 * number in x86_64's. */
	if (nr == nr_exit || nr == nr_exit_group || nr == nr_compat_exit ||
	    nr == nr_compat_exit_group) {
		if (compat_syscall() ? nr == nr_compat_exit || nr == nr_compat_exit_group
				     : nr == nr_exit || nr == nr_exit_group)
			return 0;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	if (!ferro_task_wanted(pid_tgid))
		return 0;
	ts = bpf_ktime_get_ns();
	if (direct && use_task_storage) {
		__u64 *tsp = bpf_task_storage_get(&start_task, bpf_get_current_task_btf(), 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (tsp)
			*tsp = ts;
		else
			__sync_fetch_and_add(&start_full, 1);
		return 0;
	}
	tid = pid_tgid;
	if (bpf_map_update_elem(&start, &tid, &ts, BPF_ANY))
		__sync_fetch_and_add(&start_full, 1);
	return 0;
}

/*
 * Add a syscall to the counters of `key` in `map` (`procs` by tgid, or `cgroups`), made at
 * zero if missing; with -P (`name`) the process's name too. No room: counted in `*full`.
 */
static __always_inline void count_shared(void *map, void *key, int nr, __u64 ns, bool name,
					 __u64 *full)
{
	struct syscount_proc *p = bpf_map_lookup_elem(map, key);
	bool fresh = !p;

	if (!p) {
		/* EEXIST from a racing CPU is fine: the lookup below decides. */
		bpf_map_update_elem(map, key, &zero_proc, BPF_NOEXIST);
		p = bpf_map_lookup_elem(map, key);
		if (!p) {
			__sync_fetch_and_add(full, 1);
			return;
		}
	}
	/* A process is named by its leader, as libbpf-tools names it, and anew after exec. */
	if (name && (fresh || nr == nr_execve || nr == nr_execveat)) {
		struct task_struct *t = (void *)bpf_get_current_task();

		BPF_CORE_READ_STR_INTO(&p->comm, t, group_leader, comm);
	}
	__sync_fetch_and_add(&p->count, 1);
	if (ns)
		__sync_fetch_and_add(&p->total_ns, ns);
}

/* sys_exit: count syscall `nr`, which returned `ret`. */
static __always_inline int on_exit(int nr, long ret, bool direct)
{
	struct syscount_cgroup_key cg = {};
	struct syscount_counts *c;
	__u64 pid_tgid, ns = 0, *tsp;
	__u32 tid, tgid, slot;

	FERRO_FLOOR_GUARD();
	/* -1: not a syscall (the exit of a syscall restarted after a signal, seccomp's skip). */
	if (nr < 0)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (measure_latency) {
		/* Only threads sys_enter stamped, which it did after the same filters. */
		if (direct && use_task_storage) {
			tsp = bpf_task_storage_get(&start_task, bpf_get_current_task_btf(), 0, 0);
			if (!tsp || !*tsp)
				return 0;
			ns = bpf_ktime_get_ns() - *tsp;
			/* Taken: a syscall that never entered under this tool is not timed. */
			*tsp = 0;
		} else {
			tid = pid_tgid;
			tsp = bpf_map_lookup_elem(&start, &tid);
			if (!tsp)
				return 0;
			ns = bpf_ktime_get_ns() - *tsp;
			bpf_map_delete_elem(&start, &tid);
		}
	} else if (!ferro_task_wanted(pid_tgid)) {
		return 0;
	}
	if (filter_failed && ret >= 0)
		return 0;
	if (filter_errno && ret != -filter_errno)
		return 0;

	if (key_by == KEY_PROCESS) {
		tgid = pid_tgid >> 32;
		if (!by_cgroup) {
			count_shared(&procs, &tgid, nr, ns, true, &procs_full);
			return 0;
		}
		cg.cgroup_id = bpf_get_current_cgroup_id();
		cg.id = tgid;
		count_shared(&cgroups, &cg, nr, ns, true, &cgroups_full);
		return 0;
	}
	if (nr >= SYSCOUNT_IDS) {
		__sync_fetch_and_add(&ids_beyond, 1);
		return 0;
	}
	slot = nr + (compat_syscall() ? SYSCOUNT_IDS : 0);
	if (by_cgroup) {
		cg.cgroup_id = bpf_get_current_cgroup_id();
		cg.id = slot;
		count_shared(&cgroups, &cg, nr, ns, false, &cgroups_full);
		return 0;
	}
	c = bpf_map_lookup_elem(&syscalls, &slot);
	if (!c)
		return 0;
	/* This CPU's copy: nothing else writes it while this program runs here. */
	c->count++;
	c->total_ns += ns;
	return 0;
}

/*
 * The syscall's number at sys_exit, which passes only the registers and the return value: as
 * the kernel's syscall_get_nr() reads it (x86: orig_ax; arm64: syscallno), which is what the
 * tracepoint's own record holds (-1 when not in a syscall). tp_btf programs may load through
 * the BTF pointer directly; raw tracepoint ones copy.
 */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(regs, direct) ((direct) ? (int)(regs)->orig_ax : (int)BPF_CORE_READ(regs, orig_ax))
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs, direct) ((direct) ? (int)(regs)->syscallno : (int)BPF_CORE_READ(regs, syscallno))
#else
#error "syscount: no syscall number in pt_regs for this architecture"
#endif

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(id, true);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(id, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(SYSCALL_NR(regs, true), ret, true);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(SYSCALL_NR(regs, false), ret, false);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
