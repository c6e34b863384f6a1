/* Maps and helpers used by both BPF objects. Each object gets its own ring buffer and probe
 * counters; `traced_tgids` and `named_tasks` are created by the first object loaded and reused
 * by the second (bpf_map__reuse_fd), so both agree on which processes are traced. */
#ifndef INGERO_COMMON_BPF_H
#define INGERO_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "event.h"

#define TASK_COMM_LEN 16

char LICENSE[] SEC("license") = "GPL";

/* Set by the recorder before load. */
const volatile __u64 wakeup_bytes = 256 * 1024;
/* Trace every process that calls a probed function (system-wide mode) instead of only the
 * processes the recorder put in traced_tgids. */
const volatile bool trace_all = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* resized by the recorder */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, INGERO_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct ingero_probe_stats);
} probe_stats SEC(".maps");

/* Key 0 becomes 1 when the recorder stops: from then on no probe writes or counts anything, so
 * the final drain, the counters and the sealed bundle agree while the links, slow to detach
 * (each uprobe waits for an RCU grace period), are still attached. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} stopped SEC(".maps");

/* tgid -> 1 for every process being traced. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

/* tid -> 1 once the thread's name has been sent; LRU so that it never fills. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} named_tasks SEC(".maps");

/* A record with a user stack is assembled here, then copied to the ring at its real size. */
struct stacked_event {
	struct ingero_event head;
	__u64 frames[INGERO_MAX_FRAMES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stacked_event);
} stack_scratch SEC(".maps");

/* Wakeups are batched (platform.md §6): records are submitted without waking the reader, and
 * a wakeup is forced only when the unread data crosses wakeup_bytes, i.e. lands in a window one
 * maximum-size record wide just above it. A plain `avail >= wakeup_bytes` test would wake the
 * reader on every record whenever it falls behind. The recorder's timer drains the rest. */
#define WAKEUP_WINDOW (2 * sizeof(struct stacked_event))

static __always_inline __u64 submit_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (avail >= wakeup_bytes && avail < wakeup_bytes + WAKEUP_WINDOW)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void count(__u32 slot, bool dropped)
{
	struct ingero_probe_stats *s = bpf_map_lookup_elem(&probe_stats, &slot);

	if (!s)
		return;
	s->emitted++;
	if (dropped)
		s->dropped++;
}

static __always_inline bool recording(void)
{
	__u32 zero = 0;
	__u32 *s = bpf_map_lookup_elem(&stopped, &zero);

	return s && !*s;
}

static __always_inline bool is_traced(__u32 tgid)
{
	return bpf_map_lookup_elem(&traced_tgids, &tgid) != NULL;
}

/* Writes a header-only record; returns false when the ring was full. */
static __always_inline bool emit(__u32 slot, const struct ingero_event *e)
{
	bool ok = bpf_ringbuf_output(&events, (void *)e, sizeof(*e), submit_flags()) == 0;

	count(slot, !ok);
	return ok;
}

/* Writes a record with the current user stack after its header (the stack is taken from ctx:
 * a uprobe's or a perf event's registers); returns non-zero when the ring was full. */
static __always_inline long emit_with_stack(void *ctx, struct ingero_event *head)
{
	__u32 zero = 0;
	struct stacked_event *s = bpf_map_lookup_elem(&stack_scratch, &zero);
	long n;

	if (!s)
		return -1;
	n = bpf_get_stack(ctx, s->frames, sizeof(s->frames), BPF_F_USER_STACK);
	if (n < 0)
		n = 0;
	n /= 8;
	if (n > INGERO_MAX_FRAMES)
		n = INGERO_MAX_FRAMES;
	head->nframes = n;
	s->head = *head;
	return bpf_ringbuf_output(&events, s, sizeof(s->head) + n * 8, submit_flags());
}

/* Sends the thread's name the first time it is seen (or again after exec renamed it). */
static __always_inline void name_task(struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);
	__u8 one = 1;
	struct ingero_event e = {};

	if (bpf_map_lookup_elem(&named_tasks, &tid))
		return;
	e.ts_ns = bpf_ktime_get_boot_ns();
	e.pid = BPF_CORE_READ(task, tgid);
	e.tid = tid;
	e.op = INGERO_OP_TASK_NAME;
	e.present = INGERO_HAS_ARG(0) | INGERO_HAS_ARG(1);
	bpf_core_read_str(e.arg, TASK_COMM_LEN, &task->comm);
	if (emit(INGERO_SLOT_TASK_NAMES, &e))
		bpf_map_update_elem(&named_tasks, &tid, &one, BPF_ANY);
}

#endif
