// The labelled corpus behind bench/diagnosis.ts and its test: every demo scenario under many
// seeds and time scales, each seed varying how hard the fault bites, when it starts and how
// noisy the box is (DemoOptions.vary), each run twice — as recorded (clean) and stored the way
// an Ingero import is (degraded: sampled after 10 s, page allocations only counted, no
// prev_state; see analyze/demo/degrade.ts) — with explain's top finding checked against the
// known root cause. In a scenario with two causes the top finding must name one of them, and
// the other is looked for among the findings and their alternatives.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { explain, SCENARIOS, writeDemoBundle } from '../analyze/index.ts';
import { openBundle } from '../format/index.ts';

export interface CorpusOptions {
  readonly seeds: readonly number[];
  readonly scales: readonly number[];
  readonly scenarios?: readonly string[];
  /** Folder for the temporary bundles (each removed after its run). */
  readonly dir: string;
  readonly onRun?: (run: CorpusRun) => void;
}

export interface CorpusRun {
  readonly scenario: string;
  readonly expected: string;
  readonly seed: number;
  readonly scale: number;
  readonly degraded: boolean;
  /** Kind of the top finding, 'no HIGH' for a healthy run without a HIGH finding, 'none' when nothing was found. */
  readonly got: string;
  readonly correct: boolean;
  /** HIGH findings on a healthy run (each one a false alarm). */
  readonly falseHigh: number;
  /** Two-cause scenarios: whether the cause the top finding did not name is a finding or an alternative; null otherwise. */
  readonly otherShown: boolean | null;
  /** Event ids cited by more than one finding (must be none: analyze/claims.ts). */
  readonly sharedEvents: number;
}

export interface CorpusResult {
  readonly runs: readonly CorpusRun[];
  readonly cleanTop1: number;
  readonly degradedTop1: number;
  readonly falseHighOnHealthy: number;
  /** Two-cause runs whose top finding named one cause and that showed the other too, of those naming one. */
  readonly otherCauseShown: number;
  /** Event ids cited by two findings, over all runs. */
  readonly sharedEvents: number;
  /** expected → got → runs. */
  readonly confusion: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export async function runCorpus(opts: CorpusOptions): Promise<CorpusResult> {
  const runs: CorpusRun[] = [];
  const scenarios = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.name));
  for (const scenario of scenarios) {
    for (const seed of opts.seeds) {
      for (const scale of opts.scales) {
        for (const degraded of [false, true]) {
          const path = join(opts.dir, `${scenario.name}-${seed}-${scale}-${degraded ? 'd' : 'c'}.ingero`);
          await writeDemoBundle(path, scenario, { seed, scale, importLike: degraded, compressionLevel: 1, vary: true });
          const bundle = openBundle(path);
          let report;
          try {
            report = explain(bundle);
          } finally {
            bundle.close();
            rmSync(path, { force: true });
          }
          const causes = [scenario.rootCause, scenario.secondCause].filter((c) => c !== undefined && c !== null) as string[];
          const expected = causes.length ? causes.join(' + ') : 'no HIGH';
          const high = report.findings.filter((f) => f.severity === 'HIGH');
          const top = report.findings[0];
          const got = scenario.rootCause === null ? (high.length ? high[0]!.kind : 'no HIGH') : (top?.kind ?? 'none');
          const correct = causes.length ? causes.includes(got) : got === expected;
          const other = causes.length === 2 && correct ? causes.find((c) => c !== got)! : null;
          const otherShown = other === null ? null : report.findings.some((f) => f.kind === other || f.alternatives.some((a) => a.cause === other));
          const seen = new Map<number, number>();
          for (const f of report.findings) for (const id of new Set(f.evidence.flatMap((e) => e.event_ids ?? []))) seen.set(id, (seen.get(id) ?? 0) + 1);
          const sharedEvents = [...seen.values()].filter((n) => n > 1).length;
          const run: CorpusRun = { scenario: scenario.name, expected, seed, scale, degraded, got, correct, falseHigh: scenario.rootCause === null ? high.length : 0, otherShown, sharedEvents };
          runs.push(run);
          opts.onRun?.(run);
        }
      }
    }
  }
  const share = (rs: CorpusRun[]) => (rs.length ? rs.filter((r) => r.correct).length / rs.length : 1);
  const confusion = new Map<string, Map<string, number>>();
  for (const r of runs) {
    const row = confusion.get(r.expected) ?? new Map<string, number>();
    row.set(r.got, (row.get(r.got) ?? 0) + 1);
    confusion.set(r.expected, row);
  }
  return {
    runs,
    cleanTop1: share(runs.filter((r) => !r.degraded)),
    degradedTop1: share(runs.filter((r) => r.degraded)),
    falseHighOnHealthy: runs.reduce((s, r) => s + r.falseHigh, 0),
    otherCauseShown: share(runs.filter((r) => r.otherShown !== null).map((r) => ({ ...r, correct: r.otherShown === true }))),
    sharedEvents: runs.reduce((s, r) => s + r.sharedEvents, 0),
    confusion,
  };
}

/** The confusion matrix as text: one row per expected cause, the columns it was diagnosed as. */
export function confusionText(c: CorpusResult['confusion']): string {
  const lines: string[] = [];
  for (const [expected, row] of [...c.entries()].sort()) {
    lines.push(`  ${expected.padEnd(24)} ${[...row.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([got, n]) => `${got} ${n}`).join(', ')}`);
  }
  return lines.join('\n');
}
