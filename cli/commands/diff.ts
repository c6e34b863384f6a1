// ingero diff BEFORE AFTER: what changed between two recordings — "is it better, and what got
// worse?" after a fix, a driver upgrade or a config change. Both bundles are summarized with the
// same stats and explain as `ingero stats` / `ingero explain`, then compared (analyze/diff.ts):
//
//   ingero diff before.ingero after.ingero                  ops table, findings, setup changes, caveats
//   ingero diff B A --by-process                            also per process name × op (pids differ between runs)
//   ingero diff B A --op cudaStreamSynchronize --op cudaMalloc   only these ops
//   ingero diff B A --min-events 100                        only rows with ≥ 100 events on one side
//   ingero diff B A --threshold latencyRatio=2 --threshold minSample=200
//   ingero diff B A --json                                  deterministic JSON (byte-identical across runs)
//   ingero diff B A --fail-on-regression                    exit 3 when an op is flagged or a HIGH finding is new (for CI)
//   ingero diff B A --fail-on-regression --fail-on MEDIUM   ... or a new finding of MEDIUM or above (none: ops only)
//
// An op is flagged a regression when its p50 or p99 grew by latencyRatio (1.5x) or more with at
// least minSample (50) events on each side, an improvement when it shrank as much; sampled ops
// and small samples are shown but never flagged. Exit codes: 0 compared, 1 a bundle is missing,
// corrupt or hostile (the line says which one), 2 wrong usage, 3 with --fail-on-regression: an op
// regressed, or a finding at or above --fail-on (default HIGH) is new or grew to it (a halved
// step rate is a new HIGH throughput-drop before it is any op's latency); one stderr line says why.
import type { Command } from 'commander';
import { canonicalJson, computeStats, diffSides, EventIndex, explain, parseThresholdArgs, ratioText, resolveDiffThresholds, summarizeSide, type DiffReport, type DiffSide, type FindingChange, type OpChange, type SideInfo, type SideSummary } from '../../analyze/index.ts';
import { printable, tableAsBlocks, wrapText } from '../../analyze/text-layout.ts';
import { BundleError, openBundle } from '../../format/index.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import { withPhases } from '../progress-bar.ts';
import { action, EXIT_OK, EXIT_PROBLEMS, intOption, repeatable, UsageError, UserError } from '../run-action.ts';
import { formatTable, formatTableToWidth, outputWidth } from '../table.ts';
import { useColour } from './explain.ts';

interface DiffCliOptions {
  json?: boolean;
  byProcess?: boolean;
  op?: string[];
  minEvents?: string;
  threshold?: string[];
  failOnRegression?: boolean;
  failOn: string;
}

const SEVERITIES = ['HIGH', 'MEDIUM', 'LOW'] as const;
type Severity = (typeof SEVERITIES)[number];

