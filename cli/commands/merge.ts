// ingero merge A.ingero B.ingero ... -o CLUSTER.ingero: per-node recordings of one distributed
// job → one multi-node bundle on one clock, so explain, the TUI and an agent see the whole job.
//
//   ingero merge node1.ingero node2.ingero -o job.ingero [--offset node2=-1.5ms] [--force] [--level N] [--json]
//
// Every (input, node) becomes one node of the output (names kept; a repeated name gets " (2)").
// Times are moved onto the earliest input's origin; nodes.clock_offset_ns records each node's
// shift. --offset NODE=±DURATION (repeatable; NODE as the summary names it, DURATION like 250us,
// 1.5ms, 2s; a bare number is seconds) corrects a known skew: +5ms moves that node's times 5 ms
// later. Metadata the inputs agree on is kept; what differs is stored per node as
// node.<name>.<key>, and merge.inputs records every input (file, sha256, origin, nodes). The
// design is in format/merge.ts. Refuses an existing output unless --force, and a bundle given
// twice (same database sha256). Exit codes: 1 bad input (one line naming it, nothing written),
// 2 wrong usage.
import { printable } from '../../analyze/text-layout.ts';
import type { Command } from 'commander';
import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import { mergeBundles, type MergeResult } from '../../format/index.ts';
import { durationNs, formatBytes, formatDuration, formatUnixNs } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { withProgress } from '../progress-bar.ts';
import { action, levelOption, repeatable, UsageError } from '../run-action.ts';
import { formatTable } from '../table.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** NODE=±DURATION → [node, ns]; exact in ns (no floating point), rounded toward zero below 1 ns. */
export function parseOffset(text: string): [string, bigint] {
  const eq = text.lastIndexOf('=');
  const m = /^([+-]?)(.*)$/.exec(text.slice(eq + 1).trim())!;
  const ns = eq > 0 ? durationNs(m[2]!) : null;
  if (ns === null) throw new UsageError(`--offset takes NODE=±DURATION such as gpu-node-02=-1.5ms or gpu-node-03=+250us, got ${JSON.stringify(text)}`);
  return [text.slice(0, eq), m[1] === '-' ? -ns : ns];
}

export function register(program: Command): void {
  program
    .command('merge')
    .description('Merge per-node bundles of one distributed job into one multi-node bundle on one clock')
    .argument('<bundles...>', 'two or more .ingero bundles (multi-node ones keep their nodes)')
    .requiredOption('-o, --output <bundle>', 'bundle to write (.ingero)')
    .option('--offset <node=±duration>', 'known clock skew of a node, added to its times (repeatable), e.g. gpu-node-02=-1.5ms', repeatable)
    .option('--force', 'overwrite the output file if it exists')
    .option('--level <n>', 'zstd level of the output, 1-22 (default: the inputs\' highest, at most 9 above 16 MiB)')
    .option('--json', 'print the merge report as JSON')
    .action(
      action(async (inputs: string[], opts: { output: string; offset?: string[]; force?: boolean; level?: string; json?: boolean }) => {
        if (inputs.length < 2) throw new UsageError(`merge needs at least two bundles, got ${inputs.length} — e.g. ingero merge node1.ingero node2.ingero -o job.ingero`);
        const level = levelOption(opts.level);
        const offsets = new Map<string, bigint>();
        for (const text of opts.offset ?? []) {
          const [node, ns] = parseOffset(text);
          if (offsets.has(node)) throw new UsageError(`--offset gives node ${JSON.stringify(node)} twice`);
          offsets.set(node, ns);
        }
        const result = await withProgress((bar, signal) =>
          mergeBundles(inputs, opts.output, {
            producer: { name: 'ingero', version: pkg.version, command: `merge ${inputs.map((p) => basename(p)).join(' ')}` },
            offsets,
            overwrite: opts.force ?? false,
            compressionLevel: level,
            signal,
            onProgress: (done, total) => bar.update(done, total, `${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} events`),
          }),
        );
        process.stdout.write(opts.json ? toJson(result) + '\n' : summary(result));
      }),
    );
}

function signed(ns: number): string {
  return ns < 0 ? `-${formatDuration(-ns)}` : `+${formatDuration(ns)}`;
}

function summary(r: MergeResult): string {
  const inputs = new Set(r.nodes.map((n) => n.input)).size;
  const head = `wrote ${printable(r.output)}: ${r.events.toLocaleString('en-US')} events, ${r.nodes.length} nodes from ${inputs} bundles, ${formatBytes(r.bytes)} in ${r.seconds.toFixed(2)} s`;
  const clock = `clock: origin ${formatUnixNs(r.originUnixNs)} (the earliest node's); events span ${formatDuration(r.endNs - r.startNs)}, ${signed(r.startNs)} to ${signed(r.endNs)}`;
  const table = formatTable(
    ['id', 'node', 'from', 'events', 'clock offset', 'offset ns', 'skew given'],
    r.nodes.map((n) => [
      n.id,
      n.name,
      `${basename(n.input)}${n.inputNodeName !== n.name || n.inputNodeId !== 0 ? ` (node ${n.inputNodeId} ${n.inputNodeName})` : ''}`,
      n.events.toLocaleString('en-US'),
      signed(n.clockOffsetNs),
      n.clockOffsetNs,
      n.skewNs ? signed(n.skewNs) : '',
    ]),
    [true, false, false, true, true, true, true],
  );
  const stacks = `stacks: ${r.stacks.inputs.toLocaleString('en-US')} in the inputs → ${r.stacks.output.toLocaleString('en-US')} (identical ones shared)`;
  return [head, clock, table.trimEnd(), stacks, ...r.notes.map((n) => `note: ${printable(n)}`), ''].join('\n');
}
