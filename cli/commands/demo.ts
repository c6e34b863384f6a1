// ingero demo: writes a synthetic bundle with a known root cause, to try every command without
// a GPU.
import type { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCENARIOS, scenarioByName, scenarioCauses, writeDemoBundle, type Scenario } from '../../analyze/index.ts';
import { toJson } from '../json.ts';
import { withPhases } from '../progress-bar.ts';
import { action, intOption, UsageError, UserError } from '../run-action.ts';

/** Demo scales of the two short runs that measure a scenario's events against its scale for --events. */
const PROBE_SCALES = [0.1, 0.2] as const;
/** Below this many events a scenario is too short to show its root cause. */
const MIN_EVENTS = 10_000;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function register(program: Command): void {
  program
    .command('demo')
    .description('Write a synthetic bundle whose root cause is known (no GPU needed); then run ingero explain on it')
    .argument('[scenario]', `one of: ${SCENARIOS.map((s) => s.name).join(', ')}`, 'cpu-contention')
    .option('-o, --output <file>', 'bundle to write (default: demo-<scenario>.ingero)')
    .option('--seed <n>', 'random seed: the same seed gives the same bundle', '1')
    .option('--events <n>', `about this many events (at least ${MIN_EVENTS.toLocaleString('en-US')}): the scenario's simulated time is stretched or shrunk to fit`)
    .option('--json', 'print the summary as JSON on stdout (the scenarios as JSON with --list)')
    .option('--force', 'overwrite the output file if it exists')
    .option('--list', 'list the scenarios and exit')
    .action(
      action(async (name: string, opts: { output?: string; seed: string; events?: string; force?: boolean; list?: boolean; json?: boolean }) => {
        if (opts.list && opts.json) {
          process.stdout.write(toJson(SCENARIOS.map((s) => ({ name: s.name, root_cause: s.rootCause, causes: scenarioCauses(s), description: s.description }))) + '\n');
          return;
        }
        if (opts.list) {
          const width = Math.max(...SCENARIOS.map((s) => s.name.length)) + 2;
          for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(width)}${causesText(s, 'none (healthy baseline)')}\n${' '.repeat(width)}${s.description}\n`);
          return;
        }
        const scenario = scenarioByName(name);
        if (!scenario) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; choose one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
        const seed = intOption('--seed', opts.seed, 1);
        const out = opts.output ?? `demo-${scenario.name}.ingero`;
        if (existsSync(out) && !opts.force) throw new UserError(`${out} already exists — choose another name with -o, or pass --force to overwrite it`);
        const events = opts.events === undefined ? undefined : intOption('--events', opts.events, 0);
        if (events !== undefined && events < MIN_EVENTS) throw new UsageError(`--events must be at least ${MIN_EVENTS.toLocaleString('en-US')} (a shorter run may not show the scenario's root cause), got ${events}`);
        const scale = events === undefined ? 1 : await scaleFor(scenario, events, seed);
        // The generation is one synchronous run, then the seal: the bar names the step and its size.
        const r = await withPhases((step) => (step(0, `generating ${scenario.name}${events ? `, about ${events.toLocaleString('en-US')} events` : ''}`), writeDemoBundle(out, scenario, { seed, scale, version: pkg.version })));
        if (opts.json) process.stdout.write(toJson({ path: out, scenario: scenario.name, root_cause: scenario.rootCause, causes: scenarioCauses(scenario), seed, scale, events: r.events, bytes: r.bytes }) + '\n');
        else process.stdout.write(`wrote ${out}: ${r.events.toLocaleString('en-US')} events, scenario ${scenario.name} (${scenarioCauses(scenario).length > 1 ? 'root causes' : 'root cause'}: ${causesText(scenario, 'none')})\ntry: ingero explain ${out}\n`);
      }),
    );
}

/** A scenario's causes in words: a mixed scenario holds two at once, and explain may lead with either. */
function causesText(s: Scenario, none: string): string {
  const causes = scenarioCauses(s);
  return causes.length === 0 ? none : causes.join(' and ');
}

/**
 * The scale giving about `events` events. A scenario has fixed costs (start-up, cold starts) and a
 * steady rate: two short runs of the same scenario and seed give both, and the line through them.
 */
async function scaleFor(scenario: Scenario, events: number, seed: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ingero-demo-probe-'));
  try {
    const [a, b] = await Promise.all(PROBE_SCALES.map(async (scale, i) => (await writeDemoBundle(join(dir, `probe-${i}.ingero`), scenario, { seed, scale, compressionLevel: 1 })).events));
    const perScale = (b! - a!) / (PROBE_SCALES[1] - PROBE_SCALES[0]);
    return Math.max(PROBE_SCALES[0], (events - (a! - perScale * PROBE_SCALES[0])) / perScale);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
