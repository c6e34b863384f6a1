// fleet_stats: per node and op across every bundle of the served directory, exact percentiles
// (the engine of `ingero stats --dir`, analyze/fleet/). Each call reads the directory as it is
// then, so bundles copied in since are counted.
import { z } from 'zod';
import { fleetStats, FleetDataset } from '../../analyze/fleet/index.ts';
import { takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

const DEFAULT_ROWS = 20;
const MAX_ROWS = 500;
/** Default result budget: a fleet answer should fit an agent's context comfortably. */
const DEFAULT_BYTES = 8 * 1024;

const input = {
  ops: z.array(z.string().max(128)).max(64).optional().describe('Only these ops, e.g. cudaStreamSynchronize; default all.'),
  max_rows: z.number().int().min(1).max(MAX_ROWS).optional().describe(`Rows, most total time first; default ${DEFAULT_ROWS}.`),
};

const row = z.object({
  node: z.string(),
  op: z.string(),
  source: z.string(),
  bundles: z.number(),
  count: z.number(),
  total_ns: z.number(),
  p50_ns: z.number(),
  p90_ns: z.number(),
  p99_ns: z.number(),
  max_ns: z.number(),
});

const output = {
  bundles: z.number(),
  nodes: z.number(),
  events: z.number(),
  sampled_bundles: z.number().describe('Bundles partly sampled or with drops: their numbers cover stored events only.'),
  total_rows: z.number(),
  rows: z.array(row),
  truncated: z.boolean(),
  note: z.string(),
};

export const fleetStatsTool: ToolDef<typeof input, typeof output> = {
  name: 'fleet_stats',
  title: 'Fleet statistics',
  description: 'Per node × op across all served bundles (--dir): count, total and exact p50/p90/p99/max latency (ns). Finds the node whose op is slow.',
  input,
  output,
  async run(args, ctx) {
    if (ctx.registry.dir === null) throw new ToolInputError('this server serves one bundle; fleet_stats needs `ingero mcp --dir DIR` on a directory of bundles (get_trace_stats covers this one)');
    if (ctx.registry.list().length === 0) throw new ToolInputError('the served directory holds no bundle; copy .ingero files into it and call again');
    const fleet = await FleetDataset.open([ctx.registry.dir]);
    try {
      const report = await fleetStats(fleet, { ops: args.ops });
      const sorted = [...report.rows].sort((a, b) => b.total_ns - a.total_ns);
      const page = takePage(
        sorted.map(({ node, op, source, bundles, count, total_ns, p50_ns, p90_ns, p99_ns, max_ns }) => ({ node, op, source, bundles, count, total_ns, p50_ns, p90_ns, p99_ns, max_ns })),
        args.max_rows ?? DEFAULT_ROWS,
        Math.min(DEFAULT_BYTES * Math.max(1, (args.max_rows ?? DEFAULT_ROWS) / DEFAULT_ROWS), ctx.limits.pageBytes),
      );
      return {
        bundles: report.bundles,
        nodes: report.nodes,
        events: report.events,
        sampled_bundles: report.sampled_bundles,
        total_rows: report.rows.length,
        rows: page.items,
        truncated: page.more,
        note: page.more ? `truncated: ${report.rows.length - page.items.length} more rows; pass ops or raise max_rows` : '',
      };
    } finally {
      fleet.close();
    }
  },
};
