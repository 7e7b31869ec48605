/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef FERROSCOPE_TCPCONNECT_H
#define FERROSCOPE_TCPCONNECT_H

#include "limits.h"

/*
 * What a record reports (emit_phases is a mask of them). Enums, so that Rust uses the
 * generated types; packed, so that each is one byte of the record.
 */
enum tcpconnect_phase {
	TCPCONNECT_ATTEMPT = 1, /* the SYN went out: the row libbpf-tools prints */
	TCPCONNECT_OUTCOME = 2, /* the handshake ended: outcome and latency are set */
} __attribute__((packed));

enum tcpconnect_outcome {
	TCPCONNECT_PENDING = 0,
	TCPCONNECT_ESTABLISHED = 1,
	TCPCONNECT_FAILED = 2, /* err says why: ECONNREFUSED, ETIMEDOUT, ... */
	TCPCONNECT_ABORTED = 3, /* closed before the handshake ended, no error */
} __attribute__((packed));

struct tcpconnect_event {
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 ts_ns; /* when the SYN_SENT state was entered */
	__u64 latency_ns; /* with OUTCOME: handshake duration */
	__u64 cgroup_id; /* cgroup v2 id of the connecting task (bpf_get_current_cgroup_id, 4.18) */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 err; /* with OUTCOME: positive errno, 0 on success */
	__u16 sport;
	__u16 dport;
	__u16 family;
	enum tcpconnect_phase phase;
	enum tcpconnect_outcome outcome;
	__u8 comm[FERRO_COMM_LEN];
};

#endif
