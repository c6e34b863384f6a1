// SPDX-License-Identifier: GPL-2.0
/* Kernel events of the traced processes, from BTF-enabled tracepoints (no tracefs needed).
 * Arguments follow the bundle catalog (format/catalog.ts), source 3 (host) and 5 (io). */
#include "common.bpf.h"

/* Op ids from the bundle catalog (source * 256 + index). */
#define OP_SCHED_SWITCH (3 * 256 + 1)
#define OP_SCHED_WAKEUP (3 * 256 + 2)
#define OP_PAGE_ALLOC (3 * 256 + 3)
#define OP_OOM_KILL (3 * 256 + 4)
#define OP_EXEC (3 * 256 + 5)
#define OP_EXIT (3 * 256 + 6)
#define OP_FORK (3 * 256 + 7)
#define OP_BLOCK_READ (5 * 256 + 1)
#define OP_BLOCK_WRITE (5 * 256 + 2)
#define OP_BLOCK_DISCARD (5 * 256 + 3)

/* Counter slots; recorder/host-probes.ts names them. */
enum { SLOT_SWITCH, SLOT_WAKEUP, SLOT_EXEC, SLOT_FORK, SLOT_EXIT, SLOT_PAGE_ALLOC, SLOT_OOM, SLOT_BLOCK, SLOT_CPU_SAMPLE };

/* Children of traced processes become traced too. */
const volatile bool follow_children = true;

/* Thread that left the CPU, until it runs again. */
struct off_cpu {
	__u64 since_ns;
	__u32 next_tid;
	__u32 next_pid;
	__u64 prev_state;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct off_cpu);
} off_cpu_threads SEC(".maps");

struct block_issue {
	__u64 ts_ns;
	__u32 pid;
	__u32 tid;
	__u64 sectors;
	__u64 sector;
	__u32 dev;
	__u16 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct block_issue);
} block_in_flight SEC(".maps");

static __always_inline void point(__u32 slot, __u16 op, struct task_struct *who, __u8 present,
				  __u64 a0, __u64 a1)
{
	struct ingero_event e = {
		.ts_ns = bpf_ktime_get_boot_ns(),
		.pid = BPF_CORE_READ(who, tgid),
		.tid = BPF_CORE_READ(who, pid),
		.op = op,
		.present = present,
		.arg = { a0, a1 },
	};

	emit(slot, &e);
}

/* Set by the recorder (--stacks): keep the user stack of each traced thread as it leaves the
 * CPU, and send it with the sched_switch record when the thread runs again, so that off-CPU
 * time says where the thread blocked. */
const volatile bool off_cpu_stacks = false;

/* tid -> the header-less record being built: its user stack at the switch-out. Sized by the
 * recorder (a few entries when stacks are off). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct stacked_event);
} off_cpu_stack SEC(".maps");

/* prev (current) leaves the CPU: its user stack, captured in place in the per-tid map. */
static __always_inline void keep_user_stack(void *ctx, __u32 tid)
{
	__u32 zero = 0;
	struct stacked_event *s = bpf_map_lookup_elem(&stack_scratch, &zero);
	long n;

	if (!s)
		return;
	n = bpf_get_stack(ctx, s->frames, sizeof(s->frames), BPF_F_USER_STACK);
	s->head.nframes = n > 0 ? (__u64)n / 8 : 0;
	bpf_map_update_elem(&off_cpu_stack, &tid, s, BPF_ANY);
}

/* Sends the off-CPU record with the stack kept for it, if any; returns false if none was kept. */
static __always_inline bool emit_with_kept_stack(const struct ingero_event *e)
{
	__u32 tid = e->tid;
	struct stacked_event *s = bpf_map_lookup_elem(&off_cpu_stack, &tid);
	__u32 n;
	bool ok;

	if (!s)
		return false;
	n = s->head.nframes;
	if (n > INGERO_MAX_FRAMES)
		n = INGERO_MAX_FRAMES;
	s->head = *e;
	s->head.nframes = n;
	ok = bpf_ringbuf_output(&events, s, sizeof(s->head) + n * 8, submit_flags()) == 0;
	bpf_map_delete_elem(&off_cpu_stack, &tid);
	count(SLOT_SWITCH, !ok);
	return true;
}