export function register(program: Command): void {
  program
    .command('diff')
    .description('Compare two bundles (BEFORE → AFTER): per-op rates, time and p50/p99/max with regressions flagged, new/gone findings, setup changes')
    .argument('<before>', '.ingero file recorded before the change')
    .argument('<after>', '.ingero file recorded after the change')
    .option('--json', 'print the comparison as JSON (deterministic: the same bundles give the same bytes)')
    .option('--by-process', 'also compare per process name × op (processes matched by name, since pids differ)')
    .option('--op <name>', 'only this op (repeatable); findings are limited to these ops too', repeatable)
    .option('--min-events <n>', 'only rows with at least n events on one side or the other')
    .option('--threshold <name=value>', 'override a diff threshold (repeatable): latencyRatio (1.5), minSample (50), spanRatio (2)', repeatable)
    .option('--fail-on-regression', 'exit with code 3 when any op is flagged as a regression, or a finding at or above --fail-on is new')
    .option('--fail-on <severity>', 'with --fail-on-regression: the least severity of a new finding that fails (HIGH, MEDIUM, LOW or none)', 'HIGH')
    .action(
      action((beforePath: string, afterPath: string, opts: DiffCliOptions) => {
        let thresholds: Record<string, number>;
        try {
          thresholds = parseThresholdArgs(opts.threshold ?? []);
          resolveDiffThresholds(thresholds);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        const minEvents = intOption('--min-events', opts.minEvents, 0);
        const failOn = opts.failOn.toUpperCase();
        if (failOn !== 'NONE' && !(SEVERITIES as readonly string[]).includes(failOn)) throw new UsageError(`--fail-on takes HIGH, MEDIUM, LOW or none, got ${JSON.stringify(opts.failOn)}`);
        // On a terminal, a bar on stderr: each side's statistics and analysis, half of it each.
        const [before, after] = withPhases((step) => [
          summarize('BEFORE', beforePath, opts.byProcess, (f, phase) => step(f / 2, `BEFORE: ${phase}`)),
          summarize('AFTER', afterPath, opts.byProcess, (f, phase) => step(0.5 + f / 2, `AFTER: ${phase}`)),
        ]);
        const known = new Set([...before.ops, ...after.ops].map((r) => r.op));
        const ops = opts.op ?? [];
        const unknown = ops.filter((o) => !known.has(o));
        if (unknown.length) {
          // Op names come from the bundles: traced data, shown printable and only the first few.
          const names = [...known].sort();
          throw new UsageError(`--op ${JSON.stringify(unknown[0])} is in neither bundle (ops: ${printable(names.slice(0, 20).join(', '))}${names.length > 20 ? `, … ${names.length - 20} more` : ''})`);
        }
        const report = diffSides(before, after, { byProcess: opts.byProcess, ops, minEvents, thresholds });
        process.stdout.write(opts.json ? canonicalJson(report) + '\n' : renderDiff(beforePath, afterPath, report, useColour(), outputWidth()));
        if (!opts.failOnRegression) return EXIT_OK;
        const failures = ciFailures(report, failOn === 'NONE' ? null : (failOn as Severity));
        if (failures.length === 0) return EXIT_OK;
        process.stderr.write(`ingero: diff fails (--fail-on-regression${failOn === 'NONE' ? '' : `, --fail-on ${failOn}`}): ${printable(failures.join('; '))}\n`);
        return EXIT_PROBLEMS;
      }),
    );
}

/** What fails a CI run: regressed ops, and findings at or above failOn that are new or grew to it. */
function ciFailures(r: DiffReport, failOn: Severity | null): string[] {
  const out: string[] = [];
  const regressed = [...r.ops, ...r.processes].filter((x) => x.verdict === 'regression');
  if (regressed.length) out.push(`${regressed.length} regressed op${regressed.length === 1 ? '' : 's'} (${regressed.map((x) => (x.process ? `${x.process}: ${x.op}` : x.op)).join(', ')})`);
  if (failOn === null) return out;
  const atLeast = (s: Severity | null | undefined) => s !== null && s !== undefined && SEVERITIES.indexOf(s) <= SEVERITIES.indexOf(failOn);
  const fresh = r.findings.filter((f) => f.status === 'new' && atLeast(f.severity_after));
  const grown = r.findings.filter((f) => f.status === 'persisting' && atLeast(f.severity_after) && !atLeast(f.severity_before));
  if (fresh.length) out.push(`${fresh.length} new finding${fresh.length === 1 ? '' : 's'} at ${failOn} or above (${fresh.map((f) => `${f.severity_after} ${f.kind}`).join(', ')})`);
  if (grown.length) out.push(`${grown.length} finding${grown.length === 1 ? '' : 's'} grown to ${failOn} or above (${grown.map((f) => `${f.kind} ${f.severity_before} → ${f.severity_after}`).join(', ')})`);
  return out;
}

/** Opens and summarizes one side; any failure names the side, so the user knows which file to fix. */
function summarize(label: 'BEFORE' | 'AFTER', path: string, byProcess: boolean | undefined, onProgress: (fraction: number, phase: string) => void): SideSummary {
  try {
    onProgress(0, 'opening the bundle');
    const bundle = openBundle(path);
    try {
      onProgress(0, 'statistics');
      // One pass over the events, shared by the statistics, the findings and the per-process rows.
      const index = new EventIndex(bundle);
      const stats = computeStats(bundle, { index });
      const report = explain(bundle, { stats, index, onProgress: (f, phase) => onProgress(f, `analysing: ${phase}`) });
      return summarizeSide(bundle, { byProcess, analysis: { index, stats, explain: report } });
    } finally {
      bundle.close();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof BundleError) throw new UserError(`${label} bundle: ${err.message}`);
    // Checksums prove the bundle arrived as written, not that its database is sound: SQLite finds damaged pages only when a query reaches them.
    if (e?.code?.startsWith('SQLITE_CORRUPT') || e?.code === 'SQLITE_NOTADB') throw new UserError(`${label} bundle ${path}: the database inside is damaged (${e.message}) — ingero verify lists its problems; get a fresh copy of the bundle`);
    throw err;
  }
}

const VERDICT_COLOUR: Partial<Record<OpChange['verdict'], string>> = { regression: '1;31', improvement: '32' };
const SEVERITY_COLOUR = { HIGH: '31', MEDIUM: '33', LOW: '36' } as const;
const STATUS_COLOUR = { new: '1;31', persisting: '33', gone: '32' } as const;

/** Kernel names are C++ signatures: the table shows their start, --json the whole name. */
const KERNEL_NAME_CHARS = 48;
const KERNEL_ROWS = 20;

/** The text report; width (a terminal's) wraps its lines and turns tables too wide into one block per row. */
export function renderDiff(beforePath: string, afterPath: string, r: DiffReport, colour: boolean, width = Infinity): string {
  const c = (code: string, s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const bold = (s: string) => c('1', s);
  const out: string[] = [];
  out.push(bold(`DIFF — ${printable(beforePath)} → ${printable(afterPath)}`));
  out.push(`  before  ${describeSide(r.before)}`);
  out.push(`  after   ${describeSide(r.after)}`);
  const s = r.summary;
  const th = r.thresholds;
  out.push(
    `  ${c(s.regressions ? '1;31' : '1', `${s.regressions} regression${s.regressions === 1 ? '' : 's'}`)}, ${s.improvements} improvement${s.improvements === 1 ? '' : 's'}, ${s.unchanged} unchanged, ${s.not_judged} not judged — flagged when p50 or p99 moves by ${ratioText(th.latencyRatio)} with at least ${th.minSample} events on each side`,
  );
  const byStatus = (st: FindingChange['status']) => r.findings.filter((f) => f.status === st);
  const fresh = byStatus('new');
  out.push(`  findings: ${c(fresh.length ? '1;31' : '1', `${fresh.length} new`)}${fresh.length ? ` (${fresh.map((f) => `${f.severity_after} ${f.kind}`).join(', ')})` : ''}, ${byStatus('gone').length} gone, ${byStatus('persisting').length} persisting`);

  out.push('', bold('Setup changes (host facts recorded in each bundle; often the cause)'));
  if (r.setup_changes.length === 0) out.push('  none: GPU, driver, CUDA, kernel and CPU are the same as far as both bundles record them');
  else out.push(formatTableToWidth(['FACT', 'BEFORE', 'AFTER'], r.setup_changes.map((x) => [x.fact, x.before ?? '(not recorded)', x.after ?? '(not recorded)']), [], width, 1, '  ').trimEnd());

  out.push('', bold('Ops, by change in time per second of recording'));
  out.push(r.ops.length ? opTable(r.ops, false, c, width) : '  no ops match the filters');
  if (r.filters.by_process) {
    out.push('', bold('Per process name × op'));
    out.push(r.processes.length ? opTable(r.processes, true, c, width) : '  no rows match the filters');
  }
  if (r.kernels.length) {
    out.push('', bold('GPU kernels (all GPUs of each bundle), by change in time per second of recording'));
    const shown = r.kernels.slice(0, KERNEL_ROWS).map((k) => ({ ...k, op: k.op.length > KERNEL_NAME_CHARS ? `${k.op.slice(0, KERNEL_NAME_CHARS - 1)}…` : k.op }));
    out.push(opTable(shown, false, c, width));
    if (r.kernels.length > KERNEL_ROWS) out.push(`  … ${r.kernels.length - KERNEL_ROWS} more kernel names (--json lists them all)`);
  }
  const reasons = [...r.ops, ...r.processes, ...r.kernels].filter((x) => x.verdict === 'regression' || x.verdict === 'improvement');
  if (reasons.length) {
    out.push('', bold('Why flagged'));
    for (const x of reasons) out.push(`  ${c(VERDICT_COLOUR[x.verdict]!, x.verdict.toUpperCase())} ${printable(x.process ? `${x.process}: ${x.op}` : x.op)}: ${printable(x.reasons.join('; '))}`);
  }

  out.push('', bold('Findings (ingero explain on each side, matched by kind, op and process name)'));
  if (r.findings.length === 0) out.push('  none on either side');
  for (const f of r.findings) out.push(`  ${c(STATUS_COLOUR[f.status], f.status.toUpperCase().padEnd(10))} ${severity(f, c)} ${f.kind}${f.process ? ` — ${printable(f.process)}` : ''}${f.op ? `, ${printable(f.op)}` : ''}: ${printable(f.summary)}`);

  if (r.caveats.length) {
    out.push('', bold('Caveats'));
    for (const cv of r.caveats) out.push(`  - ${printable(cv)}`);
  }
  return wrapText(out.join('\n'), width) + '\n';
}

function describeSide(s: SideInfo): string {
  const f = s.findings;
  const n = f.HIGH + f.MEDIUM + f.LOW;
  return `${s.events.toLocaleString('en-US')} events over ${formatDuration(s.span_ns)} on ${printable(s.nodes.join(', ') || '(no node)')}; ${printable(s.producer)}${s.demo_scenario ? `, synthetic demo "${printable(s.demo_scenario)}"` : ''}; ${n} finding${n === 1 ? '' : 's'} (${f.HIGH} HIGH, ${f.MEDIUM} MEDIUM, ${f.LOW} LOW)`;
}

function severity(f: FindingChange, c: (code: string, s: string) => string): string {
  const tag = (sev: keyof typeof SEVERITY_COLOUR) => c(SEVERITY_COLOUR[sev], sev);
  if (f.status === 'new') return `[${tag(f.severity_after!)}]`;
  if (f.status === 'gone') return `[${tag(f.severity_before!)}]`;
  return f.severity_before === f.severity_after ? `[${tag(f.severity_after!)}]` : `[${tag(f.severity_before!)} → ${tag(f.severity_after!)}]`;
}

/** "b → a (ratio)"; a side that is absent shows as "-". */
function pair(b: string | null, a: string | null, ratio: number | null = null): string {
  return `${b ?? '-'} → ${a ?? '-'}${ratio === null ? '' : ` (${ratioText(ratio)})`}`;
}

function countText(s: DiffSide | null): string | null {
  if (!s) return null;
  if (s.count === null) return `${s.events.toLocaleString('en-US')} stored*`;
  return `${s.count.toLocaleString('en-US')}${s.count_basis === 'op_aggregates' ? '†' : ''}`;
}

function rateText(s: DiffSide | null): string | null {
  if (!s) return null;
  return s.rate_per_s === null ? 'n/a' : s.rate_per_s < 10 ? s.rate_per_s.toFixed(2) : Math.round(s.rate_per_s).toLocaleString('en-US');
}

function timeText(s: DiffSide | null): string | null {
  if (!s) return null;
  return s.total_ns === null || s.share === null ? 'n/a' : `${formatDuration(s.total_ns)} (${(s.share * 100).toFixed(1)}%)`;
}

function latency(s: DiffSide | null, k: 'p50_ns' | 'p99_ns' | 'max_ns'): string | null {
  return s ? formatDuration(s[k]) : null;
}

function opTable(rows: readonly OpChange[], byProcess: boolean, c: (code: string, s: string) => string, width: number): string {
  const headers = [...(byProcess ? ['PROCESS'] : []), 'OP', 'CALLS', 'RATE /s', 'TIME (share of recording)', 'P50', 'P99', 'MAX', 'VERDICT'];
  const body = rows.map((x) => [
    ...(byProcess ? [x.process || '(unnamed)'] : []),
    x.op,
    pair(countText(x.before), countText(x.after)),
    pair(rateText(x.before), rateText(x.after), x.rate_ratio),
    pair(timeText(x.before), timeText(x.after)),
    pair(latency(x.before, 'p50_ns'), latency(x.after, 'p50_ns'), x.p50_ratio),
    pair(latency(x.before, 'p99_ns'), latency(x.after, 'p99_ns'), x.p99_ratio),
    pair(latency(x.before, 'max_ns'), latency(x.after, 'max_ns'), x.max_ratio),
    x.verdict,
  ]);
  const right = headers.map((h) => !['PROCESS', 'OP', 'VERDICT'].includes(h));
  const notes = tableNotes(rows);
  const colourVerdict = (line: string, verdict: OpChange['verdict']) => {
    const code = VERDICT_COLOUR[verdict];
    return code ? line.replace(new RegExp(`${verdict}$`), c(code, verdict)) : line;
  };
  // Colour is applied after alignment: escape codes would count as width.
  const lines = formatTable(headers, body, right).trimEnd().split('\n');
  if (lines.some((l) => l.length + 2 > width)) {
    // Too wide for the terminal: one block per op, titled "OP  VERDICT".
    const title = byProcess ? 3 : 2;
    const reordered = body.map((r) => [...r.slice(0, title - 1), r.at(-1)!, ...r.slice(title - 1, -1)]);
    const blockHeaders = [...headers.slice(0, title - 1), 'VERDICT', ...headers.slice(title - 1, -1)];
    const blocks = tableAsBlocks(blockHeaders, reordered.map((r) => r.map(printable)), title, width, '  ').trimEnd().split('\n');
    let row = -1;
    const colouredBlocks = blocks.map((l) => (l.startsWith('   ') ? l : colourVerdict(l, rows[++row]!.verdict)));
    return [...colouredBlocks, ...notes.map((n) => `  ${n}`)].join('\n');
  }
  const coloured = lines.map((line, i) => (i >= 2 ? colourVerdict(line, rows[i - 2]!.verdict) : line));
  return [...coloured.map((l) => `  ${l}`), ...notes.map((n) => `  ${n}`)].join('\n');
}

function tableNotes(rows: readonly OpChange[]): string[] {
  const notes: string[] = [];
  if (rows.some((x) => x.before?.count_basis === 'sample' || x.after?.count_basis === 'sample')) notes.push('* stored events of a sample: no complete count, so rate and time are not compared');
  if (rows.some((x) => x.before?.count_basis === 'op_aggregates' || x.after?.count_basis === 'op_aggregates')) notes.push('† complete count from op_aggregates (the events are a sample)');
  return notes;
}
