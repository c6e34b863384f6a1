// thread_activity: per GPU-feeding thread and window, time on-CPU, off-CPU (preempted / blocked /
// unknown) and inside GPU calls (analyze/thread-activity.ts threadActivity).
import { z } from 'zod';
import { MAX_ACTIVITY_WINDOWS, threadActivity } from '../../analyze/thread-activity.ts';
import { bundleArg, leftOutNote, nodeArg, pageBudget, servedBundle, summaryOf, takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

const input = {
  ...bundleArg,
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(0).optional(),
  window_ns: z.number().int().min(1000).optional().describe('Default: the whole range as one window.'),
  pid: z.number().int().optional(),
  tid: z.number().int().optional(),
  ...nodeArg,
  limit: z.number().int().min(1).max(100).optional().describe('Threads, default 10.'),
};

const windowSchema = z.object({
  from_ns: z.number(),
  to_ns: z.number(),
  observed_ns: z.number(),
  on_cpu_ns: z.number().nullable(),
  off_cpu: z.object({ preempted_ns: z.number(), blocked_ns: z.number(), unknown_ns: z.number() }),
  in_gpu_calls_ns: z.number(),
  gpu_calls: z.number(),
  switches: z.number(),
  complete: z.boolean(),
});
const output = {
  bundle: z.string(),
  from_ns: z.number(),
  to_ns: z.number(),
  window_ns: z.number(),
  threads: z.array(z.object({ node_id: z.number(), pid: z.number(), tid: z.number(), process: z.string(), thread: z.string(), windows: z.array(windowSchema) })),
  caveats: z.array(z.string()),
  truncated: z.boolean(),
  note: z.string(),
};

export const threadActivityTool: ToolDef<typeof input, typeof output> = {
  name: 'thread_activity',
  title: 'Thread activity',
  description: 'Per GPU-feeding thread and window: ns on-CPU, off-CPU (preempted/blocked/unknown) and inside GPU calls. Use to see where a thread\'s time went around a stall.',
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const opts = { fromNs: args.from_ns, toNs: args.to_ns, windowNs: args.window_ns, pid: args.pid, tid: args.tid, nodeId: args.node_id };
    let report;
    try {
      // The default (whole recording) is asked for again and again: the summary child computes it.
      const whole = Object.values(opts).every((v) => v === undefined);
      report = whole ? (await summaryOf(ctx, served)).activity : threadActivity(served.bundle, opts);
    } catch (err) {
      if (err instanceof RangeError) throw new ToolInputError(`${err.message} (at most ${MAX_ACTIVITY_WINDOWS})`);
      throw err;
    }
    const limit = args.limit ?? 10;
    const page = takePage(report.threads, limit, pageBudget(ctx, args.limit));
    return {
      bundle: served.name,
      from_ns: report.from_ns,
      to_ns: report.to_ns,
      window_ns: report.window_ns,
      threads: page.items.map((t) => ({ ...t, windows: t.windows.map((w) => ({ ...w, off_cpu: { ...w.off_cpu } })) })),
      caveats: [...report.caveats],
      truncated: page.more,
      note: leftOutNote(page, report.threads.length, 'threads', 'pass pid/tid, a larger limit or a wider window_ns') ?? 'in_gpu_calls_ns overlaps on- and off-CPU time (a thread blocked in a sync is both).',
    };
  },
};
