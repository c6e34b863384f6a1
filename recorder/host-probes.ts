// The kernel-side programs of bpf/host.bpf.c: which BPF programs each kernel event needs and
// the counter slot it reports under (the SLOT_* enum of host.bpf.c).

export type KernelEvent = 'sched_switch' | 'sched_wakeup' | 'exec' | 'fork' | 'exit' | 'page_alloc' | 'oom_kill' | 'block_io';

export interface HostProbe {
  event: KernelEvent;
  slot: number;
  programs: readonly string[];
  /** The kernel tracepoints behind it, for metadata and `ingero check`. */
  tracepoints: readonly string[];
  sourceId: number;
}

export const HOST_PROBES: readonly HostProbe[] = [
  { event: 'sched_switch', slot: 0, programs: ['on_sched_switch'], tracepoints: ['sched/sched_switch'], sourceId: 3 },
  { event: 'sched_wakeup', slot: 1, programs: ['on_sched_wakeup'], tracepoints: ['sched/sched_wakeup'], sourceId: 3 },
  { event: 'exec', slot: 2, programs: ['on_exec'], tracepoints: ['sched/sched_process_exec'], sourceId: 3 },
  { event: 'fork', slot: 3, programs: ['on_fork'], tracepoints: ['sched/sched_process_fork'], sourceId: 3 },
  { event: 'exit', slot: 4, programs: ['on_exit'], tracepoints: ['sched/sched_process_exit'], sourceId: 3 },
  { event: 'page_alloc', slot: 5, programs: ['on_page_alloc'], tracepoints: ['kmem/mm_page_alloc'], sourceId: 3 },
  { event: 'oom_kill', slot: 6, programs: ['on_oom_victim'], tracepoints: ['oom/mark_victim'], sourceId: 3 },
  { event: 'block_io', slot: 7, programs: ['on_block_issue', 'on_block_complete'], tracepoints: ['block/block_rq_issue', 'block/block_rq_complete'], sourceId: 5 },
];

export const ALL_KERNEL_EVENTS: readonly KernelEvent[] = HOST_PROBES.map((p) => p.event);

/** Counter slot of the thread-name records in both objects (INGERO_SLOT_TASK_NAMES). */
export const TASK_NAME_SLOT = 255;
