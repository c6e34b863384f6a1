// list_events: raw events, filtered by time range, op, pid and minimum duration, in time order
// or slowest first, with cursor pagination.
import { z } from 'zod';
import { bundleArg, cursorArg, nodeArg, decodeCursor, encodeCursor, pageBudget, pageFields, pageNote, resolveOps, servedBundle, takePage, type ToolDef } from '../tool-kit.ts';
import { eventSchema, showEvent } from './event-shape.ts';

const input = {
  ...bundleArg,
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(0).optional(),
  ops: z.array(z.string().max(128)).max(64).optional(),
  pid: z.number().int().optional(),
  tid: z.number().int().optional(),
  ...nodeArg,
  min_dur_ns: z.number().int().min(0).optional(),
  order: z.enum(['time', 'slowest']).optional(),
  limit: z.number().int().min(1).max(500).optional().describe('Default 20.'),
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
    'Raw events with named args (a fork names its child), by time range, ops, pid, tid, min_dur_ns; order time or slowest. To see the calls behind a finding or stall.',
  input,
  output,
  run(args, ctx) {
    const served = servedBundle(ctx, args);
    const b = served.bundle;
    const opIds = resolveOps(served, args.ops);
    const limit = args.limit ?? 20;
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
    const page = takePage(rows.map((r) => showEvent(served, r)), limit, pageBudget(ctx, args.limit));
    const more = page.more || rows.length > limit;
    const last = page.items[page.items.length - 1];
    const next = last ? encodeCursor(`list_events:${order}`, order === 'time' ? { id: last.id } : { id: last.id, dur: last.dur_ns }) : null;
    return { bundle: served.name, events: page.items, ...pageNote(more, next, 'events') };
  },
};
