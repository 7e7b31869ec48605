// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * tcpconnect: active TCP connections, on kernels with fentry, with kprobes,
 * or with neither.
 *
 * Without either:
 * sock:inet_sock_set_state CLOSE->SYN_SENT runs inside connect() in the
 * connecting task, so the task and the destination are recorded there. The
 * source port is picked just after that transition, so the row is emitted at
 * the first later point that knows it: connect() returning (non-blocking
 * connects), the handshake ending, or the first SYN retransmission (a
 * blocking connect to a host that does not answer shows within a second, not
 * after the SYN timeout). The transitions out of SYN_SENT give the outcome.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "events.bpf.h"
#include "tcpconnect.h"
#include "filter.bpf.h"
#include "floor.bpf.h"
#include "syscalls.bpf.h"
#include "sock.bpf.h"

const volatile __u16 targ_family = 0;
const volatile int n_ports = 0;
const volatile __u16 targ_ports[FERRO_MAX_PORTS] = {};
/*
 * Tracepoint and kprobe paths: CLOSE->SYN_SENT registers the connect. With
 * fexit on tcp_v{4,6}_connect the function's return registers it instead, with
 * the source port already known, and the tracepoint only gives outcomes.
 * kretprobes can miss returns without a trace (register_kretprobe() in older
 * kernels built without CONFIG_PREEMPTION, such as Debian 11's 5.10, keeps one
 * instance per possible CPU: a connect that sleeps inside tcp_v4_connect()
 * while another thread enters it loses its return), so on the kprobe path the
 * return only reports sooner what the tracepoints would report anyway.
 */
const volatile bool register_at_syn_sent = true;
/* Which records user space prints (TCPCONNECT_ATTEMPT, _OUTCOME): the others are not sent. */
const volatile __u8 emit_phases = TCPCONNECT_ATTEMPT | TCPCONNECT_OUTCOME;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcpconnect_event);
} conns SEC(".maps");

/* The socket each thread is connecting, for its connect() return. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} by_tid SEC(".maps");

static __always_inline bool port_wanted(__u16 dport)
{
	return ferro_port_listed(targ_ports, n_ports, dport);
}

/* Filters that need only the current task: it is the connecting one on every path. */
static __always_inline bool task_wanted(__u64 id)
{
	return ferro_task_wanted(id);
}

static __always_inline void syn_sent(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 sk = (__u64)ctx->skaddr;
	__u32 tid = (__u32)id;
	struct tcpconnect_event e = {};

	e.family = ctx->family;
	if (targ_family && e.family != targ_family)
		return;
	e.dport = ctx->dport;
	if (!port_wanted(e.dport))
		return;
	if (!task_wanted(id))
		return;
	e.ts_ns = bpf_ktime_get_ns();
	e.pid = id >> 32;
	e.tid = tid;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.sport = ctx->sport;
	ferro_state_addrs(ctx, e.family, e.saddr, e.daddr);
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_map_update_elem(&conns, &sk, &e, BPF_ANY);
	bpf_map_update_elem(&by_tid, &tid, &sk, BPF_ANY);
}

/* Emit the row for `sk` once, with the source port the kernel has picked by now. */
static __always_inline void report_attempt(void *ctx, struct tcpconnect_event *e, __u16 sport)
{
	if (e->phase & TCPCONNECT_ATTEMPT)
		return;
	if (sport)
		e->sport = sport;
	e->phase = TCPCONNECT_ATTEMPT;
	if (emit_phases & TCPCONNECT_ATTEMPT)
		ferro_emit(ctx, e, sizeof(*e));
}

