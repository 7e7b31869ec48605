// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* softirqs: time (or count) of softirq handlers per vector, from irq:softirq_entry/exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "softirqs.h"
#include "irq.bpf.h"
#include "floor.bpf.h"

/* One histogram per vector and CPU: each CPU adds to its own copy, user space sums them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOFTIRQS_MAX_VEC);
	__type(key, __u32);
	__type(value, struct irq_hist);
} hists SEC(".maps");

static __always_inline int softirq_exit(__u32 vec)
{
	struct irq_hist *h;
	__u64 ns = ferro_irq_exit();

	if (!ns)
		return 0;
	h = bpf_map_lookup_elem(&hists, &vec);
	if (h)
		ferro_irq_count(h, ns, false);
	return 0;
}

/* tp_btf (5.5+), and raw tracepoints where tp_btf does not load; both pass the vector. */
SEC("tp_btf/softirq_entry")
int BPF_PROG(btf_softirq_entry, unsigned int vec)
{
	FERRO_FLOOR_GUARD();
	ferro_irq_enter();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(btf_softirq_exit, unsigned int vec)
{
	FERRO_FLOOR_GUARD();
	return softirq_exit(vec);
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(raw_softirq_entry, unsigned int vec)
{
	FERRO_FLOOR_GUARD();
	ferro_irq_enter();
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(raw_softirq_exit, unsigned int vec)
{
	FERRO_FLOOR_GUARD();
	return softirq_exit(vec);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
