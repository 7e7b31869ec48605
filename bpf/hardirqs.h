/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_HARDIRQS_H
#define FERROSCOPE_HARDIRQS_H

#include "irq.h"

/*
 * A handler's name (irqaction.name, as /proc/interrupts shows it) with its NUL: longer names
 * are cut. libbpf-tools keeps 32 bytes; names such as `mlx5_comp12@pci:0000:3b:00.0` need
 * nearly that.
 */
#define HARDIRQ_NAME_LEN 64

struct hardirq_key {
	char name[HARDIRQ_NAME_LEN];
};

#endif
