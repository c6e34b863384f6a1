// ingero info: what the manifest says, read from the first and last bytes only.
import type { Command } from 'commander';
import { readBundleHeader, type ContainerInfo } from '../../format/index.ts';
import { formatBytes, formatDuration, formatUnixNs, formatWindow } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { action } from '../run-action.ts';
import { printable } from '../../analyze/text-layout.ts';

export function register(program: Command): void {
  program
    .command('info')
    .description('Summarise a bundle from its manifest, without decompressing it')
    .argument('<bundle>', '.ingero file')
    .option('--json', 'print the manifest and container facts as JSON')
    .action(
      action((path: string, opts: { json?: boolean }) => {
        const info = readBundleHeader(path);
        process.stdout.write(opts.json ? toJson(infoJson(info)) + '\n' : infoText(info));
      }),
    );
}

function infoJson(info: ContainerInfo) {
  return {
    path: info.path,
    file_bytes: info.fileBytes,
    container_version: `${info.header.containerMajor}.${info.header.containerMinor}`,
    manifest: info.manifest,
  };
}

function infoText(info: ContainerInfo): string {
  const m = info.manifest;
  const lines: string[] = [];
  const add = (k: string, v: string) => lines.push(`${k.padEnd(14)}${printable(v)}`);
  add('bundle', info.path);
  add('format', `container ${info.header.containerMajor}.${info.header.containerMinor}, schema ${m.schema_version} (readers of schema ${m.min_schema_reader}+)`);
  add('created', formatUnixNs(BigInt(m.created_unix_ns)));
  add('producer', `${m.producer.name} ${m.producer.version} (${m.producer.command})`);
  const host = m.host as Record<string, unknown>;
  const hostBits = ['host.hostname', 'host.kernel', 'host.os', 'gpu.model', 'gpu.driver_version', 'cuda.runtime_version']
    .filter((k) => host[k] !== undefined && host[k] !== '')
    .map((k) => `${k.split('.').pop()}=${String(host[k])}`);
  if (hostBits.length) add('host', hostBits.join('  '));
  add('nodes', m.nodes.join(', '));
  const origin = BigInt(m.time.origin_unix_ns);
  add('recorded', `${formatUnixNs(origin + BigInt(m.time.start_ns))} → ${formatUnixNs(origin + BigInt(m.time.end_ns))}`);
  // The one clock every other output uses: explain's "When", export --from/--to, ts_ns in SQL.
  add('clock', `${formatWindow(m.time.start_ns, m.time.end_ns)} on the bundle clock (time since the origin ${formatUnixNs(origin)}; ts_ns in SQL)`);
  add('duration', formatDuration(m.time.end_ns - m.time.start_ns));
  add('events', `${m.counts.events.toLocaleString('en-US')}`);
  for (const [source, n] of Object.entries(m.counts.by_source)) add('', `  ${source.padEnd(10)} ${n.toLocaleString('en-US').padStart(14)}`);
  add('processes', String(m.counts.processes));
  add('stacks', String(m.counts.stacks));
  add('dropped', m.capture.dropped === 0 ? '0 (no loss reported)' : `${m.capture.dropped.toLocaleString('en-US')} events lost during capture`);
  if (m.capture.sampled) add('sampled', 'yes: the events table is a sample; complete counts are in op_aggregates (see table sampling)');
  add('size', `${formatBytes(info.fileBytes)} compressed, ${formatBytes(m.database.bytes)} database (${(m.database.bytes / Math.max(1, info.fileBytes)).toFixed(1)}x), ${m.counts.events > 0 ? (info.fileBytes / m.counts.events).toFixed(1) : '-'} B/event`);
  add('sha256', m.database.sha256);
  return lines.join('\n') + '\n';
}
