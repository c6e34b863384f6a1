// Runs the terminal UI over an opened bundle until the user quits. The UI draws on the
// terminal's alternate screen, so quitting gives the shell its screen back as it was.
import { render } from 'ink';
import type { Bundle } from '../format/index.ts';
import { App } from './app.tsx';
import { colourWanted } from './colour-mode.ts';
import { ALTERNATE_SCREEN_OFF, ALTERNATE_SCREEN_ON } from './first-frame.ts';
import { TraceContext } from './trace-context.ts';

export async function runTui(bundle: Bundle, options: { readonly initialView?: string } = {}): Promise<void> {
  process.stdout.write(ALTERNATE_SCREEN_ON);
  try {
    const app = render(<App trace={new TraceContext(bundle)} initialView={options.initialView} colour={colourWanted(process.stdout)} />, { exitOnCtrlC: true, patchConsole: true });
    await app.waitUntilExit();
  } finally {
    process.stdout.write(ALTERNATE_SCREEN_OFF);
  }
}
