/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_BINDSNOOP_H
#define FERROSCOPE_BINDSNOOP_H

#include "limits.h"

/* The socket options of the OPTS column, as bits of bindsnoop_event.opts. */
enum bindsnoop_opt {
	BINDSNOOP_FREEBIND = 1, /* IP_FREEBIND */
	BINDSNOOP_TRANSPARENT = 2, /* IP_TRANSPARENT */
	BINDSNOOP_BIND_ADDRESS_NO_PORT = 4, /* IP_BIND_ADDRESS_NO_PORT */
	BINDSNOOP_REUSEADDR = 8, /* SO_REUSEADDR */
	BINDSNOOP_REUSEPORT = 16, /* SO_REUSEPORT */
};

/* One bind() of an AF_INET or AF_INET6 address, sent when the call returns. */
struct bindsnoop_event {
	__u8 addr[16]; /* bound address: 4 bytes for AF_INET, 16 for AF_INET6 */
	__u64 ts_ns; /* bpf_ktime_get_ns() at the return (CLOCK_MONOTONIC) */
	__u64 cgroup_id; /* bpf_get_current_cgroup_id() of the caller */
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret; /* 0 or -errno */
	__s32 bound_dev_if; /* sk_bound_dev_if: the device the socket is bound to, 0 for none */
	__u16 port; /* bound port, host order (the socket's; the caller's for a failed bind) */
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 protocol; /* sk_protocol: IPPROTO_TCP, IPPROTO_UDP, ...; 0 when no socket was found */
	__u16 requested_port; /* the port the caller asked for, host order: 0 for any (whichever
				* port the kernel then picked), so that --prometheus's port label
				* stays one series for every bind of port 0 */
	__u8 opts; /* enum bindsnoop_opt bits */
	__u8 comm[FERRO_COMM_LEN];
};

#endif
