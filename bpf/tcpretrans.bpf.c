// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * tcpretrans: TCP retransmissions, from the tcp:tcp_retransmit_skb tracepoint (4.16+), as
 * BCC's tcpretrans uses it: the ports from the record, the addresses, family and state from
 * the socket (so kernels whose record lacks them work too), the sequence number from the
 * segment. No kprobe or fentry. Tail loss probes (-l) have no tracepoint: a kprobe on
 * tcp_send_loss_probe reports them where the kernel has kprobes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "tcpretrans.h"
#include "floor.bpf.h"
#include "container.bpf.h"
#include "sock.bpf.h"

/* -4/-6: AF_INET or AF_INET6, 0 for both. */
const volatile __u16 targ_family = 0;

const volatile struct tcpretrans_event tcpretrans_event_btf = {};

static __always_inline void report(void *ctx, const struct sock *sk, const struct sk_buff *skb,
				   __u16 sport, __u16 dport, enum tcpretrans_type type)
{
	struct tcpretrans_event e = {};
	__u64 cg;

	e.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e.family != FERRO_AF_INET && e.family != FERRO_AF_INET6)
		return;
	if (targ_family && e.family != targ_family)
		return;
	e.ts_ns = bpf_ktime_get_ns();
	e.pid = bpf_get_current_pid_tgid() >> 32;
	cg = ferro_sock_cgroup_id(sk);
	e.cgroup_id = cg ? cg : bpf_get_current_cgroup_id();
	if (ferro_cgroup_skipped(e.cgroup_id))
		return;
	e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e.sport = sport;
	e.dport = dport;
	e.type = type;
	/* TCP_SKB_CB(skb)->seq: the first field of the control block. */
	if (skb)
		bpf_probe_read_kernel(&e.seq, sizeof(e.seq),
				      __builtin_preserve_access_index(&((struct sk_buff *)skb)->cb));
	ferro_sock_addrs(sk, e.family, e.saddr, e.daddr);
	ferro_emit(ctx, &e, sizeof(e));
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int retransmit(struct ferro_tcp_retransmit_rec *ctx)
{
	FERRO_FLOOR_GUARD();
	report(ctx, (const struct sock *)ctx->skaddr, (const struct sk_buff *)ctx->skbaddr,
	       ctx->sport, ctx->dport, TCPRETRANS_RETRANSMIT);
	return 0;
}

SEC("kprobe/tcp_send_loss_probe")
int BPF_KPROBE(loss_probe, struct sock *sk)
{
	__u16 sport, dport;

	FERRO_FLOOR_GUARD();
	sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	report(ctx, sk, NULL, sport, dport, TCPRETRANS_LOSS_PROBE);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
