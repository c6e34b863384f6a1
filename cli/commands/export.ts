// ingero export: a bundle as a Chrome JSON trace for Perfetto UI (ui.perfetto.dev) and
// chrome://tracing. What goes into the trace is analyze/perfetto-export.ts; this file parses the
// options and makes the output file appear whole or not at all: it is written to OUT.tmp beside
// OUT, synced and renamed, and removed on any failure or interruption. `-o -` writes to stdout.
// --from/--to are times on the bundle clock (as explain's "When" prints them). A selection that
// matches no event is refused (exit 1, nothing written): an empty trace would look like a bug.
// (An empty bundle exports as an empty trace: that is what it holds.)
//
//   ingero export B -o trace.json [--force] [--from 13.3s] [--to 5m] [--pid 4711,4712] [--node N] [--no-findings] [--json]
//   ingero export --format parquet -o DIR B... (export-parquet.ts)
import type { Command } from 'commander';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { estimateExport, exportPerfetto, type PerfettoExportOptions, type PerfettoExportSummary, type TraceSink } from '../../analyze/perfetto-export.ts';
import { openBundle, type Bundle } from '../../format/index.ts';
import { CLOCK_HELP, parsePids, parseTimeWindow } from '../duration.ts';
import { formatBytes, formatDuration } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { fractionProgress, progressBar } from '../progress-bar.ts';
import { action, repeatable, UsageError, UserError } from '../run-action.ts';
import { printable } from '../../analyze/text-layout.ts';
import { exportParquetCommand } from './export-parquet.ts';
import { noMatchError } from '../selection.ts';

/** Perfetto's in-browser importer struggles past 1–2 GB of JSON. */
const LARGE_OUTPUT_BYTES = 1e9;

interface ExportFlags {
  output: string;
  force?: boolean;
  from?: string;
  to?: string;
  pid?: string[];
  node?: string;
  findings: boolean;
  format: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('Write a bundle as a Chrome JSON trace to open in Perfetto UI (ui.perfetto.dev) or chrome://tracing, or bundles as Parquet for DuckDB/Spark/Trino')
    .argument('<bundle...>', '.ingero file (several, or directories of them, with --format parquet)')
    .requiredOption('-o, --output <file>', 'trace file to write (.json); - for stdout; with --format parquet the directory to write')
    .option('--format <format>', 'json (Chrome JSON trace) or parquet (Hive-partitioned Parquet, spec/parquet-layout.md)', 'json')
    .option('--force', 'overwrite the output file if it exists')
    .option('--from <time>', `only events still running at this time or later (calls begun earlier included), ${CLOCK_HELP}; e.g. 13.3s, 5m`)
    .option('--to <time>', `only events starting before this time, ${CLOCK_HELP}`)
    .option('--pid <pids>', 'only these processes (repeatable or comma-separated)', repeatable)
    .option('--node <name|id>', 'only events of this node')
    .option('--no-findings', 'skip the analysis (its findings are global instants; it takes ~16 s per 10M events)')
    .option('--json', 'print the summary line as JSON on stdout (with -o FILE only)')
    .action(
      action(async (paths: string[], flags: ExportFlags) => {
        if (flags.format === 'parquet') return exportParquetCommand(paths, flags);
        if (flags.format !== 'json') throw new UsageError(`--format takes json or parquet, got ${JSON.stringify(flags.format)}`);
        if (paths.length > 1) throw new UsageError('a JSON trace holds one bundle; give one, or use --format parquet for several');
        const path = paths[0]!;
        const pids = parsePids(flags.pid);
        const toStdout = flags.output === '-';
        const out = toStdout ? '' : resolve(flags.output);
        if (!toStdout && out === resolve(path)) throw new UsageError('-o names the bundle itself; choose another output file');
        if (!toStdout && existsSync(out) && statSync(out).isDirectory()) throw new UserError(`${flags.output} is a directory — give a file name, e.g. ${join(flags.output, 'trace.json')}`);
        if (!toStdout && existsSync(out) && !flags.force) throw new UserError(`${flags.output} exists — pass --force to overwrite it, or choose another -o`);
        if (flags.json && toStdout) throw new UsageError('--json prints the summary on stdout, where -o - writes the trace: give -o FILE');
        const bundle = openBundle(path);
        try {
          const options = exportOptions(bundle, flags, pids);
          const estimate = estimateExport(bundle, options);
          const filtered = options.fromNs !== undefined || options.toNs !== undefined || options.pids !== undefined || options.nodeId !== undefined;
          if (estimate.events === 0 && filtered) throw noMatchError(bundle, flags, 'nothing was written');
          if (estimate.bytes > LARGE_OUTPUT_BYTES) {
            process.stderr.write(`ingero: warning: about ${formatBytes(estimate.bytes)} of JSON for ${estimate.events.toLocaleString('en-US')} events; Perfetto UI struggles past 1–2 GB — export a window with --from/--to or --pid\n`);
          }
          const t0 = performance.now();
          // The bar goes to stderr, and only on a terminal: with -o - the trace owns stdout.
          const bar = progressBar();
          let summary: PerfettoExportSummary;
          try {
            // Progress costs a count of the selected events: only when a bar is drawn.
            const withBar = { ...options, onProgress: process.stderr.isTTY ? fractionProgress(bar) : undefined };
            summary = toStdout ? await exportPerfetto(bundle, stdoutSink(), withBar) : await exportToFile(bundle, out, flags.output, withBar);
          } finally {
            bar.clear();
          }
          const seconds = (performance.now() - t0) / 1000;
          const where = toStdout ? 'stdout' : printable(flags.output);
          if (flags.json) process.stdout.write(toJson(summaryJson(flags.output, summary, seconds, options)) + '\n');
          else process.stderr.write(`${summarise(where, summary, seconds, options)}\n`);
        } finally {
          bundle.close();
        }
      }),
    );
}

