// ingero verify: every byte, the schema and the spec's invariants; one line per problem, led by
// its spec §9 code (normative, so scripts can act on it; the message after it is informative).
import type { Command } from 'commander';
import { verifyBundle } from '../../format/index.ts';
import { toJson } from '../json.ts';
import { withPhases } from '../progress-bar.ts';
import { action, EXIT_OK, EXIT_PROBLEMS } from '../run-action.ts';
import { printable } from '../../analyze/text-layout.ts';

export function register(program: Command): void {
  program
    .command('verify')
    .description('Check a bundle completely: checksums, schema conformance and invariants')
    .argument('<bundle...>', '.ingero file(s)')
    .option('--json', 'print one JSON report per bundle')
    .action(
      action((paths: string[], opts: { json?: boolean }) => {
        let bad = 0;
        // On a terminal, a bar on stderr naming the bundle being checked (k of n).
        const reports = withPhases((step) => paths.map((p, i) => (step(i / paths.length, `verifying ${printable(p)}${paths.length > 1 ? ` (${i + 1} of ${paths.length})` : ''}`), verifyBundle(p))));
        for (const r of reports) {
          if (!r.ok) bad++;
          if (opts.json) continue;
          if (r.ok) process.stdout.write(`${r.path}: ok (${r.manifest!.counts.events.toLocaleString('en-US')} events, sha256 ${r.manifest!.database.sha256.slice(0, 16)}…)\n`);
          else for (const p of r.problems) process.stderr.write(`ingero: ${p.code}: ${p.message}\n`);
        }
        if (opts.json) process.stdout.write(toJson(reports.map((r) => ({ path: r.path, ok: r.ok, problems: r.problems }))) + '\n');
        return bad ? EXIT_PROBLEMS : EXIT_OK;
      }),
    );
}