SEC("tracepoint/sock/inet_sock_set_state")
int state_change(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct tcpconnect_event *e;
	__u64 sk = (__u64)ctx->skaddr;
	struct sock *s = (struct sock *)ctx->skaddr;
	int newstate = ctx->newstate;

	FERRO_FLOOR_GUARD();
	if (ctx->protocol != FERRO_IPPROTO_TCP)
		return 0;
	if (ctx->oldstate == FERRO_TCP_CLOSE && newstate == FERRO_TCP_SYN_SENT) {
		if (register_at_syn_sent)
			syn_sent(ctx);
		return 0;
	}
	if (ctx->oldstate != FERRO_TCP_SYN_SENT)
		return 0;
	e = bpf_map_lookup_elem(&conns, &sk);
	if (!e)
		return 0;
	report_attempt(ctx, e, ctx->sport);
	e->phase = TCPCONNECT_OUTCOME;
	e->latency_ns = bpf_ktime_get_ns() - e->ts_ns;
	if (newstate == FERRO_TCP_ESTABLISHED) {
		e->outcome = TCPCONNECT_ESTABLISHED;
		e->err = 0;
	} else {
		/* tcp_reset()/tcp_write_err() store the error before moving to CLOSE. */
		e->err = BPF_CORE_READ(s, sk_err);
		e->outcome = e->err ? TCPCONNECT_FAILED : TCPCONNECT_ABORTED;
	}
	if (emit_phases & TCPCONNECT_OUTCOME)
		ferro_emit(ctx, e, sizeof(*e));
	bpf_map_delete_elem(&conns, &sk);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct ferro_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tcpconnect_event *e;
	__u64 *skp, sk;

	FERRO_FLOOR_GUARD();
	skp = bpf_map_lookup_elem(&by_tid, &tid);
	if (!skp)
		return 0;
	sk = *skp;
	bpf_map_delete_elem(&by_tid, &tid);
	e = bpf_map_lookup_elem(&conns, &sk);
	if (!e)
		return 0;
	report_attempt(ctx, e, BPF_CORE_READ((struct sock *)sk, __sk_common.skc_num));
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int syn_retransmit(struct ferro_tcp_retransmit_rec *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct tcpconnect_event *e;

	FERRO_FLOOR_GUARD();
	if (ctx->state != FERRO_TCP_SYN_SENT)
		return 0;
	e = bpf_map_lookup_elem(&conns, &sk);
	if (e)
		report_attempt(ctx, e, ctx->sport);
	return 0;
}

/*
 * fexit path: tcp_v{4,6}_connect() returned 0, so the SYN is
 * queued and the socket has its source port: register and report at once.
 */
static __always_inline void connected(void *ctx, struct sock *sk, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tcpconnect_event e = {};
	__u64 key = (__u64)sk;

	if (ret || !sk)
		return;
	e.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (targ_family && e.family != targ_family)
		return;
	e.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (!port_wanted(e.dport) || !task_wanted(id))
		return;
	e.ts_ns = bpf_ktime_get_ns();
	e.pid = id >> 32;
	e.tid = (__u32)id;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (e.family == FERRO_AF_INET) {
		BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&e.saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e.daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	e.phase = TCPCONNECT_ATTEMPT;
	bpf_map_update_elem(&conns, &key, &e, BPF_ANY);
	if (emit_phases & TCPCONNECT_ATTEMPT)
		ferro_emit(ctx, &e, sizeof(e));
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_v4, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	FERRO_FLOOR_GUARD();
	connected(ctx, sk, ret);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_v6, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	FERRO_FLOOR_GUARD();
	connected(ctx, sk, ret);
	return 0;
}

/* kprobe path: the socket is remembered per thread from entry to return. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} entry_sk SEC(".maps");

static __always_inline int kprobe_entry(struct sock *sk)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 v = (__u64)sk;

	bpf_map_update_elem(&entry_sk, &tid, &v, BPF_ANY);
	return 0;
}

/* The connect was registered at SYN_SENT: report it now that its port is known. */
static __always_inline int kprobe_return(void *ctx, int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *skp = bpf_map_lookup_elem(&entry_sk, &tid);
	struct tcpconnect_event *e;
	__u64 sk;

	if (!skp)
		return 0;
	sk = *skp;
	bpf_map_delete_elem(&entry_sk, &tid);
	/* A failed tcp_v4_connect() set CLOSE again: the state change reported it. */
	if (ret)
		return 0;
	e = bpf_map_lookup_elem(&conns, &sk);
	if (e)
		report_attempt(ctx, e, BPF_CORE_READ((struct sock *)sk, __sk_common.skc_num));
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_v4, struct sock *sk)
{
	FERRO_FLOOR_GUARD();
	return kprobe_entry(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_v4, int ret)
{
	FERRO_FLOOR_GUARD();
	return kprobe_return(ctx, ret);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_v6, struct sock *sk)
{
	FERRO_FLOOR_GUARD();
	return kprobe_entry(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_v6, int ret)
{
	FERRO_FLOOR_GUARD();
	return kprobe_return(ctx, ret);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
