// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * execsnoop: every exec with its complete arguments.
 *
 * Successful execs are reported from sched_process_exec (tp_btf where the kernel
 * has it, the classic tracepoint otherwise), reading argv from
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
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "execsnoop.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "syscalls.bpf.h"

const volatile __u32 targ_ppid = 0;
const volatile int max_failed_args = EXECSNOOP_FAILED_ARGS;
/* -x: report failed execs (syscall entry is traced either way, for the caller's argv). */
const volatile bool targ_failed = false;
/* EXECSNOOP_AUDIT_* parts to read at each successful exec: only what the options show. */
const volatile __u32 audit_want = 0;

/* include/linux/mount.h; unchanged since 2.6.38 (a plain #define, absent from BTF on old kernels). */
#define FERRO_MNT_INTERNAL 0x4000
/* include/uapi/linux/magic.h */
#define FERRO_OVERLAYFS_SUPER_MAGIC 0x794c7630

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
	e->audit = 0;
	e->exe_len = 0;
	e->cwd_len = 0;
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

/* walk_path()'s result: the new offset, and this bit when the walk stopped early. */
#define WALK_CUT (1u << 16)

/*
 * Write the names of the path (dentry, vfsmnt) in the area after argv[0], at offset off of the
 * paths' space, leaf first, each with its NUL, up to the task's root or the top of its mount
 * tree: the walk of the kernel's prepend_path() (fs/d_path.c), bounded. Returns the offset
 * after the last name, with WALK_CUT when the walk stopped early (depth or space).
 *
 * A global function: the verifier checks it once, on its own, not at every call site.
 * Kernel pointers come as integers (they are only read through probe reads).
 */
__noinline __u32 walk_path(__u32 start, __u64 dentry_p, __u64 vfsmnt_p)
{
	/* The caller's record, this CPU's heap slot: looked up here so that every argument is a
	 * scalar (global functions take pointers to memory only from 5.12). */
	__u32 zero = 0;
	struct execsnoop_event *e = bpf_map_lookup_elem(&heap, &zero);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	struct dentry *dentry = (void *)dentry_p;
	struct vfsmount *vfsmnt = (void *)vfsmnt_p;
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct mount *mnt = (void *)vfsmnt - mnt_off;
	__u64 off = start & (EXECSNOOP_PATHS_MAX - 1);
	struct mount *mnt_parent;
	struct dentry *parent;
	const unsigned char *name;
	bool done = false;
	__u64 base, pos;
	long n;
	int i;

	if (!e)
		return WALK_CUT;
	/*
	 * base is at most the three blocks before the paths and off is masked to the paths'
	 * space, so every write is in bounds; the mask also gives off the same range at the top
	 * of every iteration, whichever way it came, which lets the verifier prune.
	 */
	base = (__u64)e->fname_len + e->args_len + e->argv0_len;
	if (base > EXECSNOOP_FNAME_MAX + EXECSNOOP_ARGS_MAX + EXECSNOOP_ARG_MAX)
		return WALK_CUT;
	for (i = 0; i < EXECSNOOP_PATH_DEPTH; i++) {
		if (!dentry || (dentry == root_dentry && vfsmnt == root_mnt)) {
			done = true;
			break;
		}
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			/* The top of this mount namespace, or a detached mount. */
			if (!mnt_parent || mnt_parent == mnt) {
				done = true;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = (void *)mnt + mnt_off;
			continue;
		}
		if (off > EXECSNOOP_PATHS_MAX - EXECSNOOP_NAME_MAX)
			break;
		parent = BPF_CORE_READ(dentry, d_parent);
		name = BPF_CORE_READ(dentry, d_name.name);
		/*
		 * Checked again on the sum itself: 6.1's verifier does not carry the check of base
		 * above to its copy spilled on the stack. The empty asm hides pos's range from the
		 * compiler, which would otherwise drop this check as already known.
		 */
		pos = base + off;
		asm volatile("" : "+r"(pos));
		if (pos > EXECSNOOP_AREA - EXECSNOOP_NAME_MAX)
			break;
		n = bpf_probe_read_kernel_str(&e->area[pos], EXECSNOOP_NAME_MAX, name);
		if (n <= 0)
			break;
		off = (off + n) & (EXECSNOOP_PATHS_MAX - 1);
		/* Its own parent below a mount's root: a pseudo file (memfd), one name. */
		if (parent == dentry) {
			done = true;
			break;
		}
		dentry = parent;
	}
	/*
	 * The bound reached just as the walk came to its end: the path had exactly as many names
	 * as the loop reads, so it is whole. The loop's last pass wrote the last name and never
	 * came back to see the root above it.
	 */
	if (!done && i == EXECSNOOP_PATH_DEPTH && dentry) {
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			done = true;
		} else if (dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (!mnt_parent || mnt_parent == mnt)
				done = true;
		}
	}
	return (off & (EXECSNOOP_PATHS_MAX - 1)) | (done ? 0 : WALK_CUT);
}

