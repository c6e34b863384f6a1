// ingero explain: the incident report. Findings ranked by severity and impact, each with its
// evidence chain, root cause and fix; --json prints the analyzer's report, deterministically.
import type { Command } from 'commander';
import { canonicalJson, explain, parseThresholdArgs, type ExplainReport, type Finding } from '../../analyze/index.ts';
import { printable, wrapText } from '../../analyze/text-layout.ts';
import { openBundle } from '../../format/index.ts';
import { CLOCK_HELP, parsePids, parseTimeWindow } from '../duration.ts';
import { formatDuration, formatWindow } from '../../analyze/format-units.ts';
import { action, repeatable, UsageError } from '../run-action.ts';
import { withPhases } from '../progress-bar.ts';
import { outputWidth } from '../table.ts';
import { requireSelectedEvents } from '../selection.ts';

export function register(program: Command): void {
  program
    .command('explain')
    .description('Explain what went wrong in a bundle: ranked findings with their evidence, root cause and fix')
    .argument('<bundle>', '.ingero file')
    .option('--json', 'print the report as JSON (findings[], limitations, data_quality, thresholds, imported_findings)')
    .option('--threshold <name=value>', 'override a detection threshold (repeatable; explain --json lists them under thresholds)', repeatable)
    .option('--from <time>', `analyse only events starting at this time or later, ${CLOCK_HELP}; e.g. 13.3s, 1m`)
    .option('--to <time>', `analyse only events starting before this time, ${CLOCK_HELP}`)
    .option('--pid <pids>', 'analyse only these processes (repeatable or comma-separated); others stay visible as context', repeatable)
    .action(
      action((path: string, opts: { json?: boolean; threshold?: string[]; from?: string; to?: string; pid?: string[] }) => {
        let thresholds: Record<string, number>;
        try {
          thresholds = parseThresholdArgs(opts.threshold ?? []);
          const selection = { ...parseTimeWindow(opts.from, opts.to), pids: parsePids(opts.pid) };
          // On a terminal, a bar on stderr: opening (a big bundle decompresses), then the analysis.
          const bundle = withPhases((step) => (step(0, 'opening the bundle'), openBundle(path)));
          try {
            requireSelectedEvents(bundle, selection, opts);
            const report = withPhases((step) => explain(bundle, { thresholds, ...selection, onProgress: (f, phase) => step(f, `analysing: ${phase}`) }));
            process.stdout.write(opts.json ? canonicalJson(report) + '\n' : wrapText(renderReport(path, report, useColour()), outputWidth()));
          } finally {
            bundle.close();
          }
        } catch (err) {
          if (err instanceof Error && /threshold/.test(err.message) && !('code' in err)) throw new UsageError(err.message);
          throw err;
        }
      }),
    );
}

/** ANSI colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColour(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

const SEVERITY_COLOUR = { HIGH: '31', MEDIUM: '33', LOW: '36' } as const;

export function renderReport(path: string, r: ExplainReport, colour: boolean): string {
  const c = (code: string, s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const bold = (s: string) => c('1', s);
  const out: string[] = [];
  const high = r.findings.filter((f) => f.severity === 'HIGH').length;
  const medium = r.findings.filter((f) => f.severity === 'MEDIUM').length;
  const low = r.findings.length - high - medium;
  out.push(bold(`INCIDENT REPORT — ${printable(path)}`));
  out.push(`  ${r.bundle.events.toLocaleString('en-US')} event${r.bundle.events === 1 ? '' : 's'} over ${formatDuration(r.bundle.span_ns)} on ${printable(r.bundle.nodes.join(', '))}; recorded by ${printable(r.bundle.producer)}${r.bundle.demo_scenario ? ` — synthetic demo "${printable(r.bundle.demo_scenario)}"` : ''}`);
  out.push(r.findings.length ? `  ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}: ${high} HIGH, ${medium} MEDIUM, ${low} LOW` : '  No problems found: nothing in this bundle crosses a detection threshold.');
  r.findings.forEach((f, i) => out.push('', ...renderFinding(i + 1, f, c)));
  if (r.limitations.length) {
    out.push('', bold('What this bundle cannot show'));
    for (const l of r.limitations) out.push(`  - ${printable(l)}`);
  }
  const q = r.data_quality;
  if (q.dropped_events > 0 || q.sampled) {
    out.push('', bold('Data quality'));
    // The total is already a limitation above; here, where the loss happened.
    for (const l of q.losses.filter((x) => x.dropped > 0)) out.push(`  - ${printable(l.probe)}${l.source ? ` (${printable(l.source)})` : ''}${r.bundle.nodes.length > 1 ? ` on node ${l.node_id}` : ''}: ${l.dropped.toLocaleString('en-US')} of ${l.emitted.toLocaleString('en-US')} events dropped${l.note ? ` — ${printable(l.note)}` : ''}.`);
    for (const s of q.sampled_periods) out.push(`  - ${printable(s.op ?? s.source ?? 'all events')} sampled ${formatWindow(s.from_ns, s.to_ns)} (bundle clock; ${printable(s.policy)}).`);
  }
  if (r.imported_findings.length) {
    out.push('', bold(`Findings stored by another tool (${r.imported_findings.length}, not produced or checked by this analysis)`));
    for (const f of r.imported_findings.slice(0, 10)) out.push(`  [${printable(f.severity)}] ${printable(f.summary)}${f.occurrences > 1 ? ` (×${f.occurrences})` : ''} — ${printable(f.origin)}`);
    if (r.imported_findings.length > 10) out.push(`  … and ${r.imported_findings.length - 10} more (ingero explain --json lists them all)`);
  }
  return out.join('\n') + '\n';
}

function renderFinding(n: number, f: Finding, c: (code: string, s: string) => string): string[] {
  const lines: string[] = [];
  const who = f.pid ? `${printable(f.process || 'unnamed process')} (pid ${f.pid})` : printable(f.node);
  lines.push(`${n}. ${c(`1;${SEVERITY_COLOUR[f.severity]}`, `[${f.severity}]`)} ${c('1', f.kind)} — ${who}${f.op ? `, ${printable(f.op)}` : ''}`);
  lines.push(`   ${c('1', printable(f.summary))}`);
  lines.push(`   When: ${formatWindow(f.from_ns, f.to_ns)} (bundle clock)${f.op && f.count ? `   ${printable(f.op)}: ${f.count} calls, p50 ${formatDuration(f.p50_ns)}, p99 ${formatDuration(f.p99_ns)}` : ''}`);
  lines.push('   Evidence:');
  for (const e of f.evidence) lines.push(`     ${c('2', `[${e.layer}]`.padEnd(10))}${printable(e.detail)}${e.event_ids?.length ? c('2', `  (events ${e.event_ids.slice(0, 3).join(', ')}${e.event_ids.length > 3 ? ', …' : ''})`) : ''}`);
  lines.push(`   Root cause (${f.confidence} confidence): ${printable(f.root_cause)}`);
  for (const a of f.alternatives) lines.push(`     ${c('2', a.verdict === 'runner-up' ? 'Runner-up:' : a.verdict === 'rejected' ? 'Ruled out:' : 'Unsupported:')} ${printable(a.cause)} — ${printable(a.detail)}`);
  lines.push('   Fix:');
  for (const r of f.recommendations) lines.push(`     - ${printable(r)}`);
  for (const cv of f.caveats) lines.push(`   ${c('33', 'Note:')} ${printable(cv)}`);
  return lines;
}
