// list_events: raw events, filtered by time range, op, pid and minimum duration, in time order
// or slowest first, with cursor pagination.
import { z } from 'zod';
import { bundleArg, cursorArg, nodeArg, decodeCursor, encodeCursor, pageFields, pageNote, resolveOps, servedBundle, takePage, type ToolDef } from '../tool-kit.ts';
import { eventSchema, showEvent } from './event-shape.ts';

const input = {
  ...bundleArg,
  from_ns: z.number().int().min(0).optional().describe('Events starting at or after this time (ns since origin).'),
  to_ns: z.number().int().min(0).optional().describe('Events starting before this time (ns since origin).'),
  ops: z.array(z.string().max(128)).max(64).optional().describe('Only these ops, by name (e.g. ["cudaMemcpy","sched_switch"]).'),
  pid: z.number().int().optional().describe('Only this process id.'),
  tid: z.number().int().optional().describe('Only this thread id.'),
  ...nodeArg,
  min_dur_ns: z.number().int().min(0).optional().describe('Only events lasting at least this long (ns).'),
  order: z.enum(['time', 'slowest']).optional().describe('time (default): by start time; slowest: longest duration first (scans the whole filtered range).'),
  limit: z.number().int().min(1).max(500).optional().describe('Events per page, default 50, at most 500 (a byte budget may return fewer).'),
  ...cursorArg,
};

const output = {
  bundle: z.string(),
  events: z.array(eventSchema),
  ...pageFields,
};

type Position = { id: number; dur?: number };
const isPosition = (p: Record<string, unknown>): p is Position => Number.isSafeInteger(p.id) && (p.dur === undefined || Number.isSafeInteger(p.dur));

export const listEvents: ToolDef<typeof input, typeof output> = {
  name: 'list_events',
  title: 'List events',
  description:
    'Raw events with their named arguments (bytes, copy kind, stream, grid/block, next_pid for sched_switch, ...), filtered by time range (ns since origin), ops, pid, tid and min_dur_ns; ' +
    'order "time" or "slowest". Paginated: pass next_cursor back with the same filters. Use it to look at the actual slow calls behind a percentile or a finding.',
  input,
  output,
  run(args, ctx) {
    const served = servedBundle(ctx, args);
    const b = served.bundle;
    const opIds = resolveOps(served, args.ops);
    const limit = args.limit ?? 50;
    const order = args.order ?? 'time';
    const pos = decodeCursor(`list_events:${order}`, args.cursor, isPosition);
    const rows = [
      ...b.events({
        fromNs: args.from_ns,
        toNs: args.to_ns,
        opIds,
        pids: args.pid !== undefined ? [args.pid] : undefined,
        tids: args.tid !== undefined ? [args.tid] : undefined,
        nodeId: args.node_id,
        minDurNs: args.min_dur_ns,
        order,
        afterId: pos && order === 'time' ? pos.id : undefined,
        afterSlowest: pos && order === 'slowest' && pos.dur !== undefined ? { dur_ns: pos.dur, id: pos.id } : undefined,
        limit: limit + 1,
      }),
    ];
    const page = takePage(rows.map((r) => showEvent(served, r)), limit, ctx.limits.pageBytes);
    const more = page.more || rows.length > limit;
    const last = page.items[page.items.length - 1];
    const next = last ? encodeCursor(`list_events:${order}`, order === 'time' ? { id: last.id } : { id: last.id, dur: last.dur_ns }) : null;
    return { bundle: served.name, events: page.items, ...pageNote(more, next, 'events') };
  },
};
