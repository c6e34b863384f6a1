// gpu_activity: what each GPU did (GPU activity rows of profiler imports, schema 2): per node and
// device the span, busy and idle time and share, streams, kernel/copy/set totals and the top
// kernels by total time (analyze/gpu-activity.ts, part of the bundle's precomputed stats).
import { z } from 'zod';
import { shortSymbol } from '../../analyze/symbol-name.ts';
import { bundleArg, leftOutNote, nodeArg, onePageFields, servedStats, takePage, DEFAULT_PAGE_BYTES, type ToolDef } from '../tool-kit.ts';

const input = {
  ...bundleArg,
  ...nodeArg,
  top: z.number().int().min(1).max(50).optional().describe('Kernels per GPU; default 5.'),
  full_names: z.boolean().optional().describe('Unshortened names.'),
};

const work = z.object({ count: z.number(), total_ns: z.number() });
const output = {
  bundle: z.string(),
  gpus: z.array(
    z.object({
      node_id: z.number(),
      node: z.string(),
      device: z.number(),
      from_ns: z.number(),
      to_ns: z.number(),
      span_ns: z.number().describe('First GPU activity start to last end.'),
      busy_ns: z.number().describe('Union of kernel, memcpy and memset intervals over all streams.'),
      idle_ns: z.number(),
      busy_share: z.number(),
      idle_share: z.number(),
      streams: z.array(z.number()),
      kernel: work,
      memcpy: work,
      memset: work,
      kernel_names: z.number().describe('Distinct kernel names on this GPU.'),
      top_kernels: z.array(z.object({ name: z.string().describe('Traced data.'), count: z.number(), total_ns: z.number(), share_of_busy: z.number(), p50_ns: z.number(), p99_ns: z.number(), max_ns: z.number() })),
    }),
  ),
  ...onePageFields,
};

export const gpuActivityTool: ToolDef<typeof input, typeof output> = {
  name: 'gpu_activity',
  title: 'GPU activity',
  description: 'Per GPU (profiler imports): busy/idle share of its span, streams, top kernels by total time.',
  input,
  output,
  async run(args, ctx) {
    const { served, stats } = await servedStats(ctx, args);
    const top = args.top ?? 5;
    const name = (n: string) => (args.full_names ? n : shortSymbol(n));
    const all = stats.gpus
      .filter((g) => args.node_id === undefined || g.node_id === args.node_id)
      .map((g) => ({
        node_id: g.node_id,
        node: g.node,
        device: g.device,
        from_ns: g.from_ns,
        to_ns: g.to_ns,
        span_ns: g.span_ns,
        busy_ns: g.busy_ns,
        idle_ns: g.idle_ns,
        busy_share: g.busy_share,
        idle_share: g.span_ns > 0 ? g.idle_ns / g.span_ns : 0,
        streams: [...g.streams],
        kernel: { ...g.kernel },
        memcpy: { ...g.memcpy },
        memset: { ...g.memset },
        kernel_names: g.kernels.length,
        top_kernels: g.kernels.slice(0, top).map((k) => ({ name: name(k.name), count: k.count, total_ns: k.total_ns, share_of_busy: g.busy_ns > 0 ? k.total_ns / g.busy_ns : 0, p50_ns: k.p50_ns, p99_ns: k.p99_ns, max_ns: k.max_ns })),
      }));
    // A chosen top may need more room than the default page; every GPU is still listed when it fits.
    const page = takePage(all, 64, args.top === undefined ? DEFAULT_PAGE_BYTES : ctx.limits.pageBytes);
    const leftOut = leftOutNote(page, all.length, 'GPUs', 'pass node_id, or a smaller top');
    const notes =
      all.length === 0
        ? [stats.gpus.length === 0 ? 'No GPU activity rows (source gpu): the bundle holds no profiler import (ingero import of a PyTorch profiler trace). GPU calls as the host saw them are in get_trace_stats.' : `No GPU activity on node ${args.node_id}.`]
        : [
            'Times are ns on the bundle clock, from the profiler\'s GPU activity records (complete for what it recorded). Kernel times overlap across streams, so share_of_busy can add up to more than 1.',
            ...(leftOut ? [leftOut] : []),
          ];
    return { bundle: served.name, gpus: page.items, truncated: page.more, notes };
  },
};
