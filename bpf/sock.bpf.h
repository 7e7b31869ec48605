/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the socket tools (tcpconnect, tcplife, ...) share: the kernel's constants they compare
 * with, port lists set from user space, and reading a socket's addresses from
 * sock:inet_sock_set_state's record or from the socket itself. Include after vmlinux.h and
 * bpf_core_read.h.
 */
#ifndef FERROSCOPE_SOCK_BPF_H
#define FERROSCOPE_SOCK_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

/* include/linux/socket.h, include/uapi/linux/in.h: stable ABI values. */
#define FERRO_AF_INET 2
#define FERRO_AF_INET6 10
#define FERRO_IPPROTO_TCP 6
#define FERRO_IPPROTO_UDP 17

/* include/net/tcp_states.h: the states sock:inet_sock_set_state reports. */
#define FERRO_TCP_ESTABLISHED 1
#define FERRO_TCP_SYN_SENT 2
#define FERRO_TCP_SYN_RECV 3
#define FERRO_TCP_FIN_WAIT1 4
#define FERRO_TCP_CLOSE 7
#define FERRO_TCP_LAST_ACK 9

/* The longest port list a filter takes (common::net::MAX_PORTS reads it from here). */
#define FERRO_MAX_PORTS 64

/* Is `port` among the first `n` of `ports` (a rodata list; n == 0: no filter, all wanted)? */
static __always_inline bool ferro_port_listed(const volatile __u16 *ports, int n, __u16 port)
{
	int i;

	if (!n)
		return true;
	for (i = 0; i < FERRO_MAX_PORTS && i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/*
 * The source and destination address of a sock:inet_sock_set_state record: 4 bytes of an
 * IPv4 address, or the 16 of an IPv6 one, into 16-byte buffers.
 */
static __always_inline void ferro_state_addrs(struct trace_event_raw_inet_sock_set_state *ctx,
					      __u16 family, __u8 *saddr, __u8 *daddr)
{
	if (family == FERRO_AF_INET) {
		bpf_probe_read_kernel(saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(daddr, 16, ctx->daddr_v6);
	}
}

/*
 * The same addresses read from the socket, as the tracepoint takes them (its TP_STORE_ADDRS):
 * inet_sock.inet_saddr and skc_daddr for IPv4, skc_v6_rcv_saddr and skc_v6_daddr for IPv6.
 */
static __always_inline void ferro_sock_addrs(const struct sock *sk, __u16 family, __u8 *saddr,
					     __u8 *daddr)
{
	if (family == FERRO_AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)saddr, (struct inet_sock *)sk, inet_saddr);
		BPF_CORE_READ_INTO((__u32 *)daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)daddr, sk, __sk_common.skc_v6_daddr);
	}
}

/*
 * The cgroup v2 id of the socket: the cgroup of the task that created it (an accepted socket:
 * its listener's), which stays right where the current task does not (a close in softirq
 * context). sock_cgroup_data has held the cgroup pointer since 5.15; 0 before.
 */
static __always_inline __u64 ferro_sock_cgroup_id(const struct sock *sk)
{
	if (!bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return 0;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

/*
 * tcp:tcp_retransmit_skb's record. Its type is named after the tracepoint class, which changed
 * (tcp_event_sk_skb before 6.6, tcp_retransmit_skb after), so CO-RE cannot find it by name;
 * these leading fields are at the same offsets in both.
 */
struct ferro_tcp_retransmit_rec {
	__u64 common;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
};

#endif
