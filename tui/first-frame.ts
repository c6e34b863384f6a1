// The frame drawn before Ink and React have loaded (about half a second on an idle machine,
// several seconds on a busy one): the alternate screen with the bundle's name and what is under
// way, in plain text. Keys typed meanwhile wait in the terminal and are handled once the UI runs.
import { basename } from 'node:path';
import { printable } from '../cli/table.ts';

export const ALTERNATE_SCREEN_ON = '\u001b[?1049h\u001b[H';
export const ALTERNATE_SCREEN_OFF = '\u001b[?1049l';

/**
 * Draws the frame; until the returned function is called (the UI has started), Ctrl-C or a
 * failure to load gives the shell its screen back.
 */
export function drawFirstFrame(out: NodeJS.WriteStream, bundlePath: string, events: number): { readonly started: () => void; readonly failed: () => void } {
  const width = out.columns || 80;
  const restore = () => out.write(ALTERNATE_SCREEN_OFF);
  const onInterrupt = () => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  const line = (s: string) => printable(s).slice(0, width);
  out.write(`${ALTERNATE_SCREEN_ON}\u001b[2J\u001b[H${line(`ingero ${basename(bundlePath)} — starting the interface…`)}\r\n${line(`Analysing ${events.toLocaleString('en-US')} events… (keys typed now are kept)`)}\r\n`);
  return {
    started: () => process.off('SIGINT', onInterrupt),
    failed: () => {
      process.off('SIGINT', onInterrupt);
      restore();
    },
  };
}
