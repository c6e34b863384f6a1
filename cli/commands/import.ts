// ingero import: converts an Ingero SQLite trace database (schema v0.8, v0.9, v0.10+), or one or
// more PyTorch profiler (Kineto) traces (a node per rank), into a bundle, so every other command
// works on it. What each source is, is told by its content. Sources are opened read-only.
import type { Command } from 'commander';
import { importIngeroDb, importKinetoTraces, sourceKind, type ImportReport, type KinetoImportReport } from '../../import/index.ts';
import { formatBytes } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { withProgress } from '../progress-bar.ts';
import { action, levelOption, UsageError } from '../run-action.ts';
import { printable } from '../../analyze/text-layout.ts';

export function register(program: Command): void {
  program
    .command('import')
    .description('Convert a database recorded by the Go tool Ingero (ingero.db), or PyTorch profiler traces (trace.json[.gz], one per rank), into a .ingero bundle; sources are never modified')
    .argument('<sources...>', 'Ingero SQLite database (.db), or one or more torch.profiler Chrome traces (.json or .json.gz)')
    .requiredOption('-o, --output <bundle>', 'bundle to write (.ingero)')
    .option('--level <n>', 'zstd level of the bundle, 1-22 (default 19; 9 for sources above 16 MiB)')
    .option('--json', 'print the import report as JSON')
    .action(
      action(async (sources: string[], opts: { output: string; level?: string; json?: boolean }) => {
        const level = levelOption(opts.level);
        const kinds = sources.map(sourceKind);
        const report = await withProgress<ImportReport | KinetoImportReport>((bar, signal) => {
          if (kinds.every((k) => k === 'kineto')) {
            return importKinetoTraces(sources, opts.output, {
              compressionLevel: level,
              signal,
              onProgress: (p) => bar.update(p.done, p.total, p.phase === 'sealing' ? 'sealing' : `${formatBytes(p.done)} / ${formatBytes(p.total)}, ${p.events.toLocaleString('en-US')} events`),
            });
          }
          if (sources.length > 1) throw new UsageError(`import takes one Ingero database, or one or more PyTorch profiler traces; got ${sources.length} sources of which ${kinds.filter((k) => k === 'ingero-db').length} are Ingero databases — import them one by one and use ingero merge`);
          return importIngeroDb(sources[0]!, opts.output, {
            compressionLevel: level,
            signal,
            onProgress: (p) => bar.update(p.done, p.total, p.phase === 'sealing' ? 'sealing' : `${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} events`),
          });
        });
        process.stdout.write(opts.json ? toJson(report) + '\n' : 'format' in report ? kinetoSummary(report) : summary(report));
      }),
    );
}

const count = (v: number, one: string, many = `${one}s`) => `${v.toLocaleString('en-US')} ${v === 1 ? one : many}`;

function summary(r: ImportReport): string {
  const ratio = (r.sourceBytes / r.bundleBytes).toFixed(1);
  return [
    `${printable(r.output)}: ${count(r.events, 'event')} from Ingero ${r.generation} (${count(r.nodes.length, 'node')}: ${r.nodes.map(printable).join(', ')})`,
    `  ${count(r.processes, 'process', 'processes')}, ${count(r.threads, 'thread')}, ${count(r.stacks.bundleStacks, 'stack')}, ${count(r.chains.findings, 'imported finding')} from ${count(r.chains.sourceRows, 'chain')}, ${count(r.aggregates, 'aggregate row')}`,
    `  ${formatBytes(r.sourceBytes)} → ${formatBytes(r.bundleBytes)} (${ratio}x smaller) in ${r.seconds.toFixed(2)} s${r.samplingRows ? '; events are a sample (see table sampling)' : ''}`,
    '',
  ].join('\n');
}

function kinetoSummary(r: KinetoImportReport): string {
  const lines = [`${printable(r.output)}: ${count(r.events, 'event')} from ${count(r.sources.length, 'PyTorch profiler trace')} (${count(r.nodes.length, 'node')}: ${r.nodes.map(printable).join(', ')})`];
  for (const s of r.sources) {
    lines.push(`  ${printable(s.node)}: ${count(s.kernels, 'kernel')}, ${count(s.memcpys, 'memcpy', 'memcpys')}, ${count(s.memsets, 'memset')}, ${count(s.runtimeCalls, 'runtime call')}, ${count(s.cpuOps, 'CPU op')}, ${count(s.collectives, 'collective')}, ${count(s.annotations, 'annotation')}, ${count(s.otherEvents, 'other event')} on ${count(s.devices, 'GPU')}`);
  }
  lines.push(`  ${formatBytes(r.sourceBytes)} → ${formatBytes(r.bundleBytes)} in ${r.seconds.toFixed(2)} s`, '');
  return lines.join('\n');
}
