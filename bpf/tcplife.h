/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_TCPLIFE_H
#define FERROSCOPE_TCPLIFE_H

#include "limits.h"

/* One TCP session, sent when its socket enters TCP_CLOSE (sock:inet_sock_set_state). */
struct tcplife_event {
	__u8 saddr[16]; /* local address: 4 bytes for AF_INET, 16 for AF_INET6 */
	__u8 daddr[16]; /* remote address */
	__u64 ts_ns; /* bpf_ktime_get_ns() at the close (CLOCK_MONOTONIC) */
	__u64 span_ns; /* from the last move to ESTABLISHED/SYN_SENT/SYN_RECV to the close */
	__u64 tx_bytes; /* tcp_sock.bytes_acked: bytes sent and acknowledged by the peer */
	__u64 rx_bytes; /* tcp_sock.bytes_received: bytes received in sequence */
	/*
	 * cgroup v2 id of the socket (its creator's cgroup, 5.15+), else of the task remembered
	 * with the PID, else of the current task
	 */
	__u64 cgroup_id;
	__u32 pid; /* tgid remembered at SYN_SENT or LAST_ACK, else the current task's at close */
	__u16 sport; /* local port, host order */
	__u16 dport; /* remote port, host order */
	__u16 family; /* AF_INET or AF_INET6 */
	__u8 comm[FERRO_COMM_LEN]; /* the same task's comm */
};

#endif
