// Kineto's event categories as every profiler version since 2021 names them, mapped to what the
// importer makes of each. Early traces (PyTorch 1.8-1.9) used capitalised names; later ones the
// snake_case names; both may appear in one merged trace.

export type EventKind =
  | 'cpu_op'
  | 'runtime'
  | 'driver'
  | 'kernel'
  | 'memcpy'
  | 'memset'
  | 'sync'
  | 'python'
  | 'annotation'
  | 'gpu_annotation'
  | 'launch_flow'
  | 'profiler_window'
  | 'other';

const CATEGORIES: Readonly<Record<string, EventKind>> = {
  cpu_op: 'cpu_op',
  Operator: 'cpu_op',
  cuda_runtime: 'runtime',
  Runtime: 'runtime',
  cuda_driver: 'driver',
  kernel: 'kernel',
  Kernel: 'kernel',
  gpu_memcpy: 'memcpy',
  Memcpy: 'memcpy',
  gpu_memset: 'memset',
  Memset: 'memset',
  cuda_sync: 'sync',
  python_function: 'python',
  user_annotation: 'annotation',
  gpu_user_annotation: 'gpu_annotation',
  // Flows from a launch to its GPU work: the same pairing as the correlation id, which the bundle keeps.
  ac2g: 'launch_flow',
  async: 'launch_flow',
  Trace: 'profiler_window',
};

/** Categories that only a PyTorch profiler writes: one of them makes a Chrome trace a Kineto trace. */
export const KINETO_CATEGORIES: ReadonlySet<string> = new Set([...Object.keys(CATEGORIES).filter((c) => c !== 'async' && c !== 'Trace'), 'fwdbwd', 'cuda_profiler_range', 'cpu_instant_event', 'overhead']);

export function eventKind(category: string | undefined, phase: string | undefined): EventKind {
  const kind = category === undefined ? undefined : CATEGORIES[category];
  if (kind === 'launch_flow') return phase === 's' || phase === 'f' || phase === 't' ? 'launch_flow' : 'other';
  return kind ?? 'other';
}
