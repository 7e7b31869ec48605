/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Sizes every tool's records share; included by bpf/<tool>.h. */
#ifndef FERROSCOPE_LIMITS_H
#define FERROSCOPE_LIMITS_H

/* The kernel's TASK_COMM_LEN: a comm with its NUL (common::cli::TASK_COMM_LEN in Rust). */
#define FERRO_COMM_LEN 16

#endif
