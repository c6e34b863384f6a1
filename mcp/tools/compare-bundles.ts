// compare_bundles: what changed between two recordings served from one --dir (BEFORE → AFTER),
// the answer of `ingero diff` (analyze/diff.ts). Each bundle's side of the comparison is part of
// its precomputed summary, so a call only matches the two sides: milliseconds, whatever the size.
// A server started on one bundle registers the tool too and answers with an isError saying how to
// serve two: an agent that sees the tool learns why it cannot use it, instead of never learning it
// exists.
import { z } from 'zod';
import { diffSides, type SideInfo, type SideSummary } from '../../analyze/index.ts';
import { DEFAULT_PAGE_BYTES, summaryOf, takePage, ToolInputError, type ToolContext, type ToolDef } from '../tool-kit.ts';

const DEFAULT_ROWS = 10;
const MAX_ROWS = 200;
/** Findings and setup facts listed at most; a hostile bundle can hold thousands of either. */
const MAX_FINDINGS = 50;
const MAX_SETUP = 50;

const bundleName = (when: string) => z.string().min(1).max(255).describe(`Bundle ${when} the change (list_bundles).`);

const input = {
  before: bundleName('before'),
  after: bundleName('after'),
  ops: z.array(z.string().max(128)).max(64).optional(),
  by_process: z.boolean().optional().describe('Also per process name x op.'),
  max_rows: z.number().int().min(1).max(MAX_ROWS).optional().describe(`Default ${DEFAULT_ROWS}.`),
};

const severity = z.enum(['HIGH', 'MEDIUM', 'LOW']);

const sideSchema = z.object({
  bundle: z.string(),
  sha256: z.string().describe('SHA-256 of the bundle database: the same on both sides means the same recording.'),
  events: z.number(),
  span_ns: z.number().describe('Recording length, ns.'),
  nodes: z.array(z.string()),
  producer: z.string(),
  demo_scenario: z.string().describe('Synthetic demo scenario name; "" for a real recording.'),
  sampled: z.boolean().describe('Parts of the events table are only a sample.'),
  dropped_events: z.number().describe('Events lost during capture.'),
  findings: z.object({ HIGH: z.number(), MEDIUM: z.number(), LOW: z.number() }).describe('Findings of the analyzer on this recording, by severity.'),
});

const diffSideSchema = z
  .object({
    events: z.number().describe('Stored events.'),
    count: z.number().nullable().describe('Calls made: events, or complete counts from op_aggregates where events are a sample; null when only a sample is known.'),
    count_basis: z.enum(['events', 'op_aggregates', 'sample']),
    rate_per_s: z.number().nullable().describe('count per second of this recording.'),
    total_ns: z.number().nullable().describe('Summed duration of the calls, ns.'),
    share: z.number().nullable().describe('total_ns / recording length (summed over threads, so it can pass 1).'),
    p50_ns: z.number(),
    p99_ns: z.number(),
    max_ns: z.number(),
    sampling: z.array(z.string()).describe('Sampling policies covering the op here; [] when complete.'),
    pids: z.number().describe('Processes merged into a process row; 0 on op rows.'),
  })
  .nullable()
  .describe('null when the recording has no such calls.');

const changeSchema = z.object({
  op: z.string(),
  source: z.string(),
  process: z.string().describe('Process name (traced data) on process rows; "" on op rows.'),
  before: diffSideSchema,
  after: diffSideSchema,
  rate_ratio: z.number().nullable().describe('after/before; null when not comparable.'),
  p50_ratio: z.number().nullable(),
  p99_ratio: z.number().nullable(),
  max_ratio: z.number().nullable(),
  total_delta_ns: z.number().nullable().describe('after − before summed time, ns.'),
  share_delta: z.number().nullable().describe('after − before share of recording: the sort key.'),
  verdict: z.enum(['regression', 'improvement', 'unchanged', 'too-few-events', 'sampled', 'only-before', 'only-after']),
  reasons: z.array(z.string()).describe('Why, with the numbers and the threshold.'),
});

const output = {
  before: sideSchema,
  after: sideSchema,
  summary: z.object({ regressions: z.number(), improvements: z.number(), unchanged: z.number(), not_judged: z.number() }).describe('Verdicts over all matching rows, listed or not.'),
  thresholds: z.object({ latencyRatio: z.number(), minSample: z.number(), spanRatio: z.number() }).describe('A regression is p50 or p99 after/before ≥ latencyRatio with ≥ minSample events on each side; an improvement ≤ 1/latencyRatio.'),
  filters: z.object({ ops: z.array(z.string()), by_process: z.boolean() }),
  setup_changes: z.array(z.object({ fact: z.string(), before: z.string().nullable(), after: z.string().nullable() })).describe('Host facts (GPU, driver, CUDA, kernel, CPU) that differ; often the cause.'),
  total_ops: z.number().describe('Op rows that match, listed or not.'),
  ops: z.array(changeSchema).describe('Per op, largest change in time per second of recording first, then largest p99 change.'),
  total_processes: z.number().describe('Process rows that match (by_process only), listed or not.'),
  processes: z.array(changeSchema).describe('Per process name × op with by_process, sorted like ops; else empty.'),
  total_findings: z.number(),
  findings: z
    .array(
      z.object({
        status: z.enum(['new', 'gone', 'persisting']),
        kind: z.string(),
        op: z.string(),
        process: z.string().describe('Process name (traced data); "" for a node-wide finding.'),
        severity_before: severity.nullable(),
        severity_after: severity.nullable(),
        instances_before: z.number(),
        instances_after: z.number(),
        impact_before_ns: z.number(),
        impact_after_ns: z.number(),
        summary: z.string().describe("The top finding's summary, AFTER's when it has one."),
      }),
    )
    .describe('Analyzer findings matched by kind + op + process name: new first, then persisting, then gone.'),
  caveats: z.array(z.string()).describe('What makes this comparison weaker.'),
  truncated: z.boolean().describe('True when rows, findings or setup changes were left out.'),
  note: z.string().describe('What was left out and how to get it, or "" when complete.'),
};

