// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* opensnoop: trace open(), openat() and openat2(). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "events.bpf.h"
#include "opensnoop.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "syscalls.bpf.h"

#define FERRO_AT_FDCWD -100
#define FERRO_O_ACCMODE 3

const volatile bool targ_failed = false;
const volatile bool filter_comm = false;
const volatile __u8 targ_comm[FERRO_COMM_LEN] = {};
/* -n: how many bytes of targ_comm to look for (1 to 15). */
const volatile __u32 targ_comm_len = 0;
/* -f: an open passes if it has any of these flag bits or one of these access modes. */
const volatile bool filter_flags = false;
const volatile __u32 targ_flag_bits = 0;
const volatile __u8 targ_accmodes = 0; /* bit n set: O_ACCMODE value n accepted */
const volatile bool want_callers = false;

struct args_t {
	const char *fname;
	__u64 flags;
	__u32 mode;
	__s32 dirfd;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct args_t);
} start SEC(".maps");

/* Events are too big for the 512-byte stack; each CPU builds its own here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct opensnoop_event);
} heap SEC(".maps");

static __always_inline bool comm_matches(void)
{
	char comm[FERRO_COMM_LEN] = {};
	__u32 i, j, n = targ_comm_len;

	bpf_get_current_comm(comm, sizeof(comm));
	/* Substring match, as libbpf-tools' strstr() does in user space: the name's n bytes
	 * (1 to 15, so i + j stays below FERRO_COMM_LEN) at some offset i of the comm. */
	for (i = 0; i + n < FERRO_COMM_LEN; i++) {
		for (j = 0; j < n && j < FERRO_COMM_LEN - 1; j++) {
			if (comm[(i + j) & (FERRO_COMM_LEN - 1)] != targ_comm[j])
				break;
		}
		if (j == n)
			return true;
		if (!comm[i & (FERRO_COMM_LEN - 1)])
			break;
	}
	return false;
}

static __always_inline bool flags_match(__u64 flags)
{
	if (flags & targ_flag_bits)
		return true;
	return targ_accmodes & (1 << (flags & FERRO_O_ACCMODE));
}

/*
 * Could `a` be a return address in user space? Above the first page and below 2^56,
 * the most user space any 64-bit architecture gives a task (x86_64 with 5-level
 * paging; arm64 has at most 2^52); text read as an address (top byte 0x20 or more)
 * is not.
 */
static __always_inline bool user_addr(__u64 a)
{
	return a >= 4096 && a < (1ULL << 56);
}

static __always_inline int trace_enter(const char *fname, __u64 flags, __u32 mode, int dirfd)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args_t args = {};

	if (!ferro_task_wanted(id))
		return 0;
	if (filter_flags && !flags_match(flags))
		return 0;
	if (filter_comm && !comm_matches())
		return 0;

	args.fname = fname;
	args.flags = flags;
	args.mode = mode;
	args.dirfd = dirfd;
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

/*
 * Names of the directories a relative path starts from, leaf first, each
 * NUL-terminated, stopping at the task's own root so that a chrooted or
 * containerised process gets the path it sees. The start is the dirfd's
 * directory for openat(dirfd, ...), not the cwd.
 */
static __always_inline void walk_dir(struct opensnoop_event *e, int dirfd, __u32 off)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *dentry, *parent, *root_dentry, *mnt_root;
	struct vfsmount *vfsmnt, *root_mnt;
	struct mount *mnt, *mnt_parent;
	const unsigned char *name;
	__u32 pos;
	long n;
	int i;

	root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	if (dirfd == FERRO_AT_FDCWD) {
		dentry = BPF_CORE_READ(task, fs, pwd.dentry);
		vfsmnt = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
		unsigned int max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
		struct file *f = NULL;

		if (dirfd < 0 || (unsigned int)dirfd >= max_fds)
			return;
		bpf_probe_read_kernel(&f, sizeof(f), &fds[dirfd]);
		if (!f)
			return;
		dentry = BPF_CORE_READ(f, f_path.dentry);
		vfsmnt = BPF_CORE_READ(f, f_path.mnt);
		e->dir_flags |= OPENSNOOP_DIR_FROM_FD;
	}
	mnt = container_of(vfsmnt, struct mount, mnt);

	/*
	 * The running length lives in the map value, not in a register: the
	 * verifier then sees every iteration alike and prunes, where a tracked
	 * counter multiplies states until the program is "too large".
	 */
	for (i = 0; i < OPENSNOOP_MAX_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root || dentry == parent) {
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (mnt_parent == mnt)
				break;
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt_parent->mnt;
			continue;
		}
		if (e->dir_len >= OPENSNOOP_DIR_MAX) {
			e->dir_flags |= OPENSNOOP_DIR_TRUNCATED;
			break;
		}
		name = BPF_CORE_READ(dentry, d_name.name);
		pos = (off + e->dir_len) & OPENSNOOP_AREA_MASK;
		n = bpf_probe_read_kernel_str(&e->path[pos], OPENSNOOP_NAME_MAX, name);
		if (n <= 0) {
			e->dir_flags |= OPENSNOOP_DIR_TRUNCATED;
			break;
		}
		e->dir_len += n;
		e->dir_depth++;
		dentry = parent;
	}
	if (i == OPENSNOOP_MAX_DEPTH)
		e->dir_flags |= OPENSNOOP_DIR_TRUNCATED;
	e->dir_flags |= OPENSNOOP_DIR_RESOLVED;
}

