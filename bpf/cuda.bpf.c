// SPDX-License-Identifier: GPL-2.0
/* CUDA Runtime and Driver API probes. One generic uprobe/uretprobe pair serves every probed
 * function: the recorder attaches it once per function with a bpf_cookie that says which op it
 * is, which counter slot it uses, where each argument lives and whether to take a user stack
 * (layout in cookie.h and recorder/probe-cookie.ts). */
#include "common.bpf.h"
#include "cookie.h"

/* A call in flight, from its entry to its return. */
struct call_state {
	__u64 start_ns;
	/* stack pointer at entry: a call is in flight only while the thread runs below it, and its
	 * return probe finds it by this (at return the stack pointer is 8 above: the return address
	 * was popped) */
	__u64 sp;
	/* the entry's bpf_cookie: the return probe reads op, slot and argument sources from here
	 * instead of asking for its own (every helper call costs here, see bench/RESULTS.md) */
	__u64 cookie;
	__u64 arg[4];
	__u8 present;
	/* inside a call of the same op (__cudaLaunchKernel calling cudaLaunchKernel): the outer
	 * call is the one recorded, once */
	__u8 nested;
};

/* Calls nested on one thread at most (a runtime call entering the driver is two). */
#define CALL_DEPTH 4

/* Per thread, in task-local storage: its calls in flight as a stack (return probes fire in the
 * reverse order of their entries on one thread), and whether its name was sent. Task storage
 * instead of hash maps keyed by tid: an update at entry, a lookup and a delete at return and a
 * name check in an LRU map cost more than the rest of the probes' work together. */
