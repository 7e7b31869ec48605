// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * tcplife: one record per TCP session, when its socket closes, with its addresses, ports,
 * bytes sent and received, and lifetime.
 *
 * Everything comes from sock:inet_sock_set_state (4.16+), through tp_btf (its arguments are
 * the socket and the two states; 5.5+) where the kernel allows, else the classic tracepoint
 * (its record has the addresses and ports): no kprobe or fentry. As libbpf-tools' tcplife:
 * a move to ESTABLISHED, SYN_SENT or SYN_RECV stamps the socket's birth; SYN_SENT (connect)
 * and LAST_ACK (close after the peer's FIN) run in the owning task, which is remembered as
 * the session's PID and COMM; the move to CLOSE reports. A socket whose birth was not seen
 * (opened before the tool started) is not reported.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.bpf.h"
#include "tcplife.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "sock.bpf.h"

/* -4/-6: AF_INET or AF_INET6, 0 for both. */
const volatile __u16 targ_family = 0;
/* -L: local ports, -D: remote ports (none: every port). */
const volatile int n_lports = 0;
const volatile __u16 targ_lports[FERRO_MAX_PORTS] = {};
const volatile int n_rports = 0;
const volatile __u16 targ_rports[FERRO_MAX_PORTS] = {};

/* The record is built on the stack; this puts its type in the object's BTF for the skeleton. */
const volatile struct tcplife_event tcplife_event_btf = {};

/* When each socket was born (bpf_ktime_get_ns). LRU: sockets that never close age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} birth SEC(".maps");

struct ident {
	__u64 cgroup_id;
	__u32 pid;
	__u8 comm[FERRO_COMM_LEN];
};

/* The task seen at SYN_SENT or LAST_ACK, per socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ident);
} idents SEC(".maps");

/* One state change; `tp` is the classic tracepoint's record, NULL on the tp_btf path. */
static __always_inline void state_change(void *ctx, struct trace_event_raw_inet_sock_set_state *tp,
					 const struct sock *sk, int newstate, __u16 family,
					 __u16 sport, __u16 dport)
{
	__u64 key = (__u64)sk, now, *born, id;
	struct tcplife_event e = {};
	struct ident *who;

	if (targ_family && family != targ_family)
		return;
	if (!ferro_port_listed(targ_lports, n_lports, sport) ||
	    !ferro_port_listed(targ_rports, n_rports, dport))
		return;
	if (newstate < FERRO_TCP_FIN_WAIT1) {
		now = bpf_ktime_get_ns();
		bpf_map_update_elem(&birth, &key, &now, BPF_ANY);
	}
	if (newstate == FERRO_TCP_SYN_SENT || newstate == FERRO_TCP_LAST_ACK) {
		struct ident me = {};

		id = bpf_get_current_pid_tgid();
		me.pid = id >> 32;
		if (targ_tgid && me.pid != targ_tgid)
			return;
		me.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(me.comm, sizeof(me.comm));
		bpf_map_update_elem(&idents, &key, &me, BPF_ANY);
	}
	if (newstate != FERRO_TCP_CLOSE)
		return;

	born = bpf_map_lookup_elem(&birth, &key);
	if (!born) {
		bpf_map_delete_elem(&idents, &key);
		return;
	}
	e.ts_ns = bpf_ktime_get_ns();
	e.span_ns = e.ts_ns - *born;
	bpf_map_delete_elem(&birth, &key);
	who = bpf_map_lookup_elem(&idents, &key);
	if (who) {
		e.pid = who->pid;
		e.cgroup_id = who->cgroup_id;
		__builtin_memcpy(e.comm, who->comm, sizeof(e.comm));
	} else {
		e.pid = bpf_get_current_pid_tgid() >> 32;
		e.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(e.comm, sizeof(e.comm));
	}
	bpf_map_delete_elem(&idents, &key);
	if (targ_tgid && e.pid != targ_tgid)
		return;
	/* The socket's own cgroup is right even when the close runs in softirq context. */
	id = ferro_sock_cgroup_id(sk);
	if (id)
		e.cgroup_id = id;
	if (ferro_cgroup_skipped(e.cgroup_id))
		return;
	e.tx_bytes = BPF_CORE_READ((struct tcp_sock *)sk, bytes_acked);
	e.rx_bytes = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	e.family = family;
	e.sport = sport;
	e.dport = dport;
	if (tp)
		ferro_state_addrs(tp, family, e.saddr, e.daddr);
	else
		ferro_sock_addrs(sk, family, e.saddr, e.daddr);
	ferro_emit(ctx, &e, sizeof(e));
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_state_change(struct trace_event_raw_inet_sock_set_state *ctx)
{
	FERRO_FLOOR_GUARD();
	if (ctx->protocol != FERRO_IPPROTO_TCP)
		return 0;
	state_change(ctx, ctx, (const struct sock *)ctx->skaddr, ctx->newstate, ctx->family,
		     ctx->sport, ctx->dport);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_state_change, const struct sock *sk, int oldstate, int newstate)
{
	__u16 family, sport, dport;

	FERRO_FLOOR_GUARD();
	if (BPF_CORE_READ(sk, sk_protocol) != FERRO_IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/*
	 * inet_sport, not skc_num: the move to CLOSE releases the port (inet_put_port() zeroes
	 * skc_num) before the tracepoint runs; the tracepoint takes inet_sport too.
	 */
	sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	state_change(ctx, NULL, sk, newstate, family, sport, dport);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
