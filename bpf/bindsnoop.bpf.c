// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * bindsnoop: bind() calls on IPv4 and IPv6 sockets, with the socket's protocol, options,
 * device, the bound port and address, and the result.
 *
 * Two paths, the same record:
 * - kprobes on inet_bind/inet6_bind and their returns (libbpf-tools' hooks; they also see
 *   binds made inside the kernel), where the kernel has kprobes;
 * - otherwise the syscalls:sys_enter_bind/sys_exit_bind tracepoints: the address comes from
 *   the caller's sockaddr at entry, the socket from the fd at exit (the task's file table).
 *   They also see binds that fail before reaching the protocol (EBADF, ENOTSOCK, EINVAL),
 *   and miss kernel-internal binds and io_uring's.
 * Either way a bound socket gives its port and address (the port the kernel picked for
 * port 0); a failed bind reports the ones asked for.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "bindsnoop.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "sock.bpf.h"
#include "syscalls.bpf.h"

/* -x: failed binds too (default: only those that returned 0). */
const volatile bool include_failed = false;
/* -P: bound ports (none: every port). */
const volatile int n_ports = 0;
const volatile __u16 targ_ports[FERRO_MAX_PORTS] = {};

const volatile struct bindsnoop_event bindsnoop_event_btf = {};

/* A bind in progress, per thread: what the caller asked for and the socket (or its fd). */
struct call {
	__u64 sock; /* struct socket * (kprobe path) or the fd (tracepoint path) */
	__u8 addr[16];
	__u16 family;
	__u16 port;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

/*
 * Before 6.6 the IP options were bitfields of inet_sock (libbpf-tools 0.26 fails to load on
 * later kernels for reading them); since, they are bits of inet_flags, numbered by an
 * anonymous enum (INET_FLAGS_*), which CO-RE cannot look up by name: its values, the same
 * from 6.6 to 6.18, are used as libbpf-tools does.
 */
struct inet_sock___bits {
	__u8 freebind : 1;
	__u8 transparent : 1;
	__u8 bind_address_no_port : 1;
} __attribute__((preserve_access_index));

#define FERRO_INET_FLAGS_FREEBIND 11
#define FERRO_INET_FLAGS_TRANSPARENT 15
#define FERRO_INET_FLAGS_BIND_ADDRESS_NO_PORT 18

static __always_inline __u8 ip_opts(const struct sock *sk)
{
	struct inet_sock___bits *old = (void *)sk;
	__u8 opts = 0;

	if (bpf_core_field_exists(struct inet_sock, inet_flags)) {
		__u64 flags = BPF_CORE_READ((struct inet_sock *)sk, inet_flags);

		if (flags & (1ULL << FERRO_INET_FLAGS_FREEBIND))
			opts |= BINDSNOOP_FREEBIND;
		if (flags & (1ULL << FERRO_INET_FLAGS_TRANSPARENT))
			opts |= BINDSNOOP_TRANSPARENT;
		if (flags & (1ULL << FERRO_INET_FLAGS_BIND_ADDRESS_NO_PORT))
			opts |= BINDSNOOP_BIND_ADDRESS_NO_PORT;
	} else if (bpf_core_field_exists(old->freebind)) {
		if (BPF_CORE_READ_BITFIELD_PROBED(old, freebind))
			opts |= BINDSNOOP_FREEBIND;
		if (BPF_CORE_READ_BITFIELD_PROBED(old, transparent))
			opts |= BINDSNOOP_TRANSPARENT;
		if (BPF_CORE_READ_BITFIELD_PROBED(old, bind_address_no_port))
			opts |= BINDSNOOP_BIND_ADDRESS_NO_PORT;
	}
	if (BPF_CORE_READ_BITFIELD_PROBED(&sk->__sk_common, skc_reuse))
		opts |= BINDSNOOP_REUSEADDR;
	if (BPF_CORE_READ_BITFIELD_PROBED(&sk->__sk_common, skc_reuseport))
		opts |= BINDSNOOP_REUSEPORT;
	return opts;
}

/* Remember what the caller asked for: `uaddr` is a sockaddr in user (`user`) or kernel memory. */
static __always_inline void enter(__u64 sock, const void *uaddr, bool user)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct call c = {};
	struct sockaddr_in6 sa = {};
	int err;