/* prev leaves the CPU: remember since when, who took the CPU, and why. */
static __always_inline void switch_out(void *ctx, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 prev_tid = BPF_CORE_READ(prev, pid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	struct off_cpu off = {
		.since_ns = bpf_ktime_get_boot_ns(),
		.next_tid = next_tid,
		.next_pid = BPF_CORE_READ(next, tgid),
		/* a preempted thread was still runnable, whatever __state says */
		.prev_state = preempt ? 0 : BPF_CORE_READ(prev, __state),
	};

	bpf_map_update_elem(&off_cpu_threads, &prev_tid, &off, BPF_ANY);
	if (off_cpu_stacks)
		keep_user_stack(ctx, prev_tid);
	if (next_tid)
		name_task(next);
}

/* next runs again: its off-CPU interval ends now. */
static __always_inline void switch_in(struct task_struct *next)
{
	__u32 next_tid = BPF_CORE_READ(next, pid);
	struct off_cpu *off = bpf_map_lookup_elem(&off_cpu_threads, &next_tid);

	if (!off)
		return;
	struct ingero_event e = {
		.ts_ns = off->since_ns,
		.dur_ns = bpf_ktime_get_boot_ns() - off->since_ns,
		.pid = BPF_CORE_READ(next, tgid),
		.tid = next_tid,
		.op = OP_SCHED_SWITCH,
		.present = INGERO_HAS_ARG(0) | INGERO_HAS_ARG(1) | INGERO_HAS_ARG(2),
		.arg = { off->next_tid, off->next_pid, off->prev_state },
	};

	bpf_map_delete_elem(&off_cpu_threads, &next_tid);
	if (!off_cpu_stacks || !emit_with_kept_stack(&e))
		emit(SLOT_SWITCH, &e);
	name_task(next);
}

/* Runs on every context switch of every CPU: a switch between untraced threads costs two map
 * lookups and nothing else. */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!recording())
		return 0;
	if (is_traced(BPF_CORE_READ(prev, tgid)))
		switch_out(ctx, preempt, prev, next);
	if (is_traced(BPF_CORE_READ(next, tgid)))
		switch_in(next);
	return 0;
}

/* Row: the waker (current); args: the woken thread of a traced process. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_sched_wakeup, struct task_struct *p)
{
	struct task_struct *waker = bpf_get_current_task_btf();

	if (!recording())
		return 0;
	if (!is_traced(BPF_CORE_READ(p, tgid)))
		return 0;
	point(SLOT_WAKEUP, OP_SCHED_WAKEUP, waker, INGERO_HAS_ARG(0) | INGERO_HAS_ARG(1),
	      BPF_CORE_READ(p, pid), BPF_CORE_READ(p, tgid));
	name_task(waker);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_pid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (!recording())
		return 0;
	if (!is_traced(BPF_CORE_READ(parent, tgid)))
		return 0;
	if (child_pid == BPF_CORE_READ(parent, tgid))
		return 0; /* a new thread, not a new process */
	if (follow_children)
		bpf_map_update_elem(&traced_tgids, &child_pid, &one, BPF_ANY);
	point(SLOT_FORK, OP_FORK, parent, INGERO_HAS_ARG(0), child_pid, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 tid = BPF_CORE_READ(p, pid);

	if (!recording())
		return 0;
	if (!is_traced(tgid))
		return 0;
	point(SLOT_EXEC, OP_EXEC, p, INGERO_HAS_ARG(0), tgid, 0);
	bpf_map_delete_elem(&named_tasks, &tid); /* exec renamed it */
	name_task(p);
	return 0;
}

