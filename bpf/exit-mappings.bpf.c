// SPDX-License-Identifier: GPL-2.0
/* The executable file mappings of each traced process as it exits, so that stacks drained after
 * the process is gone still resolve: the recorder reads /proc/PID/maps when it drains a process's
 * events, and a program that exits within one drain interval (or before a loaded machine gets to
 * it) would otherwise leave its stacks unnamed. On recent kernels (the 6.18 this was written on)
 * sched_process_exit runs before exit_mm(), so the address space is still there; where it runs
 * after, the walk finds no mm and sends only the end marker, and stacks resolve as before.
 *
 * A separate object from host.bpf.o because it needs the task_vma iterator kfuncs (Linux 6.7):
 * where they are missing this object alone fails to load and the recorder goes on without it.
 * It writes into the host object's ring and counters (reused maps), so its records are drained
 * with the kernel events. */
#include "common.bpf.h"

/* Counter slot in the host object's probe_stats (after SLOT_CPU_SAMPLE of host.bpf.c). */
#define SLOT_MAPPINGS 9

#define VM_EXEC 0x4
#define PAGE_SHIFT 12 /* x86-64, the architecture these objects are built for */
/* The path is sent as its components, leaf first, each NUL-terminated: PATH_BYTES of them at
 * most, the last one read whole into the NAME_BYTES after them (the buffer is a power of two
 * so that a mask proves every length in bounds to the verifier). */
#define PATH_BYTES 512
#define NAME_BYTES 256
#define BUFFER_BYTES 1024
#define PATH_DEPTH 40

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task, __u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;

struct mapping_event {
	struct ingero_event head;
	char path[BUFFER_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mapping_event);
} mapping_scratch SEC(".maps");

/* Where the walk up a file's path stands (bpf_loop's context). */
struct path_walk {
	__u64 dentry;
	__u64 mount;
	__u32 len;
	/* 1: reached the root of the mount tree; -1: deeper or longer than a record holds */
	int done;
};

static long path_step(__u64 i, struct path_walk *w)
{
	__u32 zero = 0;
	struct mapping_event *m = bpf_map_lookup_elem(&mapping_scratch, &zero);
	struct dentry *d = (struct dentry *)w->dentry;
	struct mount *mnt = (struct mount *)w->mount;
	struct dentry *root = BPF_CORE_READ(mnt, mnt.mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	__u32 len = w->len;
	long n;

	if (!m)
		goto fail;
	if (d == root || d == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (d != root || up == mnt) {
			w->done = 1; /* the root of the namespace's mount tree */
			return 1;
		}
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mount = (__u64)up;
		return 0;
	}
	if (len >= PATH_BYTES)
		goto fail;
	n = bpf_probe_read_kernel_str(&m->path[len & (PATH_BYTES - 1)], NAME_BYTES, BPF_CORE_READ(d, d_name.name));
	if (n <= 1)
		goto fail;
	w->len = len + n;
	w->dentry = (__u64)parent;
	return 0;
fail:
	w->done = -1;
	return 1;
}

/* Writes the file's path in its mount namespace (what /proc/PID/maps shows) into the scratch
 * record, walked from the dentry up through the mounts (bpf_d_path is not allowed in a
 * tracepoint; bpf_loop keeps the verifier from exploring every depth). Returns the bytes
 * written, or 0 when the path is deeper or longer than a record holds. */
static __always_inline __u32 path_components(struct file *f)
{
	struct vfsmount *vfs = BPF_CORE_READ(f, f_path.mnt);
	struct path_walk w = {
		.dentry = (__u64)BPF_CORE_READ(f, f_path.dentry),
		.mount = (__u64)((void *)vfs - bpf_core_field_offset(struct mount, mnt)),
	};

	bpf_loop(PATH_DEPTH, path_step, &w, 0);
	return w.done == 1 ? w.len : 0;
}

static __always_inline void send(struct mapping_event *m, __u32 len)
{
	bool ok = bpf_ringbuf_output(&events, m, sizeof(m->head) + (len & (BUFFER_BYTES - 1)), submit_flags()) == 0;

	count(SLOT_MAPPINGS, !ok);
}

/* One record per executable file mapping (arg0 start, arg1 end, arg2 file offset, arg3 inode,
 * the path after the header), then an end marker without arguments: the process's mappings are
 * complete. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit_mappings, struct task_struct *p, bool group_dead)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct mapping_event *m;
	__u32 zero = 0;

	if (!group_dead || !recording() || !is_traced(task->tgid))
		return 0;
	m = bpf_map_lookup_elem(&mapping_scratch, &zero);
	if (!m)
		return 0;
	m->head = (struct ingero_event){
		.ts_ns = bpf_ktime_get_boot_ns(),
		.pid = task->tgid,
		.tid = task->pid,
		.op = INGERO_OP_MAPPING,
		.present = INGERO_HAS_ARG(0) | INGERO_HAS_ARG(1) | INGERO_HAS_ARG(2) | INGERO_HAS_ARG(3),
	};
	bpf_iter_task_vma_new(&it, task, 0);
	while ((vma = bpf_iter_task_vma_next(&it))) {
		struct file *f = vma->vm_file;
		__u32 len;

		if (!f || !(vma->vm_flags & VM_EXEC))
			continue;
		len = path_components(f);
		if (!len)
			continue;
		m->head.arg[0] = vma->vm_start;
		m->head.arg[1] = vma->vm_end;
		m->head.arg[2] = vma->vm_pgoff << PAGE_SHIFT;
		m->head.arg[3] = BPF_CORE_READ(f, f_inode, i_ino);
		send(m, len);
	}
	bpf_iter_task_vma_destroy(&it);
	m->head.present = 0;
	send(m, 0);
	return 0;
}
