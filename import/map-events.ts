// One Ingero `events` row → one bundle event: the op code, the interval and the arguments.
//
// Op codes: Ingero's (source, op) u8 pair becomes op_id = source * 256 + op. format/catalog.ts
// mirrors Ingero's codes 1..127, so known pairs need no table and unknown pairs pass through as
// raw codes (the writer names them op_S_I when sealing).
//
// Time: Ingero's `timestamp` marks the call entry for CUDA, DRIVER and CUDA_GRAPH, but the END of
// the interval for sched_switch (switch-in), block IO (completion) and NET (syscall exit). The
// bundle stores starts, so those three get start = timestamp - duration.
//
// Arguments (Ingero arg0/arg1 are u64 stored as signed INTEGER; bundles store the same signed
// bit pattern, so values are copied unchanged):
//
//   Ingero op                       | bundle arg0        | bundle arg1         | arg2      | arg3
//   CUDA 1/*, DRIVER 4/*, GRAPH 8/* | arg0               | arg1                |           |
//   HOST 3/1 sched_switch           | NULL (unknown)     | NULL (unknown)      | NULL      | arg1 (*)
//   HOST 3/2 sched_wakeup           | NULL (tid unknown) | arg1 target pid     |           |
//   HOST 3/3 mm_page_alloc          | arg0 bytes         |                     |           |
//   HOST 3/4 oom_kill               | arg1 victim pid    |                     |           |
//   HOST 3/5 process_exec           | arg1 pid           |                     |           |
//   HOST 3/6 process_exit           | NULL (exit code)   | arg1 target pid     |           |
//   HOST 3/7 process_fork           | arg1 child pid     |                     |           |
//   HOST 3/20, 3/21 summaries       | arg0 count         | arg1 bytes / ns     |           |
//   IO 5/*                          | arg0 sectors       | arg1 start sector   |           |
//   TCP 6/1                         | arg0 addresses     | arg1 ports          | gpu_id (TCP state)
//   NET 7/*                         | arg0 fd            | arg1 bytes          |           |
//   anything else                   | arg0               | arg1                |           |
//
// (*) Ingero's sched_switch arg1 is the tgid of the task that was on the CPU just before the
// thread got it back. A value equal to the row's own pid names the thread itself (Ingero
// recorded the wrong task: in the shipped databases every row does this), so it says nothing
// about who ran and is stored as NULL, counted in the import report (self_preemptor). The catalog's next_tid/next_pid name who took the CPU when the thread
// LEFT it: a different task, so it is not put there. It is kept in arg3 (unused by the catalog's
// sched_switch) and the bundle's metadata `import.arg_notes` says so.
//
// A slot the catalog does not define gets NULL when Ingero stored its default 0. An Ingero
// argument that the table drops is 0 in every known file; a non-zero one is counted in the
// import report (strayArgs) rather than silently lost.
// `ret` is Ingero's ret_code for CUDA, DRIVER and CUDA_GRAPH (0 = success), NULL elsewhere
// unless non-zero. Ingero's per-row cgroup_id goes to processes.cgroup (see map-processes.ts).
import { opById } from '../format/index.ts';

export const INGERO_SOURCE = { cuda: 1, host: 3, driver: 4, io: 5, tcp: 6, net: 7, graph: 8 } as const;

/**
 * An events row's start in epoch ns, as SQL: the importer sorts by it in the source database, so
 * events reach the bundle in start order. Negative durations (never seen) count as 0.
 */
export const START_SQL = 'CASE WHEN (source = 3 AND op = 1) OR source IN (5, 7) THEN timestamp - max(duration, 0) ELSE timestamp END';

type Slot = 'arg0' | 'arg1' | 'gpu_id' | null;

/** Bundle arg0..arg3 ← Ingero slot, for ops that differ from the default [arg0, arg1]. */
const PLACEMENT = new Map<number, readonly Slot[]>([
  [3 * 256 + 1, [null, null, null, 'arg1']],
  [3 * 256 + 2, [null, 'arg1']],
  [3 * 256 + 3, ['arg0']],
  [3 * 256 + 4, ['arg1']],
  [3 * 256 + 5, ['arg1']],
  [3 * 256 + 6, [null, 'arg1']],
  [3 * 256 + 7, ['arg1']],
  [6 * 256 + 1, ['arg0', 'arg1', 'gpu_id']],
]);
const DEFAULT_PLACEMENT: readonly Slot[] = ['arg0', 'arg1'];

export const ARG_NOTES = {
  sched_switch:
    "arg3 holds Ingero's sched_switch arg1: the tgid of the task that ran on the CPU just before this thread got it back; NULL where Ingero recorded the thread's own pid there (it names no other task; import.anomalies self_preemptor counts them). next_tid, next_pid and prev_state were not recorded by Ingero (NULL).",
  process_exit: "arg1 holds Ingero's target pid; the exit code (arg0) was not recorded.",
  sched_wakeup: "arg1 holds Ingero's target pid; the woken thread id (arg0) was not recorded.",
};

export interface IngeroRow {
  readonly arg0: bigint;
  readonly arg1: bigint;
  readonly gpu_id: bigint;
  readonly ret_code: bigint;
}

export interface MappedArgs {
  readonly args: readonly [bigint | null, bigint | null, bigint | null, bigint | null];
  readonly ret: number | null;
  /** A non-zero Ingero argument that the mapping has no place for. */
  readonly stray: boolean;
  /** A sched_switch whose switched-in-after pid is the thread's own (dropped: it names no other task). */
  readonly selfPreemptor: boolean;
}

export function opIdOf(source: number, op: number): number {
  return source * 256 + op;
}

const definedCache = new Map<number, readonly boolean[]>();
function definedSlots(opId: number): readonly boolean[] {
  let d = definedCache.get(opId);
  if (!d) {
    const def = opById(opId);
    d = [0, 1, 2, 3].map((i) => def?.args[i] !== undefined);
    definedCache.set(opId, d);
  }
  return d;
}

const SCHED_SWITCH = 3 * 256 + 1;

export function mapArgs(opId: number, row: IngeroRow, pid: number): MappedArgs {
  const placement = PLACEMENT.get(opId) ?? DEFAULT_PLACEMENT;
  const defined = definedSlots(opId);
  const args: [bigint | null, bigint | null, bigint | null, bigint | null] = [null, null, null, null];
  for (let i = 0; i < placement.length; i++) {
    const slot = placement[i];
    if (!slot) continue;
    const v = row[slot];
    args[i] = v === 0n && !defined[i] ? null : v;
  }
  const selfPreemptor = opId === SCHED_SWITCH && row.arg1 === BigInt(pid);
  if (selfPreemptor) args[3] = null;
  const stray = (row.arg0 !== 0n && !placement.includes('arg0')) || (row.arg1 !== 0n && !placement.includes('arg1')) || (row.gpu_id !== 0n && !placement.includes('gpu_id'));
  const source = opId >> 8;
  const carriesRet = source === INGERO_SOURCE.cuda || source === INGERO_SOURCE.driver || source === INGERO_SOURCE.graph;
  const ret = carriesRet || row.ret_code !== 0n ? Number(BigInt.asIntN(32, row.ret_code)) : null;
  return { args, ret, stray, selfPreemptor };
}
