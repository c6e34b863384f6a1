// Which module defines each command, in the order `ingero --help` lists them. The CLI loads only
// the module of the command it runs: loading every command with its libraries (SQLite, zstd,
// the MCP SDK, the importers) cost about a second of start-up before `ingero tui` drew anything.
// test/cli-new-user.test.ts checks each module defines exactly the commands named here.
import type { Command } from 'commander';

export interface CommandModule {
  /** The commands the module's register() adds, by name. */
  readonly names: readonly string[];
  readonly load: () => Promise<{ register(program: Command): void }>;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ['record', 'check', 'recover'], load: () => import('./commands/record.ts') },
  { names: ['info'], load: () => import('./commands/info.ts') },
  { names: ['verify'], load: () => import('./commands/verify.ts') },
  { names: ['sql'], load: () => import('./commands/sql.ts') },
  { names: ['query'], load: () => import('./commands/query.ts') },
  { names: ['import'], load: () => import('./commands/import.ts') },
  { names: ['merge'], load: () => import('./commands/merge.ts') },
  { names: ['redact'], load: () => import('./commands/redact.ts') },
  { names: ['explain'], load: () => import('./commands/explain.ts') },
  { names: ['stats'], load: () => import('./commands/stats.ts') },
  { names: ['diff'], load: () => import('./commands/diff.ts') },
  { names: ['export'], load: () => import('./commands/export.ts') },
  { names: ['tui'], load: () => import('./commands/tui.ts') },
  { names: ['demo'], load: () => import('./commands/demo.ts') },
  { names: ['mcp'], load: () => import('./commands/mcp.ts') },
];

/**
 * The modules to load for a command line: the named command's alone, or every one when the line
 * names none (help, the version, a mistyped command: commander lists or suggests from them all).
 */
export function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const named = COMMAND_MODULES.find((m) => m.names.includes(argv[2] ?? ''));
  return named ? [named] : COMMAND_MODULES;
}
