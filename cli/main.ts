// The ingero command line: thin wiring from commander to the libraries. Each command lives in
// cli/commands/<name>.ts and exports register(program); cli/command-modules.ts says which to load.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { modulesFor } from './command-modules.ts';
import { EXIT_USAGE, fail } from './run-action.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('ingero')
  .description('Offline-first GPU investigation: record CUDA and kernel events into one .ingero bundle, analyze it anywhere')
  .version(pkg.version)
  .configureOutput({ outputError: (message, write) => write(usageLine(message)) })
  .exitOverride();

/** Commander's own usage errors as one line like every other failure: what is wrong, where the usage is. */
function usageLine(message: string): string {
  const command = program.commands.find((c) => c.name() === process.argv[2])?.name();
  const problem = message.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
  return `ingero: ${problem} — see ingero${command ? ` ${command}` : ''} --help\n`;
}

for (const m of modulesFor(process.argv)) (await m.load()).register(program);

program.addHelpText(
  'after',
  '\nExit codes: 0 ok, 1 bad input or environment (one line on stderr says what and how to fix it), 2 wrong usage, 3 a check found problems.',
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) process.exit(0);
    process.exit(EXIT_USAGE);
  }
  fail(String((err as Error).message ?? err));
}