struct thread_state {
	struct call_state calls[CALL_DEPTH];
	__u32 depth;
	/* task->self_exec_id + 1 when the thread's name was last sent (exec renames it) */
	__u32 named_exec;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

/* The argument registers and stack pointer at entry, loaded once: the verifier rejects the
 * ctx-pointer arithmetic the compiler emits when registers are picked by index. User memory an
 * argument needs (the first four stack-passed arguments; the launch configuration) is read once,
 * in one piece, when an argument first needs it: a read costs about as much as both clock reads
 * (bench/RESULTS.md), whatever its size. */
struct entry_regs {
	__u64 di, si, dx, cx, r8, r9, sp;
	__u64 stack[4];
	/* cudaLaunchConfig_t's first 40 bytes: dim3 gridDim at 0, dim3 blockDim at 12, stream at 32 */
	__u32 config[10];
	bool stack_read, config_read;
};

static __always_inline __u64 reg(const struct entry_regs *r, __u32 i)
{
	switch (i) {
	case 1: return r->di;
	case 2: return r->si;
	case 3: return r->dx;
	case 4: return r->cx;
	case 5: return r->r8;
	default: return r->r9;
	}
}

/* Argument k (1..4) passed on the stack: at function entry [sp] is the return address. */
static __always_inline __u64 stack_arg(struct entry_regs *r, __u32 k)
{
	if (!r->stack_read) {
		/* zeroes the words when the read fails */
		bpf_probe_read_user(r->stack, sizeof(r->stack), (void *)(r->sp + 8));
		r->stack_read = true;
	}
	return r->stack[(k - 1) & 3];
}

/* Catalog packing of grid/block dims: x | y << 32 | z << 48. */
static __always_inline __u64 pack_dims(__u64 x, __u64 y, __u64 z)
{
	return (x & 0xffffffff) | ((y & 0xffff) << 32) | ((z & 0xffff) << 48);
}

/* cudaLaunchKernelExC(const cudaLaunchConfig_t *config, ...): the launch configuration, read
 * through the pointer. */
static __always_inline const __u32 *launch_config(struct entry_regs *r)
{
	if (!r->config_read) {
		/* zeroes the words when the read fails */
		bpf_probe_read_user(r->config, sizeof(r->config), (void *)r->di);
		r->config_read = true;
	}
	return r->config;
}

/* Reads one argument at entry. Out-pointers are kept as the pointer and read at return. */
static __always_inline __u64 entry_arg(struct entry_regs *r, __u32 src)
{
	if (src >= ARG_REG(1) && src <= ARG_REG(6))
		return reg(r, src);
	if (src >= ARG_STACK(1) && src <= ARG_STACK(4))
		return stack_arg(r, src - ARG_STACK(0));
	if (src >= ARG_OUT_PTR(1) && src <= ARG_OUT_PTR(6))
		return reg(r, src - ARG_OUT_PTR(0));
	switch (src) {
	case ARG_KIND_DEFAULT:
		return 4; /* cudaMemcpyDefault: direction inferred from the pointers */
	case ARG_R5_TIMES_R6:
		return r->r8 * r->r9;
	case ARG_RT_GRID: /* dim3 by value: rsi = x | y << 32, rdx = z */
		return pack_dims(r->si, r->si >> 32, r->dx);
	case ARG_RT_BLOCK: /* rcx = x | y << 32, r8 = z */
		return pack_dims(r->cx, r->cx >> 32, r->r8);
	case ARG_DRV_GRID: /* cuLaunchKernel(f, gx, gy, gz, bx, by, bz, ...) */
		return pack_dims(r->si, r->dx, r->cx);
	case ARG_DRV_BLOCK:
		return pack_dims(r->r8, r->r9, stack_arg(r, 1));
	case ARG_CFG_GRID: {
		const __u32 *c = launch_config(r);

		return pack_dims(c[0], c[1], c[2]);
	}
	case ARG_CFG_BLOCK: {
		const __u32 *c = launch_config(r);

		return pack_dims(c[3], c[4], c[5]);
	}
	case ARG_CFG_STREAM: {
		const __u32 *c = launch_config(r);

		return c[8] | (__u64)c[9] << 32;
	}
	}
	return 0;
}

static __always_inline int enter(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct thread_state *t;
	struct task_struct *task = bpf_get_current_task_btf();
	struct call_state *st;
	__u32 d;
	__u8 one = 1;
	struct entry_regs r = {
		.di = ctx->di, .si = ctx->si, .dx = ctx->dx, .cx = ctx->cx,
		.r8 = ctx->r8, .r9 = ctx->r9, .sp = ctx->sp,
	};

	if (!recording())
		return 0;
	/* A thread with storage belongs to a traced process (storage is created only for those, and
	 * dies with the thread): the traced-set lookup is paid once per thread, not per call. */
	t = bpf_task_storage_get(&threads, task, 0, 0);
	if (!t) {
		__u32 tgid = task->tgid;

		if (!is_traced(tgid)) {
			if (!trace_all)
				return 0;
			bpf_map_update_elem(&traced_tgids, &tgid, &one, BPF_NOEXIST);
		}
		t = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!t)
			return 0;
	}
	/* Calls whose return was lost (a longjmp out of a callback; a call in flight while its
	 * return probe was being attached) are left on the stack: one that started at or below
	 * this stack pointer has ended, and is dropped. */
	d = t->depth;
	for (int i = 0; i < CALL_DEPTH; i++) {
		if (d == 0 || d > CALL_DEPTH || t->calls[(d - 1) & (CALL_DEPTH - 1)].sp > r.sp)
			break;
		d--;
	}
	if (d >= CALL_DEPTH)
		return 0; /* deeper than any CUDA nesting: its return finds no match and is ignored */
	barrier_var(d); /* keeps the mask below, which the verifier needs to bound the index */
	st = &t->calls[d & (CALL_DEPTH - 1)];
	st->sp = r.sp;
	st->cookie = cookie;
	st->nested = d > 0 && COOKIE_OP(t->calls[(d - 1) & (CALL_DEPTH - 1)].cookie) == COOKIE_OP(cookie);
	t->depth = d + 1;
	if (st->nested)
		return 0;
	st->present = 0;
	for (int i = 0; i < 4; i++) {
		__u32 src = COOKIE_ARG(cookie, i);

		st->arg[i] = 0;
		if (src == ARG_NONE)
			continue;
		st->arg[i] = entry_arg(&r, src);
		st->present |= INGERO_HAS_ARG(i);
	}
	st->start_ns = bpf_ktime_get_boot_ns();
	return 0;
}

