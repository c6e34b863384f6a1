// ingero tui: an interactive terminal UI over one bundle (findings, ops, timeline, events,
// stacks, info, SQL console). Needs a terminal; elsewhere, ingero explain prints the same findings as text.
import type { Command } from 'commander';
import { openBundle } from '../../format/index.ts';
import { drawFirstFrame } from '../../tui/first-frame.ts';
import { VIEW_IDS } from '../../tui/view-ids.ts';
import { action, UsageError } from '../run-action.ts';

export function register(program: Command): void {
  program
    .command('tui')
    .description('Explore a bundle in an interactive terminal UI: findings, per-op stats, timeline, events, stacks, info, SQL console')
    .argument('<bundle>', '.ingero file')
    .option('--view <name>', `view to open first: ${VIEW_IDS.join(', ')}`, 'findings')
    .action(
      action(async (path: string, opts: { view: string }) => {
        if (!(VIEW_IDS as readonly string[]).includes(opts.view)) throw new UsageError(`unknown view ${JSON.stringify(opts.view)}; choose one of ${VIEW_IDS.join(', ')}`);
        // The bundle first: a bad bundle gets the same one-line error as every other command.
        const bundle = openBundle(path);
        try {
          if (!process.stdout.isTTY || !process.stdin.isTTY) {
            throw new UsageError(`ingero tui needs a terminal (${process.stdout.isTTY ? 'stdin' : 'stdout'} is not one) — for a text report run: ingero explain ${path}`);
          }
          // Ink renders nothing but the last frame when CI or CONTINUOUS_INTEGRATION is set, and
          // it reads them when it loads. Both ends are terminals here (checked above), so the
          // session is interactive whatever those variables say.
          delete process.env.CI;
          delete process.env.CONTINUOUS_INTEGRATION;
          // Ink and React load in ~0.6 s (seconds on a busy machine): only when this command runs,
          // and after a plain first frame, so the terminal shows at once what is happening.
          const frame = drawFirstFrame(process.stdout, path, bundle.manifest.counts.events);
          let runTui;
          try {
            ({ runTui } = await import('../../tui/run-tui.tsx'));
          } catch (err) {
            frame.failed();
            throw err;
          }
          frame.started();
          await runTui(bundle, { initialView: opts.view });
        } finally {
          bundle.close();
        }
      }),
    );
}
