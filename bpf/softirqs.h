/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_SOFTIRQS_H
#define FERROSCOPE_SOFTIRQS_H

#include "irq.h"

/*
 * Vectors counted: the kernel has had 10 (NR_SOFTIRQS, HI to RCU) since 2.6.37; room for more.
 * User space reads the map's size, so this is the one place that says it.
 */
#define SOFTIRQS_MAX_VEC 16

#endif
