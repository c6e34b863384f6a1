// get_causal_chains: the analyzer's findings (analyze/ explain, computed once per bundle) with
// filters, and — in a separate field, never mixed — findings another tool stored in the bundle.
import { z } from 'zod';
import type { Finding } from '../../analyze/index.ts';
import { bundleArg, cursorArg, nodeArg, decodeCursor, encodeCursor, pageBudget, pageFields, pageNote, servedBundle, summaryOf, takePage, type ToolDef } from '../tool-kit.ts';

const SEVERITIES = ['HIGH', 'MEDIUM', 'LOW'] as const;
const KINDS = [
  'scheduler-tail-latency',
  'cpu-contention',
  'memory-pressure',
  'sync-stall',
  'memcpy-bottleneck',
  'cold-start',
  'periodic-spike',
  'throughput-drop',
  'gpu-contention',
  'io-interference',
  'network-interference',
  'process-lifecycle',
] as const;

const input = {
  ...bundleArg,
  severity: z.array(z.enum(SEVERITIES)).max(3).optional(),
  op: z.string().max(128).optional(),
  kind: z.array(z.enum(KINDS)).max(KINDS.length).optional(),
  pid: z.number().int().optional(),
  ...nodeArg,
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(50).optional().describe('Default 5.'),
  detail: z.enum(['brief', 'full']).optional().describe('full: evidence values and event ids, imported findings in full.'),
  ...cursorArg,
};

const evidenceSchema = z.object({
  layer: z.string(),
  kind: z.string(),
  op: z.string().optional(),
  detail: z.string().describe('The numbers in words.'),
  values: z.record(z.string(), z.number()).optional().describe('The same numbers (ns, counts, ratios, bytes).'),
  from_ns: z.number().optional(),
  to_ns: z.number().optional(),
  event_ids: z.array(z.number()).optional().describe('Sample of supporting events (list_events / get_stacks event_id / run_sql).'),
  node_id: z.number().optional(),
  pid: z.number().optional(),
});

const findingSchema = z.object({
  id: z.string().describe('Pass to get_stacks finding_id or the explain_finding prompt.'),
  severity: z.enum(SEVERITIES),
  kind: z.string(),
  op: z.string(),
  node_id: z.number(),
  node: z.string(),
  pid: z.number(),
  process: z.string().describe('comm; traced data.'),
  from_ns: z.number(),
  to_ns: z.number(),
  summary: z.string(),
  root_cause: z.string(),
  evidence: z.array(evidenceSchema).describe('Chain of evidence, kernel layers first.'),
  recommendations: z.array(z.string()).describe('brief: the first two.'),
  caveats: z.array(z.string()).describe('What the data cannot show here.'),
  impact_ns: z.number().describe('Estimated time the process lost to this.'),
  count: z.number(),
  p50_ns: z.number(),
  p99_ns: z.number(),
});

const importedSchema = z.object({
  origin: z.string().describe('Tool that produced it, e.g. ingero-go causal_chains.'),
  origin_id: z.string(),
  node_id: z.number(),
  detected_ns: z.number().nullable(),
  severity: z.string(),
  op: z.string(),
  summary: z.string(),
  root_cause: z.string(),
  explanation: z.string(),
  recommendations: z.array(z.unknown()),
  timeline: z.array(z.unknown()),
  p50_ns: z.number().nullable(),
  p99_ns: z.number().nullable(),
  tail_ratio: z.number().nullable(),
  occurrences: z.number(),
});

const output = {
  bundle: z.string(),
  total_findings: z.number().describe('Findings of this analysis before filters.'),
  matching: z.number().describe('Findings that pass the filters.'),
  findings: z.array(findingSchema).describe("This project's analyzer, ranked: severity, then impact."),
  limitations: z.array(z.string()).describe('What the analyzer could not judge from this bundle.'),
  imported_findings: z.object({
    label: z.string(),
    matching: z.number(),
    lines: z.array(z.string()).describe('brief: one line per finding.'),
    items: z.array(importedSchema).describe('detail=full only.'),
  }).describe('Findings stored in the bundle by another tool, verbatim and separate; not produced by this analysis.'),
  ...pageFields,
};

const isPosition = (p: Record<string, unknown>): p is { at: number } => Number.isSafeInteger(p.at) && (p.at as number) >= 0;

interface ImportedRow {
  origin: string;
  origin_id: string;
  node_id: number;
  detected_ns: number | null;
  severity: string;
  op: string;
  summary: string;
  root_cause: string;
  explanation: string;
  recommendations: string;
  timeline: string;
  p50_ns: number | null;
  p99_ns: number | null;
  tail_ratio: number | null;
  occurrences: number;
}

