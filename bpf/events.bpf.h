/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Event transport shared by the event tools (opensnoop, execsnoop, tcpconnect).
 *
 * Both a BPF ring buffer and a perf event array are declared; user space
 * (common::events) keeps the one the kernel supports and tells the program
 * which through `use_perf_buffer`, so one object serves old and new kernels.
 * Records have their real length, never a worst-case size.
 */
#ifndef FERROSCOPE_EVENTS_BPF_H
#define FERROSCOPE_EVENTS_BPF_H

#include <bpf/bpf_helpers.h>

/* Resized from user space (--buffer-size); this is only the default. */
#define FERRO_RINGBUF_BYTES (1024 * 1024)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FERRO_RINGBUF_BYTES);
} events_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events_pb SEC(".maps");

/*
 * Failed writes, counted here per CPU and read by user space, on both paths.
 * A ring buffer has no lost-sample records of its own. A perf buffer has
 * PERF_RECORD_LOST, but the kernel writes one only when a later record fits:
 * drops at the end of a burst, with nothing written after them, are never
 * reported there (seen: 7575 reported of 7883 dropped).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} events_lost SEC(".maps");

const volatile bool use_perf_buffer = false;

/*
 * Waking the reader for every record costs more than the record: below this
 * much unread data no wakeup is sent, and the reader, which polls every 100 ms
 * anyway, collects the records then. A busy ring still wakes it early.
 */
#define FERRO_WAKEUP_BYTES (64 * 1024)

static __always_inline void ferro_emit(void *ctx, void *data, __u64 size)
{
	__u32 zero = 0;
	__u64 *lost, flags;

	if (use_perf_buffer) {
		if (bpf_perf_event_output(ctx, &events_pb, BPF_F_CURRENT_CPU, data,
					  size) == 0)
			return;
	} else {
		flags = bpf_ringbuf_query(&events_rb, BPF_RB_AVAIL_DATA) <
					FERRO_WAKEUP_BYTES ?
				BPF_RB_NO_WAKEUP :
				BPF_RB_FORCE_WAKEUP;
		if (bpf_ringbuf_output(&events_rb, data, size, flags) == 0)
			return;
	}
	lost = bpf_map_lookup_elem(&events_lost, &zero);
	if (lost)
		*lost += 1;
}

#endif