/* Exit status in the shell's convention: the exit code, or 128 + signal when killed. */
static __always_inline __u64 exit_status(struct task_struct *p)
{
	__u32 code = BPF_CORE_READ(p, exit_code);

	if (code & 0x7f)
		return 128 + (code & 0x7f);
	return (code >> 8) & 0xff;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (!recording())
		return 0;
	if (!is_traced(tgid))
		return 0;
	point(SLOT_EXIT, OP_EXIT, p, INGERO_HAS_ARG(0), exit_status(p), 0);
	if (group_dead)
		bpf_map_delete_elem(&traced_tgids, &tgid); /* the pid may be reused */
	return 0;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order)
{
	/* fires for every page allocated on the machine: filter before touching the task */
	if (!recording() || !is_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	point(SLOT_PAGE_ALLOC, OP_PAGE_ALLOC, bpf_get_current_task_btf(), INGERO_HAS_ARG(0) | INGERO_HAS_ARG(1),
	      4096ull << order, order);
	return 0;
}

/* OOM kills are recorded whoever the victim is: they explain what happened to everyone. */
SEC("tp_btf/mark_victim")
int BPF_PROG(on_oom_victim, struct task_struct *victim)
{
	if (!recording())
		return 0;
	point(SLOT_OOM, OP_OOM_KILL, bpf_get_current_task_btf(), INGERO_HAS_ARG(0),
	      BPF_CORE_READ(victim, tgid), 0);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(on_block_issue, struct request *rq)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 key = (__u64)rq;
	__u32 req_op = BPF_CORE_READ(rq, cmd_flags) & 0xff; /* REQ_OP_MASK */
	struct block_issue b = {};

	if (!recording())
		return 0;
	if (!is_traced(id >> 32))
		return 0;
	if (req_op == 0)
		b.op = OP_BLOCK_READ;
	else if (req_op == 1)
		b.op = OP_BLOCK_WRITE;
	else if (req_op == 3)
		b.op = OP_BLOCK_DISCARD;
	else
		return 0; /* flushes and zone commands carry no data */
	b.ts_ns = bpf_ktime_get_boot_ns();
	b.pid = id >> 32;
	b.tid = (__u32)id;
	b.sectors = BPF_CORE_READ(rq, __data_len) >> 9;
	b.sector = BPF_CORE_READ(rq, __sector);
	b.dev = BPF_CORE_READ(rq, part, bd_dev);
	bpf_map_update_elem(&block_in_flight, &key, &b, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(on_block_complete, struct request *rq)
{
	__u64 key = (__u64)rq;
	struct block_issue *b = bpf_map_lookup_elem(&block_in_flight, &key);

	if (!recording())
		return 0;
	if (!b)
		return 0;
	struct ingero_event e = {
		.ts_ns = b->ts_ns,
		.dur_ns = bpf_ktime_get_boot_ns() - b->ts_ns,
		.pid = b->pid,
		.tid = b->tid,
		.op = b->op,
		.present = INGERO_HAS_ARG(0) | INGERO_HAS_ARG(1) | INGERO_HAS_ARG(2),
		.arg = { b->sectors, b->sector, b->dev },
	};
	bpf_map_delete_elem(&block_in_flight, &key);
	emit(SLOT_BLOCK, &e);
	return 0;
}

/* On-CPU sampling: a CPU-clock perf event per CPU fires at the recorder's frequency whatever
 * runs there; only a traced thread's sample is kept, with its user stack. */
SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ingero_event e = {};

	if (!recording() || !is_traced(id >> 32))
		return 0;
	e.ts_ns = bpf_ktime_get_boot_ns();
	e.pid = id >> 32;
	e.tid = (__u32)id;
	e.op = INGERO_OP_CPU_SAMPLE;
	e.present = INGERO_HAS_ARG(0);
	e.arg[0] = bpf_get_smp_processor_id();
	count(SLOT_CPU_SAMPLE, emit_with_stack(ctx, &e) != 0);
	name_task(bpf_get_current_task_btf());
	return 0;
}