export const compareBundles: ToolDef<typeof input, typeof output> = {
  name: 'compare_bundles',
  title: 'Compare two recordings',
  description:
    'What changed between two recordings (ingero diff): per-op p50/p99/rate ratios with a verdict, findings new/gone, setup changes. Needs --dir with two bundles.',
  input,
  output,
  async run(args, ctx) {
    const [before, after] = await sides(ctx, args.before, args.after);
    const known = new Set([...before.ops, ...after.ops].map((r) => r.op));
    const unknown = (args.ops ?? []).filter((o) => !known.has(o));
    if (unknown.length) {
      const names = [...known].sort();
      throw new ToolInputError(`op ${JSON.stringify(unknown[0])} is in neither bundle; ops: ${names.slice(0, 40).join(', ')}${names.length > 40 ? `, … ${names.length - 40} more` : ''}`);
    }
    const report = diffSides(before, after, { byProcess: args.by_process, ops: args.ops });
    const maxRows = args.max_rows ?? DEFAULT_ROWS;
    // By default the rows share one small page (op rows first) so the answer fits an agent's budget.
    const budget = args.max_rows === undefined ? DEFAULT_PAGE_BYTES / 2 : ctx.limits.pageBytes;
    const ops = takePage(report.ops, maxRows, budget);
    const processes = takePage(report.processes, maxRows, budget);
    const findings = takePage(report.findings, MAX_FINDINGS, budget / 2);
    const setup = report.setup_changes.slice(0, MAX_SETUP);
    const left: string[] = [];
    if (ops.more) left.push(`${report.ops.length - ops.items.length} more op rows with smaller changes`);
    if (processes.more) left.push(`${report.processes.length - processes.items.length} more process rows`);
    if (findings.more) left.push(`${report.findings.length - findings.items.length} more findings (gone ones last)`);
    if (setup.length < report.setup_changes.length) left.push(`${report.setup_changes.length - setup.length} more setup changes`);
    return {
      before: side(args.before, report.before),
      after: side(args.after, report.after),
      summary: report.summary,
      thresholds: report.thresholds,
      filters: { ops: [...report.filters.ops], by_process: report.filters.by_process },
      setup_changes: setup,
      total_ops: report.ops.length,
      ops: ops.items.map(plainChange),
      total_processes: report.processes.length,
      processes: processes.items.map(plainChange),
      total_findings: report.findings.length,
      findings: findings.items,
      caveats: [...report.caveats],
      truncated: left.length > 0,
      note: left.length ? `truncated: ${left.join('; ')} are not listed; pass ops to pick ops, or raise max_rows (at most ${MAX_ROWS})` : '',
    };
  },
};

/** Both sides, from each bundle's precomputed summary; a name the server does not serve is refused with the names it does. */
async function sides(ctx: ToolContext, beforeName: string, afterName: string): Promise<[SideSummary, SideSummary]> {
  const served = ctx.registry.list().map((b) => b.name);
  if (ctx.registry.dir === null) {
    throw new ToolInputError(
      `this server serves one bundle (${JSON.stringify(served[0])}), and a comparison needs two: restart it as \`ingero mcp --dir DIR\` on a directory holding both recordings; meanwhile get_trace_stats and get_causal_chains describe this one`,
    );
  }
  if (served.length < 2) {
    throw new ToolInputError(`the served directory holds ${served.length === 0 ? 'no bundle' : `one bundle, ${JSON.stringify(served[0])}`}; copy the other recording (.ingero) into it (the server sees new files at once) and call again`);
  }
  for (const [label, name] of [['before', beforeName], ['after', afterName]] as const) {
    if (!served.includes(name)) {
      throw new ToolInputError(`${label}: no bundle named ${JSON.stringify(name.slice(0, 80))}; served bundles: ${served.slice(0, 50).map((n) => JSON.stringify(n)).join(', ')}${served.length > 50 ? `, … ${served.length - 50} more (list_bundles)` : ''}`);
    }
  }
  // Both analyses run (and are waited for) at the same time; a side still being analysed is named.
  const pending = [beforeName, afterName].map((name, i) =>
    summaryOf(ctx, ctx.registry.get(name)).then(
      (s) => s.side,
      (err: unknown) => {
        throw err instanceof ToolInputError ? new ToolInputError(`${i === 0 ? 'before' : 'after'} bundle ${JSON.stringify(name)}: ${err.message}`) : err;
      },
    ),
  );
  const [b, a] = await Promise.all(pending);
  return [b!, a!];
}

function side(bundle: string, s: SideInfo) {
  return { bundle, ...s, nodes: [...s.nodes], findings: { ...s.findings } };
}

/** An OpChange with its readonly arrays copied, as the output schema's plain types want. */
function plainChange<T extends { readonly reasons: readonly string[]; readonly before: { readonly sampling: readonly string[] } | null; readonly after: { readonly sampling: readonly string[] } | null }>(c: T) {
  const sideOf = (s: T['before']) => (s ? { ...s, sampling: [...s.sampling] } : null);
  return { ...c, before: sideOf(c.before), after: sideOf(c.after), reasons: [...c.reasons] };
}
