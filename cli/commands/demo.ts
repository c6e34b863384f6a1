// ingero demo: writes a synthetic bundle with a known root cause, to try every command without
// a GPU.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { SCENARIOS, scenarioByName, writeDemoBundle } from '../../analyze/index.ts';
import { action, intOption, UsageError, UserError } from '../run-action.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function register(program: Command): void {
  program
    .command('demo')
    .description('Write a synthetic bundle whose root cause is known (no GPU needed); then run ingero explain on it')
    .argument('[scenario]', `one of: ${SCENARIOS.map((s) => s.name).join(', ')}`, 'cpu-contention')
    .option('-o, --output <file>', 'bundle to write (default: demo-<scenario>.ingero)')
    .option('--seed <n>', 'random seed: the same seed gives the same bundle', '1')
    .option('--force', 'overwrite the output file if it exists')
    .option('--list', 'list the scenarios and exit')
    .action(
      action(async (name: string, opts: { output?: string; seed: string; force?: boolean; list?: boolean }) => {
        if (opts.list) {
          for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(22)} ${s.rootCause ?? 'none (healthy baseline)'}\n${' '.repeat(23)}${s.description}\n`);
          return;
        }
        const scenario = scenarioByName(name);
        if (!scenario) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; choose one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
        const seed = intOption('--seed', opts.seed, 1);
        const out = opts.output ?? `demo-${scenario.name}.ingero`;
        if (existsSync(out) && !opts.force) throw new UserError(`${out} already exists — choose another name with -o, or pass --force to overwrite it`);
        const r = await writeDemoBundle(out, scenario, { seed, version: pkg.version });
        process.stdout.write(`wrote ${out}: ${r.events.toLocaleString('en-US')} events, scenario ${scenario.name} (root cause: ${scenario.rootCause ?? 'none'})\ntry: ingero explain ${out}\n`);
      }),
    );
}
