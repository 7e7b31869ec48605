/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The histogram hardirqs and softirqs keep per interrupt (common::irq on the Rust side). */
#ifndef FERROSCOPE_IRQ_H
#define FERROSCOPE_IRQ_H

#include "hist.h"

/*
 * Slot 26 holds everything from 2^26 units up (67 s, or 67 ms with -N). libbpf-tools keeps 20
 * slots, which clamp a handler of 0.5 ms or more together with -N; its text is the same
 * whenever no handler reaches that slot.
 */
#define IRQ_MAX_SLOTS 27

struct irq_hist {
	FERRO_HIST_FIELDS(IRQ_MAX_SLOTS);
	/*
	 * The handlers' time in nanoseconds, which the tables' totals come from (common::irq
	 * converts each interval's difference to the unit); `sum` holds the same in the unit,
	 * each handler's time truncated first, as libbpf-tools adds it up.
	 */
	__u64 ns;
};

#endif
