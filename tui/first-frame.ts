// The frame drawn before the bundle is open and before Ink and React have loaded: the alternate
// screen with the bundle's name, what its manifest states (read from the container's header, a
// few KB) and what is under way, in plain text. Opening checks the database (half a second on
// ten million events, and decompressing it first when it is not cached) and Ink takes another
// half second or more on a busy machine: neither delays this frame. Keys typed meanwhile wait in
// the terminal and are handled once the UI runs.
import { basename } from 'node:path';
import { formatBytes } from '../analyze/format-units.ts';
import { printable } from '../analyze/text-layout.ts';
import type { Manifest } from '../format/index.ts';

export const ALTERNATE_SCREEN_ON = '\u001b[?1049h\u001b[H';
export const ALTERNATE_SCREEN_OFF = '\u001b[?1049l';

export interface FirstFrame {
  /** Replaces the line saying what is under way. */
  readonly say: (step: string) => void;
  /** The UI has started: Ctrl-C is its business from now on. */
  readonly started: () => void;
  /** Opening or loading failed: the shell gets its screen back (the error is printed after). */
  readonly failed: () => void;
}

/**
 * Draws the frame; until started() or failed() is called, Ctrl-C gives the shell its screen back.
 * The event count is the manifest's statement (the header is checked, the database not yet).
 */
export function drawFirstFrame(out: NodeJS.WriteStream, bundlePath: string, manifest: Manifest): FirstFrame {
  const width = out.columns || 80;
  const restore = () => out.write(ALTERNATE_SCREEN_OFF);
  const onInterrupt = () => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const line = (s: string) => printable(s).slice(0, width);
  const facts = `${manifest.counts.events.toLocaleString('en-US')} events as its manifest states, ${formatBytes(manifest.database.bytes)} of database`;
  out.write(`${ALTERNATE_SCREEN_ON}\u001b[2J\u001b[H${line(`ingero ${basename(bundlePath)} — ${facts}`)}\r\n${line('Opening the bundle… (keys typed now are kept)')}\r\n`);
  return {
    say: (step) => out.write(`\u001b[2;1H\u001b[2K${line(`${step} (keys typed now are kept)`)}`),
    started: () => process.off('SIGINT', onInterrupt),
    failed: () => {
      process.off('SIGINT', onInterrupt);
      restore();
    },
  };
}
