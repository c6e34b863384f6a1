// ingero tui: an interactive terminal UI over one bundle (findings, ops, timeline, events,
// stacks, info). Needs a terminal; elsewhere, ingero explain prints the same findings as text.
import type { Command } from 'commander';
import { openBundle } from '../../format/index.ts';
import { runTui } from '../../tui/run-tui.tsx';
import { VIEWS } from '../../tui/views/index.ts';
import { action, UsageError } from '../run-action.ts';

export function register(program: Command): void {
  program
    .command('tui')
    .description('Explore a bundle in an interactive terminal UI: findings, per-op stats, timeline, events, stacks, info')
    .argument('<bundle>', '.ingero file')
    .option('--view <name>', `view to open first: ${VIEWS.map((v) => v.id).join(', ')}`, 'findings')
    .action(
      action(async (path: string, opts: { view: string }) => {
        if (!VIEWS.some((v) => v.id === opts.view)) throw new UsageError(`unknown view ${JSON.stringify(opts.view)}; choose one of ${VIEWS.map((v) => v.id).join(', ')}`);
        // The bundle first: a bad bundle gets the same one-line error as every other command.
        const bundle = openBundle(path);
        try {
          if (!process.stdout.isTTY || !process.stdin.isTTY) {
            throw new UsageError(`ingero tui needs a terminal (${process.stdout.isTTY ? 'stdin' : 'stdout'} is not one) — for a text report run: ingero explain ${path}`);
          }
          await runTui(bundle, { initialView: opts.view });
        } finally {
          bundle.close();
        }
      }),
    );
}
