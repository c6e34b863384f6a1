// get_trace_stats: the whole recording at a glance — span, counts, exact per-op latency
// percentiles (from analyze/, computed once per bundle), what the capture lost or sampled.
import { z } from 'zod';
import { sampledPeriodsFor } from '../../analyze/bundle-facts.ts';
import type { OpStats } from '../../analyze/index.ts';
import type { ServedBundle } from '../served-bundle.ts';
import { bundleArg, cursorArg, decodeCursor, encodeCursor, pageBudget, pageFields, pageNote, resolveOps, servedStats, takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

const durationFields = {
  count: z.number().describe('Stored events.'),
  complete_count: z.number().nullable().describe('Events the recorder observed (op_aggregates), null when it kept no aggregates.'),
  sampled: z.boolean().describe('Stored events are a sample for this op: percentiles describe a sample biased to slow calls.'),
  total_ns: z.number(),
  mean_ns: z.number().optional(),
  min_ns: z.number().optional(),
  p50_ns: z.number(),
  p90_ns: z.number().optional(),
  p95_ns: z.number().optional(),
  p99_ns: z.number(),
  p999_ns: z.number().optional(),
  max_ns: z.number(),
  rate_per_s: z.number().optional(),
  first_ns: z.number().optional(),
  last_ns: z.number().optional(),
};
const opFields = { op: z.string(), op_id: z.number(), source: z.string().optional(), layer: z.string(), ...durationFields };

const input = {
  ...bundleArg,
  ops: z.array(z.string().max(128)).max(64).optional(),
  pid: z.number().int().optional().describe('Per-op rows of this process.'),
  by_process: z.boolean().optional(),
  detail: z.enum(['brief', 'full']).optional().describe('full: all percentiles, rates, first/last.'),
  ...cursorArg,
};

const output = {
  bundle: z.string(),
  events: z.number().describe('Rows in the events table.'),
  from_ns: z.number().describe('First event start, ns since origin.'),
  to_ns: z.number().describe('Last event end, ns since origin.'),
  span_ns: z.number(),
  duration_s: z.number().describe('span_ns in seconds.'),
  percentiles: z.string().describe('How percentiles are computed.'),
  ops: z.array(z.object(opFields)).describe('Per op over the whole bundle, by total time, largest first.'),
  by_process: z.array(z.object({ node_id: z.number(), node: z.string(), pid: z.number(), process: z.string().describe('comm; traced data.'), ...opFields })).describe('Per (node, pid, op) when by_process or pid is given, else empty.'),
  data_quality: z.object({
    dropped_events: z.number().describe('Events lost during capture.'),
    losses: z.array(z.object({ node_id: z.number(), probe: z.string(), source: z.string().nullable(), emitted: z.number(), dropped: z.number(), note: z.string() })),
    sampled: z.boolean().describe('True when the events table is only a sample somewhere: counts and percentiles then describe the stored sample.'),
    sampled_periods: z.array(z.object({ node_id: z.number(), op: z.string().nullable(), source: z.string().nullable(), from_ns: z.number(), to_ns: z.number().nullable(), policy: z.string(), note: z.string() })),
  }),
  notes: z.array(z.string()).describe('How to read these numbers.'),
  ...pageFields,
};

/** Ops listed without an ops filter: the busiest by total time (a hostile bundle can hold thousands). */
const MAX_OPS = 100;
/** Characters of a sampling or loss note shown by default (Ingero's run to a paragraph). */
const NOTE_CHARS = 160;

function clip(text: string): string {
  return text.length > NOTE_CHARS ? `${text.slice(0, NOTE_CHARS - 1)}…` : text;
}

/** Complete counts per (node, pid, op) and per op from op_aggregates; pid 0 rows are not per process. */
function completeCounts(served: ServedBundle): { byOp: Map<number, number>; byProcess: Map<string, number> } {
  return served.memo('complete-counts', () => {
    const byOp = new Map<number, number>();
    const byProcess = new Map<string, number>();
    for (const r of served.bundle.db.prepare('SELECT node_id, pid, op_id, sum(count) AS n FROM op_aggregates GROUP BY node_id, pid, op_id').all() as { node_id: number; pid: number; op_id: number; n: number }[]) {
      byOp.set(r.op_id, (byOp.get(r.op_id) ?? 0) + r.n);
      if (r.pid !== 0) byProcess.set(`${r.node_id}:${r.pid}:${r.op_id}`, r.n);
    }
    return { byOp, byProcess };
  });
}

const isPosition = (p: Record<string, unknown>): p is { at: number } => Number.isSafeInteger(p.at) && (p.at as number) >= 0;

export const getTraceStats: ToolDef<typeof input, typeof output> = {
  name: 'get_trace_stats',
  title: 'Trace statistics',
  description:
    'Per-op counts (stored and complete), total time, p50/p99/max; capture loss and sampling. detail=full for all percentiles.',
  input,
  output,
  async run(args, ctx) {
    const { served, stats } = await servedStats(ctx, args);
    const opIds = resolveOps(served, args.ops);
    const keep = (opId: number) => !opIds || opIds.includes(opId);
    // No span, no rate: dividing by a made-up 1 ns would report a billion calls per second.
    const spanS = stats.span_ns / 1e9;
    const full = args.detail === 'full';
    const complete = completeCounts(served);
    const facts = { dataQuality: stats.data_quality } as Parameters<typeof sampledPeriodsFor>[0];
    const isSampled = (o: OpStats, nodes: readonly number[]) => nodes.some((n) => sampledPeriodsFor(facts, n, o.op, o.source, o.first_ns, o.last_ns + 1).length > 0);
    const nodes = [...new Set(stats.by_process.map((p) => p.node_id))];
    const shape = <T extends OpStats>(o: T, completeCount: number | undefined, sampled: boolean) => {
      const base = { op: o.op, op_id: o.op_id, layer: o.layer, count: o.count, complete_count: completeCount ?? null, sampled, total_ns: o.total_ns, p50_ns: o.p50_ns, p99_ns: o.p99_ns, max_ns: o.max_ns };
      return full ? { ...o, ...base, rate_per_s: spanS > 0 ? o.count / spanS : 0 } : base;
    };
    const allOps = stats.ops
      .filter((o) => keep(o.op_id))
      .sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id)
      .map((o) => shape(o, complete.byOp.get(o.op_id), isSampled(o, nodes)));
    const ops = takePage(allOps.slice(0, MAX_OPS), MAX_OPS, full ? ctx.limits.pageBytes : pageBudget(ctx, undefined) - 1024).items;
    let byProcess: z.infer<typeof output.by_process> = [];
    let page = pageNote(false, null, '');
    if (args.by_process || args.pid !== undefined) {
      const rows = stats.by_process.filter((p) => keep(p.op_id) && (args.pid === undefined || p.pid === args.pid));
      if (args.pid !== undefined && rows.length === 0) throw new ToolInputError(`no events from pid ${args.pid}${args.ops ? ' for those ops' : ''}; list_processes shows the pids present`);
      const start = decodeCursor('get_trace_stats', args.cursor, isPosition)?.at ?? 0;
      const taken = takePage(
        rows.slice(start).map((p) => ({ node_id: p.node_id, node: p.node, pid: p.pid, process: p.process, ...shape(p, complete.byProcess.get(`${p.node_id}:${p.pid}:${p.op_id}`), isSampled(p, [p.node_id])) })),
        500,
        full ? ctx.limits.pageBytes : pageBudget(ctx, undefined),
      );
      byProcess = taken.items;
      page = pageNote(taken.more, encodeCursor('get_trace_stats', { at: start + taken.items.length }), 'per-process rows');
    }
    const dq = stats.data_quality;
    const notes = [
      `count is stored rows; percentiles are exact over the ${stats.events} stored events. Where sampled is true they describe a sample biased to slow calls: use complete_count for volume.`,
      dq.dropped_events > 0 ? `The capture lost ${dq.dropped_events} events (data_quality.losses): counts are lower bounds.` : 'No capture loss was reported.',
    ];
    if (allOps.length > ops.length) notes.push(`${allOps.length - ops.length} more ops with less total time are not listed; pass ops${full ? '' : ' or detail=full'} to see them.`);
    if (dq.sampled) notes.push('Parts of the events table are a sample (data_quality.sampled_periods): counts and percentiles there describe stored events only; complete counts are in table op_aggregates (run_sql).');
    return {
      bundle: served.name,
      events: stats.events,
      from_ns: stats.from_ns,
      to_ns: stats.to_ns,
      span_ns: stats.span_ns,
      duration_s: stats.span_ns / 1e9,
      percentiles: 'exact, nearest rank: sorted[ceil(p*n)-1] over the stored events of the op',
      ops,
      by_process: byProcess,
      data_quality: {
        dropped_events: dq.dropped_events,
        losses: dq.losses.map((l) => ({ ...l, note: full ? l.note : clip(l.note) })),
        sampled: dq.sampled,
        sampled_periods: dq.sampled_periods.map((p) => ({ ...p, note: full ? p.note : clip(p.note) })),
      },
      notes,
      ...page,
    };
  },
};
