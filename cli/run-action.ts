// How every command reports failure: one line on stderr, a documented exit code, no stack trace.
// Exit codes: 0 success; 1 the input or the environment is at fault (missing, corrupt, hostile
// or unsupported bundle, no privileges, disk full); 2 the command line is wrong; 3 a check ran
// and found problems (verify, check).
// format/errors.ts rather than the library's index: every command loads this module first, and
// `ingero tui` draws its first frame before the rest of the library has loaded.
import { BundleError } from '../format/errors.ts';
import { RecorderError } from '../recorder/errors.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_PROBLEMS = 3;

/** A mistake in the command line: wrong or missing arguments. */
export class UsageError extends Error {}

/** A failure the user can act on, already phrased as one line (problem — fix). */
export class UserError extends Error {}

export function fail(message: string, code = EXIT_FAILURE): never {
  process.stderr.write(`ingero: ${message.replace(/[\r\n]+/g, ' ')}\n`);
  process.exit(code);
}

/** Wraps a command action so every known failure becomes one line and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => unknown | Promise<unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      if (err instanceof UsageError) fail(err.message, EXIT_USAGE);
      if (err instanceof BundleError || err instanceof RecorderError || err instanceof UserError) fail(err.message, EXIT_FAILURE);
      const e = err as NodeJS.ErrnoException;
      // A bundle's checksums prove it arrived as written, not that its writer wrote a sound
      // database: SQLite finds damaged pages only when a query reaches them, after the open.
      if (e?.code?.startsWith('SQLITE_CORRUPT') || e?.code === 'SQLITE_NOTADB') fail(`the database inside the bundle is damaged (${e.message}) — ingero verify lists its problems; get a fresh copy of the bundle`, EXIT_FAILURE);
      // A value the bundle holds (or a statement builds) beyond SQLite's own length limit: input.
      if (e?.code === 'SQLITE_TOOBIG') fail(`a value is too big for SQLite (${e.message}) — the bundle holds or the query builds a string or blob over SQLite's limit; ingero verify checks the bundle`, EXIT_FAILURE);
      if (e?.code === 'EPIPE') process.exit(EXIT_OK);
      if (e?.code === 'ENOSPC') fail('disk full — free space and run again', EXIT_FAILURE);
      if (process.env.INGERO_DEBUG) throw err;
      fail(`internal error: ${e?.message ?? String(err)} (set INGERO_DEBUG=1 for a stack trace and report it)`, EXIT_FAILURE);
    }
  };
}

/** Collects a repeatable option's values in order; absent, the option is undefined. */
export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parses a non-negative integer option, or throws a UsageError naming the option. */
export function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses --level: a zstd level from 1 to 22, or undefined when not given (the command's default). */
export function levelOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const level = intOption('--level', value, 0);
  if (level < 1 || level > 22) throw new UsageError(`--level must be between 1 and 22, got ${level}`);
  return level;
}