/* Is this inode on overlayfs with its real inode in the upper layer (written after mount)? */
static __always_inline bool overlay_upper(struct inode *inode)
{
	struct ovl_inode *oi;

	if (!bpf_core_type_exists(struct ovl_inode))
		return false;
	if (BPF_CORE_READ(inode, i_sb, s_magic) != FERRO_OVERLAYFS_SUPER_MAGIC)
		return false;
	oi = (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);
	return BPF_CORE_READ(oi, __upperdentry) != NULL;
}

/* d_unlinked() (include/linux/dcache.h): unhashed and not its own parent (a root). */
static __always_inline bool unlinked(struct dentry *d)
{
	return !BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d;
}

/* The audit parts user space asked for (audit_want), after argv[0] in the area. */
static __always_inline void fill_audit(struct task_struct *task, struct execsnoop_event *e)
{
	struct tty_struct *tty;
	struct file *exe;
	struct inode *inode;
	struct dentry *d;
	struct vfsmount *m;
	__u32 p = 0, r;

	if (audit_want & EXECSNOOP_AUDIT_EXE) {
		e->audit |= EXECSNOOP_AUDIT_EXE;
		exe = BPF_CORE_READ(task, mm, exe_file);
		if (exe) {
			d = BPF_CORE_READ(exe, f_path.dentry);
			m = BPF_CORE_READ(exe, f_path.mnt);
			r = walk_path(0, (__u64)d, (__u64)m);
			if (r & WALK_CUT)
				e->audit |= EXECSNOOP_EXE_CUT;
			p = r & (EXECSNOOP_PATHS_MAX - 1);
			e->exe_len = p;
			if (BPF_CORE_READ(m, mnt_flags) & FERRO_MNT_INTERNAL)
				e->audit |= EXECSNOOP_EXE_MEMFD;
			inode = BPF_CORE_READ(exe, f_inode);
			/*
			 * A memfd never had a name on disk: these are for a file that lost one. Deleted:
			 * the inode's link count (i_nlink, include/linux/fs.h) fell to 0, no name is
			 * left. Unlinked: the name it was opened by is gone (d_unlinked(), dcache.h), which
			 * d_path() (fs/d_path.c) marks " (deleted)" even when another hard link remains.
			 */
			if (!(e->audit & EXECSNOOP_EXE_MEMFD)) {
				if (BPF_CORE_READ(inode, i_nlink) == 0)
					e->audit |= EXECSNOOP_EXE_DELETED;
				if (unlinked(d))
					e->audit |= EXECSNOOP_EXE_UNLINKED;
			}
			if (overlay_upper(inode))
				e->audit |= EXECSNOOP_EXE_UPPER;
		}
	}
	if (audit_want & EXECSNOOP_AUDIT_CWD) {
		e->audit |= EXECSNOOP_AUDIT_CWD;
		d = BPF_CORE_READ(task, fs, pwd.dentry);
		m = BPF_CORE_READ(task, fs, pwd.mnt);
		r = walk_path(p, (__u64)d, (__u64)m);
		if (r & WALK_CUT)
			e->audit |= EXECSNOOP_CWD_CUT;
		if (d && unlinked(d))
			e->audit |= EXECSNOOP_CWD_DELETED;
		e->cwd_len = (r & (EXECSNOOP_PATHS_MAX - 1)) - p;
	}
	if (audit_want & EXECSNOOP_AUDIT_TTY) {
		e->audit |= EXECSNOOP_AUDIT_TTY;
		e->tty_name[0] = '\0';
		e->tty_index = 0;
		tty = BPF_CORE_READ(task, signal, tty);
		if (tty) {
			e->audit |= EXECSNOOP_HAS_TTY;
			e->tty_index = BPF_CORE_READ(tty, index);
			bpf_probe_read_kernel_str(e->tty_name, sizeof(e->tty_name),
						  BPF_CORE_READ(tty, driver, name));
		}
	}
	if (audit_want & EXECSNOOP_AUDIT_IDS) {
		e->audit |= EXECSNOOP_AUDIT_IDS;
		e->euid = BPF_CORE_READ(task, real_cred, euid.val);
		e->gid = BPF_CORE_READ(task, real_cred, gid.val);
		e->egid = BPF_CORE_READ(task, real_cred, egid.val);
		/* CONFIG_AUDIT off: no such fields, and the audit subsystem's "unset". */
		e->loginuid = (__u32)-1;
		e->sessionid = (__u32)-1;
		if (bpf_core_field_exists(task->loginuid)) {
			e->loginuid = BPF_CORE_READ(task, loginuid.val);
			e->sessionid = BPF_CORE_READ(task, sessionid);
		}
	}
	if (audit_want & EXECSNOOP_AUDIT_GPARENT) {
		e->audit |= EXECSNOOP_AUDIT_GPARENT;
		BPF_CORE_READ_STR_INTO(&e->gpcomm, task, real_parent, real_parent, comm);
	}
}

