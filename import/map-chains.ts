// Ingero `causal_chains` → the bundle's imported_findings, origin-marked and kept apart from this
// project's own analysis. Ids come in three styles: `chain-NNN` (builds before chain dedup, which
// re-emitted the same chain every tick), `tail-{sev}-{op}` and `{node}:{descriptor}`.
//
// Folding rule: `chain-NNN` rows with the same (node, cuda_op, severity) become ONE finding. It
// carries the latest instance's text and numbers (Ingero's own INSERT OR REPLACE semantics: the
// table holds the latest state of a chain), `occurrences` = how many rows were folded, and
// `origin_id` lists every folded id, space-separated, in id order. Every other row is kept as
// its own finding with its id unchanged. So every source chain id is in exactly one finding's
// origin_id.
import { clampText, type ImportedFindingInput } from '../format/index.ts';

/** Per text field of a finding: four fields stay well inside the bundle's 1 MiB per-value limit. */
const FINDING_TEXT_BYTES = 128 * 1024;

export const CHAIN_ORIGIN = 'ingero causal_chains';

export interface ChainRow {
  readonly id: string;
  readonly detected_at: bigint;
  readonly severity: string;
  readonly summary: string;
  readonly root_cause: string;
  readonly explanation: string;
  readonly recommendations: string;
  readonly cuda_op: string;
  readonly cuda_p99_us: bigint;
  readonly cuda_p50_us: bigint;
  readonly tail_ratio: number;
  readonly timeline: string;
  readonly node: string;
}

export interface FoldedChain {
  readonly latest: ChainRow;
  readonly ids: readonly string[];
}

const OLD_STYLE_ID = /^chain-\d+$/;

export function foldChains(rows: readonly ChainRow[]): FoldedChain[] {
  const groups = new Map<string, ChainRow[]>();
  const out: FoldedChain[] = [];
  for (const r of rows) {
    if (!OLD_STYLE_ID.test(r.id)) {
      out.push({ latest: r, ids: [r.id] });
      continue;
    }
    const key = JSON.stringify([r.node, r.cuda_op, r.severity]);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  for (const g of groups.values()) {
    const latest = g.reduce((a, b) => (b.detected_at > a.detected_at || (b.detected_at === a.detected_at && b.id > a.id) ? b : a));
    out.push({ latest, ids: g.map((r) => r.id).sort(compareIds) });
  }
  return out.sort((a, b) => (a.latest.detected_at < b.latest.detected_at ? -1 : a.latest.detected_at > b.latest.detected_at ? 1 : compareIds(a.ids[0]!, b.ids[0]!)));
}

/** chain-9 before chain-10; otherwise plain string order. */
function compareIds(a: string, b: string): number {
  return a.length !== b.length && OLD_STYLE_ID.test(a) && OLD_STYLE_ID.test(b) ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export function chainToFinding(c: FoldedChain, nodeId: number, originUnixNs: bigint): ImportedFindingInput {
  const r = c.latest;
  const us = (v: bigint) => (v > 0n ? Number(v) * 1000 : null);
  return {
    origin: CHAIN_ORIGIN,
    origin_id: c.ids.join(' '),
    node_id: nodeId,
    detected_ns: r.detected_at > 0n && r.detected_at >= originUnixNs ? Number(r.detected_at - originUnixNs) : null,
    severity: clampText(r.severity, 64),
    op: clampText(r.cuda_op, 4096),
    summary: clampText(r.summary, FINDING_TEXT_BYTES),
    root_cause: clampText(r.root_cause, FINDING_TEXT_BYTES),
    explanation: clampText(r.explanation, FINDING_TEXT_BYTES),
    recommendations: parseRecommendations(clampText(r.recommendations, FINDING_TEXT_BYTES)),
    timeline: parseTimeline(clampText(r.timeline, FINDING_TEXT_BYTES)),
    p50_ns: us(r.cuda_p50_us),
    p99_ns: us(r.cuda_p99_us),
    tail_ratio: r.tail_ratio > 0 ? r.tail_ratio : null,
    occurrences: c.ids.length,
  };
}

/** A JSON array of strings; anything else is kept as one recommendation holding the raw text. */
function parseRecommendations(json: string): string[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json);
    if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  } catch {
    /* kept raw below */
  }
  return [json];
}

/** A JSON array of {layer, op, detail, dur_us?}; unparseable text is kept as one entry's detail. */
function parseTimeline(json: string): unknown[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json);
    if (Array.isArray(v)) return v;
  } catch {
    /* kept raw below */
  }
  return [{ layer: '', op: '', detail: json }];
}

/** The node a chain belongs to: its node column (v0.9+), else the `{node}:` prefix of its id. */
export function chainNodeName(r: ChainRow): string {
  if (r.node) return r.node;
  const colon = r.id.indexOf(':');
  return colon > 0 ? r.id.slice(0, colon) : '';
}
