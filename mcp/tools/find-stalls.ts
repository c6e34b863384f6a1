// find_stalls: the longest stretches in which a GPU-feeding thread did not feed the GPU
// (analyze/thread-activity.ts findStalls), each with what surrounded it and what the data
// cannot show. Without arguments: the top stalls of the whole bundle.
import { z } from 'zod';
import { findStalls, type NeighbourEvent, type StallReport } from '../../analyze/thread-activity.ts';
import { DEFAULT_STALLS } from '../precompute.ts';
import { bundleArg, nodeArg, servedBundle, summaryOf, type ToolDef } from '../tool-kit.ts';

const KINDS = ['off-cpu', 'no-gpu-calls', 'on-cpu-no-gpu-calls'] as const;

const input = {
  ...bundleArg,
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(0).optional(),
  pid: z.number().int().optional(),
  tid: z.number().int().optional(),
  ...nodeArg,
  kinds: z.array(z.enum(KINDS)).max(3).optional(),
  limit: z.number().int().min(1).max(50).optional().describe(`Default ${DEFAULT_STALLS}.`),
  detail: z.enum(['brief', 'full']).optional().describe('full: neighbour events with all fields.'),
};

const neighbour = z.object({ id: z.number(), ts_ns: z.number(), what: z.string() }).passthrough();
const output = {
  bundle: z.string(),
  from_ns: z.number(),
  to_ns: z.number(),
  threads: z.array(z.object({ node_id: z.number(), pid: z.number(), tid: z.number(), process: z.string(), thread: z.string(), gpu_calls: z.number(), switches: z.number() })),
  stalls: z.array(
    z.object({
      kind: z.enum(KINDS),
      node_id: z.number(),
      pid: z.number(),
      tid: z.number(),
      process: z.string(),
      thread: z.string(),
      from_ns: z.number(),
      dur_ns: z.number(),
      state: z.string().nullable(),
      ran_instead: z.object({ pid: z.number(), tid: z.number().nullable(), process: z.string() }).nullable(),
      off_cpu_ns: z.number().nullable(),
      event_id: z.number(),
      before: z.array(neighbour),
      during: z.array(neighbour),
      after: z.array(neighbour),
      cannot_show: z.array(z.string()),
    }),
  ),
  caveats: z.array(z.string()),
  note: z.string(),
};

/** Brief: id, time and the one-line description (it names a fork's child); full: every field. */
function shown(e: NeighbourEvent, full: boolean): z.infer<typeof neighbour> {
  return full ? { ...e, ...(e.child ? { child: { ...e.child } } : {}) } : { id: e.id, ts_ns: e.ts_ns, what: e.what };
}

export const findStallsTool: ToolDef<typeof input, typeof output> = {
  name: 'find_stalls',
  title: 'Find stalls',
  description:
    'Longest stretches a GPU-feeding thread stopped feeding the GPU: off-CPU (preempted/blocked, who ran), gaps between its GPU calls, on-CPU work without calls; each with forks/syncs/IO around it and what the data cannot show. Call with no args after get_causal_chains.',
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const opts = { fromNs: args.from_ns, toNs: args.to_ns, pid: args.pid, tid: args.tid, nodeId: args.node_id, kinds: args.kinds, limit: args.limit ?? DEFAULT_STALLS };
    // The default page is what agents ask for first: the summary child computes it. Others scan the bundle per call.
    const isDefault = Object.entries(opts).every(([k, v]) => v === undefined || (k === 'limit' && v === DEFAULT_STALLS));
    const report: StallReport = isDefault ? (await summaryOf(ctx, served)).stalls : findStalls(served.bundle, opts);
    const full = args.detail === 'full';
    const stalls = report.stalls.map((s) => ({
      ...s,
      before: s.before.map((e) => shown(e, full)),
      during: s.during.map((e) => shown(e, full)),
      after: s.after.map((e) => shown(e, full)),
      cannot_show: [...s.cannot_show],
    }));
    return {
      bundle: served.name,
      from_ns: report.from_ns,
      to_ns: report.to_ns,
      threads: report.threads.slice(0, 20).map((t) => ({ ...t })),
      stalls,
      caveats: [...report.caveats],
      note: `Longest first; times are ns on the bundle clock. ${report.threads.length > 20 ? `First 20 of ${report.threads.length} threads listed. ` : ''}Next: list_events around from_ns (pid, tid), get_stacks event_id, thread_activity for the time split.`,
    };
  },
};