	if (!ferro_task_wanted(id))
		return;
	err = user ? bpf_probe_read_user(&sa, sizeof(sa), uaddr) :
		     bpf_probe_read_kernel(&sa, sizeof(sa), uaddr);
	/* A sockaddr_in is shorter than a sockaddr_in6: read at least its 16 bytes. */
	if (err)
		err = user ? bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), uaddr) :
			     bpf_probe_read_kernel(&sa, sizeof(struct sockaddr_in), uaddr);
	if (err)
		return;
	c.family = sa.sin6_family;
	if (c.family != FERRO_AF_INET && c.family != FERRO_AF_INET6)
		return;
	c.sock = sock;
	c.port = bpf_ntohs(sa.sin6_port);
	if (c.family == FERRO_AF_INET)
		__builtin_memcpy(c.addr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	else
		__builtin_memcpy(c.addr, &sa.sin6_addr, 16);
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
}

/* The socket behind `fd` of the current task, NULL when the fd is not a socket. */
static __always_inline struct socket *fd_socket(__u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds, *file;
	struct socket *sock;
	unsigned int max;

	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd >= max)
		return NULL;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	/* A socket's file and the socket point at each other; other files' private data do not. */
	if (!sock || BPF_CORE_READ(sock, file) != file)
		return NULL;
	return sock;
}

/*
 * The current thread's bind() returned `ret`: report the call `enter` recorded, if any. `by_fd`:
 * the call holds the fd (syscall tracepoints), whose socket is looked up now; otherwise the
 * socket's address (kprobes).
 */
static __always_inline void finish(void *ctx, bool by_fd, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct bindsnoop_event e = {};
	struct socket *sock;
	struct sock *sk = NULL;
	struct call *c;

	c = bpf_map_lookup_elem(&calls, &tid);
	if (!c)
		return;
	sock = by_fd ? fd_socket(c->sock) : (struct socket *)c->sock;
	if (ret && !include_failed)
		goto out;
	e.family = c->family;
	e.port = c->port;
	e.requested_port = c->port;
	__builtin_memcpy(e.addr, c->addr, sizeof(e.addr));
	if (sock)
		sk = BPF_CORE_READ(sock, sk);
	if (sk) {
		e.family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (e.family != FERRO_AF_INET && e.family != FERRO_AF_INET6)
			goto out;
		e.protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
		e.opts = ip_opts(sk);
		e.bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
		if (!ret) {
			e.port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
			__builtin_memset(e.addr, 0, sizeof(e.addr));
			if (e.family == FERRO_AF_INET)
				BPF_CORE_READ_INTO((__u32 *)e.addr, sk, __sk_common.skc_rcv_saddr);
			else
				BPF_CORE_READ_INTO((struct in6_addr *)e.addr, sk,
						   __sk_common.skc_v6_rcv_saddr);
		}
	}
	if (!ferro_port_listed(targ_ports, n_ports, e.port))
		goto out;
	e.ts_ns = bpf_ktime_get_ns();
	e.pid = id >> 32;
	e.tid = tid;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.ret = ret;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	ferro_emit(ctx, &e, sizeof(e));
out:
	bpf_map_delete_elem(&calls, &tid);
}

SEC("tracepoint/syscalls/sys_enter_bind")
int sys_enter_bind(struct ferro_sys_enter *ctx)
{
	FERRO_FLOOR_GUARD();
	enter(ctx->args[0], (const void *)ctx->args[1], true);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int sys_exit_bind(struct ferro_sys_exit *ctx)
{
	FERRO_FLOOR_GUARD();
	finish(ctx, true, ctx->ret);
	return 0;
}

SEC("kprobe/inet_bind")
int BPF_KPROBE(kprobe_inet_bind, struct socket *sock, struct sockaddr *uaddr)
{
	FERRO_FLOOR_GUARD();
	enter((__u64)sock, uaddr, false);
	return 0;
}

SEC("kretprobe/inet_bind")
int BPF_KRETPROBE(kretprobe_inet_bind, int ret)
{
	FERRO_FLOOR_GUARD();
	finish(ctx, false, ret);
	return 0;
}

SEC("kprobe/inet6_bind")
int BPF_KPROBE(kprobe_inet6_bind, struct socket *sock, struct sockaddr *uaddr)
{
	FERRO_FLOOR_GUARD();
	enter((__u64)sock, uaddr, false);
	return 0;
}

SEC("kretprobe/inet6_bind")
int BPF_KRETPROBE(kretprobe_inet6_bind, int ret)
{
	FERRO_FLOOR_GUARD();
	finish(ctx, false, ret);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
