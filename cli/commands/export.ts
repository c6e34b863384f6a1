// ingero export: a bundle as a Chrome JSON trace for Perfetto UI (ui.perfetto.dev) and
// chrome://tracing. What goes into the trace is analyze/perfetto-export.ts; this file parses the
// options and makes the output file appear whole or not at all: it is written to OUT.tmp beside
// OUT, synced and renamed, and removed on any failure or interruption. `-o -` writes to stdout.
//
//   ingero export B -o trace.json [--force] [--from 30s] [--to 5m] [--pid 4711,4712] [--node N] [--no-findings]
import type { Command } from 'commander';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { estimateExport, exportPerfetto, type PerfettoExportOptions, type PerfettoExportSummary, type TraceSink } from '../../analyze/perfetto-export.ts';
import { openBundle, type Bundle } from '../../format/index.ts';
import { parseDurationMs } from '../duration.ts';
import { formatBytes } from '../format-units.ts';
import { action, UsageError, UserError } from '../run-action.ts';
import { printable } from '../table.ts';

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
}

export function register(program: Command): void {
  program
    .command('export')
    .description('Write a bundle as a Chrome JSON trace to open in Perfetto UI (ui.perfetto.dev) or chrome://tracing')
    .argument('<bundle>', '.ingero file')
    .requiredOption('-o, --output <file>', 'trace file to write (.json); - for stdout')
    .option('--force', 'overwrite the output file if it exists')
    .option('--from <duration>', 'only events running this long after the bundle start or later (calls begun earlier included), e.g. 30s, 5m')
    .option('--to <duration>', 'only events starting before this long after the bundle start')
    .option('--pid <pids>', 'only these processes (repeatable or comma-separated)', collect)
    .option('--node <name|id>', 'only events of this node')
    .option('--no-findings', 'skip the analysis (its findings are global instants; it takes ~16 s per 10M events)')
    .action(
      action(async (path: string, flags: ExportFlags) => {
        const pids = parsePids(flags.pid);
        const toStdout = flags.output === '-';
        const out = toStdout ? '' : resolve(flags.output);
        if (!toStdout && out === resolve(path)) throw new UsageError('-o names the bundle itself; choose another output file');
        if (!toStdout && existsSync(out) && statSync(out).isDirectory()) throw new UserError(`${flags.output} is a directory — give a file name, e.g. ${join(flags.output, 'trace.json')}`);
        if (!toStdout && existsSync(out) && !flags.force) throw new UserError(`${flags.output} exists — pass --force to overwrite it, or choose another -o`);
        const bundle = openBundle(path);
        try {
          const options = exportOptions(bundle, flags, pids);
          const estimate = estimateExport(bundle, options);
          if (estimate.bytes > LARGE_OUTPUT_BYTES) {
            process.stderr.write(`ingero: warning: about ${formatBytes(estimate.bytes)} of JSON for ${estimate.events.toLocaleString('en-US')} events; Perfetto UI struggles past 1–2 GB — export a window with --from/--to or --pid\n`);
          }
          const t0 = performance.now();
          const summary = toStdout ? await exportPerfetto(bundle, stdoutSink(), options) : await exportToFile(bundle, out, flags.output, options);
          const seconds = (performance.now() - t0) / 1000;
          process.stderr.write(`${summarise(toStdout ? 'stdout' : printable(flags.output), summary, seconds)}\n`);
        } finally {
          bundle.close();
        }
      }),
    );
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parsePids(values: string[] | undefined): number[] | undefined {
  if (values === undefined) return undefined;
  const pids = values.flatMap((v) => v.split(',')).map((p) => p.trim());
  for (const p of pids) if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p))) throw new UsageError(`--pid takes process ids like 4711 or 4711,4712, got ${JSON.stringify(p)}`);
  return [...new Set(pids.map(Number))];
}

function exportOptions(bundle: Bundle, flags: ExportFlags, pids: number[] | undefined): PerfettoExportOptions {
  const start = bundle.startNs();
  const fromNs = flags.from === undefined ? undefined : start + Math.round(parseDurationMs('--from', flags.from) * 1e6);
  const toNs = flags.to === undefined ? undefined : start + Math.round(parseDurationMs('--to', flags.to) * 1e6);
  if (fromNs !== undefined && toNs !== undefined && toNs <= fromNs) throw new UsageError('--to must be later than --from (both count from the bundle start)');
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

function summarise(where: string, s: PerfettoExportSummary, seconds: number): string {
  const n = (x: number, one: string, many = `${one}s`) => `${x.toLocaleString('en-US')} ${x === 1 ? one : many}`;
  const parts = [
    `${n(s.events, 'event')} (${n(s.slices, 'slice')}, ${n(s.instants, 'instant')})`,
    `${n(s.threads, 'thread')} in ${n(s.processes, 'process', 'processes')}`,
    n(s.overflowLanes, 'overflow lane'),
    n(s.counterSamples, 'host sample'),
    n(s.annotations, 'annotation'),
    `${n(s.findings, 'finding')}${s.importedFindings ? ` + ${s.importedFindings.toLocaleString('en-US')} imported` : ''}`,
  ];
  return `wrote ${where}: ${parts.join(', ')}; ${formatBytes(s.bytes)} in ${seconds.toFixed(1)} s — open it in https://ui.perfetto.dev or chrome://tracing`;
}
