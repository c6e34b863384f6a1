// get_timeline: per-window rates and exact latencies per op (analyze/ timeline) over the whole
// recording or around one moment, busiest ops first.
import { z } from 'zod';
import { timeline, type Timeline } from '../../analyze/index.ts';
import { DEFAULT_WINDOWS, niceWidth } from '../precompute.ts';
import { bundleArg, cursorArg, nodeArg, decodeCursor, encodeCursor, pageFields, pageNote, resolveOps, servedBundle, summaryOf, takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

const MAX_WINDOWS = 500;

const input = {
  ...bundleArg,
  at_ns: z.number().int().min(0).optional().describe('Centre the timeline on this time (ns since origin); the range is at_ns ± radius_ns.'),
  radius_ns: z.number().int().min(1).optional().describe('Half-width of the range around at_ns; default 5% of the recording.'),
  from_ns: z.number().int().min(0).optional().describe('Range start (ns since origin); overrides at_ns.'),
  to_ns: z.number().int().min(1).optional().describe('Range end, exclusive (ns since origin); overrides at_ns.'),
  window_ns: z.number().int().min(1000).optional().describe(`Window width in ns; default: the range cut into about ${DEFAULT_WINDOWS} windows (1/2/5 x 10^k ns). At most ${MAX_WINDOWS} windows.`),
  ops: z.array(z.string().max(128)).max(64).optional().describe('Only these ops; default every op, busiest (by total time) first.'),
  pid: z.number().int().optional().describe('Only events of this process.'),
  ...nodeArg,
  ...cursorArg,
};

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
        .array(z.object({ t_ns: z.number().describe('Window start.'), count: z.number(), rate_per_s: z.number(), total_ns: z.number(), p50_ns: z.number(), p99_ns: z.number(), max_ns: z.number() }))
        .describe('Windows with at least one event, in time order (exact percentiles of the events starting in the window).'),
    }),
  ),
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
    'Per-window event rate, total time and exact p50/p99/max latency per op, over the whole recording or around a moment (at_ns ± radius_ns, or from_ns..to_ns). ' +
    'Use it to see when a problem starts, whether it is periodic, and what else changed at the same time. Busiest ops first; pass ops to focus.',
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const summary = await summaryOf(ctx, served);
    const s = summary.stats;
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
      t = summary.timeline;
      ranked = served.memo('timeline-ranked', () => rank(summary.timeline));
      if (opIds) ranked = ranked.filter((x) => opIds.includes(x.op_id));
    } else {
      t = timeline(served.bundle, { fromNs: from, toNs: to, windowNs, opIds, pids: args.pid === undefined ? undefined : [args.pid], nodeId: args.node_id });
      ranked = rank(t);
    }
    from = t.from_ns;
    to = t.to_ns;
    const start = decodeCursor('get_timeline', args.cursor, isPosition)?.at ?? 0;
    const page = takePage(ranked.slice(start), 64, ctx.limits.pageBytes);
    return {
      bundle: served.name,
      window_ns: t.window_ns,
      from_ns: from,
      to_ns: to,
      series: page.items.map((x) => ({ op: x.op, op_id: x.op_id, total_ns: x.total_ns, points: [...x.points] })),
      ...pageNote(page.more, encodeCursor('get_timeline', { at: start + page.items.length }), 'op series (pass ops to choose which)'),
    };
  },
};
