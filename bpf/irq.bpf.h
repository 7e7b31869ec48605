/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The time of one handler, between an entry and an exit tracepoint on one CPU, counted in a
 * struct irq_hist: hardirqs' and softirqs' shared BPF side. Neither handler kind nests on a
 * CPU (hard interrupt handlers run with interrupts disabled, softirqs are not re-entered on
 * the CPU that runs them), so one start time per CPU is enough.
 */
#ifndef FERROSCOPE_IRQ_BPF_H
#define FERROSCOPE_IRQ_BPF_H

#include "bits.bpf.h"
#include "irq.h"

/* Nanoseconds per histogram unit: 1 (-N), 1000 (the default, usecs) or 10^6 (-m). */
const volatile __u32 targ_unit_ns = 1000;
/* -1, or the one CPU traced (libbpf-tools HEAD's --cpu). */
const volatile int targ_cpu = -1;

/* When the handler running on this CPU started; 0 when none is being timed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} irq_start SEC(".maps");

/* A handler starts on this CPU: time it, if this CPU is traced. */
static __always_inline void ferro_irq_enter(void)
{
	__u32 zero = 0;
	__u64 *ts;

	if (targ_cpu >= 0 && bpf_get_smp_processor_id() != (__u32)targ_cpu)
		return;
	ts = bpf_map_lookup_elem(&irq_start, &zero);
	if (ts)
		*ts = bpf_ktime_get_ns();
}

/*
 * A handler ends on this CPU: its time in nanoseconds, and the start forgotten; 0 when its
 * start was not seen (the tool attached meanwhile, or the CPU or cgroup is not traced).
 */
static __always_inline __u64 ferro_irq_exit(void)
{
	__u32 zero = 0;
	__u64 *ts, start;

	ts = bpf_map_lookup_elem(&irq_start, &zero);
	if (!ts || !*ts)
		return 0;
	start = *ts;
	*ts = 0;
	return bpf_ktime_get_ns() - start;
}

/*
 * Count a handler's `ns` in `h`: the slot and maximum in the unit, the total in nanoseconds.
 * `shared`: other CPUs update `h` too (a hash map), so with atomic adds.
 */
static __always_inline void ferro_irq_count(struct irq_hist *h, __u64 ns, bool shared)
{
	__u64 v = ns / targ_unit_ns;

	if (shared) {
		FERRO_HIST_ADD(h, v, IRQ_MAX_SLOTS);
		__sync_fetch_and_add(&h->ns, ns);
	} else {
		FERRO_HIST_ADD_CPU(h, v, IRQ_MAX_SLOTS);
		h->ns += ns;
	}
}

#endif
