// get_timeline: per-window rates and exact latencies per op (analyze/ timeline) over the whole
// recording or around one moment, busiest ops first.
import { z } from 'zod';
import { timeline, type Timeline } from '../../analyze/index.ts';
import { DEFAULT_WINDOWS, niceWidth } from '../precompute.ts';
import { bundleArg, cursorArg, nodeArg, decodeCursor, encodeCursor, pageBudget, pageFields, pageNote, resolveOps, servedStats, takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

const MAX_WINDOWS = 500;

const input = {
  ...bundleArg,
  at_ns: z.number().int().min(0).optional().describe('Centre; range at_ns ± radius_ns.'),
  radius_ns: z.number().int().min(1).optional(),
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(1).optional(),
  window_ns: z.number().int().min(1000).optional().describe(`Default: range / ${DEFAULT_WINDOWS}.`),
  ops: z.array(z.string().max(128)).max(64).optional(),
  pid: z.number().int().optional(),
  ...nodeArg,
  detail: z.enum(['brief', 'full']).optional().describe('brief: points as [t_ns,count,p50_ns,p99_ns,max_ns].'),
  ...cursorArg,
};

const POINT_FIELDS = ['t_ns', 'count', 'p50_ns', 'p99_ns', 'max_ns'] as const;
const pointSchema = z.object({ t_ns: z.number().describe('Window start.'), count: z.number(), rate_per_s: z.number(), total_ns: z.number(), p50_ns: z.number(), p99_ns: z.number(), max_ns: z.number() });

const output = {
  bundle: z.string(),
  window_ns: z.number(),
  from_ns: z.number(),
  to_ns: z.number(),
  series: z.array(
    z.object({
      op: z.string(),
      op_id: z.number(),
      total_ns: z.number().describe('Sum of durations over the range.'),
      points: z
        .array(z.union([pointSchema, z.array(z.number())]))
        .describe('Windows with at least one event, in time order (exact percentiles of the events starting in the window).'),
    }),
  ),
  point_fields: z.array(z.string()).describe('Order of the numbers in a brief point.'),
  ...pageFields,
};

const isPosition = (p: Record<string, unknown>): p is { at: number } => Number.isSafeInteger(p.at) && (p.at as number) >= 0;

type Series = Timeline['series'][number] & { total_ns: number };

function rank(t: Timeline): Series[] {
  return t.series
    .map((s) => ({ ...s, total_ns: s.points.reduce((n, p) => n + p.total_ns, 0) }))
    .sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id);
}

export const getTimeline: ToolDef<typeof input, typeof output> = {
  name: 'get_timeline',
  title: 'Timeline',
  description:
    'Per-window rate and p50/p99/max per op: when a problem starts, whether it repeats, what changed with it.',
  input,
  output,
  async run(args, ctx) {
    const { served, stats: s, timeline: wholeRecording } = await servedStats(ctx, args);
    const opIds = resolveOps(served, args.ops);
    const span = Math.max(1, s.to_ns + 1 - s.from_ns);
    let from = args.from_ns ?? (args.at_ns !== undefined ? Math.max(0, args.at_ns - (args.radius_ns ?? Math.ceil(span / 20))) : s.from_ns);
    let to = args.to_ns ?? (args.at_ns !== undefined ? args.at_ns + (args.radius_ns ?? Math.ceil(span / 20)) : s.to_ns + 1);
    if (to <= from) throw new ToolInputError(`the range is empty (from ${from} ns to ${to} ns); to_ns must be above from_ns`);
    const windowNs = args.window_ns ?? niceWidth((to - from) / DEFAULT_WINDOWS);
    if ((to - from) / windowNs > MAX_WINDOWS) throw new ToolInputError(`${Math.ceil((to - from) / windowNs)} windows asked for, at most ${MAX_WINDOWS}: widen window_ns or shorten the range`);
    let t: Timeline;
    let ranked: Series[];
    const whole = args.from_ns === undefined && args.to_ns === undefined && args.at_ns === undefined && args.window_ns === undefined && args.pid === undefined && args.node_id === undefined;
    if (whole) {
      t = wholeRecording;
      ranked = served.memo('timeline-ranked', () => rank(wholeRecording));
      if (opIds) ranked = ranked.filter((x) => opIds.includes(x.op_id));
    } else {
      t = timeline(served.bundle, { fromNs: from, toNs: to, windowNs, opIds, pids: args.pid === undefined ? undefined : [args.pid], nodeId: args.node_id });
      ranked = rank(t);
    }
    from = t.from_ns;
    to = t.to_ns;
    const start = decodeCursor('get_timeline', args.cursor, isPosition)?.at ?? 0;
    const full = args.detail === 'full';
    const shown = ranked.slice(start).map((x) => ({ op: x.op, op_id: x.op_id, total_ns: x.total_ns, points: full ? [...x.points] : x.points.map((p) => POINT_FIELDS.map((f) => p[f])) }));
    const page = takePage(shown, 64, full ? ctx.limits.pageBytes : pageBudget(ctx, undefined));
    return {
      bundle: served.name,
      window_ns: t.window_ns,
      from_ns: from,
      to_ns: to,
      series: page.items,
      point_fields: full ? [] : [...POINT_FIELDS],
      ...pageNote(page.more, encodeCursor('get_timeline', { at: start + page.items.length }), 'op series (pass ops to choose which)'),
    };
  },
};
