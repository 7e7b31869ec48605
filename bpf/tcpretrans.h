/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_TCPRETRANS_H
#define FERROSCOPE_TCPRETRANS_H

/* What a record reports: BCC's T column. */
enum tcpretrans_type {
	TCPRETRANS_RETRANSMIT = 1, /* R: tcp:tcp_retransmit_skb */
	TCPRETRANS_LOSS_PROBE = 2, /* L: a tail loss probe (kprobe on tcp_send_loss_probe) */
} __attribute__((packed));

/* One retransmitted segment (or tail loss probe). */
struct tcpretrans_event {
	__u8 saddr[16]; /* local address: 4 bytes for AF_INET, 16 for AF_INET6 */
	__u8 daddr[16]; /* remote address */
	__u64 ts_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 cgroup_id; /* cgroup v2 id of the socket (5.15+), else of the current task */
	__u32 pid; /* current tgid: mostly 0, retransmissions run from timers and softirqs */
	__u32 seq; /* TCP_SKB_CB(skb)->seq: the segment's first sequence number; 0 for L */
	__u16 sport; /* local port, host order */
	__u16 dport; /* remote port, host order */
	__u16 family; /* AF_INET or AF_INET6 */
	__u8 state; /* sk_state: TCP_ESTABLISHED, TCP_SYN_SENT, ... */
	enum tcpretrans_type type;
};

#endif
