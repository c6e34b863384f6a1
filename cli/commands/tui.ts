// ingero tui: an interactive terminal UI over one bundle (findings, ops, timeline, events,
// stacks, info, SQL console, GPU busy tracks). Needs a terminal; elsewhere, ingero explain prints the same findings as text.
import type { Command } from 'commander';
// The header reader alone before the first frame: the rest of the bundle library (SQLite, the
// writer, merge, redact, verify) loads after it is drawn.
import { readContainer as readBundleHeader } from '../../format/read-container.ts';
import { drawFirstFrame } from '../../tui/first-frame.ts';
import { VIEW_IDS } from '../../tui/view-ids.ts';
import { action, UsageError } from '../run-action.ts';

export function register(program: Command): void {
  program
    .command('tui')
    .description('Explore a bundle in an interactive terminal UI: findings, per-op stats, timeline, events, stacks, info, SQL console, GPU busy tracks')
    .argument('<bundle>', '.ingero file')
    .option('--view <name>', `view to open first: ${VIEW_IDS.join(', ')}`, 'findings')
    .action(
      action(async (path: string, opts: { view: string }) => {
        if (!(VIEW_IDS as readonly string[]).includes(opts.view)) throw new UsageError(`unknown view ${JSON.stringify(opts.view)}; choose one of ${VIEW_IDS.join(', ')}`);
        // The container's header first (a few KB): a missing or damaged file gets the same one-line
        // error as every other command, before anything is drawn.
        const header = readBundleHeader(path);
        if (!process.stdout.isTTY || !process.stdin.isTTY) {
          const { openBundle } = await import('../../format/index.ts');
          openBundle(path).close(); // a damaged database inside is reported as by other commands
          throw new UsageError(`ingero tui needs a terminal (${process.stdout.isTTY ? 'stdin' : 'stdout'} is not one) — for a text report run: ingero explain ${path}`);
        }
        // Ink renders nothing but the last frame when CI or CONTINUOUS_INTEGRATION is set, and
        // it reads them when it loads. Both ends are terminals here (checked above), so the
        // session is interactive whatever those variables say.
        delete process.env.CI;
        delete process.env.CONTINUOUS_INTEGRATION;
        // React's development build checks and times every render (a good part of each key's
        // CPU); it is chosen by NODE_ENV when React loads, so unless asked for, not here.
        process.env.NODE_ENV ??= 'production';
        // Opening (checking the database, decompressing it when not cached) and loading Ink and
        // React take from half a second to many: a plain first frame says what is happening.
        const frame = drawFirstFrame(process.stdout, path, header.manifest);
        let bundle;
        let runTui;
        try {
          const { openBundle } = await import('../../format/index.ts');
          bundle = openBundle(path);
          frame.say('Starting the interface…');
          ({ runTui } = await import('../../tui/run-tui.tsx'));
        } catch (err) {
          bundle?.close();
          frame.failed();
          throw err;
        }
        frame.started();
        try {
          await runTui(bundle, { initialView: opts.view });
        } finally {
          bundle.close();
        }
      }),
    );
}