static __always_inline void submit_with_audit(void *ctx, struct execsnoop_event *e)
{
	__u64 size = offsetof(struct execsnoop_event, area) + e->fname_len + e->args_len +
		     e->argv0_len + e->exe_len + e->cwd_len;

	if (size > sizeof(*e))
		size = sizeof(*e);
	ferro_emit(ctx, e, size);
}

/*
 * A successful exec, from either hook: task is the task after the exec (current), old_tid the
 * thread that called exec, filename the kernel's bprm->filename (kernel memory).
 */
static __always_inline int on_exec(void *ctx, struct task_struct *task, __u32 old_tid,
				   const char *filename)
{
	unsigned long start, end, len;
	struct execsnoop_event *e;
	struct start_t *s;
	unsigned int pos;
	long n;

	if (!wanted(task))
		goto out;
	e = fill_common(task);
	if (!e)
		goto out;
	e->tid = old_tid;

	n = bpf_probe_read_kernel_str(e->area, EXECSNOOP_FNAME_MAX - 1, filename);
	if (n <= 0) {
		e->area[0] = '\0';
		n = 1;
	}
	e->fname_len = n;

	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end > start ? end - start : 0;
	/* One byte short of the maximum, so that argv[0] can follow at an in-bounds offset. A block
	 * of exactly the maximum loses only its last byte, the NUL ending its last string
	 * (mm->arg_end is just past it), which user space does not need: every argument is whole,
	 * so it is no cut. */
	if (len > EXECSNOOP_ARGS_MAX - 1) {
		if (len > EXECSNOOP_ARGS_MAX)
			e->flags |= EXECSNOOP_ARGS_TRUNCATED;
		len = EXECSNOOP_ARGS_MAX - 1;
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
	if (audit_want)
		fill_audit(task, e);
	submit_with_audit(ctx, e);
out:
	/* The syscall succeeded: its entry record is not needed for a failure report. */
	bpf_map_delete_elem(&execs, &old_tid);
	return 0;
}

/* Where the kernel has BTF tracepoints (5.5): the arguments directly, no record copied. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	FERRO_FLOOR_GUARD();
	return on_exec(ctx, p, old_pid, BPF_CORE_READ(bprm, filename));
}

/* Everywhere else: the classic tracepoint's record, whose filename follows it (__data_loc). */
SEC("tracepoint/sched/sched_process_exec")
int sched_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int off = ctx->__data_loc_filename & 0xFFFF;

	FERRO_FLOOR_GUARD();
	return on_exec(ctx, (struct task_struct *)bpf_get_current_task(), ctx->old_pid,
		       (void *)ctx + off);
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
