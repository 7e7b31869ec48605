// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * hardirqs: time (or count) of hard interrupt handlers per handler name, from
 * irq:irq_handler_entry/exit. These fire around each irqaction's handler in
 * __handle_irq_event_percpu; interrupts the kernel handles without an irqaction (the local
 * APIC timer, IPIs: the irq_vectors tracepoints) are not seen, as in libbpf-tools.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "hardirqs.h"
#include "irq.bpf.h"
#include "filter.bpf.h"
#include "floor.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hardirq_key);
	__type(value, struct irq_hist);
} hists SEC(".maps");

static struct irq_hist zero_hist;

/*
 * -c: the interrupted task is in the cgroup (libbpf-tools' test; an interrupt belongs to no
 * task, so this says only whom it interrupted).
 */
static __always_inline int handler_entry(void)
{
	if (filter_cgroup && !ferro_in_cgroup())
		return 0;
	ferro_irq_enter();
	return 0;
}

static __always_inline int handler_exit(struct irqaction *action)
{
	struct hardirq_key key = {};
	struct irq_hist *h;
	bool fresh;
	__u64 ns = ferro_irq_exit();

	if (!ns)
		return 0;
	bpf_probe_read_kernel_str(key.name, sizeof(key.name), BPF_CORE_READ(action, name));
	h = ferro_hist_get(&hists, &key, &zero_hist, &fresh);
	if (h)
		ferro_irq_count(h, ns, true);
	return 0;
}

/* tp_btf (5.5+), and raw tracepoints where tp_btf does not load; both pass the irqaction. */
SEC("tp_btf/irq_handler_entry")
int BPF_PROG(btf_irq_handler_entry, int irq, struct irqaction *action)
{
	FERRO_FLOOR_GUARD();
	return handler_entry();
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(btf_irq_handler_exit, int irq, struct irqaction *action, int ret)
{
	FERRO_FLOOR_GUARD();
	return handler_exit(action);
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(raw_irq_handler_entry, int irq, struct irqaction *action)
{
	FERRO_FLOOR_GUARD();
	return handler_entry();
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(raw_irq_handler_exit, int irq, struct irqaction *action, int ret)
{
	FERRO_FLOOR_GUARD();
	return handler_exit(action);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
