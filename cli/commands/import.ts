// ingero import: converts an Ingero SQLite trace database (schema v0.8, v0.9, v0.10+) into a
// bundle, so every other command works on it. The source is opened strictly read-only.
import type { Command } from 'commander';
import { importIngeroDb, type ImportReport } from '../../import/index.ts';
import { formatBytes } from '../format-units.ts';
import { toJson } from '../json.ts';
import { withProgress } from '../progress-bar.ts';
import { action, levelOption } from '../run-action.ts';
import { printable } from '../table.ts';

export function register(program: Command): void {
  program
    .command('import')
    .description('Convert a database recorded by the Go tool Ingero (ingero.db) into a .ingero bundle; the source is never modified')
    .argument('<source>', 'Ingero SQLite database (.db)')
    .requiredOption('-o, --output <bundle>', 'bundle to write (.ingero)')
    .option('--level <n>', 'zstd level of the bundle, 1-22 (default 19; 9 for sources above 16 MiB)')
    .option('--json', 'print the import report as JSON')
    .action(
      action(async (source: string, opts: { output: string; level?: string; json?: boolean }) => {
        const level = levelOption(opts.level);
        const report = await withProgress((bar, signal) =>
          importIngeroDb(source, opts.output, {
            compressionLevel: level,
            signal,
            onProgress: (p) => bar.update(p.done, p.total, p.phase === 'sealing' ? 'sealing' : `${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} events`),
          }),
        );
        process.stdout.write(opts.json ? toJson(report) + '\n' : summary(report));
      }),
    );
}

function summary(r: ImportReport): string {
  const count = (v: number, one: string, many = `${one}s`) => `${v.toLocaleString('en-US')} ${v === 1 ? one : many}`;
  const ratio = (r.sourceBytes / r.bundleBytes).toFixed(1);
  return [
    `${printable(r.output)}: ${count(r.events, 'event')} from Ingero ${r.generation} (${count(r.nodes.length, 'node')}: ${r.nodes.map(printable).join(', ')})`,
    `  ${count(r.processes, 'process', 'processes')}, ${count(r.threads, 'thread')}, ${count(r.stacks.bundleStacks, 'stack')}, ${count(r.chains.findings, 'imported finding')} from ${count(r.chains.sourceRows, 'chain')}, ${count(r.aggregates, 'aggregate row')}`,
    `  ${formatBytes(r.sourceBytes)} → ${formatBytes(r.bundleBytes)} (${ratio}x smaller) in ${r.seconds.toFixed(2)} s${r.samplingRows ? '; events are a sample (see table sampling)' : ''}`,
    '',
  ].join('\n');
}