/* The thread's call returning with this stack pointer, popped off its stack with any left above
 * it by calls that never returned; NULL when there is none. Two calls with one stack pointer
 * (a tail call into another probed function) return innermost first, as the stack pops. */
static __always_inline struct call_state *pop_call(struct thread_state *t, __u64 ret_sp)
{
	for (int i = CALL_DEPTH - 1; i >= 0; i--) {
		if (i >= t->depth || t->calls[i].sp + 8 != ret_sp)
			continue;
		t->depth = i;
		return &t->calls[i];
	}
	return NULL;
}

/* Sends the thread's name once, and again after exec renamed it. */
static __always_inline void name_thread(struct thread_state *t, struct task_struct *task)
{
	__u32 exec = task->self_exec_id + 1;
	__u32 tid = task->pid;

	if (t->named_exec == exec)
		return;
	bpf_map_delete_elem(&named_tasks, &tid);
	name_task(task);
	t->named_exec = exec;
}

static __always_inline void fill(struct ingero_event *e, const struct call_state *st, __u64 now, struct task_struct *task, __s32 ret)
{
	__u64 cookie = st->cookie;

	e->ts_ns = st->start_ns;
	e->dur_ns = now - st->start_ns;
	e->pid = task->tgid;
	e->tid = task->pid;
	e->op = COOKIE_OP(cookie);
	e->present = st->present | INGERO_HAS_RET;
	e->nframes = 0;
	e->ret = ret;
	for (int i = 0; i < 4; i++) {
		__u32 src = COOKIE_ARG(cookie, i);

		e->arg[i] = st->arg[i];
		if (src >= ARG_OUT_PTR(1) && src <= ARG_OUT_PTR(6)) {
			__u64 out = 0;

			bpf_probe_read_user(&out, sizeof(out), (void *)st->arg[i]);
			e->arg[i] = out;
		}
	}
}

static __always_inline int leave(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *t = bpf_task_storage_get(&threads, task, 0, 0);
	struct call_state *st;
	long err = 0;

	if (!t || !recording())
		return 0;
	st = pop_call(t, ctx->sp);
	if (!st || st->nested)
		return 0;
	name_thread(t, task);
	if (COOKIE_STACK(st->cookie)) {
		struct ingero_event e;

		fill(&e, st, now, task, (__s32)ctx->ax);
		err = emit_with_stack(ctx, &e);
	} else {
		/* written in place: no copy of the record through the BPF stack */
		struct ingero_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

		if (e) {
			fill(e, st, now, task, (__s32)ctx->ax);
			bpf_ringbuf_submit(e, submit_flags());
		} else {
			err = -1;
		}
	}
	count(COOKIE_SLOT(st->cookie), err != 0);
	return 0;
}

/* One uprobe/uretprobe link per probed function (any kernel with BPF cookies, 5.15+). */
SEC("uprobe")
int cuda_enter(struct pt_regs *ctx)
{
	return enter(ctx);
}

SEC("uretprobe")
int cuda_return(struct pt_regs *ctx)
{
	return leave(ctx);
}

/* The same probes for uprobe_multi links (kernel 6.6+): one link per library and direction,
 * with a cookie per function. The recorder sets their expected attach type
 * (BPF_TRACE_UPROBE_MULTI) before load, which libbpf 1.1 has no section name for. Fewer links
 * matter when stopping: each link waits for an RCU grace period (~0.1 s) when it is destroyed. */
SEC("uprobe")
int cuda_enter_multi(struct pt_regs *ctx)
{
	return enter(ctx);
}

SEC("uprobe")
int cuda_return_multi(struct pt_regs *ctx)
{
	return leave(ctx);
}