function exportOptions(bundle: Bundle, flags: ExportFlags, pids: number[] | undefined): PerfettoExportOptions {
  const { fromNs, toNs } = parseTimeWindow(flags.from, flags.to);
  return { fromNs, toNs, pids, nodeId: flags.node === undefined ? undefined : nodeId(bundle, flags.node), findings: flags.findings };
}

function nodeId(bundle: Bundle, given: string): number {
  const nodes = bundle.db.prepare('SELECT id, name FROM nodes ORDER BY id').all() as { id: number; name: string }[];
  const match = nodes.find((n) => n.name === given) ?? nodes.find((n) => /^\d+$/.test(given) && n.id === Number(given));
  if (!match) throw new UsageError(`--node ${JSON.stringify(given)} is not a node of this bundle (nodes: ${nodes.map((n) => `${n.id} ${printable(n.name)}`).join(', ')})`);
  return match.id;
}

/** stdout as a sink that waits when the pipe is full and fails once it broke (EPIPE: the reader left). */
function stdoutSink(): TraceSink {
  let broken: Error | undefined;
  process.stdout.on('error', (err) => (broken = err));
  return async (chunk) => {
    if (broken) throw broken;
    if (process.stdout.write(chunk)) return;
    await new Promise<void>((done) => {
      const settle = () => {
        process.stdout.off('drain', settle);
        process.stdout.off('error', settle);
        done();
      };
      process.stdout.on('drain', settle);
      process.stdout.on('error', settle);
    });
    if (broken) throw broken;
  };
}

/** Writes OUT.tmp, syncs it and renames it over OUT; removes it on failure or Ctrl-C. */
async function exportToFile(bundle: Bundle, out: string, shown: string, options: PerfettoExportOptions): Promise<PerfettoExportSummary> {
  const tmp = `${out}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', 0o644);
  } catch (err) {
    throw outputError(err, dirname(out), shown);
  }
  const interrupted = () => {
    rmSync(tmp, { force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const file = fd;
    const summary = await exportPerfetto(bundle, async (chunk) => {
      writeSync(file, chunk);
      // Lets a Ctrl-C be handled between chunks: the temporary file is then removed.
      await new Promise((r) => setImmediate(r));
    }, options);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, out);
    return summary;
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw outputError(err, dirname(out), shown);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/** Filesystem failures on the output as one line naming the fix; anything else unchanged. */
function outputError(err: unknown, dir: string, shown: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new UserError(`cannot write ${shown}: the directory ${dir} does not exist — create it or choose another -o`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new UserError(`cannot write ${shown}: permission denied in ${dir} — choose another -o`);
  if (code === 'EISDIR') return new UserError(`cannot write ${shown}: it is a directory — give a file name`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new UserError(`disk full while writing ${shown} (nothing was left behind) — free space, or export a window with --from/--to or --pid`);
  return err;
}

/** The summary line's facts for scripts; times in ns on the bundle clock (null: no bound). */
function summaryJson(output: string, s: PerfettoExportSummary, seconds: number, o: PerfettoExportOptions) {
  return {
    output,
    clock: 'bundle: ns since the origin, as ts_ns',
    from_ns: o.fromNs ?? null,
    to_ns: o.toNs ?? null,
    events: s.events,
    slices: s.slices,
    instants: s.instants,
    threads: s.threads,
    processes: s.processes,
    overflow_lanes: s.overflowLanes,
    host_samples: s.counterSamples,
    annotations: s.annotations,
    gpus: s.gpus,
    gpu_tracks: s.gpuTracks,
    flows: s.flows,
    cpu_samples: s.cpuSamples,
    findings: s.findings,
    imported_findings: s.importedFindings,
    bytes: s.bytes,
    seconds: Number(seconds.toFixed(3)),
  };
}

function summarise(where: string, s: PerfettoExportSummary, seconds: number, o: PerfettoExportOptions): string {
  const n = (x: number, one: string, many = `${one}s`) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;
  const parts = [
    `${n(s.events, 'event')} (${n(s.slices, 'slice')}, ${n(s.instants, 'instant')})`,
    `${n(s.threads, 'thread')} in ${n(s.processes, 'process', 'processes')}`,
    ...(s.gpus ? [`${n(s.gpuTracks, 'GPU track')} on ${n(s.gpus, 'GPU')}`, n(s.flows, 'launch flow')] : []),
    ...(s.cpuSamples ? [n(s.cpuSamples, 'CPU sample')] : []),
    n(s.overflowLanes, 'overflow lane'),
    n(s.counterSamples, 'host sample'),
    n(s.annotations, 'annotation'),
    `${n(s.findings, 'finding')}${s.importedFindings ? ` + ${s.importedFindings.toLocaleString('en-US')} imported` : ''}`,
  ];
  const window = o.fromNs === undefined && o.toNs === undefined ? '' : ` from ${o.fromNs === undefined ? 'the start' : formatDuration(o.fromNs)} to ${o.toNs === undefined ? 'the end' : formatDuration(o.toNs)} (bundle clock)`;
  return `wrote ${where}${window}: ${parts.join(', ')}; ${formatBytes(s.bytes)} in ${seconds.toFixed(1)} s — open it in https://ui.perfetto.dev or chrome://tracing`;
}
