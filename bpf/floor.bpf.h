/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The hidden --floor option: every program returns at once, so the benchmark
 * can measure what the same hooks cost with a program that does nothing, the
 * least any tracer using them can cost.
 */
#ifndef FERROSCOPE_FLOOR_BPF_H
#define FERROSCOPE_FLOOR_BPF_H

const volatile bool ferro_floor = false;

#define FERRO_FLOOR_GUARD()              \
	do {                             \
		if (ferro_floor)         \
			return 0;        \
	} while (0)

#endif
