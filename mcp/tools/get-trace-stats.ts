// get_trace_stats: the whole recording at a glance — span, counts, exact per-op latency
// percentiles (from analyze/, computed once per bundle), what the capture lost or sampled.
import { z } from 'zod';
import { bundleArg, cursorArg, decodeCursor, encodeCursor, pageFields, pageNote, resolveOps, servedBundle, summaryOf, takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

const durationFields = {
  count: z.number().describe('Events.'),
  total_ns: z.number().describe('Sum of durations, ns (off-CPU time for sched_switch).'),
  mean_ns: z.number(),
  min_ns: z.number(),
  p50_ns: z.number(),
  p90_ns: z.number(),
  p95_ns: z.number(),
  p99_ns: z.number(),
  p999_ns: z.number(),
  max_ns: z.number(),
  rate_per_s: z.number().describe('count / recording span in seconds; 0 when the recording spans no time (events at one instant).'),
  first_ns: z.number().describe('First event start, ns since origin.'),
  last_ns: z.number().describe('Last event start, ns since origin.'),
};
const opFields = { op: z.string(), op_id: z.number(), source: z.string(), layer: z.string(), ...durationFields };

const input = {
  ...bundleArg,
  ops: z.array(z.string().max(128)).max(64).optional().describe('Only these ops (names as in ops.name, e.g. cudaMemcpy, sched_switch); default all.'),
  pid: z.number().int().optional().describe('Only this process: adds its per-op rows (by_process) for that pid.'),
  by_process: z.boolean().optional().describe('Also return per (node, pid, op) rows, paginated; default false.'),
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

const isPosition = (p: Record<string, unknown>): p is { at: number } => Number.isSafeInteger(p.at) && (p.at as number) >= 0;

export const getTraceStats: ToolDef<typeof input, typeof output> = {
  name: 'get_trace_stats',
  title: 'Trace statistics',
  description:
    'Recording span, event counts and exact per-op latency percentiles (p50/p90/p95/p99/p99.9, nearest rank over every stored event, no estimation), ' +
    'plus capture drops and sampled periods. Start every investigation here. Durations are ns: API call time for CUDA/driver ops, off-CPU time for sched_switch, issue-to-completion for block IO. ' +
    'Filter with ops and pid; by_process=true adds per-process rows (paginated).',
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const { stats } = await summaryOf(ctx, served);
    const opIds = resolveOps(served, args.ops);
    const keep = (opId: number) => !opIds || opIds.includes(opId);
    // No span, no rate: dividing by a made-up 1 ns would report a billion calls per second.
    const spanS = stats.span_ns / 1e9;
    const withRate = <T extends { count: number }>(s: T) => ({ ...s, rate_per_s: spanS > 0 ? s.count / spanS : 0 });
    const allOps = stats.ops.filter((o) => keep(o.op_id)).map(withRate).sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id);
    const ops = allOps.slice(0, MAX_OPS);
    let byProcess: ReturnType<typeof withRate<(typeof stats.by_process)[number]>>[] = [];
    let page = pageNote(false, null, '');
    if (args.by_process || args.pid !== undefined) {
      const rows = stats.by_process.filter((p) => keep(p.op_id) && (args.pid === undefined || p.pid === args.pid));
      if (args.pid !== undefined && rows.length === 0) throw new ToolInputError(`no events from pid ${args.pid}${args.ops ? ' for those ops' : ''}; list_processes shows the pids present`);
      const start = decodeCursor('get_trace_stats', args.cursor, isPosition)?.at ?? 0;
      const taken = takePage(rows.slice(start).map(withRate), 500, ctx.limits.pageBytes);
      byProcess = taken.items;
      page = pageNote(taken.more, encodeCursor('get_trace_stats', { at: start + taken.items.length }), 'per-process rows');
    }
    const dq = stats.data_quality;
    const notes = [
      `Percentiles are exact over the ${stats.events} stored events.`,
      dq.dropped_events > 0 ? `The capture lost ${dq.dropped_events} events (data_quality.losses): counts are lower bounds.` : 'No capture loss was reported.',
    ];
    if (allOps.length > ops.length) notes.push(`${allOps.length - ops.length} more ops with less total time are not listed; pass ops to see them.`);
    if (dq.sampled) notes.push('Parts of the events table are a sample (data_quality.sampled_periods): counts and percentiles there describe stored events only; complete counts are in table op_aggregates (run_sql).');
    return {
      bundle: served.name,
      events: stats.events,
      from_ns: stats.from_ns,
      to_ns: stats.to_ns,
      span_ns: stats.span_ns,
      duration_s: stats.span_ns / 1e9,
      percentiles: 'exact, nearest rank: sorted[ceil(p*n)-1] over every stored event of the op',
      ops,
      by_process: byProcess,
      data_quality: { dropped_events: dq.dropped_events, losses: [...dq.losses], sampled: dq.sampled, sampled_periods: [...dq.sampled_periods] },
      notes,
      ...page,
    };
  },
};