/* `full` is a constant in each program: the -F programs carry the directory walk and its
 * CO-RE relocations, the others neither (libbpf relocates only programs it loads). */
static __always_inline int trace_exit(void *ctx, long ret, bool full)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct opensnoop_event *e;
	struct args_t *args;
	__u64 stack[3] = {};
	__u64 size;
	long len, n;

	args = bpf_map_lookup_elem(&start, &tid);
	if (!args)
		return 0;
	if (targ_failed && ret >= 0)
		goto cleanup;
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		goto cleanup;

	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ret = ret;
	e->flags = args->flags;
	e->mode = args->mode;
	e->dir_len = 0;
	e->dir_depth = 0;
	e->dir_flags = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Read at exit: the kernel has copied the name by now, so its page is present. */
	len = bpf_probe_read_user_str(e->path, OPENSNOOP_PATH_MAX, args->fname);
	if (len <= 0) {
		e->path[0] = '\0';
		len = 1;
	}
	e->fname_len = len;
	if (full && e->path[0] != '/')
		walk_dir(e, args->dirfd, len & (OPENSNOOP_PATH_MAX - 1));
	if (want_callers) {
		/*
		 * stack[0] is inside the libc syscall wrapper; its callers follow.
		 * The user stack is walked by frame pointers: through code built
		 * without them (glibc's open(), most Rust) the walk reads whatever
		 * the frame register points at, often path bytes. Keep only frames
		 * the walk filled that are user-space addresses, and none after the
		 * first that is not (it came from a bogus frame).
		 */
		n = bpf_get_stack(ctx, stack, sizeof(stack), BPF_F_USER_STACK);
		e->callers[0] = n >= 2 * 8 && user_addr(stack[1]) ? stack[1] : 0;
		e->callers[1] = n >= 3 * 8 && e->callers[0] && user_addr(stack[2]) ? stack[2] : 0;
	} else {
		e->callers[0] = 0;
		e->callers[1] = 0;
	}

	size = offsetof(struct opensnoop_event, path) + e->fname_len + e->dir_len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	ferro_emit(ctx, e, size);
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct ferro_sys_enter *ctx)
{
	FERRO_FLOOR_GUARD();
	return trace_enter((const char *)ctx->args[0], ctx->args[1], ctx->args[2], FERRO_AT_FDCWD);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct ferro_sys_enter *ctx)
{
	FERRO_FLOOR_GUARD();
	return trace_enter((const char *)ctx->args[1], ctx->args[2], ctx->args[3], (int)ctx->args[0]);
}

/* struct open_how is user-space ABI (include/uapi/linux/openat2.h): no CO-RE needed. */
struct ferro_open_how {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct ferro_sys_enter *ctx)
{
	struct ferro_open_how how = {};

	FERRO_FLOOR_GUARD();
	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return trace_enter((const char *)ctx->args[1], how.flags, how.mode, (int)ctx->args[0]);
}

#define EXIT_PROGRAMS(syscall)                                      \
	SEC("tracepoint/syscalls/sys_exit_" #syscall)               \
	int exit_##syscall(struct ferro_sys_exit *ctx)              \
	{                                                           \
		FERRO_FLOOR_GUARD();                                \
		return trace_exit(ctx, ctx->ret, false);            \
	}                                                           \
	SEC("tracepoint/syscalls/sys_exit_" #syscall)               \
	int exit_##syscall##_full(struct ferro_sys_exit *ctx)       \
	{                                                           \
		FERRO_FLOOR_GUARD();                                \
		return trace_exit(ctx, ctx->ret, true);             \
	}

EXIT_PROGRAMS(open)
EXIT_PROGRAMS(openat)
EXIT_PROGRAMS(openat2)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