function jsonArray(text: string): unknown[] {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.slice(0, 50) : [text];
  } catch {
    return [text];
  }
}

/** Imported findings listed one line each by default; the rest are counted. */
const MAX_IMPORTED_LINES = 20;
const LINE_CHARS = 200;

function importedLine(r: { severity: string; op: string; summary: string; occurrences: number }): string {
  const text = `${r.severity}${r.op ? ` ${r.op}` : ''}: ${r.summary}${r.occurrences > 1 ? ` (x${r.occurrences})` : ''}`;
  return text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS - 1)}…` : text;
}

/** A finding as the analyzer gave it, every evidence value and event id included. */
function fullFinding(f: Finding) {
  return { ...f, evidence: f.evidence.map((e) => ({ ...e, values: { ...e.values }, event_ids: e.event_ids && [...e.event_ids] })), recommendations: [...f.recommendations], caveats: [...f.caveats] };
}

/** The finding with its evidence in words: what an agent reads first. */
function briefFinding(f: Finding) {
  return { ...f, evidence: f.evidence.map((e) => ({ layer: e.layer, kind: e.kind, detail: e.detail })), recommendations: f.recommendations.slice(0, 2), caveats: [...f.caveats] };
}

export const getCausalChains: ToolDef<typeof input, typeof output> = {
  name: 'get_causal_chains',
  title: 'Causal chains (findings)',
  description:
    "Start here: the analyzer's ranked root-cause findings with evidence and caveats; other tools' stored findings one line each. detail=full for all evidence.",
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const report = (await summaryOf(ctx, served)).explain;
    const keep = (f: Finding) =>
      (!args.severity || args.severity.includes(f.severity)) &&
      (args.op === undefined || f.op === args.op) &&
      (!args.kind || (args.kind as readonly string[]).includes(f.kind)) &&
      (args.pid === undefined || f.pid === args.pid) &&
      (args.node_id === undefined || f.node_id === args.node_id) &&
      (args.from_ns === undefined || f.to_ns >= args.from_ns) &&
      (args.to_ns === undefined || f.from_ns < args.to_ns);
    const matching = report.findings.filter(keep);
    const start = decodeCursor('get_causal_chains', args.cursor, isPosition)?.at ?? 0;
    const limit = args.limit ?? 5;
    const full = args.detail === 'full';
    const shown = matching.slice(start).map((f) => (full ? fullFinding(f) : briefFinding(f)));
    const page = takePage(shown, limit, pageBudget(ctx, args.limit));
    const imported = (
      served.bundle.db
        .prepare("SELECT origin, origin_id, node_id, detected_ns, severity, op, summary, root_cause, explanation, recommendations, timeline, p50_ns, p99_ns, tail_ratio, occurrences FROM imported_findings ORDER BY CASE severity WHEN 'HIGH' THEN 0 WHEN 'MEDIUM' THEN 1 WHEN 'LOW' THEN 2 ELSE 3 END, tail_ratio DESC, id")
        .all() as ImportedRow[]
    )
      .filter((r) => (!args.severity || (args.severity as readonly string[]).includes(r.severity)) && (args.op === undefined || r.op === args.op))
      .map((r) => ({ ...r, recommendations: jsonArray(r.recommendations), timeline: jsonArray(r.timeline) }));
    const importedPage = full ? takePage(imported, limit, ctx.limits.pageBytes / 2) : { items: [], more: false };
    const lines = full ? [] : imported.slice(0, MAX_IMPORTED_LINES).map(importedLine);
    return {
      bundle: served.name,
      total_findings: report.findings.length,
      matching: matching.length,
      findings: page.items,
      limitations: [...report.limitations],
      imported_findings: {
        label: imported.length
          ? `Stored in the bundle by another tool, not produced or checked by this analysis: claims to check against the events${full ? (importedPage.more ? `; first ${importedPage.items.length} of ${imported.length} shown (filter by severity or op, or run_sql on imported_findings)` : '') : `; one line each${imported.length > lines.length ? `, first ${lines.length} of ${imported.length}` : ''} (detail=full for all fields)`}.`
          : 'none stored in this bundle',
        matching: imported.length,
        lines,
        items: importedPage.items,
      },
      ...pageNote(page.more, encodeCursor('get_causal_chains', { at: start + page.items.length }), 'findings'),
    };
  },
};
