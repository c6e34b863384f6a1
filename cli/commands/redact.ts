// ingero redact: writes a copy of a bundle that is safe to attach to a public bug report.
//
//   ingero redact IN.ingero -o OUT.ingero [--keep cmdline,paths,...] [--drop labels,...]
//                 [--symbols] [--comm] [--key-file FILE] [--level N] [--force] [--dry-run] [--json]
//
// Times, durations, ops, arguments, pids/tids, stack shapes and hardware/software facts are kept,
// so explain and stats give the same numbers; command-line arguments, directories, cgroups, host
// and user names, IPs, e-mails, URLs and label values become basenames or pseudonyms
// (`redacted:<kind>:<hex>`, the same value giving the same token within one run). The policy and
// its options are documented in format/redact.ts. The input is verified first and never modified;
// the output is written atomically, and nothing is left behind when anything fails.
import { printable } from '../../analyze/text-layout.ts';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { DROP_FIELDS, REDACT_FIELDS, redactBundle, type DropField, type RedactField, type RedactResult } from '../../format/index.ts';
import { formatBytes } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { withPhases } from '../progress-bar.ts';
import { action, levelOption, UsageError, UserError } from '../run-action.ts';
import { formatTable } from '../table.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface RedactCliOptions {
  output?: string;
  keep?: string;
  drop?: string;
  symbols?: boolean;
  comm?: boolean;
  keyFile?: string;
  level?: string;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('redact')
    .description('Copy a bundle without private strings (command-line arguments, directories, host and user names, cgroups, label values), keeping everything the analysis needs')
    .argument('<bundle>', '.ingero file to redact (never modified)')
    .option('-o, --output <bundle>', 'redacted bundle to write (.ingero)')
    .option('--keep <fields>', `comma-separated fields to leave as they are: ${REDACT_FIELDS.join(', ')}`)
    .option('--drop <fields>', `comma-separated fields to remove instead of pseudonymize: ${DROP_FIELDS.join(', ')}`)
    .option('--symbols', 'also hash function, file and executable names outside shared libraries and installed Python packages (proprietary code)')
    .option('--comm', 'also pseudonymize process and thread names')
    .option('--key-file <file>', 'pseudonym key (at least 16 bytes) for tokens stable across bundles; default a random key, never stored')
    .option('--level <n>', 'zstd level of the output, 1-22 (default: the input\'s)')
    .option('--force', 'replace an existing output')
    .option('--dry-run', 'print what would change, write nothing')
    .option('--json', 'print the summary as JSON')
    .action(
      action(async (input: string, opts: RedactCliOptions) => {
        if (!opts.output && !opts.dryRun) throw new UsageError('no output given — pass -o OUT.ingero (or --dry-run to see what would change)');
        const keep = fieldList('--keep', opts.keep, REDACT_FIELDS) as RedactField[];
        const drop = fieldList('--drop', opts.drop, DROP_FIELDS) as DropField[];
        if (opts.symbols && keep.includes('symbols')) throw new UsageError('--symbols and --keep symbols contradict each other — pass one');
        if (opts.comm && keep.includes('comm')) throw new UsageError('--comm and --keep comm contradict each other — pass one');
        const both = drop.filter((f) => keep.includes(f));
        if (both.length) throw new UsageError(`${both.join(', ')} both kept and dropped — pass one of --keep and --drop for it`);
        const level = levelOption(opts.level);
        const result = await withPhases((step) => (step(0, `redacting ${printable(input)}`), redactBundle(input, opts.output ?? null, {
          keep,
          drop,
          symbols: opts.symbols ?? false,
          comm: opts.comm ?? false,
          key: opts.keyFile === undefined ? undefined : readKey(opts.keyFile),
          toolVersion: pkg.version,
          dryRun: opts.dryRun ?? false,
          overwrite: opts.force ?? false,
          compressionLevel: level,
        })));
        process.stdout.write(opts.json ? toJson(result) + '\n' : summary(result));
      }),
    );
}

function fieldList(option: string, value: string | undefined, allowed: readonly string[]): string[] {
  if (value === undefined) return [];
  const fields = value.split(',').map((f) => f.trim()).filter((f) => f !== '');
  const bad = fields.filter((f) => !allowed.includes(f));
  if (bad.length) throw new UsageError(`${option}: unknown field ${JSON.stringify(bad[0])} — choose from ${allowed.join(', ')}`);
  return [...new Set(fields)];
}

function readKey(path: string): Buffer {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: no such key file — make one with: head -c 32 /dev/urandom > ${path}`);
    throw new UserError(`${path}: cannot read the key file (${code ?? (err as Error).message}) — check its permissions`);
  }
  if (key.length < 16) throw new UserError(`${path}: the key file holds ${key.length} bytes, at least 16 are needed — make one with: head -c 32 /dev/urandom > ${path}`);
  return key;
}

const WHAT: Readonly<Record<string, string>> = {
  'nodes.name': 'node-<id>',
  'processes.comm': 'pseudonyms',
  'threads.comm': 'pseudonyms',
  'processes.cmdline': 'argv[0] basename + pseudonym of the arguments',
  'processes.cgroup': 'basename, ids pseudonymized',
  'mappings.path': 'basename',
  'functions.name': 'hashed outside libraries',
  'functions.system_name': 'hashed outside libraries',
  'functions.filename': 'basename',
  'annotations.labels': 'values pseudonymized',
  'metadata.value': 'paths, hosts, users, commands',
};

function summary(r: RedactResult): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const rows = r.columns
    .filter((c) => c.changed > 0)
    .map((c) => [`${c.table}.${c.column}`, `${n(c.changed)} of ${n(c.rows)}`, WHAT[`${c.table}.${c.column}`] ?? 'paths, hosts, users scrubbed']);
  const head = r.output === null ? `${printable(r.input)}: dry run, nothing written; a redaction would change:` : `${printable(r.output)}: redacted copy of ${printable(r.input)} (${n(r.events)} events, ${formatBytes(r.bytes ?? 0)})`;
  const lines = [head, ''];
  if (rows.length) lines.push(formatTable(['column', 'rows changed', 'how'], rows).trimEnd());
  else lines.push('  no private strings found in the columns redact rewrites');
  for (const [table, count] of Object.entries(r.deletedRows)) lines.push(`  ${table}: ${n(count)} row(s) deleted`);
  if (r.leftOut.length) lines.push(`  left out (not in the bundle schema, so not vouched for): ${r.leftOut.map(printable).join(', ')}`);
  lines.push('');
  lines.push(`  redacted: ${r.redacted.join(', ') || 'nothing'}`);
  lines.push(`  kept as is: ${r.kept.join(', ') || 'nothing'}${r.dropped.length ? `; dropped: ${r.dropped.join(', ')}` : ''}`);
  lines.push(`  pseudonyms: ${r.stableTokens ? 'from your key file, stable across bundles redacted with it' : 'random key for this run, not stored (tokens differ between runs)'}`);
  lines.push('  kept for analysis: times, durations, ops, arguments, pids/tids, stack shapes, hardware and software facts');
  if (r.output !== null) lines.push(`  the policy and these counts are in the bundle's metadata key "redaction"`);
  return lines.join('\n') + '\n';
}
