// Where a bundle is written: checked before anything is recorded or sealed, so that a directory
// that cannot take it is named with its reason, not as SQLite's "unable to open database file".
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RecorderError } from './errors.ts';

/** Throws a one-line RecorderError unless a file can be created in the directory of `output`. */
export function assertWritableOutputDir(output: string): void {
  const dir = dirname(resolve(output));
  if (!existsSync(dir)) throw new RecorderError(`${dir}: no such directory for the output bundle`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw new RecorderError(`${dir}: read-only file system — give -o a path on a writable file system`);
    throw new RecorderError(`${dir}: not writable (${code ?? (e as Error).message}) — give -o a path in a directory you can write to`);
  }
}

/** Whether two paths (existing files or directories) lie on the same file system. */
export function sameFileSystem(a: string, b: string): boolean {
  return statSync(a).dev === statSync(b).dev;
}
