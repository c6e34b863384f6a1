// How one event row is shown to an agent: op and argument names from the bundle's own op_args,
// pointers in hex, packed launch dimensions unpacked, every other value an exact integer.
import { z } from 'zod';
import { forkChild } from '../../analyze/thread-activity.ts';
import type { EventRecord } from '../../format/index.ts';
import type { ServedBundle } from '../served-bundle.ts';

export const eventSchema = z.object({
  id: z.number().describe('events.id (time order); use with get_stacks event_id or run_sql.'),
  ts_ns: z.number().describe('Start, ns since origin.'),
  dur_ns: z.number().describe('Duration, ns (off-CPU time for sched_switch).'),
  node_id: z.number(),
  pid: z.number(),
  tid: z.number(),
  op: z.string(),
  args: z.record(z.string(), z.union([z.number(), z.string()])).describe('arg0..arg3 by name (op_args); pointers as hex, grid/block as "x,y,z", 64-bit values beyond 2^53 as decimal strings.'),
  ret: z.number().nullable().describe('Return code (0 = success for CUDA), null when none.'),
  stack_id: z.number().nullable().describe('Captured stack (get_stacks event_id), null when none.'),
  child: z.object({ pid: z.number(), process: z.string(), end_ns: z.number().nullable(), exit_code: z.number().nullable() }).optional().describe('process_fork: the child, with its name and exit.'),
});

function argValue(v: bigint, unit: string, name: string): number | string | bigint {
  if (unit === 'pointer') return `0x${BigInt.asUintN(64, v).toString(16)}`;
  if (unit === 'packed' && (name === 'grid' || name === 'block')) {
    const u = BigInt.asUintN(64, v);
    return `${u & 0xffffffffn},${(u >> 32n) & 0xffffn},${(u >> 48n) & 0xffffn}`;
  }
  return v;
}

export function showEvent(served: ServedBundle, e: EventRecord): z.infer<typeof eventSchema> {
  const meanings = served.argMeanings().get(e.op_id) ?? [];
  const args: Record<string, number | string | bigint> = {};
  [e.arg0, e.arg1, e.arg2, e.arg3].forEach((v, i) => {
    if (v === null) return;
    const m = meanings[i];
    args[m?.name ?? `arg${i}`] = m ? argValue(v, m.unit, m.name) : v;
  });
  return {
    id: e.id,
    ts_ns: e.ts_ns,
    dur_ns: e.dur_ns,
    node_id: e.node_id,
    pid: e.pid,
    tid: e.tid,
    op: served.bundle.opName(e.op_id),
    args: args as Record<string, number | string>,
    ret: e.ret,
    stack_id: e.stack_id,
    ...(e.arg0 !== null && served.bundle.opName(e.op_id) === 'process_fork' ? { child: forkChild(served.bundle, e.node_id, Number(e.arg0), e.ts_ns) } : {}),
  };
}
